#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: pgops.logical_replication contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: sequence_sync
short_description: Copy sequence values from the publisher to the subscriber
version_added: 0.1.0
description:
  - Logical replication does not replicate sequences. Before a subscriber takes over writes
    (switchover), its sequences must be moved past every value the publisher handed out, or new rows
    collide with replicated ones. This module does that.
  - Runs on the subscriber (the connection options) and reads the publisher's values over O(conninfo),
    all of them in one query on C(pg_sequences). The subscriber's values are read in one query too.
  - Each subscriber sequence that is B(behind) the publisher's last value plus O(margin) is set with
    C(setval(sequence, publisher value + margin, true)), so its next value is beyond it. A sequence that
    is already at or past that value is left alone, so a second run reports no change and the module
    never moves a sequence backwards. Descending sequences are handled the other way round.
  - A sequence never used on the publisher (C(last_value) is null, C(is_called) false) is left alone.
  - With O(wait_for_subscription), the module first waits until that subscription has applied everything the
    publisher wrote (polling every 0.1 s, at most O(wait_timeout) seconds), then reads the values; the last
    step of a switchover, after writes on the publisher stopped, in one task.
  - Every problem (a sequence missing on the subscriber, one the role may not read, a value outside the
    subscriber sequence's range) is reported at once, before anything is changed.
author:
  - pgops.logical_replication maintainers (@pgops)
extends_documentation_fragment:
  - pgops.logical_replication.connection
  - pgops.logical_replication.conninfo
  - pgops.logical_replication.attributes
options:
  conninfo:
    description:
      - How to reach the publisher, as libpq connection keywords (V(host), V(port), V(dbname), V(user),
        V(password), V(sslmode), ...; unknown keys are an error). The password is never logged or returned.
      - The role needs C(SELECT) (or C(USAGE)) on the sequences.
      - Files named by the keywords (C(passfile), C(sslcert), C(sslkey), C(sslrootcert), ...) are read on
        the managed node.
    type: dict
    required: true
  schemas:
    description:
      - Sync every sequence of these schemas (as the publisher has them).
      - With neither O(schemas) nor O(sequences), every sequence of the publisher's database outside
        the system schemas.
    type: list
    elements: str
    default: []
  sequences:
    description:
      - Sync these sequences, as V(schema.name) or V(name) (schema C(public)); quote a name that contains
        a dot as in SQL. Each must exist on the publisher.
      - Combined with O(schemas) or O(tables), the sequences of all of them are synced.
    type: list
    elements: str
    default: []
  tables:
    description:
      - Sync the sequences these tables use, as V(schema.name) or V(name) (schema C(public)); the sequences
        they own (C(serial) and identity columns) and those their column defaults name (C(nextval)).
      - Each table must exist on the publisher. Combined with O(schemas) or O(sequences), the sequences of all
        of them are synced.
    type: list
    elements: str
    default: []
    version_added: 0.2.0
  wait_for_subscription:
    description:
      - The name of a subscription in O(db) whose publisher is O(conninfo). Before reading the values, wait
        until it has applied everything the publisher had written when the wait began (the end of the
        publisher's WAL, read once). It has when one of these reaches that point; its slot's
        C(confirmed_flush_lsn) on the publisher, its apply worker's last reported position, or (for a
        superuser login) its replication origin's last applied commit. Polls every 0.1 s.
      - Use it once writes on the publisher have stopped, so the values read are final and every row the
        publisher committed is on the subscriber when the module returns.
      - A missing subscription, or one still behind after O(wait_timeout), fails the task before any sequence
        is changed.
    type: str
    version_added: 0.2.0
  wait_timeout:
    description:
      - Seconds to wait for O(wait_for_subscription).
    type: int
    default: 60
    version_added: 0.2.0
  margin:
    description:
      - Added to each publisher value, as a reserve for values the publisher hands out after the read
        (while writes are still running) or on a sequence cached by its sessions.
    type: int
    default: 0
  skip_missing:
    description:
      - What to do with a selected publisher sequence that does not exist on the subscriber.
      - V(false) (the default) fails before changing anything and names every missing sequence.
      - V(true) leaves it out and lists it in RV(missing).
    type: bool
    default: false
notes:
  - The subscriber role needs C(UPDATE) on the sequences (C(setval)).
  - Run it after writes on the publisher have stopped (the switchover playbook does); otherwise use a
    O(margin) larger than the values handed out until the subscriber takes over.
seealso:
  - module: pgops.logical_replication.replication_info
  - name: Logical replication restrictions
    description: Why sequences are not replicated.
    link: https://www.postgresql.org/docs/current/logical-replication-restrictions.html
'''

EXAMPLES = r'''
- name: Move the subscriber's sequences past the publisher's, with a reserve of 1000
  pgops.logical_replication.sequence_sync:
    login_host: hippo
    db: zoo
    conninfo:
      host: rhino
      dbname: zoo
      user: logic
      password: "{{ vault_logic_password }}"
    schemas: [public]
    margin: 1000
  register: seqs

- name: Only two sequences, ignoring those the subscriber does not have
  pgops.logical_replication.sequence_sync:
    db: zoo
    conninfo: {host: rhino, dbname: zoo, user: logic, password: "{{ vault_logic_password }}"}
    sequences: [public.orders_id_seq, billing.invoice_no]
    skip_missing: true

- name: Switchover, writes stopped - wait until the subscription applied everything, then copy the sequences
  pgops.logical_replication.sequence_sync:
    db: zoo
    conninfo: {host: rhino, dbname: zoo, user: logic, password: "{{ vault_logic_password }}"}
    tables: [abc, public.orders]
    margin: 1000
    wait_for_subscription: zoo
    wait_timeout: 120
'''

RETURN = r'''
sequences:
  description:
    - Each selected sequence present on both sides, with the publisher's value, the subscriber's
      C(last_value) before (null when never used) and after this run, and whether it was set.
  returned: always
  type: list
  elements: dict
  sample:
    - {name: public.orders_id_seq, schema: public, sequence: orders_id_seq, publisher_value: 4211,
       before: 17, after: 5211, changed: true}
missing:
  description: Publisher sequences missing on the subscriber, left out because of O(skip_missing).
  returned: always
  type: list
  elements: str
  sample: [ billing.invoice_no ]
queries:
  description: The statements run on the subscriber (or, in check mode, that would run).
  returned: always
  type: list
  elements: str
  sample: [ "SELECT setval('\"public\".\"orders_id_seq\"'::regclass, 5211, true)" ]
waited:
  description: Seconds spent waiting for O(wait_for_subscription) (0 without it).
  returned: always
  type: float
  sample: 0.12
diff:
  description: Values of the changed sequences before and after (in diff mode).
  returned: when diff mode is on
  type: dict
  sample: {before: {public.orders_id_seq: 17}, after: {public.orders_id_seq: 5211}}
'''

import time

from ansible_collections.pgops.logical_replication.plugins.module_utils._connection import build_module, run_module
from ansible_collections.pgops.logical_replication.plugins.module_utils._errors import PgOpsError
from ansible_collections.pgops.logical_replication.plugins.module_utils import _sequences, _sql
from ansible_collections.pgops.logical_replication.plugins.module_utils._conninfo import OPTION_SPEC
from ansible_collections.pgops.logical_replication.plugins.module_utils._remote import RemoteServer
from ansible_collections.pgops.logical_replication.plugins.module_utils._changes import Manager

FQCN = 'pgops.logical_replication.sequence_sync'

ARGUMENT_SPEC = dict(
    conninfo=dict(type='dict', required=True, options=OPTION_SPEC),
    schemas=dict(type='list', elements='str', default=[]),
    sequences=dict(type='list', elements='str', default=[]),
    tables=dict(type='list', elements='str', default=[]),
    wait_for_subscription=dict(type='str'),
    wait_timeout=dict(type='int', default=60),
    margin=dict(type='int', default=0),
    skip_missing=dict(type='bool', default=False),
)


POLL_SECONDS = 0.1


class SequenceSync(Manager):
    def run(self):
        if self.params['margin'] < 0:
            raise PgOpsError('margin must be 0 or more (it is added to each publisher value); got %d.'
                             % self.params['margin'])
        if self.params['wait_timeout'] < 1:
            raise PgOpsError('wait_timeout must be 1 or more (seconds); got %d.' % self.params['wait_timeout'])
        params, requested = _sequences.selection(self.params['schemas'], self.params['sequences'],
                                                 self.params['tables'])
        subscription = self.read_subscription() if self.params['wait_for_subscription'] else None
        remote = RemoteServer(self.session, self.params['conninfo'], FQCN)
        try:
            waited = self.wait_for(remote, subscription) if subscription else 0.0
            if params['tab_names']:
                self.check_tables(remote, params)
            publisher_rows = remote.rows(_sequences.PUBLISHER_QUERY, params)
        finally:
            remote.close()
        missing = _sequences.missing_requested(requested, publisher_rows)
        if missing:
            raise PgOpsError('Sequence(s) %s do not exist on the publisher (or its role cannot see them); check '
                             'the names in sequences. Nothing was changed.'
                             % ', '.join(_sql.display_name(m) for m in missing))
        keys = [(r['schema'], r['sequence']) for r in publisher_rows]
        subscriber_rows = self.session.rows(_sequences.SUBSCRIBER_QUERY, _sequences.key_params(keys)) if keys else []
        entries, skipped = _sequences.plan(publisher_rows, subscriber_rows, self.params['margin'],
                                           self.params['skip_missing'])
        changed = [e for e in entries if e['changed']]
        self.changes.set_diff(dict((e['name'], e['before']) for e in changed),
                              dict((e['name'], e['after']) for e in changed))
        for entry in changed:
            regclass = self.session.render(_sql.ident(entry['schema'], entry['sequence']))
            self.changes.execute('SELECT setval(%(sequence)s::regclass, %(value)s, true)',
                                 {'sequence': regclass, 'value': entry['after']})
        return dict(sequences=entries, missing=skipped, waited=round(waited, 3))

    @staticmethod
    def check_tables(remote, params):
        absent = remote.rows(_sequences.MISSING_TABLES_QUERY, params)
        if absent:
            raise PgOpsError('Table(s) %s do not exist on the publisher; check the names in tables. Nothing was '
                             'changed.' % ', '.join(_sql.display_name((r['schema'], r['table'])) for r in absent))

    def read_subscription(self):
        name = self.params['wait_for_subscription']
        found = self.session.row(_sequences.SUBSCRIPTION_QUERY, {'name': name})
        if found is None:
            raise PgOpsError('Subscription %s does not exist in database %s, so there is nothing to wait for '
                             '(wait_for_subscription). Nothing was changed.'
                             % (_sql.display_name((name,)), self.params['db'] or 'postgres'))
        return found

    def wait_for(self, remote, subscription):
        """Poll until the subscription applied everything the publisher wrote before the wait began."""
        started = time.time()
        deadline = started + self.params['wait_timeout']
        target = _sequences.wait_target(**remote.row(_sequences.TARGET_QUERY, {}))
        lsn = {'target': target, 'oid': subscription['oid'], 'slot': subscription['slot_name']}
        while True:
            slot = remote.row(_sequences.SLOT_QUERY, lsn) if subscription['slot_name'] else None
            if slot and slot['reached']:
                break
            if self.session.row(_sequences.WORKER_QUERY, lsn)['reached']:
                break
            if subscription['origin_readable'] and self.session.row(_sequences.ORIGIN_QUERY, lsn)['reached']:
                break
            if time.time() >= deadline:
                name = _sql.display_name((self.params['wait_for_subscription'],))
                state = ('disabled' if not subscription['enabled'] else
                         'its slot %s is missing on the publisher' % subscription['slot_name']
                         if slot is not None and not slot['found'] else
                         '%s bytes behind' % slot['behind'] if slot is not None and slot['behind'] is not None
                         else 'behind')
                raise PgOpsError('Subscription %s has not applied everything the publisher wrote (up to WAL %s) '
                                 'within wait_timeout (%d s): %s. No sequence was changed; see replication_info '
                                 'for the subscription, then run again (or raise wait_timeout).'
                                 % (name, target, self.params['wait_timeout'], state))
            time.sleep(POLL_SECONDS)
        return time.time() - started


def main():
    module = build_module(ARGUMENT_SPEC)
    run_module(module, FQCN, lambda session, changes: SequenceSync(module, session, changes).run())


if __name__ == '__main__':
    main()
