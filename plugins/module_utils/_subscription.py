# -*- coding: utf-8 -*-
# Copyright: pgops.logical_replication contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Subscriptions: read the whole state in one statement, plan the differences as data, wait for sync.

The pure parts (``state_from_row``, ``plan``, ``lsn_value``, the option table) are unit tested
without a server; the module only turns the planned actions into statements.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import time

try:
    from psycopg2 import sql
except ImportError:  # pragma: no cover - reported by the connection helper
    sql = None

from ansible_collections.pgops.logical_replication.plugins.module_utils import _versions
from ansible_collections.pgops.logical_replication.plugins.module_utils._errors import PgOpsError


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

SYNC_STATES = {'i': 'initialize', 'd': 'data copy', 'f': 'finished table copy', 's': 'synchronized',
               'r': 'ready'}
STREAMING = {'f': 'off', 't': 'on', 'p': 'parallel', False: 'off', True: 'on'}


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
    """'16/B374D848' -> integer, for comparing LSNs whatever their zero padding."""
    if text is None:
        return None
    try:
        high, low = str(text).strip().split('/')
        return (int(high, 16) << 32) + int(low, 16)
    except ValueError:
        raise PlanError("skip_lsn %r is not an LSN; write it as PostgreSQL prints it, e.g. '0/14C0378'." % (text,))


def valid_slot_name(name):
    """Whether PostgreSQL accepts name as a replication slot name."""
    return bool(name) and len(name) <= 63 and all(c in 'abcdefghijklmnopqrstuvwxyz0123456789_' for c in name)


# -- reading -------------------------------------------------------------------------------------

def catalog_query(version, conninfo=True, origin_lsn=False):
    """The one statement that reads a subscription's whole state (and its tables)."""
    cols = ['s.oid', 's.subname AS name', 'pg_get_userbyid(s.subowner) AS owner', 's.subenabled AS enabled',
            's.subslotname::text AS slot_name', 's.subsynccommit AS synchronous_commit',
            's.subpublications AS publications',
            "obj_description(s.oid, 'pg_subscription') AS comment",
            ('s.subconninfo' if conninfo else 'NULL::text') + ' AS conninfo',
            ('true' if conninfo else 'false') + ' AS conninfo_readable']
    if version >= 140000:
        cols += ['s.subbinary AS binary', 's.substream AS streaming']
    if version >= 150000:
        cols += ["s.subtwophasestate <> 'd' AS two_phase", 's.subdisableonerr AS disable_on_error',
                 's.subskiplsn::text AS skip_lsn']
    if version >= 160000:
        cols += ['s.suborigin AS origin', 's.subpasswordrequired AS password_required',
                 's.subrunasowner AS run_as_owner']
    if version >= 170000:
        cols += ['s.subfailover AS failover']
    if origin_lsn:
        cols += ["(SELECT o.remote_lsn::text FROM pg_replication_origin_status o "
                 "WHERE o.external_id = 'pg_' || s.oid) AS origin_lsn"]
    cols += [TABLES_SUBQUERY + ' AS tables']
    return ('SELECT ' + ',\n       '.join(cols) + '\nFROM pg_subscription s\n'
            'WHERE s.subdbid = (SELECT d.oid FROM pg_database d WHERE d.datname = current_database())\n'
            '  AND s.subname = %(name)s')


TABLES_SUBQUERY = """COALESCE((SELECT json_agg(json_build_object('schema', n.nspname, 'name', c.relname,
         'state', r.srsubstate, 'lsn', r.srsublsn::text) ORDER BY n.nspname, c.relname)
       FROM pg_subscription_rel r JOIN pg_class c ON c.oid = r.srrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace WHERE r.srsubid = s.oid), '[]'::json)"""

TABLES_QUERY = """SELECT """ + TABLES_SUBQUERY.replace('s.oid', '%(oid)s') + """ AS tables,
       (SELECT subenabled FROM pg_subscription WHERE oid = %(oid)s) AS enabled"""


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
    """Normalise a catalog row: streaming as off/on/parallel, tables with state names."""
    state = dict(row)
    if 'streaming' in state:
        state['streaming'] = STREAMING.get(state['streaming'], state['streaming'])
    state['publications'] = list(state.get('publications') or [])
    state['tables'] = [table_entry(t) for t in (state.get('tables') or [])]
    return state


