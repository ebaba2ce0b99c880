# -*- coding: utf-8 -*-
# Copyright: pgops.logical_replication contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Server settings: value normalisation (units, booleans, enums), replication sizing, and the
wal_config manager.

The functions are pure (no server): tests/unit covers them with tables. ``WalConfig`` reads every
setting it manages in one statement (``_catalog.settings``), compares with the value in force
after a restart, writes with ALTER SYSTEM through ``Changes``, reloads and reads back what waits
for a restart.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import re

from ansible_collections.pgops.logical_replication.plugins.module_utils import _catalog, _sql, _versions
from ansible_collections.pgops.logical_replication.plugins.module_utils._errors import PgOpsError, where
from ansible_collections.pgops.logical_replication.plugins.module_utils._changes import Manager

MEMORY_UNITS = {'B': 1, 'kB': 1024, 'MB': 1024 ** 2, 'GB': 1024 ** 3, 'TB': 1024 ** 4}
TIME_UNITS = {'us': 0.001, 'ms': 1, 's': 1000, 'min': 60000, 'h': 3600000, 'd': 86400000}
_NUMBER_WITH_UNIT = re.compile(r'^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*([a-zA-Z]*)\s*$')
_TRUE = ('on', 'true', 'yes', '1')
_FALSE = ('off', 'false', 'no', '0')


class SettingValueError(PgOpsError, ValueError):
    """A value PostgreSQL would not accept for a setting."""


def as_text(value):
    """The text form of a value as a user writes it in YAML (bools as on/off)."""
    if isinstance(value, bool):
        return 'on' if value else 'off'
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _base_unit(unit):
    """Split pg_settings.unit ('8kB', 'kB', 'ms', 'min', '') into (multiplier, family, bytes-or-ms)."""
    if not unit:
        return None
    match = re.match(r'^(\d*)(\w+)$', unit)
    count = int(match.group(1) or 1)
    name = match.group(2)
    if name in MEMORY_UNITS:
        return 'memory', count * MEMORY_UNITS[name]
    if name in TIME_UNITS:
        return 'time', count * TIME_UNITS[name]
    return None


def parse_bool(text):
    """PostgreSQL's boolean parsing: on/off/true/false/yes/no/1/0 and unique prefixes."""
    value = text.strip().lower()
    if value in ('on', '1'):
        return 'on'
    if value in ('off', 'of', '0'):
        return 'off'
    for word, result in (('true', 'on'), ('yes', 'on'), ('false', 'off'), ('no', 'off')):
        if value and word.startswith(value):
            return result
    raise SettingValueError('%r is not a boolean (use on or off)' % text)


def normalize(value, vartype, unit=None, name='setting'):
    """The canonical text of a setting's value, comparable across spellings.

    Integers and reals with units come out in the setting's base unit (pg_settings.unit),
    so '1GB', '1024MB' and '1048576kB' are equal; booleans come out on/off; enums lower case.
    """
    text = as_text(value)
    if vartype == 'bool':
        return parse_bool(text)
    if vartype == 'enum':
        return text.strip().lower()
    if vartype in ('integer', 'real'):
        match = _NUMBER_WITH_UNIT.match(text)
        if not match:
            raise SettingValueError('%s: %r is not a number' % (name, text))
        number = float(match.group(1))
        given_unit = match.group(2)
        if given_unit:
            base = _base_unit(unit)
            if base is None:
                raise SettingValueError('%s takes no unit, got %r' % (name, text))
            family, base_size = base
            table = MEMORY_UNITS if family == 'memory' else TIME_UNITS
            if given_unit not in table:
                raise SettingValueError(
                    '%s: unit %r is not valid; valid units are %s (case matters)'
                    % (name, given_unit, ', '.join(table)))
            number = number * table[given_unit] / base_size
        if vartype == 'integer':
            rounded = int(round(number))
            if not given_unit and number != rounded:
                raise SettingValueError('%s: %r is not an integer' % (name, text))
            return str(rounded)
        return '%.10g' % number
    return text


def validate(normalized, meta):
    """Raise SettingValueError when a normalised value is outside what pg_settings allows."""
    name = meta['name']
    if meta['vartype'] == 'enum':
        allowed = [v.lower() for v in (meta.get('enumvals') or [])]
        if allowed and normalized not in allowed:
            raise SettingValueError('%s: %r is not one of %s' % (name, normalized, ', '.join(allowed)))
    elif meta['vartype'] in ('integer', 'real'):
        number = float(normalized)
        low, high = meta.get('min_val'), meta.get('max_val')
        if low is not None and number < float(low) or high is not None and number > float(high):
            raise SettingValueError('%s: %s is outside the range %s..%s%s'
                                    % (name, normalized, low, high,
                                       (' (in units of %s)' % meta['unit']) if meta.get('unit') else ''))


