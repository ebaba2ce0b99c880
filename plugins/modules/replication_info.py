#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: pgops.logical_replication contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: replication_info
short_description: Report the logical replication state of a server (publisher, subscriber or both)
version_added: 0.1.0
description:
  - Reads, in one query, everything a publisher and a subscriber know about logical replication
    and returns it as four lists - RV(publications), RV(slots), RV(replication) and RV(subscriptions).
  - "On a publisher: the publications of the database O(db) with their tables; every replication slot
    of the server with its plugin, whether it is active, its C(wal_status), the WAL it keeps in bytes
    (C(retained_wal_bytes)) and who reads it (C(used_by)); the rows of
    C(pg_stat_replication) with the write, flush and replay lag in bytes and seconds."
  - "On a subscriber: the subscriptions of the database O(db) with their apply worker
    (C(pg_stat_subscription): received and latest end WAL positions, message times), their error
    counters (C(pg_stat_subscription_stats), PostgreSQL 15 or later), and every table with its
    synchronisation state."
  - With O(publisher), it also connects to the publisher (one query there) and adds
    C(lag_bytes) and C(schema_drift) (see RV(subscriptions)) to each subscription, and judges each
    subscription's C(health) with what the publisher has (its slot, its publications).
  - C(schema_drift) lists what would stop the apply worker because the subscriber's tables differ from the
    published ones - a published table or column missing on the subscriber, a column whose type differs, a
    subscriber column NOT NULL without default that nothing publishes, an extension the published column
    types need - before the first row hits it. M(pgops.logical_replication.schema_sync) creates what is missing.
  - Never changes anything. Works for a role without privileges where PostgreSQL allows it; what the
    role may not read is reported as null (unknown), and a list it may not read at all is null with a
    warning.
author:
  - pgops.logical_replication maintainers (@pgops)
extends_documentation_fragment:
  - pgops.logical_replication.connection
  - pgops.logical_replication.conninfo.PUBLISHER
  - pgops.logical_replication.attributes.INFO_MODULE
options:
  publisher:
    description:
      - How to reach the publisher of the subscriptions, as libpq connection keywords (V(host),
        V(port), V(dbname), V(user), V(password), V(sslmode), ...; unknown keys are an error).
      - When given, each subscription gets C(lag_bytes) and C(schema_drift) (see RV(subscriptions)), computed
        from one query on the publisher (and one more on the subscriber for the drift). The lag needs any
        database of the publisher (slots are server-wide); the drift and the publication and slot checks of
        C(health) need O(publisher.dbname) to be the database of the subscriptions' publications. A subscription
        none of whose publications exists there is taken to have another publisher; its C(schema_drift) is
        null and its C(health) is judged on the subscriber alone.
      - The password is never logged or returned. Files named by the keywords (C(passfile), C(sslcert),
        C(sslkey), C(sslrootcert), ...) are read on the managed node.
    type: dict
notes:
  - Publications and subscriptions are per database; the module reports those of O(db). Slots and
    C(pg_stat_replication) are server-wide.
  - "A non-superuser sees NULL for the WAL positions and lags of other users' connections in
    C(pg_stat_replication) unless it has C(pg_read_all_stats); those values are returned as null."
  - "C(used_by) in RV(slots) is the C(application_name) of the WAL sender that holds the slot right now. For a
    subscription's apply worker that is the subscription name; a table synchronisation worker, a standby
    or C(pg_recvlogical) report their own names. An inactive slot has C(used_by: null): nobody reads it, and
    it keeps WAL until it is used again or dropped."
seealso:
  - module: pgops.logical_replication.replication_slot
  - module: pgops.logical_replication.postgresql_subscription
  - name: Monitoring logical replication
    description: The manual's views this module reads.
    link: https://www.postgresql.org/docs/current/logical-replication-monitoring.html
'''

EXAMPLES = r'''
- name: Status of a publisher
  pgops.logical_replication.replication_info:
    db: zoo
    login_host: rhino
  register: pub

