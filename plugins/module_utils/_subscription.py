# -*- coding: utf-8 -*-
# Copyright: pgops.logical_replication contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Subscriptions: read the whole state in one statement, plan the differences as data, wait for
sync; and the postgresql_subscription manager.

The pure parts (``state_from_row``, ``plan``, ``lsn_value``, the option table) are unit tested
without a server; ``Subscription`` (at the end) turns the planned actions into statements.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import contextlib
import time


from ansible_collections.pgops.logical_replication.plugins.module_utils import _catalog, _conninfo, _slots, _sql, _versions
from ansible_collections.pgops.logical_replication.plugins.module_utils._driver import sql
from ansible_collections.pgops.logical_replication.plugins.module_utils._errors import PgOpsError, where
from ansible_collections.pgops.logical_replication.plugins.module_utils._changes import Manager


class PlanError(PgOpsError, ValueError):
    """The requested state cannot be reached from the current one (message says what to do)."""


# WITH option -> (version-gate feature or None, catalog/state key or None when the option is an
# action at creation time, how it changes on an existing subscription).
#   'alter'     ALTER SUBSCRIPTION ... SET (option = value)
#   'disabled'  ALTER SUBSCRIPTION ... SET, only while the subscription is disabled
#   'create'    fixed at creation (compared, a difference is an error naming the way out)
#   'action'    used by CREATE (and REFRESH for copy_data), never compared
OPTIONS = (
    ('connect', None, 'action'),
    ('create_slot', None, 'action'),
    ('copy_data', None, 'action'),
    ('slot_name', None, 'alter'),
    ('synchronous_commit', None, 'alter'),
    ('binary', 'subscription_binary', 'alter'),
    ('streaming', 'subscription_streaming', 'alter'),
    ('two_phase', 'subscription_two_phase', 'create'),
    ('disable_on_error', 'subscription_disable_on_error', 'alter'),
    ('origin', 'subscription_origin', 'alter'),
    ('password_required', 'subscription_password_required', 'alter'),
    ('run_as_owner', 'subscription_run_as_owner', 'alter'),
    ('failover', 'subscription_failover', 'disabled'),
)
OPTION_NAMES = tuple(o[0] for o in OPTIONS)
# Options whose value is stored in pg_subscription (returned in ``options``, compared).
STORED = ('synchronous_commit', 'binary', 'streaming', 'two_phase', 'disable_on_error', 'origin',
          'password_required', 'run_as_owner', 'failover')

STREAMING = {'f': 'off', 't': 'on', 'p': 'parallel', False: 'off', True: 'on'}

# connect_timeout written into a new subscription's connection when the user gives none (seconds).
DEFAULT_CONNECT_TIMEOUT = 10
# The module's statement_timeout default (seconds): CREATE/ALTER/DROP SUBSCRIPTION wait on the publisher.
DEFAULT_STATEMENT_TIMEOUT = 45.0
# A table sync error is a failure (not a hiccup) when the apply worker stays up this long after it.
SYNC_ERROR_CONFIRM = 1.0


def how_changed(option, version):
    """How an option changes on an existing subscription on this server version."""
    kind = dict((o[0], o[2]) for o in OPTIONS)[option]
    if option == 'two_phase' and _versions.supports('subscription_alter_two_phase', version):
        return 'disabled'
    return kind


def feature_of(option, value):
    """The version-gate feature an option (with this value) needs, or None."""
    if option == 'streaming' and value == 'parallel':
        return 'subscription_streaming_parallel'
    return dict((o[0], o[1]) for o in OPTIONS)[option]


def lsn_value(text):
    """skip_lsn (or a stored LSN) as an integer, for comparing LSNs whatever their zero padding."""
    return _catalog.parse_lsn(text, 'an LSN (skip_lsn)')


# -- reading -------------------------------------------------------------------------------------