def replication_minimums(subscriptions, physical_replicas, sync_workers, version_num):
    """The counts the manual requires for this many subscriptions and physical replicas.

    From the "Configuration Settings" section of the Logical Replication chapter:
    - publisher: max_replication_slots >= subscriptions + reserve for table synchronisation
      (each subscription runs up to max_sync_workers_per_subscription sync workers, each with
      a temporary slot); max_wal_senders >= max_replication_slots + physical replicas;
    - subscriber: max_logical_replication_workers >= subscriptions + sync reserve;
      max_worker_processes >= max_logical_replication_workers + 1;
      on 18+ max_active_replication_origins >= subscriptions + sync reserve.
    The same host may be both, so both sides are sized. Zero expected means no minimum.
    """
    subscriptions = int(subscriptions or 0)
    physical_replicas = int(physical_replicas or 0)
    out = {}
    if subscriptions:
        with_sync = subscriptions * (1 + int(sync_workers))
        out['max_replication_slots'] = with_sync + physical_replicas
        out['max_wal_senders'] = with_sync + physical_replicas
        out['max_logical_replication_workers'] = with_sync
        out['max_worker_processes'] = with_sync + 1
        if _versions.supports('max_active_replication_origins', version_num):
            out['max_active_replication_origins'] = with_sync
    elif physical_replicas:
        out['max_replication_slots'] = physical_replicas
        out['max_wal_senders'] = physical_replicas
    return out


def start_refusals(future, version_num):
    """What the server would refuse when it starts with these values: a list of messages, each naming the
    settings (empty when it starts). ``future`` maps names to normalised values in force after a restart;
    a setting it lacks is not checked.

    - the sum limit: the settings of _versions.backend_limit plus the special processes <= MAX_BACKENDS;
    - the reserved connections (superuser_reserved_connections, and reserved_connections on 16+) below
      max_connections;
    - wal_level = minimal with max_wal_senders > 0 ("WAL streaming requires wal_level replica or logical")
      or with archive_mode on or always ("WAL archival cannot be enabled when wal_level is minimal").
    """
    out = []
    names, special = _versions.backend_limit(version_num)
    try:
        total = sum(int(future[name]) for name in names)
    except (KeyError, ValueError):   # a setting not read, or an invalid line in a file: not checked here
        total = None
    if total is not None:
        if total + special > _versions.MAX_BACKENDS:
            out.append('%s must add up to at most %d on PostgreSQL %s (%d server processes, MAX_BACKENDS, less %d '
                       'special one%s); here they add up to %d'
                       % (' + '.join('%s (%s)' % (name, future[name]) for name in names),
                          _versions.MAX_BACKENDS - special, _versions.major(version_num), _versions.MAX_BACKENDS,
                          special, '' if special == 1 else 's', total))
    reserved = [name for name in ('superuser_reserved_connections', 'reserved_connections') if name in future]
    try:
        if reserved and sum(int(future[name]) for name in reserved) >= int(future['max_connections']):
            out.append('%s must be less than max_connections (%s)'
                       % (' + '.join('%s (%s)' % (name, future[name]) for name in reserved), future['max_connections']))
    except (KeyError, ValueError):
        pass
    if future.get('wal_level') == 'minimal':
        if str(future.get('max_wal_senders') or '0') != '0':
            out.append('wal_level = minimal needs max_wal_senders = 0 (it is %s): WAL streaming requires wal_level '
                       'replica or logical' % future['max_wal_senders'])
        if future.get('archive_mode') in ('on', 'always'):
            out.append('wal_level = minimal needs archive_mode = off (it is %s): WAL archival cannot be enabled '
                       'when wal_level is minimal' % future['archive_mode'])
    return out


# -- the wal_config manager ---------------------------------------------------------------------

NAMED_SETTINGS = ('wal_level', 'max_replication_slots', 'max_wal_senders', 'max_logical_replication_workers',
                  'max_worker_processes', 'max_sync_workers_per_subscription', 'max_slot_wal_keep_size')
SIZED = ('max_replication_slots', 'max_wal_senders', 'max_logical_replication_workers',
         'max_worker_processes', 'max_active_replication_origins')
