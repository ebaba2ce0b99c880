#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: pgops.logical_replication contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: replication_slot
short_description: Create and drop logical and physical replication slots
version_added: 0.1.0
description:
  - Creates a logical replication slot (C(pg_create_logical_replication_slot)) in the database the
    module connects to (O(db)), or a physical slot (C(pg_create_physical_replication_slot)); drops a
    slot with C(pg_drop_replication_slot).
  - An existing slot whose type, output plugin, database, O(two_phase) or O(failover) differ from the
    request is an error that says which property differs. It is never silently kept, and never dropped
    and recreated (a new slot starts at the current WAL position, which would lose changes for whoever
    reads it).
  - Dropping a slot that a connection is reading from (it is C(active)) fails unless O(force=true),
    which first ends that connection's WAL sender process with C(pg_terminate_backend).
  - Returns the slot's RV(active), RV(wal_status), RV(retained_wal_bytes), RV(restart_lsn) and
    RV(confirmed_flush_lsn), read in the same single catalog query that decides what to do.
  - A slot nobody reads keeps WAL on the server until its disk fills; watch RV(retained_wal_bytes)
    (or use M(pgops.logical_replication.replication_info)) and drop slots that are no longer used.
author:
  - pgops.logical_replication maintainers (@pgops)
extends_documentation_fragment:
  - pgops.logical_replication.connection
  - pgops.logical_replication.attributes