def catalog_query(version, conninfo=True, origin_lsn=False):
    """The one statement that reads a subscription's whole state (and its tables)."""
    cols = ['s.oid', 's.subname AS name', 'pg_get_userbyid(s.subowner) AS owner', 's.subenabled AS enabled',
            's.subslotname::text AS slot_name', 's.subsynccommit AS synchronous_commit',
            's.subpublications AS publications',
            "obj_description(s.oid, 'pg_subscription') AS comment",
            ('s.subconninfo' if conninfo else 'NULL::text') + ' AS conninfo',
            ('true' if conninfo else 'false') + ' AS conninfo_readable']
    # an option the server does not have is left out (and so not returned in ``options``)
    cols += _versions.columns('pg_subscription', version, missing=False)
    if origin_lsn:
        cols += ["(SELECT o.remote_lsn::text FROM pg_replication_origin_status o "
                 "WHERE o.external_id = 'pg_' || s.oid) AS origin_lsn"]
    cols += [_catalog.SUBSCRIPTION_TABLES.format(oid='s.oid') + ' AS tables']
    return ('SELECT ' + ',\n       '.join(cols) + '\nFROM pg_subscription s\n'
            'WHERE s.subdbid = (SELECT d.oid FROM pg_database d WHERE d.datname = current_database())\n'
            '  AND s.subname = %(name)s')


def tables_query(version):
    """What wait_for_sync polls: the tables and their states, whether the subscription is enabled,
    its error counts (15+, else NULL) and the pid of its apply worker."""
    stats = "(SELECT st.%s FROM pg_stat_subscription_stats st WHERE st.subid = %%(oid)s)"
    return ('SELECT ' + _catalog.SUBSCRIPTION_TABLES.format(oid='%(oid)s') + ' AS tables,\n'
            '       (SELECT subenabled FROM pg_subscription WHERE oid = %(oid)s) AS enabled,\n'
            '       ' + _versions.column('subscription_stats', version, stats % 'sync_error_count', 'bigint',
                                         'sync_error_count') + ',\n'
            '       ' + _versions.column('subscription_stats', version, stats % 'apply_error_count', 'bigint',
                                         'apply_error_count') + ',\n'
            '       (SELECT w.pid FROM pg_stat_subscription w WHERE w.subid = %(oid)s AND '
            + _catalog.apply_worker(version) + ' LIMIT 1) AS apply_pid')


def read(session, name, origin_lsn=False):
    """The subscription's state dict (see state_from_row), or None when it does not exist.

    A role that may not read pg_subscription.subconninfo (anyone but a superuser) gets the
    state without the connection (``conninfo_readable`` False).
    """
    params = {'name': name}
    try:
        # Only a superuser may read subconninfo: others go straight to the query without it.
        row = session.row(catalog_query(session.version, session.superuser, origin_lsn), params)
    except session.InsufficientPrivilege:
        try:
            row = session.row(catalog_query(session.version, False, origin_lsn), params)
        except session.InsufficientPrivilege:
            row = session.row(catalog_query(session.version, False, False), params)
    return state_from_row(row) if row else None


def state_from_row(row):
    """Normalise a catalog row: streaming as off/on/parallel, tables as _catalog.subscription_tables."""
    state = dict(row)
    if 'streaming' in state:
        state['streaming'] = STREAMING.get(state['streaming'], state['streaming'])
    state['publications'] = list(state.get('publications') or [])
    state['tables'] = _catalog.subscription_tables(state.get('tables'))
    return state


def options_of(state):
    """The stored WITH options of a state, as the module returns them."""
    return dict((k, state[k]) for k in STORED if k in state)


# -- planning ------------------------------------------------------------------------------------

def wanted_options(params):
    """{option: value} the user gave (None means 'leave as it is')."""
    out = {}
    for name in OPTION_NAMES:
        value = params.get(name)
        if value is None:
            continue
        if name == 'slot_name' and value.lower() == 'none':
            value = None
        out[name] = value
    return out


def check_versions(options, version, extra=()):
    """Raise PlanError naming the first requested option the server is too old for."""
    features = [feature_of(k, v) for k, v in options.items()] + list(extra)
    for feature in features:
        if feature:
            _versions.require(feature, version)


def target_enabled(state_param, enabled_param):
    """The enabled state the user wants (None: leave it), from state and enabled."""
    by_state = {'enabled': True, 'disabled': False}.get(state_param)
    if by_state is not None and enabled_param is not None and enabled_param != by_state:
        raise PlanError('state: %s contradicts enabled: %s; give one of them.' % (state_param, enabled_param))
    return by_state if by_state is not None else enabled_param


# The fixed statement of each action that has no user value in its keywords.
SWITCH_STATEMENTS = {'disable': 'ALTER SUBSCRIPTION {} DISABLE', 'enable': 'ALTER SUBSCRIPTION {} ENABLE'}
PUBLICATION_STATEMENTS = {
    'add': 'ALTER SUBSCRIPTION {} ADD PUBLICATION {} WITH (refresh = {})',
    'drop': 'ALTER SUBSCRIPTION {} DROP PUBLICATION {} WITH (refresh = {})',
    'set': 'ALTER SUBSCRIPTION {} SET PUBLICATION {} WITH (refresh = {})',
}