def table_entry(t):
    return dict(schema=t['schema'], name=t['name'], state=t['state'],
                state_name=SYNC_STATES.get(t['state'], t['state']), lsn=t.get('lsn'))


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
            try:
                _versions.require(feature, version)
            except _versions.UnsupportedFeature as exc:
                raise PlanError(str(exc))


def target_enabled(state_param, enabled_param):
    """The enabled state the user wants (None: leave it), from state and enabled."""
    by_state = {'enabled': True, 'disabled': False}.get(state_param)
    if by_state is not None and enabled_param is not None and enabled_param != by_state:
        raise PlanError('state: %s contradicts enabled: %s; give one of them.' % (state_param, enabled_param))
    return by_state if by_state is not None else enabled_param


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
                '%s cannot be changed on an existing subscription before PostgreSQL 18 (it is %s, you asked for %s). '
                'Leave %s out, or drop and recreate the subscription (state: absent, then present; the initial '
                'copy runs again unless copy_data: false).' % (name, _word(have), _word(value), name))
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
    from ansible_collections.pgops.logical_replication.plugins.module_utils import _sql
    return _sql.join([_sql.ident(n) for n in names])


def render_with_placeholder(composed, conn):
    """A Composed with one Placeholder as plain SQL text for execute(text, params).

    Every other part is rendered and its '%' doubled, so identifiers and literals with a percent
    sign survive parameter interpolation; the placeholder (the conninfo) stays a bound value.
    """
    out = []

    def walk(node):
        if isinstance(node, sql.Composed):
            for part in node.seq:
                walk(part)
        elif isinstance(node, sql.Placeholder):
            out.append(node.as_string(conn))
        else:
            out.append(node.as_string(conn).replace('%', '%%'))
    walk(composed)
    return ''.join(out)


# -- waiting -------------------------------------------------------------------------------------

def not_ready(tables):
    return [t for t in tables if t['state'] != 'r']


def wait_for_sync(session, oid, timeout, poll=0.1, tables=None):
    """Poll pg_subscription_rel until every table is ready; return (tables, seconds waited).

    Raises PlanError with the tables not ready (and their states) after ``timeout`` seconds.
    """
    started = time.time()
    while True:
        if tables is None or not_ready(tables):
            row = session.row(TABLES_QUERY, {'oid': oid})
            tables = [table_entry(t) for t in (row['tables'] or [])]
        else:
            row = {'enabled': True}
        pending = not_ready(tables)
        waited = round(time.time() - started, 3)
        if not pending:
            return tables, waited
        if row['enabled'] is False:
            raise SyncTimeout('The subscription is disabled, so its tables will not synchronise: %s. Enable it '
                              '(state: enabled) to wait for the initial copy.' % describe(pending), tables, waited)
        if waited >= timeout:
            raise SyncTimeout('%d of %d table(s) not ready after %s s (sync_timeout): %s. The initial copy may still '
                              'be running, or a table sync worker fails (see the subscriber\'s server log). Raise '
                              'sync_timeout or fix the error, then run again.'
                              % (len(pending), len(tables), timeout, describe(pending)), tables, waited)
        time.sleep(poll)


WORKERS_QUERY = 'SELECT count(*) AS workers FROM pg_stat_subscription WHERE subid = %(oid)s AND pid IS NOT NULL'


def wait_for_workers_to_stop(session, oid, timeout=30.0, poll=0.1):
    """After DISABLE the workers exit asynchronously; PostgreSQL 18 refuses to alter two_phase until they have."""
    deadline = time.time() + timeout
    while session.row(WORKERS_QUERY, {'oid': oid})['workers']:
        if time.time() > deadline:
            raise PlanError('The workers of the subscription did not stop within %s s of DISABLE; run again.' % timeout)
        time.sleep(poll)


def describe(tables):
    return ', '.join('%s.%s (%s)' % (t['schema'], t['name'], t['state_name']) for t in tables)


class SyncTimeout(PlanError):
    """The tables were not ready in time; the failure returns them (``tables``) and ``waited``."""

    def __init__(self, msg, tables, waited):
        super(SyncTimeout, self).__init__(msg, tables=tables, waited=waited)
        self.tables = tables
        self.waited = waited