# File locations and other settings ALTER SYSTEM must not (or cannot) set.
NOT_FOR_ALTER_SYSTEM = ('data_directory', 'config_file', 'hba_file', 'ident_file')
RELOAD_WAIT_SECONDS = 5.0
# Read with the other settings (same statement) for start_refusals.
START_CHECKED = ('wal_level', 'max_wal_senders', 'archive_mode', 'superuser_reserved_connections',
                 'reserved_connections')


def requested(params):
    """{name: value text} the user asked for, names lower-cased."""
    wanted = dict((name, params[name]) for name in NAMED_SETTINGS if params.get(name) is not None)
    if wanted.get('wal_level') == 'keep':  # a server that only subscribes: wal_level left as it is
        del wanted['wal_level']
    for name, value in (params['settings'] or {}).items():
        key = name.strip().lower()
        if key in wanted:
            raise PgOpsError('%s is given both as its own option and in settings; give it once.' % key)
        if value is None:
            raise PgOpsError('settings.%s has no value; give one, or leave the setting out.' % key)
        wanted[key] = value
    return dict((k, as_text(v)) for k, v in wanted.items())


class WalConfig(Manager):
    def run(self):
        wanted = requested(self.params)
        limit, _special = _versions.backend_limit(self.session.version)
        names = set(wanted) | set(SIZED) | set(limit) | set(START_CHECKED)
        names |= {'max_sync_workers_per_subscription', 'allow_alter_system'}
        rows = _catalog.settings(self.session, sorted(names))
        missing = sorted(n for n in wanted if n not in rows)
        for name in missing:
            if name in _versions.FEATURES:  # a setting newer than this server: say which PostgreSQL has it
                self.session.require(name)
        if missing:
            raise PgOpsError('Unknown setting(s): %s. This server (PostgreSQL %s) has no such parameter in '
                             'pg_settings; check the spelling or the server version.'
                             % (', '.join(missing), _versions.major(self.session.version)))
        targets = self.targets(wanted, rows)
        plan = self.plan(targets, rows)
        self.check_start(plan, rows)
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
            with where('Invalid value for %s: ' % name, '. Nothing was changed.'):
                targets[name] = normalize(value, meta['vartype'], meta['unit'], name)
                validate(targets[name], meta)
        sync = targets.get('max_sync_workers_per_subscription') or self.future(rows['max_sync_workers_per_subscription'])
        minimums = replication_minimums(self.params['expected_subscriptions'],
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
            if current < minimum:
                with where('expected_subscriptions %d and expected_physical_replicas %d need %s = %d, which this '
                           'server refuses: ' % (self.params['expected_subscriptions'],
                                                 self.params['expected_physical_replicas'], name, minimum),
                           '. Nothing was changed; ask for fewer.'):
                    validate(targets[name], rows[name])
        return targets

    def check_start(self, plan, rows):
        """Refuse values the server would refuse when it starts (start_refusals), before anything is written:
        only when this run changes one of the settings involved."""
        limit, _special = _versions.backend_limit(self.session.version)
        changing = [n for n, p in plan.items() if p['before'] != p['after']]
        if not set(changing) & (set(limit) | set(START_CHECKED)):
            return
        future = dict((name, plan[name]['after'] if name in plan else self.future(row)) for name, row in rows.items())
        refusals = start_refusals(future, self.session.version)
        if refusals:
            sizing = ''
            if self.params['expected_subscriptions'] or self.params['expected_physical_replicas']:
                sizing = (' (expected_subscriptions %d and expected_physical_replicas %d raised %s)'
                          % (self.params['expected_subscriptions'], self.params['expected_physical_replicas'],
                             ', '.join('%s to %s' % (n, plan[n]['after']) for n in SIZED
                                       if n in changing and n not in self.params_named())))
            raise PgOpsError('The server would not start again with these settings%s: %s. Nothing was changed; ask '
                             'for fewer subscriptions or lower the settings named.' % (sizing, '; '.join(refusals)))

    def params_named(self):
        """The settings the user named (options and settings), not raised by the sizing options."""
        return set(requested(self.params))

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
            return normalize(raw, row['vartype'], row['unit'], row['name'])
        except SettingValueError:
            return raw  # an invalid line in a file: never equal to a valid target

    def plan(self, targets, rows):
        plan = {}
        for name in sorted(targets):
            row = rows[name]
            plan[name] = dict(before=self.future(row), after=targets[name],
                              running=normalize(row['setting'], row['vartype'], row['unit'], name),
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