def publication_change(current, wanted):
    """('add'|'drop'|'set', names) to get from the current to the wanted publications, or None."""
    if wanted is None or list(current) == list(wanted):
        return None
    if set(current) == set(wanted) and len(set(wanted)) == len(wanted):
        return None
    added = [p for p in wanted if p not in current]
    dropped = [p for p in current if p not in wanted]
    if added and not dropped:
        return ('add', added)
    if dropped and not added:
        return ('drop', dropped)
    return ('set', list(wanted))


def plan(current, want, version):
    """The actions that take an existing subscription ``current`` to ``want``.

    ``want`` keys: enabled (bool/None), options ({name: value}), conninfo_differs (bool),
    publications (list/None), refresh (bool), copy_data (bool/None), refreshed (bool),
    owner, comment, skip_lsn. Returns a list of tuples, in the order they must run:
    disable, connection, set options, enable, publications, refresh, owner, comment, skip.
    Raises PlanError for a change PostgreSQL cannot make in place.
    """
    actions = []
    enabled_now = current['enabled']
    enabled_after = enabled_now if want.get('enabled') is None else want['enabled']
    changed = {}
    for name, value in want.get('options', {}).items():
        kind = how_changed(name, version)
        if kind == 'action':
            continue
        if name == 'slot_name':
            if value != current.get('slot_name'):
                changed[name] = value
            continue
        have = current.get(name)
        if name == 'synchronous_commit' and have is not None:
            have = have.lower()
            value = value.lower()
        if have == value:
            continue
        if kind == 'create':
            raise PlanError(
                '%s cannot be changed on an existing subscription before PostgreSQL %s; this server runs PostgreSQL '
                '%s (it is %s, you asked for %s). Leave %s out, or drop and recreate the subscription (state: '
                'absent, then present; the initial copy runs again unless copy_data: false).'
                % (name, _versions.major(_versions.FEATURES['subscription_alter_two_phase'][0]),
                   _versions.format_version(version), _word(have), _word(value), name))
        changed[name] = value
    needs_disabled = sorted(n for n in changed if how_changed(n, version) == 'disabled'
                            or (n == 'slot_name' and changed[n] is None))
    if needs_disabled and enabled_after:
        raise PlanError(
            '%s can only be changed while the subscription is disabled. Run with state: disabled (or enabled: false) '
            'to change it, then with state: enabled.' % ', '.join(
                'slot_name = NONE' if n == 'slot_name' else n for n in needs_disabled))
    if 'failover' in changed and not (changed.get('slot_name', current.get('slot_name'))):
        raise PlanError('failover cannot be changed on a subscription without a slot (slot_name is NONE); set '
                        'slot_name first.')
    if enabled_now and enabled_after is False:
        actions.append(('disable',))
    if want.get('conninfo_differs'):
        actions.append(('connection',))
    if changed:
        actions.append(('set', changed))
    if not enabled_now and enabled_after:
        if not (changed.get('slot_name', current.get('slot_name'))):
            raise PlanError('A subscription without a replication slot (slot_name is NONE) cannot be enabled. '
                            'Create the slot on the publisher and give slot_name in the same task.')
        actions.append(('enable',))
    pub = publication_change(current['publications'], want.get('publications'))
    refresh = bool(want.get('refresh', True)) and enabled_after
    if pub:
        actions.append(('publications', pub[0], pub[1], refresh, want.get('copy_data') if refresh else None))
    if want.get('refreshed') and not (pub and refresh):
        if not enabled_after:
            raise PlanError('state: refreshed needs an enabled subscription (PostgreSQL refuses REFRESH PUBLICATION '
                            'on a disabled one). Add enabled: true, or run with state: enabled first.')
        actions.append(('refresh', want.get('copy_data')))
    if want.get('owner') is not None and want['owner'] != current.get('owner'):
        actions.append(('owner', want['owner']))
    comment = want.get('comment')
    if comment is not None and (comment or None) != (current.get('comment') or None):
        actions.append(('comment', comment or None))
    skip = want.get('skip_lsn')
    if skip is not None:
        if skip.lower() == 'none':
            if lsn_value(current.get('skip_lsn') or '0/0'):
                actions.append(('skip', None))
        else:
            target = lsn_value(skip)
            done = lsn_value(current.get('origin_lsn') or '0/0')
            if lsn_value(current.get('skip_lsn') or '0/0') != target and done < target:
                actions.append(('skip', skip))
    return actions