options:
  name:
    description:
      - Name of the slot. Lower-case letters, digits and underscores, at most 63 characters
        (PostgreSQL's rule for slot names).
    type: str
    required: true
    aliases: [ slot_name ]
  state:
    description:
      - V(present) creates the slot when it does not exist; V(absent) drops it when it exists.
    type: str
    choices: [ present, absent ]
    default: present
  slot_type:
    description:
      - V(logical) for logical decoding (what a subscription reads), V(physical) for a streaming standby.
    type: str
    choices: [ logical, physical ]
    default: logical
  plugin:
    description:
      - Output plugin of a logical slot.
      - Defaults to V(pgoutput), the plugin subscriptions need (community.postgresql defaults to
        V(test_decoding)).
      - Logical slots only.
    type: str
  two_phase:
    description:
      - Create the logical slot with two-phase commit decoding enabled (PostgreSQL 14 or later).
      - Not set means not compared. An existing slot with another value is an error; it cannot be
        changed with SQL.
    type: bool
  failover:
    description:
      - Create the logical slot with C(failover) so it is synchronised to standbys (PostgreSQL 17 or later).
      - Not set means not compared. An existing slot with another value is an error (SQL cannot change it;
        C(ALTER SUBSCRIPTION ... SET (failover = ...)) can for a subscription's slot).
    type: bool
  immediately_reserve:
    description:
      - Physical slots only. V(true) reserves WAL from the moment the slot is created; V(false)
        (PostgreSQL's default) reserves it only when a standby first connects.
      - Not set means PostgreSQL's default. Only used when creating the slot.
    type: bool
  force:
    description:
      - With O(state=absent), end the WAL sender that reads an active slot (C(pg_terminate_backend)) before
        dropping it. A subscription whose connection is ended reconnects and fails until it is disabled or
        dropped; prefer disabling the subscription first.
      - Without it, dropping an active slot is an error naming the process that uses it.
    type: bool
    default: false
notes:
  - Needs a superuser or a role with the C(REPLICATION) attribute. O(force) also needs the right to
    signal the WAL sender (superuser, or C(pg_signal_backend) for a non-superuser's process).
  - A logical slot is created in the database given by O(db) and must be managed from there; an existing
    logical slot of another database is reported as a C(database) mismatch.
  - Temporary slots are not managed; they belong to the session that made them.
seealso:
  - name: Replication slots (logical decoding)
    description: How slots keep WAL, and their functions.
    link: https://www.postgresql.org/docs/current/logicaldecoding-explanation.html#LOGICALDECODING-REPLICATION-SLOTS
  - module: pgops.logical_replication.replication_info
  - module: pgops.logical_replication.postgresql_subscription
'''

EXAMPLES = r'''
- name: A logical slot for a subscription created with create_slot=false
  pgops.logical_replication.replication_slot:
    name: zoo
    db: zoo
    login_host: 127.0.0.1
    login_password: "{{ postgres_password }}"
  register: slot

- name: Show the WAL it keeps
  ansible.builtin.debug:
    msg: "{{ slot.name }} keeps {{ slot.retained_wal_bytes }} bytes of WAL ({{ slot.wal_status }})"

- name: A failover-ready slot on PostgreSQL 17
  pgops.logical_replication.replication_slot:
    name: zoo_ha
    db: zoo
    failover: true

- name: A physical slot for a standby, holding WAL from now on
  pgops.logical_replication.replication_slot:
    name: standby1
    slot_type: physical
    immediately_reserve: true

- name: Drop a slot even while something reads it
  pgops.logical_replication.replication_slot:
    name: zoo
    state: absent
    force: true
'''

RETURN = r'''
name:
  description: Name of the slot (null when it does not exist).
  returned: always
  type: str
  sample: zoo
exists:
  description: Whether the slot exists after this run (in check mode, before it).
  returned: always
  type: bool
  sample: true
slot_type:
  description: C(logical) or C(physical).
  returned: always
  type: str
  sample: logical
plugin:
  description: Output plugin of a logical slot.
  returned: always
  type: str
  sample: pgoutput
database:
  description: Database of a logical slot.
  returned: always
  type: str
  sample: zoo
active:
  description: Whether a connection is reading from the slot now.
  returned: always
  type: bool
  sample: false
active_pid:
  description: Process ID of the WAL sender that reads the slot, or null.
  returned: always
  type: int
  sample: 4242
wal_status:
  description:
    - C(reserved), C(extended), C(unreserved) or C(lost) (PostgreSQL 13 or later; null before).
    - C(lost) means the slot can no longer be used; its reader must be set up again.
  returned: always
  type: str
  sample: reserved
retained_wal_bytes:
  description: Bytes of WAL the slot keeps on the server (current WAL position minus C(restart_lsn)).
  returned: always
  type: int
  sample: 16777216
restart_lsn:
  description: Oldest WAL position the slot still needs.
  returned: always
  type: str
  sample: 0/3000060
confirmed_flush_lsn:
  description: Position up to which the reader of a logical slot confirmed the changes.
  returned: always
  type: str
  sample: 0/3000098
two_phase:
  description: Whether two-phase decoding is on (PostgreSQL 14 or later; null before).
  returned: always
  type: bool
  sample: false
failover:
  description: Whether the slot is synchronised to standbys (PostgreSQL 17 or later; null before).
  returned: always
  type: bool
  sample: false
temporary:
  description: Whether the slot is temporary.
  returned: always
  type: bool
  sample: false
queries:
  description: The statements run (or, in check mode, that would run).
  returned: always
  type: list
  elements: str
  sample: [ "SELECT pg_create_logical_replication_slot('zoo', 'pgoutput')" ]
diff:
  description: The slot before and after (in diff mode).
  returned: when diff mode is on
  type: dict
  sample: {before: {state: absent}, after: {state: present, slot_type: logical, plugin: pgoutput, database: zoo}}
'''

import time

from ansible_collections.pgops.logical_replication.plugins.module_utils._connection import build_module, run_module
from ansible_collections.pgops.logical_replication.plugins.module_utils import _slots
from ansible_collections.pgops.logical_replication.plugins.module_utils._errors import PgOpsError, where
from ansible_collections.pgops.logical_replication.plugins.module_utils._changes import Manager

FQCN = 'pgops.logical_replication.replication_slot'
DROP_ATTEMPTS = 10
TERMINATE_WAIT_MS = 5000

ARGUMENT_SPEC = dict(
    name=dict(type='str', required=True, aliases=['slot_name']),
    state=dict(type='str', default='present', choices=['present', 'absent']),
    slot_type=dict(type='str', default='logical', choices=['logical', 'physical']),
    plugin=dict(type='str'),
    two_phase=dict(type='bool'),
    failover=dict(type='bool'),
    immediately_reserve=dict(type='bool'),
    force=dict(type='bool', default=False),
)


class ReplicationSlot(Manager):
    def __init__(self, module, session, changes):
        super(ReplicationSlot, self).__init__(module, session, changes)
        self.name = self.params['name']

    def run(self):
        _slots.check_slot_name(self.name)
        for feature in _slots.check_request(self.params):
            self.session.require(feature)
        row = self.read()
        existing = _slots.state_of(row)
        wanted = _slots.wanted_state(self.params, row['current_database'])
        with where(**_slots.shown_state(row)):
            actions = _slots.plan(self.name, existing, wanted, self.params['state'])
        if 'create' in actions:
            self.create()
        if 'drop' in actions:
            self.drop(row)
        after = dict(state='absent') if self.params['state'] == 'absent' else dict(
            dict((k, v) for k, v in (existing or wanted).items() if v is not None), state='present')
        before = dict(state='absent') if not existing else dict(
            dict((k, v) for k, v in existing.items() if v is not None), state='present')
        self.changes.set_diff(before, after)
        if actions and not self.check_mode:
            row = self.read()
        return _slots.shown_state(row)

    def read(self):
        return self.session.row(_slots.slot_query(self.session.version), {'name': self.name})

    def create(self):
        if self.params['slot_type'] == 'physical':
            if self.params.get('immediately_reserve') is None:
                self.changes.execute('SELECT pg_create_physical_replication_slot(%(name)s)', {'name': self.name})
            else:
                self.changes.execute('SELECT pg_create_physical_replication_slot(%(name)s, %(reserve)s)',
                                     {'name': self.name, 'reserve': self.params['immediately_reserve']})
            return
        extra = ''
        if self.params.get('two_phase'):
            extra += ', twophase => true'
        if self.params.get('failover'):
            extra += ', failover => true'
        self.changes.execute('SELECT pg_create_logical_replication_slot(%(name)s, %(plugin)s' + extra + ')',
                             {'name': self.name, 'plugin': self.params.get('plugin') or 'pgoutput'})

    def drop(self, row):
        if row['active'] and not self.params['force']:
            raise PgOpsError(
                'Replication slot %s is active: process %s is reading from it. Dropping it would break that '
                'reader. Disable or drop the subscription (or stop the client) that uses it first, or set '
                'force: true to end that process before dropping the slot. Nothing was changed.'
                % (self.name, row['active_pid']), **_slots.shown_state(row))
        for attempt in range(DROP_ATTEMPTS):
            if self.params['force'] and (row['active'] or attempt):
                self.terminate()
            try:
                self.changes.execute('SELECT pg_drop_replication_slot(%(name)s)', {'name': self.name})
                return
            except self.session.ObjectInUse as exc:
                if not self.params['force'] or attempt == DROP_ATTEMPTS - 1:
                    raise PgOpsError(
                        'Replication slot %s could not be dropped because it is in use: %s. Something '
                        'reconnects to it at once (a subscription retries every wal_retrieve_retry_interval); '
                        'disable that subscription first, then drop the slot.'
                        % (self.name, self.session.error_text(exc)), sqlstate=self.session.sqlstate(exc))
                time.sleep(0.2)

    def terminate(self):
        wait = ', %(wait)s' if self.session.supports('terminate_backend_timeout') else ''
        self.changes.execute(
            'SELECT pg_terminate_backend(active_pid' + wait + ') FROM pg_replication_slots '
            'WHERE slot_name = %(name)s AND active_pid IS NOT NULL',
            {'name': self.name, 'wait': TERMINATE_WAIT_MS})


def main():
    module = build_module(ARGUMENT_SPEC)
    run_module(module, FQCN, lambda session, changes: ReplicationSlot(module, session, changes).run())


if __name__ == '__main__':
    main()
