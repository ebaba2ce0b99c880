#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: pgops.logical_replication contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: wal_config
short_description: Set the server settings logical replication needs
version_added: 0.1.0
description:
  - Sets C(wal_level) and the capacity settings of logical replication with C(ALTER SYSTEM),
    then reloads the configuration with the function C(pg_reload_conf).
  - Compares against the value that will be in force B(after the next restart) (what the
    configuration files, C(postgresql.auto.conf) included, already say), not only the running
    value. While a restart is pending a re-run reports no change, and asking for the running
    value back really writes it.
  - Never restarts the server. It returns RV(restart_required) and RV(pending_restart) so a
    play (or the C(pgops.logical_replication.server) role) can restart when needed.
  - Values are compared after normalising units (V(1GB) equals V(1024MB)), booleans
    (V(on), V(true), V(yes)) and the case of enum values.
  - Every value is checked against C(pg_settings) (name, type, range, enum values, whether
    C(ALTER SYSTEM) may set it) before anything is written, so a bad value changes nothing.
  - Values the server would refuse when it next starts are refused too, before anything is written, with
    a message naming the settings, so a run never leaves a server that does not come back after its
    restart. That is each value outside its C(pg_settings) range (C(min_val)..C(max_val)), values raised by
    O(expected_subscriptions) included; the limit on server processes, C(max_connections) + the autovacuum
    worker slots (C(autovacuum_max_workers), or C(autovacuum_worker_slots) on PostgreSQL 18) +
    C(max_worker_processes) + C(max_wal_senders) + 1 (2 on PostgreSQL 17 and later) <= 262143
    (C(MAX_BACKENDS)); C(superuser_reserved_connections) (+ C(reserved_connections) on PostgreSQL 16 and
    later) not below C(max_connections); and C(wal_level=minimal) with C(max_wal_senders) above 0 or
    C(archive_mode) on.
    These are read in the same statement as the settings themselves.
author:
  - pgops.logical_replication maintainers (@pgops)
extends_documentation_fragment:
  - pgops.logical_replication.connection
  - pgops.logical_replication.attributes
options:
  wal_level:
    description:
      - The C(wal_level). V(logical) is what logical replication needs on a publisher.
      - V(keep) leaves C(wal_level) as it is (a server that only subscribes needs no particular
        C(wal_level)); the other settings are still sized and written.
    type: str
    choices: [ minimal, replica, logical, keep ]
    default: logical
  max_replication_slots:
    description:
      - C(max_replication_slots). Raised, never lowered, by the sizing options.
    type: int
  max_wal_senders:
    description:
      - C(max_wal_senders). Raised, never lowered, by the sizing options.
    type: int
  max_logical_replication_workers:
    description:
      - C(max_logical_replication_workers). Raised, never lowered, by the sizing options.
    type: int
  max_worker_processes:
    description:
      - C(max_worker_processes). Raised, never lowered, by the sizing options.
    type: int
  max_sync_workers_per_subscription:
    description:
      - C(max_sync_workers_per_subscription). Also the table synchronisation reserve per
        subscription that the sizing options use.
    type: int
  max_slot_wal_keep_size:
    description:
      - C(max_slot_wal_keep_size), with a unit (V(10GB)) or in megabytes; V(-1) keeps WAL
        without limit. PostgreSQL 13 or later.
      - A limit protects the publisher's disk from a subscriber that stopped reading; a slot
        past it is invalidated and its subscription must be recreated.
    type: str
  settings:
    description:
      - Any other settings, name to value, for example C(shared_buffers) V(1GB). The names must exist in
        C(pg_settings).
      - A setting named both here and as its own option is an error.
    type: dict
    default: {}
  expected_subscriptions:
    description:
      - How many subscriptions this server will serve (as publisher) or run (as subscriber).
      - Raises C(max_replication_slots), C(max_wal_senders), C(max_logical_replication_workers),
        C(max_worker_processes) (and C(max_active_replication_origins) on PostgreSQL 18) to what
        the manual's "Configuration Settings" section requires, with C(max_sync_workers_per_subscription)
        table synchronisation workers reserved per subscription. Never lowers a value.
      - The minimums are N * (1 + sync workers) slots, WAL senders and workers, plus the physical
        replicas for slots and WAL senders, and one more worker process.
    type: int
    default: 0
  expected_physical_replicas:
    description:
      - How many physical standbys stream from this server at the same time; added to the
        C(max_wal_senders) and C(max_replication_slots) minimums.
    type: int
    default: 0