def _word(value):
    if value is True:
        return 'true'
    if value is False:
        return 'false'
    return str(value)


# -- statements ----------------------------------------------------------------------------------

def with_clause(options):
    """WITH (a = x, b = y) from {option: value}; slot_name None is NONE."""
    parts = []
    for name in ('enabled',) + OPTION_NAMES:
        if name not in options:
            continue
        value = options[name]
        if name == 'slot_name' and value is None:
            parts.append(sql.SQL('slot_name = NONE'))
        else:
            parts.append(sql.SQL('{} = {}').format(sql.SQL(name), sql.Literal(value)))
    return sql.SQL(', ').join(parts)


def idents(names):
    return _sql.join([_sql.ident(n) for n in names])


def render_with_placeholder(composed, conn):
    """A Composed with one Placeholder as plain SQL text for execute(text, params).

    Every other part is rendered and its '%' doubled, so identifiers and literals with a percent
    sign survive parameter interpolation; the placeholder (the conninfo) stays a bound value.
    """
    out = []

    def walk(node):
        if isinstance(node, sql.Composed):
            for part in node:   # a Composed iterates over its parts (psycopg 3 and psycopg2 alike)
                walk(part)
        elif isinstance(node, sql.Placeholder):
            out.append(node.as_string(conn))
        else:
            out.append(node.as_string(conn).replace('%', '%%'))
    walk(composed)
    return ''.join(out)


# -- waiting -------------------------------------------------------------------------------------

class SyncErrors(object):
    """Tells a table copy that keeps failing from a hiccup, from what wait_for_sync polls.

    A table sync error counts (``update`` returns True) when pg_stat_subscription_stats.sync_error_count
    grew while one and the same apply worker kept running, and that worker is still running
    ``confirm`` seconds after the growth was seen: the publisher answers, so the copy fails on
    its own (a duplicate key on the subscriber, a missing column, permissions). When the publisher
    goes away the apply worker ends too (its pid changes), and the count starts again from there.
    """

    def __init__(self, confirm=SYNC_ERROR_CONFIRM):
        self.confirm = confirm
        self.first = None      # sync_error_count when the wait began
        self.pid = None        # the apply worker the baseline belongs to
        self.base = None       # sync_error_count when that worker was first seen
        self.since = None      # when the growth was first seen

    def update(self, count, pid, now):
        if count is None:      # before PostgreSQL 15: no statistics to read
            return False
        if self.first is None:
            self.first = count
        if pid is None or pid != self.pid:
            self.pid, self.base, self.since = pid, count, None
            return False
        if count <= self.base:
            return False
        if self.since is None:
            self.since = now
        return now - self.since >= self.confirm

    def during_wait(self, count):
        """How many table sync errors happened since the wait began."""
        return (count or 0) - (self.first or 0)