- name: Fail when a slot nobody reads keeps more than 1 GiB of WAL
  ansible.builtin.assert:
    that: item.active or item.retained_wal_bytes < 1073741824
    fail_msg: "Slot {{ item.name }} keeps {{ item.retained_wal_bytes }} bytes of WAL and nobody reads it"
  loop: "{{ pub.slots }}"

- name: Status of a subscriber, with the lag measured against its publisher
  pgops.logical_replication.replication_info:
    db: zoo
    login_host: hippo
    publisher:
      host: rhino
      dbname: zoo
      user: logic
      password: "{{ vault_logic_password }}"
  register: sub

- name: Fail before the next insert breaks replication (a column added on the publisher only)
  ansible.builtin.assert:
    that:
      - sub.subscriptions | selectattr('schema_drift') | list | length == 0
      - sub.subscriptions | rejectattr('health', 'in', ['ok', 'syncing']) | list | length == 0
    fail_msg: "{{ sub.subscriptions | map(attribute='problems') | flatten
                  + sub.subscriptions | selectattr('schema_drift') | map(attribute='schema_drift') | flatten
                    | map(attribute='message') | list }}"

- name: Wait until the subscription has caught up
  pgops.logical_replication.replication_info:
    db: zoo
    publisher: {host: rhino, dbname: zoo, user: logic, password: "{{ vault_logic_password }}"}
  register: sub
  until: sub.subscriptions | selectattr('name', 'equalto', 'zoo') | map(attribute='lag_bytes') | first == 0
  retries: 30
  delay: 2
