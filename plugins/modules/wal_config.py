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
author:
  - pgops.logical_replication maintainers (@pgops)
extends_documentation_fragment:
  - pgops.logical_replication.connection
  - pgops.logical_replication.attributes
options:
  wal_level:
    description:
      - The C(wal_level). V(logical) is what logical replication needs on a publisher.
    type: str
    choices: [ minimal, replica, logical ]
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

from ansible_collections.pgops.logical_replication.plugins.module_utils._connection import (
    PgOpsError, build_module, run_module)
from ansible_collections.pgops.logical_replication.plugins.module_utils import _catalog, _settings, _sql

FQCN = 'pgops.logical_replication.wal_config'
NAMED_SETTINGS = ('wal_level', 'max_replication_slots', 'max_wal_senders', 'max_logical_replication_workers',
                  'max_worker_processes', 'max_sync_workers_per_subscription', 'max_slot_wal_keep_size')
SIZED = ('max_replication_slots', 'max_wal_senders', 'max_logical_replication_workers',
         'max_worker_processes', 'max_active_replication_origins')
# File locations and other settings ALTER SYSTEM must not (or cannot) set.
NOT_FOR_ALTER_SYSTEM = ('data_directory', 'config_file', 'hba_file', 'ident_file')
RELOAD_WAIT_SECONDS = 5.0