def wait_for_sync(session, oid, timeout, poll=0.1, tables=None, name=None, confirm=SYNC_ERROR_CONFIRM):
    """Poll pg_subscription_rel until every table is ready; return (tables, seconds waited).

    Raises SyncTimeout with the tables not ready (and their states) after ``timeout`` seconds, and
    SyncFailed at once when the tables cannot get ready: the subscription is disabled, or (15+) their
    copy keeps failing (see SyncErrors).
    """
    started = time.time()
    query = tables_query(session.version)
    errors = SyncErrors(confirm)
    shown = _sql.display_name([name]) if name else 'with oid %s' % oid
    while True:
        if tables is None or _catalog.not_ready(tables):
            row = session.row(query, {'oid': oid})
            tables = _catalog.subscription_tables(row['tables'])
        else:
            row = {'enabled': True}
        pending = _catalog.not_ready(tables)
        now = time.time()
        waited = round(now - started, 3)
        if not pending:
            return tables, waited
        counts = error_counts(row)
        listed = '; %s' % counts if counts else ''
        if row['enabled'] is False:
            raise SyncFailed('Subscription %s is disabled, so its tables will not synchronise: %s%s. Enable it '
                             '(state: enabled) to wait for the initial copy; if it was disabled by an error '
                             '(disable_on_error), fix that error first (the subscriber\'s server log names it).'
                             % (shown, describe(pending), listed), tables, waited, row)
        if errors.update(row.get('sync_error_count'), row.get('apply_pid'), now):
            raise SyncFailed(
                'Subscription %s: the initial copy of %s failed %d time(s) during this wait (%s) while the '
                'publisher answers, and PostgreSQL retries it every wal_retrieve_retry_interval, failing the same '
                'way. Usual causes: the table on the subscriber already holds rows with the same key as the '
                'publisher\'s (duplicate key), it lacks a column the publisher sends, the subscription\'s owner '
                'may not write it, or the publisher has no free replication slot or WAL sender for the copy '
                '(max_replication_slots, max_wal_senders); the ERROR of the "table synchronization worker" in the '
                'subscriber\'s server log says which. Fix it (for example empty the subscriber\'s copy with '
                'TRUNCATE when the publisher\'s rows are the ones to keep), then run again: the copy retries by '
                'itself.'
                % (shown, describe(pending), errors.during_wait(row['sync_error_count']), counts),
                tables, waited, row)
        if waited >= timeout:
            raise SyncTimeout('%d of %d table(s) of subscription %s not ready after %s s (sync_timeout): %s%s. The '
                              'initial copy may still be running. Raise sync_timeout, or run again to keep waiting.'
                              % (len(pending), len(tables), shown, timeout, describe(pending), listed),
                              tables, waited)
        time.sleep(poll)


def error_counts(row):
    """'pg_stat_subscription_stats: sync_error_count 3, apply_error_count 0' from a polled row (15+),
    '' before."""
    if row.get('sync_error_count') is None:
        return ''
    return 'pg_stat_subscription_stats: sync_error_count %s, apply_error_count %s' % (
        row['sync_error_count'], row.get('apply_error_count'))


WORKERS_QUERY = 'SELECT count(*) AS workers FROM pg_stat_subscription WHERE subid = %(oid)s AND pid IS NOT NULL'


def wait_for_workers_to_stop(session, oid, timeout=30.0, poll=0.1):
    """After DISABLE the workers exit asynchronously; PostgreSQL 18 refuses to alter two_phase until they have."""
    deadline = time.time() + timeout
    while session.row(WORKERS_QUERY, {'oid': oid})['workers']:
        if time.time() > deadline:
            raise PlanError('The workers of the subscription did not stop within %s s of DISABLE; run again.' % timeout)
        time.sleep(poll)


def conninfo_to_compare(given, stored):
    """The given conninfo as compared with the stored one (dicts of libpq text): without a
    connect_timeout of its own it takes the stored one, so the default the module adds at creation
    (or any timeout set before) never counts as a difference."""
    out = dict(given)
    if not out.get('connect_timeout') and (stored or {}).get('connect_timeout'):
        out['connect_timeout'] = stored['connect_timeout']
    return out


def conninfo_to_write(given, stored):
    """The conninfo CREATE or ALTER ... CONNECTION writes: the given one, with the stored
    connect_timeout or else DEFAULT_CONNECT_TIMEOUT when it has none."""
    out = conninfo_to_compare(given, stored)
    out.setdefault('connect_timeout', str(DEFAULT_CONNECT_TIMEOUT))
    return out


def publisher_words(info):
    """'the publisher at rhino port 5432 (database zoo)' from a conninfo dict."""
    where = info.get('host') or info.get('hostaddr') or info.get('service') or 'the default host'
    text = 'the publisher at %s port %s' % (where, info.get('port') or 5432)
    if info.get('dbname'):
        text += ' (database %s)' % info['dbname']
    return text


@contextlib.contextmanager
def _nothing_hidden():
    yield True


def describe(tables):
    return ', '.join('%s (%s)' % (t['name'], t['state']) for t in tables)


class SyncTimeout(PlanError):
    """The tables were not ready in time; the failure returns them (``tables``), ``waited`` and
    ``sync_timed_out`` (True: waiting longer may help)."""

    timed_out = True

    def __init__(self, msg, tables, waited, **extra):
        super(SyncTimeout, self).__init__(msg, tables=tables, waited=waited, sync_timed_out=self.timed_out, **extra)
        self.tables = tables
        self.waited = waited