notes:
  - Needs a superuser, or on PostgreSQL 15 and later a role granted C(ALTER SYSTEM) on each
    parameter and read access to C(pg_file_settings).
  - On a managed service where C(ALTER SYSTEM) is refused (Amazon RDS/Aurora, Google Cloud SQL,
    Azure) the module fails before changing anything and names the parameter group setting to
    change instead (for example C(rds.logical_replication)).
  - A setting given on the server's command line (C(-c) or C(pg_ctl -o)) overrides C(ALTER SYSTEM);
    asking for another value for it is an error that says so.
seealso:
  - name: Logical replication configuration settings
    description: The manual's sizing rules this module applies.
    link: https://www.postgresql.org/docs/current/logical-replication-config.html
  - module: pgops.logical_replication.replication_info
'''

EXAMPLES = r'''
- name: Make a server ready to publish (wal_level = logical)
  pgops.logical_replication.wal_config:
    login_host: 127.0.0.1
    login_password: "{{ postgres_password }}"
  register: wal

- name: Restart when a setting waits for it
  ansible.builtin.service:
    name: postgresql
    state: restarted
  when: wal.restart_required

- name: Size a publisher for ten subscriptions and two standbys, cap retained WAL
  pgops.logical_replication.wal_config:
    expected_subscriptions: 10
    expected_physical_replicas: 2
    max_slot_wal_keep_size: 50GB

- name: Other settings, compared with units normalised
  pgops.logical_replication.wal_config:
    settings:
      wal_sender_timeout: 2min
      logical_decoding_work_mem: 256MB

- name: Set the connection once for every module of the collection
  module_defaults:
    group/pgops.logical_replication.logical_replication:
      login_host: db1.example.com
      login_password: "{{ postgres_password }}"
  block:
    - name: Publisher settings
      pgops.logical_replication.wal_config:
        expected_subscriptions: 3
'''

RETURN = r'''
restart_required:
  description: Whether a setting of this server waits for a restart (after this run's reload).
  returned: always
  type: bool
  sample: true
pending_restart:
  description: Names of the settings that wait for a restart, read back from C(pg_settings.pending_restart).
  returned: always
  type: list
  elements: str
  sample: [ wal_level ]
settings:
  description:
    - Each managed setting, with the value before this run (as it will be after a restart),
      the value asked for, the running value and whether it waits for a restart.
  returned: always
  type: dict
  sample:
    wal_level: {before: replica, after: logical, running: replica, unit: null, context: postmaster}
queries:
  description: The statements run (or, in check mode, that would run).
  returned: always
  type: list
  elements: str
  sample: [ "ALTER SYSTEM SET \"wal_level\" = 'logical'", "SELECT pg_reload_conf()" ]
diff:
  description: Settings before and after (in diff mode).
  returned: when diff mode is on
  type: dict
  sample: {before: {wal_level: replica}, after: {wal_level: logical}}
'''

from ansible_collections.pgops.logical_replication.plugins.module_utils._connection import build_module, run_module
from ansible_collections.pgops.logical_replication.plugins.module_utils._settings import WalConfig

FQCN = 'pgops.logical_replication.wal_config'

ARGUMENT_SPEC = dict(
    wal_level=dict(type='str', default='logical', choices=['minimal', 'replica', 'logical', 'keep']),
    max_replication_slots=dict(type='int'),
    max_wal_senders=dict(type='int'),
    max_logical_replication_workers=dict(type='int'),
    max_worker_processes=dict(type='int'),
    max_sync_workers_per_subscription=dict(type='int'),
    max_slot_wal_keep_size=dict(type='str'),
    settings=dict(type='dict', default={}),
    expected_subscriptions=dict(type='int', default=0),
    expected_physical_replicas=dict(type='int', default=0),
)


def main():
    module = build_module(ARGUMENT_SPEC)
    run_module(module, FQCN, lambda session, changes: WalConfig(module, session, changes).run())


if __name__ == '__main__':
    main()