ARGUMENT_SPEC = dict(
    wal_level=dict(type='str', default='logical', choices=['minimal', 'replica', 'logical']),
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


def requested(params):
    """{name: value text} the user asked for, names lower-cased."""
    wanted = dict((name, params[name]) for name in NAMED_SETTINGS if params.get(name) is not None)
    for name, value in (params['settings'] or {}).items():
        key = name.strip().lower()
        if key in wanted:
            raise PgOpsError('%s is given both as its own option and in settings; give it once.' % key)
        if value is None:
            raise PgOpsError('settings.%s has no value; give one, or leave the setting out.' % key)
        wanted[key] = value
    return dict((k, _settings.as_text(v)) for k, v in wanted.items())


class WalConfig(object):
    def __init__(self, module, session, changes):
        self.module = module
        self.session = session
        self.changes = changes
        self.params = module.params

    def run(self):
        wanted = requested(self.params)
        if wanted.get('max_slot_wal_keep_size') is not None:
            self.session.require('max_slot_wal_keep_size')
        names = set(wanted) | set(SIZED) | {'max_sync_workers_per_subscription', 'allow_alter_system'}
        rows = _catalog.settings(self.session, sorted(names))
        missing = sorted(n for n in wanted if n not in rows)
        if missing:
            raise PgOpsError('Unknown setting(s): %s. This server (PostgreSQL %s) has no such parameter in '
                             'pg_settings; check the spelling or the server version.'
                             % (', '.join(missing), self.session.version // 10000))
        targets = self.targets(wanted, rows)
        plan = self.plan(targets, rows)
        self.check_writable(plan, rows)

        self.changes.set_diff(dict((n, p['before']) for n, p in plan.items() if p['before'] != p['after']),
                              dict((n, p['after']) for n, p in plan.items() if p['before'] != p['after']))
        written = [n for n, p in plan.items() if p['before'] != p['after']]
        pending = self.write(written, plan, rows)
        return dict(settings=plan, pending_restart=pending, restart_required=bool(pending))

    def targets(self, wanted, rows):
        """{name: normalised target}: what the user asked, raised to the sizing minimums."""
        targets = {}
        self.raw = dict(wanted)
        for name, value in wanted.items():
            meta = rows[name]
            if meta['context'] == 'internal' or name in NOT_FOR_ALTER_SYSTEM:
                raise PgOpsError('%s cannot be set with ALTER SYSTEM (it is fixed when the cluster is created '
                                 'or must be set in postgresql.conf or on the command line). Nothing was changed.'
                                 % name)
            try:
                targets[name] = _settings.normalize(value, meta['vartype'], meta['unit'], name)
                _settings.validate(targets[name], meta)
            except _settings.SettingValueError as exc:
                raise PgOpsError('Invalid value for %s: %s. Nothing was changed.' % (name, exc))
        sync = targets.get('max_sync_workers_per_subscription') or self.future(rows['max_sync_workers_per_subscription'])
        minimums = _settings.replication_minimums(self.params['expected_subscriptions'],
                                                  self.params['expected_physical_replicas'],
                                                  sync, self.session.version)
        for name, minimum in minimums.items():
            if name not in rows:
                continue
            current = int(targets.get(name) or self.future(rows[name]))
            if current < minimum:
                if name in targets:
                    self.module.warn('%s = %s is below the %d that %d expected subscription(s) need; '
                                     'raised to %d.' % (name, targets[name], minimum,
                                                        self.params['expected_subscriptions'], minimum))
            # Sized settings are always reported; a higher value stays as it is.
            targets[name] = self.raw[name] = str(max(current, minimum))
        return targets

    def future(self, row):
        """The normalised value in force after a restart: the last file line, else the default.

        A file line of a restart-only setting carries the error "setting could not be applied"
        while the restart is pending: it is still the value that comes up after the restart.
        """
        if row['file_setting'] is not None:
            raw = row['file_setting']
        elif row['source'] in ('default', 'configuration file', 'override'):
            raw = row['boot_val'] if row['source'] == 'default' else row['setting']
        else:
            raw = row['setting']
        try:
            return _settings.normalize(raw, row['vartype'], row['unit'], row['name'])
        except _settings.SettingValueError:
            return raw  # an invalid line in a file: never equal to a valid target

    def plan(self, targets, rows):
        plan = {}
        for name in sorted(targets):
            row = rows[name]
            plan[name] = dict(before=self.future(row), after=targets[name],
                              running=_settings.normalize(row['setting'], row['vartype'], row['unit'], name),
                              unit=row['unit'], context=row['context'])
        return plan

    def check_writable(self, plan, rows):
        """Every reason ALTER SYSTEM would refuse, before anything is written."""
        changing = [n for n, p in plan.items() if p['before'] != p['after']]
        if not changing:
            return
        for name in changing:
            row = rows[name]
            if row['source'] in ('command line', 'environment variable'):
                raise PgOpsError('%s is set on the server\'s %s (to %s), which overrides ALTER SYSTEM; change it '
                                 'there (for example the pg_ctl -o options or the service unit). Nothing was changed.'
                                 % (name, row['source'], row['setting']))
        allow = rows.get('allow_alter_system')
        if allow is not None and allow['setting'] == 'off':
            raise PgOpsError('ALTER SYSTEM is disabled on this server (allow_alter_system = off), so %s cannot be '
                             'changed here; set it in postgresql.conf with your configuration management. '
                             'Nothing was changed.' % ', '.join(changing))
        refused = [n for n in changing if not rows[n]['may_alter_system']]
        if refused:
            markers = rows[refused[0]]['managed_markers']
            if markers:
                service, advice = _catalog.MANAGED_SERVICE_MARKERS[markers[0]]
                raise PgOpsError('This server looks like %s (setting %s exists), where ALTER SYSTEM is refused. '
                                 'To change %s: %s. Nothing was changed.'
                                 % (service, markers[0], ', '.join(refused), advice))
            raise PgOpsError('Role %s may not ALTER SYSTEM %s: it needs to be a superuser (or, on PostgreSQL 15 and '
                             'later, be granted ALTER SYSTEM on these parameters). Nothing was changed.'
                             % (self.params['login_user'], ', '.join(refused)))
        if not rows[changing[0]]['files_readable']:
            raise PgOpsError('Role %s cannot read pg_file_settings, so the value after a restart cannot be '
                             'compared. Grant pg_read_all_settings or connect as a superuser.'
                             % self.params['login_user'])

    def write(self, written, plan, rows):
        """ALTER SYSTEM each changed setting, reload, read back what waits for a restart."""
        pending = set(rows[next(iter(rows))]['pending_restart_names'] or [])
        if not written:
            return sorted(pending)
        done = []
        try:
            for name in written:
                self.changes.execute(_sql.stmt('ALTER SYSTEM SET {} = {}', _sql.ident(*name.split('.')),
                                               _sql.literal(self.raw[name])))
                done.append(name)
        except Exception:
            self.undo(done, rows)
            raise
        self.changes.execute(_sql.stmt('SELECT pg_reload_conf()'))
        if self.module.check_mode:
            for name in written:
                if plan[name]['context'] == 'postmaster' and plan[name]['after'] != plan[name]['running']:
                    pending.add(name)
                elif plan[name]['after'] == plan[name]['running']:
                    pending.discard(name)
            return sorted(pending)
        return self.read_back_pending(rows)

    def undo(self, done, rows):
        """Put back what this run already wrote when a later ALTER SYSTEM fails."""
        for name in reversed(done):
            previous = rows[name]['file_setting'] if rows[name]['file_source'] else None
            if previous is None or not rows[name]['file_source'].endswith('postgresql.auto.conf'):
                self.changes.execute(_sql.stmt('ALTER SYSTEM RESET {}', _sql.ident(*name.split('.'))))
            else:
                self.changes.execute(_sql.stmt('ALTER SYSTEM SET {} = {}', _sql.ident(*name.split('.')),
                                               _sql.literal(previous)))

    def read_back_pending(self, rows):
        """pg_settings.pending_restart after this session has processed the reload."""
        state = _catalog.wait_for_reload(self.session, rows[next(iter(rows))]['conf_load_time'],
                                         RELOAD_WAIT_SECONDS)
        if not state['reloaded']:
            self.module.warn('The server did not reload its configuration within %.0f s; pending_restart may be '
                             'incomplete.' % RELOAD_WAIT_SECONDS)
        return sorted(state['pending_restart_names'] or [])


def main():
    module = build_module(ARGUMENT_SPEC)
    run_module(module, FQCN, lambda session, changes: WalConfig(module, session, changes).run())


if __name__ == '__main__':
    main()