class SyncFailed(SyncTimeout):
    """The tables cannot get ready (disabled subscription, a copy that keeps failing): waiting longer
    does not help (``sync_timed_out`` False). Returns the error counts (15+) with the tables."""

    timed_out = False

    def __init__(self, msg, tables, waited, row):
        super(SyncFailed, self).__init__(msg, tables, waited, sync_error_count=row.get('sync_error_count'),
                                         apply_error_count=row.get('apply_error_count'))


# -- the postgresql_subscription manager ----------------------------------------------------------

def shown_state(state):
    """The subscription as returned to the user (and shown in the diff): never the password."""
    if not state:
        return {}
    conninfo = None
    if state.get('conninfo') is not None:
        conninfo = _conninfo.mask(_conninfo.parse(state['conninfo']))
    return dict(name=state['name'], publications=list(state['publications']), enabled=state['enabled'],
                slot_name=state['slot_name'], options=options_of(state), owner=state['owner'],
                comment=state['comment'], conninfo=conninfo)


class Subscription(Manager):
    def __init__(self, module, session, changes):
        super(Subscription, self).__init__(module, session, changes)
        self.name = self.params['name']
        self.hidden = False
        self.stored = None

    # -- entry ---------------------------------------------------------------------------------
    def run(self):
        p = self.params
        _sql.check_name(self.name, 'subscription name')
        for pub in p['publications'] or []:
            _sql.check_name(pub, 'publication name')
        self.options = wanted_options(p)
        check_versions(self.options, self.session.version,
                       ['subscription_skip_lsn'] if p['skip_lsn'] is not None else [])
        if p['skip_lsn'] is not None and p['skip_lsn'].lower() != 'none':
            lsn_value(p['skip_lsn'])
        self.enabled = target_enabled(p['state'], p['enabled'])
        self.conninfo = self.wanted_conninfo()
        current = read(self.session, self.name, origin_lsn=p['skip_lsn'] is not None)
        if p['state'] == 'absent':
            return self.drop(current)
        after = self.create() if current is None else self.alter(current)
        self.changes.set_diff(shown_state(current), shown_state(after))
        result = dict(shown_state(after), exists=True, tables=after.get('tables', []))
        if p['wait_for_sync'] and not self.module.check_mode:
            tables, waited = wait_for_sync(self.session, after['oid'], p['sync_timeout'], tables=after.get('tables'),
                                           name=self.name)
            result.update(tables=tables, waited=waited)
        return result

    def wanted_conninfo(self):
        given = self.params['conninfo']
        if not given:
            return None
        with where('conninfo: '):
            clean = _conninfo.normalize(given)
        for key in _conninfo.SECRET_KEYS:
            if clean.get(key):
                self.session.add_secret(clean[key])
        return clean

    def publisher(self, stored=None):
        """The publisher in words, for messages: from conninfo, else the stored connection."""
        info = self.conninfo or (_conninfo.parse(stored) if stored else {})
        return publisher_words(info)

    # -- executing -----------------------------------------------------------------------------
    def execute(self, statement, contacts_publisher=False):
        """Run a statement; one that contacts the publisher and is cancelled (statement_timeout)
        fails naming the publisher."""
        try:
            self.changes.execute(statement)
        except self.session.Error as exc:
            if contacts_publisher:
                self.timed_out(exc)
            raise

    def timed_out(self, exc):
        """Turn a cancelled statement (statement_timeout, or the client's cancel) into a PgOpsError."""
        if self.session.sqlstate(exc) != '57014':
            return
        statement = self.changes.queries[-1].split(' CONNECTION ', 1)[0].split(' WITH ', 1)[0]
        raise PgOpsError(
            '%s did not finish within statement_timeout (%s s) and was cancelled: %s did not answer in time. Check '
            'that the publisher runs and lets this subscriber\'s server in (address, port, firewall, pg_hba.conf); '
            'when it is only slow (creating the replication slot waits until the publisher\'s running '
            'transactions end), raise statement_timeout (0 for no limit).%s Nothing is left waiting on the subscriber.'
            % (statement, self.params['statement_timeout'], self.publisher(self.stored),
               ' To drop the subscription without the publisher, run with keep_slot_on_drop: true (the slot stays '
               'there and is reported).' if statement.startswith('DROP ') else ''),
            sqlstate='57014')

    def execute_with_conninfo(self, composed):
        """A statement with a {conninfo} placeholder: the real one is bound, the masked one shown.

        A statement that carries a secret runs hidden: statement logging off for the session (once)
        and activity tracking off while it runs (pg_stat_activity shows no text for it)."""
        text = _conninfo.build(self.conninfo)
        secret = any(self.conninfo.get(k) for k in _conninfo.SECRET_KEYS) and not self.module.check_mode
        if secret and not self.hidden:
            self.hidden = True
            if not self.session.hide_statements_from_log():
                self.module.warn('This role may not turn statement logging off for its session, so if the server '
                                 'logs statements (log_statement, log_min_duration_statement) its log records the '
                                 'connection string of this subscription, password included.')
        query = render_with_placeholder(composed, self.session.conn)
        with (self.session.hidden_activity() if secret else _nothing_hidden()) as hidden:
            if secret and not hidden:
                self.module.warn('This role may not turn activity tracking off (track_activities, superuser only), '
                                 'so while the statement runs pg_stat_activity shows the connection string of this '
                                 'subscription, password included, to superusers, to this role and to members of '
                                 'pg_read_all_stats (pg_monitor).')
            try:
                self.changes.execute(query, {'conninfo': text}, shown_params={'conninfo': _conninfo.mask(text)})
            except self.session.Error as exc:
                self.timed_out(exc)
                raise

    def stmt(self, template, *args):
        return _sql.stmt(template, _sql.ident(self.name), *args)

    # -- create --------------------------------------------------------------------------------
    def create(self):
        p = self.params
        missing = [o for o in ('conninfo', 'publications') if not p[o]]
        if missing:
            raise PgOpsError('Subscription %s does not exist; to create it give %s.'
                             % (_sql.display_name([self.name]), ' and '.join(missing)))
        options = dict(self.options)
        if ('slot_name' not in options and options.get('connect') is not False
                and options.get('create_slot') is not False and not _slots.valid_slot_name(self.name)):
            raise PgOpsError('The replication slot is named after the subscription by default, but %s is not a valid '
                             'slot name (only lower case letters, digits and _, at most 63 bytes). Give slot_name.'
                             % _sql.display_name([self.name]))
        if self.enabled is not None:
            options['enabled'] = self.enabled
        self.conninfo = conninfo_to_write(self.conninfo, None)
        template = 'CREATE SUBSCRIPTION {} CONNECTION {} PUBLICATION {}'
        args = [sql.Placeholder('conninfo'), idents(p['publications'])]
        if options:
            template += ' WITH ({})'
            args.append(with_clause(options))
        self.execute_with_conninfo(self.stmt(template, *args))
        me = self.params.get('session_role') or self.params['login_user']
        if p['owner'] and p['owner'] != me:
            self.execute(self.stmt('ALTER SUBSCRIPTION {} OWNER TO {}', _sql.ident(p['owner'])))
        if p['comment']:
            self.execute(self.stmt('COMMENT ON SUBSCRIPTION {} IS {}', _sql.literal(p['comment'])))
        if p['skip_lsn'] is not None and p['skip_lsn'].lower() != 'none':
            self.module.warn('skip_lsn is ignored for a subscription created in this run.')
        if self.module.check_mode:
            return self.imagined(None, options)
        return read(self.session, self.name)

    # -- alter ---------------------------------------------------------------------------------
    def alter(self, current):
        p = self.params
        differs = False
        if self.conninfo is not None:
            if current['conninfo_readable']:
                stored = _conninfo.parse(current['conninfo'])
                differs = not _conninfo.same(stored, conninfo_to_compare(self.conninfo, stored))
                self.conninfo = conninfo_to_write(self.conninfo, stored)
            else:
                self.module.warn('This role cannot read the stored connection of subscription %s '
                                 '(pg_subscription.subconninfo needs a superuser), so conninfo cannot be compared '
                                 'and is left as it is. Connect as a superuser to reconcile it.'
                                 % _sql.display_name([self.name]))
        want = dict(enabled=self.enabled, options=self.options, conninfo_differs=differs,
                    publications=p['publications'], refresh=p['refresh'], copy_data=p['copy_data'],
                    refreshed=p['state'] == 'refreshed', owner=p['owner'], comment=p['comment'],
                    skip_lsn=p['skip_lsn'])
        actions = plan(current, want, self.session.version)
        self.oid = current['oid']
        self.stored = current.get('conninfo')
        for action in actions:
            self.run_action(action)
        if not actions:
            return current
        if self.module.check_mode:
            return self.imagined(current, actions)
        return read(self.session, self.name)

    def run_action(self, action):
        kind = action[0]
        if kind in ('disable', 'enable'):
            self.execute(self.stmt(SWITCH_STATEMENTS[kind]))
        elif kind == 'connection':
            self.execute_with_conninfo(self.stmt('ALTER SUBSCRIPTION {} CONNECTION {}',
                                                 sql.Placeholder('conninfo')))
        elif kind == 'set':
            if not self.module.check_mode and ({'two_phase', 'failover'} & set(action[1])):
                wait_for_workers_to_stop(self.session, self.oid)
            self.execute(self.stmt('ALTER SUBSCRIPTION {} SET ({})', with_clause(action[1])))
        elif kind == 'publications':
            verb, names, refresh, copy_data = action[1:]
            opts = _sql.literal(refresh) if copy_data is None else _sql.stmt(
                '{}, copy_data = {}', _sql.literal(refresh), _sql.literal(copy_data))
            self.execute(self.stmt(PUBLICATION_STATEMENTS[verb], idents(names), opts), refresh)
        elif kind == 'refresh':
            if action[1] is None:
                self.execute(self.stmt('ALTER SUBSCRIPTION {} REFRESH PUBLICATION'), True)
            else:
                self.execute(self.stmt('ALTER SUBSCRIPTION {} REFRESH PUBLICATION WITH (copy_data = {})',
                                       _sql.literal(action[1])), True)
        elif kind == 'owner':
            self.execute(self.stmt('ALTER SUBSCRIPTION {} OWNER TO {}', _sql.ident(action[1])))
        elif kind == 'comment':
            self.execute(self.stmt('COMMENT ON SUBSCRIPTION {} IS {}', _sql.literal(action[1])))
        elif kind == 'skip':
            value = _sql.stmt('NONE') if action[1] is None else _sql.literal(action[1])
            self.execute(self.stmt('ALTER SUBSCRIPTION {} SKIP (lsn = {})', value))

    def imagined(self, current, changes):
        """The state a check-mode run would leave (no server round trip)."""
        p = self.params
        if current is None:
            state = dict(name=self.name, publications=list(p['publications']), owner=p['owner'] or
                         p.get('session_role') or p['login_user'], comment=p['comment'] or None,
                         enabled=changes.get('enabled', changes.get('connect', True) is not False),
                         slot_name=changes['slot_name'] if 'slot_name' in changes else self.name,
                         conninfo=_conninfo.build(self.conninfo), oid=None, tables=[])
            state.update((k, v) for k, v in changes.items() if k in STORED)
            return state
        state = dict(current)
        for action in changes:
            kind = action[0]
            if kind in ('disable', 'enable'):
                state['enabled'] = kind == 'enable'
            elif kind == 'connection':
                state['conninfo'] = _conninfo.build(self.conninfo)
            elif kind == 'set':
                state.update(action[1])
            elif kind == 'publications':
                state['publications'] = list(p['publications'])
            elif kind in ('owner', 'comment'):
                state[kind] = action[1]
        return state

    # -- drop ----------------------------------------------------------------------------------
    def drop(self, current):
        result = dict(exists=False, name=self.name, kept_slot=None)
        if current is None:
            return result
        keep = self.params['keep_slot_on_drop']
        if keep:
            if current['enabled']:
                self.execute(self.stmt('ALTER SUBSCRIPTION {} DISABLE'))
            if current['slot_name']:
                self.execute(self.stmt('ALTER SUBSCRIPTION {} SET (slot_name = NONE)'))
                result['kept_slot'] = current['slot_name']
                self.module.warn('The replication slot %s is left on the publisher and keeps WAL there until it is '
                                 'dropped (pgops.logical_replication.replication_slot state: absent).'
                                 % current['slot_name'])
        self.changes.set_diff(shown_state(current), {})
        try:
            self.stored = current.get('conninfo')
            self.execute(self.stmt('DROP SUBSCRIPTION {}'), bool(current['slot_name']) and not keep)
        except self.session.Error as exc:
            if keep:
                raise
            raise PgOpsError(
                'Could not drop subscription %s: %s. DROP SUBSCRIPTION also drops its replication slot on the '
                'publisher; when the publisher is unreachable or the slot must stay, run again with '
                'keep_slot_on_drop: true (the slot is then left on the publisher and reported).'
                % (_sql.display_name([self.name]), self.session.error_text(exc)), sqlstate=self.session.sqlstate(exc))
        return result