'''

RETURN = r'''
database:
  description: The database the module connected to (publications and subscriptions are this database's).
  returned: always
  type: str
  sample: zoo
in_recovery:
  description: Whether the server is a standby.
  returned: always
  type: bool
  sample: false
current_lsn:
  description: The server's current WAL position (on a standby, the last received one).
  returned: always
  type: str
  sample: 0/3000148
server_version:
  description: The server's C(server_version_num).
  returned: always
  type: int
  sample: 150010
publications:
  description: Publications of the database, each with its tables (null when the role may not read them).
  returned: always
  type: list
  elements: dict
  sample:
    - {name: zoo, owner: postgres, all_tables: false, publish: [insert, update, delete, truncate],
       publish_via_partition_root: false, tables: [public.abc]}
physical_replication_hba:
  description:
    - The C(pg_hba.conf) lines (as the server read them, C(pg_hba_file_rules)) that let a role in for
      physical replication (database C(replication), method not C(reject)), each with C(roles), the
      REPLICATION roles that are not superusers it lets in (user C(all), the role, a C(+group) it belongs
      to; a regular expression counts as a match without being evaluated). Such a role can stream all WAL
      or take a base backup from there. C(preflight.yml) warns when a replication user of the topology
      is among them.
    - C(text) is the line as it reads (type, databases, users, address, method).
    - Null when the login is not a superuser (only superusers may read C(pg_hba_file_rules)).
  returned: always
  type: list
  elements: dict
  sample:
    - {line_number: 118, type: host, database: [replication], user_name: [all], address: 127.0.0.1,
       auth_method: scram-sha-256, roles: [logic],
       text: host replication all 127.0.0.1 scram-sha-256}
slots:
  description:
    - Every replication slot of the server.
    - C(retained_wal_bytes) is the current WAL position minus the slot's C(restart_lsn).
    - C(used_by) is the C(application_name) of the connection reading the slot now (a subscription's
      name), or null when the slot is not active.
  returned: always
  type: list
  elements: dict
  sample:
    - {name: zoo, slot_type: logical, plugin: pgoutput, database: zoo, temporary: false, active: true,
       active_pid: 4242, wal_status: reserved, safe_wal_size: null, restart_lsn: 0/3000060,
       confirmed_flush_lsn: 0/3000098, retained_wal_bytes: 232, used_by: zoo}
replication:
  description:
    - The rows of C(pg_stat_replication) (WAL sender connections), with the slot each one holds.
    - "C(*_lag_bytes): the current WAL position minus the C(sent/write/flush/replay) position;
      C(*_lag_seconds): PostgreSQL's C(write_lag), C(flush_lag), C(replay_lag) in seconds (null when idle)."
  returned: always
  type: list
  elements: dict
  sample:
    - {pid: 4242, user: logic, application_name: zoo, client_addr: 10.0.0.2, state: streaming,
       sync_state: async, slot_name: zoo, slot_type: logical, sent_lsn: 0/3000148, write_lsn: 0/3000148,
       flush_lsn: 0/3000148, replay_lsn: 0/3000148, sent_lag_bytes: 0, write_lag_bytes: 0, flush_lag_bytes: 0,
       replay_lag_bytes: 0, write_lag_seconds: null, flush_lag_seconds: null, replay_lag_seconds: null,
       reply_time: '2026-01-01T10:00:00+00:00'}
subscriptions:
  description:
    - Subscriptions of the database.
    - C(worker_pid), C(received_lsn), C(latest_end_lsn), C(last_msg_send_time), C(last_msg_receipt_time),
      C(latest_end_time) come from the apply worker's row of C(pg_stat_subscription) (null when it does
      not run, for example when the subscription is disabled or keeps failing).
    - C(apply_error_count) and C(sync_error_count) come from C(pg_stat_subscription_stats) (PostgreSQL 15 or
      later; null before).
    - C(tables) lists each table with its synchronisation state (C(init), C(data_copy), C(finished_copy),
      C(synchronized), C(ready)); C(tables_not_ready) names those not C(ready).
    - "With O(publisher) only: C(publisher_lsn) (the publisher's current WAL position),
      C(slot_confirmed_flush_lsn) (the subscription's slot on the publisher), and C(lag_bytes):
      C(publisher_lsn) minus C(slot_confirmed_flush_lsn), the WAL the subscriber has not yet applied and
      confirmed, with C(lag_source: slot). When the slot is not found on that publisher, C(publisher_lsn)
      minus the apply worker's C(latest_end_lsn), with C(lag_source: worker). Null (and C(lag_source: null))
      when neither is known. Never negative."
    - "C(health): V(ok) (the apply worker runs, every table is ready); V(syncing) (the apply worker runs, some
      tables are not ready); V(disabled) (not enabled); V(stalled) (enabled, but no apply worker runs and no
      cause is known - it is starting, or keeps failing: see C(apply_error_count) and the subscriber's log);
      V(broken) (enabled, and a cause is known that stops it - its slot does not exist on the publisher or was
      invalidated (C(wal_status: lost)), a publication of it does not exist there, or it has no slot).
      C(problems): one sentence per cause found, naming the slot or publication and what to do (empty for
      V(ok), V(syncing) and V(disabled)). Slot and publication checks need O(publisher)."
    - "With O(publisher) only: C(schema_drift), the differences between the tables of the subscription's
      publications on the publisher and the subscriber's tables, each a dict with C(subscription), C(table)
      (V(schema.table)), C(column) (null for a whole table or an extension), C(problem) - V(missing_table),
      V(missing_column), V(type_mismatch), V(unpublished_not_null) or V(missing_extension) -,
      C(publisher_type), C(subscriber_type) (types fully qualified, null where they do not apply),
      C(extension) and C(publisher_version) (for V(missing_extension): the extension the published column
      types or indexes need and its version on the publisher), and C(message), one sentence naming the table
      and column and what will happen. Empty when both sides agree; null when the publisher given does not
      hold the subscription's publications. Only published columns count (a column list leaves the others out)."
  returned: always
  type: list
  elements: dict
  sample:
    - {name: zoo, owner: postgres, enabled: true, publications: [zoo], slot_name: zoo, worker_pid: 4343,
       received_lsn: 0/3000148, latest_end_lsn: 0/3000148, last_msg_send_time: '2026-01-01T10:00:00+00:00',
       last_msg_receipt_time: '2026-01-01T10:00:00+00:00', latest_end_time: '2026-01-01T10:00:00+00:00',
       apply_error_count: 0, sync_error_count: 0,
       tables: [{name: public.abc, schema: public, table: abc, state: ready, state_code: r, lsn: 0/3000098}],
       tables_not_ready: [], publisher_lsn: 0/3000148, slot_confirmed_flush_lsn: 0/3000148, lag_bytes: 0,
       lag_source: slot, health: ok, problems: [],
       schema_drift: [{subscription: zoo, table: public.abc, column: weight, problem: missing_column,
                       publisher_type: numeric, subscriber_type: null, extension: null, publisher_version: null,
                       message: "Column public.abc.weight (numeric) is published but missing on the subscriber: ..."}]}
queries:
  description: Always empty; the module runs no statement that changes anything.
  returned: always
  type: list
  elements: str
  sample: []
'''

from ansible_collections.pgops.logical_replication.plugins.module_utils._connection import build_module, run_module
from ansible_collections.pgops.logical_replication.plugins.module_utils import _catalog, _info, _schema
from ansible_collections.pgops.logical_replication.plugins.module_utils._conninfo import OPTION_SPEC
from ansible_collections.pgops.logical_replication.plugins.module_utils._remote import RemoteServer

FQCN = 'pgops.logical_replication.replication_info'

ARGUMENT_SPEC = dict(
    publisher=dict(type='dict', options=OPTION_SPEC),
)


class ReplicationInfo(object):
    def __init__(self, module, session):
        self.module = module
        self.session = session

    def run(self):
        result = self.read_server()
        result['server_version'] = self.session.version
        _info.publication_entries(result['publications'])
        publisher = state = None
        subscriptions = result['subscriptions']
        if self.module.params.get('publisher') and subscriptions is not None:
            publisher = self.read_publisher([s['slot_name'] for s in subscriptions if s['slot_name']],
                                            sorted(set(p for s in subscriptions for p in s['publications'] or [])))
            if any(_info.is_its_publisher(s, publisher) for s in subscriptions):
                state = _schema.subscriber_state(self.session.row(
                    _schema.SUBSCRIBER_QUERY, _schema.subscriber_params(publisher['published'])))
        _info.subscription_entries(subscriptions, publisher, state)
        return result

    def read_server(self):
        version = self.session.version
        try:
            result = self.session.row(_info.server_query(version, self.session.superuser))
            for line in result.setdefault('physical_replication_hba', None) or []:
                line['text'] = _catalog.hba_text(line)
            return result
        except self.session.InsufficientPrivilege:
            pass
        # The role may not read some catalog: read each list on its own, unknown ones as null.
        result = self.session.row(_info.BASE_QUERY)
        result['physical_replication_hba'] = None
        for section in _info.SECTIONS:
            try:
                result[section] = self.session.row(_info.fallback_query(version, section))[section]
            except self.session.InsufficientPrivilege as exc:
                result[section] = None
                self.module.warn('%s: not readable by this role (%s); reported as null.'
                                 % (section, str(exc).strip().splitlines()[0]))
        return result

    def read_publisher(self, slot_names, publications):
        remote = RemoteServer(self.session, _schema.publisher_params(self.module.params['publisher']), FQCN)
        try:
            row = remote.row(_info.publisher_query(remote.version), {'slots': slot_names, 'publications': publications})
        finally:
            remote.close()
        return dict(current_lsn=row['current_lsn'], slots=dict((s['name'], s) for s in row['slots']),
                    published=row['published'])


def main():
    module = build_module(ARGUMENT_SPEC)
    run_module(module, FQCN, lambda session, changes: ReplicationInfo(module, session).run())


if __name__ == '__main__':
    main()
