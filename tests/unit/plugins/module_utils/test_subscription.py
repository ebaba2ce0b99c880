# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure functions of module_utils/_subscription.py: planning as data, version gates, LSNs."""

import pytest

from ansible_collections.pgops.logical_replication.plugins.module_utils import _subscription as sub
from ansible_collections.pgops.logical_replication.plugins.module_utils._errors import PgOpsError

PG15, PG16, PG17, PG18 = 150010, 160006, 170002, 180000


def current(**kw):
    state = dict(enabled=True, slot_name='s', publications=['a'], owner='postgres', comment=None,
                 synchronous_commit='off', binary=False, streaming='on', two_phase=False, disable_on_error=False,
                 skip_lsn='0/0', origin_lsn=None)
    state.update(kw)
    return state


@pytest.mark.parametrize('text, value', [('0/14C0378', 0x14C0378), (None, None)])
def test_lsn_value(text, value):
    assert sub.lsn_value(text) == value


@pytest.mark.parametrize('text', ['zz', '0-1', '1/2/3'])
def test_lsn_value_rejects(text):
    with pytest.raises(PgOpsError, match="is not an LSN \\(skip_lsn\\); write it as PostgreSQL prints it"):
        sub.lsn_value(text)


@pytest.mark.parametrize('have, want, change', [
    (['a'], None, None),
    (['a'], ['a'], None),
    (['a', 'b'], ['b', 'a'], None),
    (['a'], ['a', 'b'], ('add', ['b'])),
    (['a', 'b'], ['a'], ('drop', ['b'])),
    (['a'], ['b'], ('set', ['b'])),
    (['a', 'b'], ['b', 'c'], ('set', ['b', 'c'])),
    (['Mixed'], ['mixed'], ('set', ['mixed'])),
])
def test_publication_change(have, want, change):
    assert sub.publication_change(have, want) == change


@pytest.mark.parametrize('state, enabled, target', [
    ('present', None, None), ('present', True, True), ('refreshed', False, False), ('enabled', None, True),
    ('disabled', None, False), ('enabled', True, True), ('disabled', False, False),
])
def test_target_enabled(state, enabled, target):
    assert sub.target_enabled(state, enabled) is target


@pytest.mark.parametrize('state, enabled', [('enabled', False), ('disabled', True)])
def test_target_enabled_contradiction(state, enabled):
    with pytest.raises(sub.PlanError, match='state: %s contradicts enabled: %s; give one of them.' % (state, enabled)):
        sub.target_enabled(state, enabled)


@pytest.mark.parametrize('option, version, kind', [
    ('binary', PG15, 'alter'), ('two_phase', PG15, 'create'), ('two_phase', PG17, 'create'),
    ('two_phase', PG18, 'disabled'), ('failover', PG17, 'disabled'), ('copy_data', PG18, 'action'),
    ('connect', PG15, 'action'), ('slot_name', PG15, 'alter'),
])
def test_how_changed(option, version, kind):
    assert sub.how_changed(option, version) == kind


@pytest.mark.parametrize('options, version, message', [
    ({'streaming': 'parallel'}, PG15, 'streaming: parallel needs PostgreSQL 16 or later; this server runs PostgreSQL 15.10.'),
    ({'origin': 'none'}, PG15, 'origin needs PostgreSQL 16 or later; this server runs PostgreSQL 15.10.'),
    ({'failover': True}, PG16, 'failover needs PostgreSQL 17 or later; this server runs PostgreSQL 16.6.'),
    ({'password_required': True}, PG15, 'password_required needs PostgreSQL 16'),
    ({'run_as_owner': False}, PG15, 'run_as_owner needs PostgreSQL 16'),
    ({'two_phase': True}, 140000, 'two_phase needs PostgreSQL 15'),
    ({'disable_on_error': True}, 140000, 'disable_on_error needs PostgreSQL 15'),
])
def test_check_versions_refuses(options, version, message):
    with pytest.raises(PgOpsError) as err:
        sub.check_versions(options, version)
    assert str(err.value).startswith(message)


@pytest.mark.parametrize('options, version', [
    ({'streaming': 'parallel', 'origin': 'any'}, PG16), ({'streaming': 'on'}, PG15), ({'failover': False}, PG17),
    ({'slot_name': None, 'copy_data': True}, PG15),
])
def test_check_versions_accepts(options, version):
    sub.check_versions(options, version)


def test_skip_lsn_gate():
    with pytest.raises(PgOpsError, match='skip_lsn'):
        sub.check_versions({}, 140000, ['subscription_skip_lsn'])


@pytest.mark.parametrize('params, wanted', [
    ({'slot_name': 'NONE', 'binary': None}, {'slot_name': None}),
    ({'slot_name': 'none', 'copy_data': False}, {'slot_name': None, 'copy_data': False}),
    ({'slot_name': 'zoo', 'streaming': 'off'}, {'slot_name': 'zoo', 'streaming': 'off'}),
    ({}, {}),
])
def test_wanted_options(params, wanted):
    assert sub.wanted_options(params) == wanted


@pytest.mark.parametrize('row, streaming', [({'streaming': 'p'}, 'parallel'), ({'streaming': 't'}, 'on'),
                                            ({'streaming': False}, 'off'), ({'streaming': True}, 'on')])
def test_state_from_row(row, streaming):
    state = sub.state_from_row(dict(row, publications=None, tables=[
        {'schema': 'public', 'table': 'x', 'state': 'd', 'lsn': None}]))
    assert state['streaming'] == streaming and state['publications'] == []
    assert state['tables'] == [dict(name='public.x', schema='public', table='x', state='data_copy', state_code='d',
                                    lsn=None)]


PLANS = [
    # (current overrides, want, version, actions)
    ({}, {}, PG15, []),
    ({}, {'options': {'binary': False, 'copy_data': True, 'connect': False}}, PG15, []),
    ({}, {'options': {'binary': True, 'synchronous_commit': 'LOCAL'}}, PG15,
     [('set', {'binary': True, 'synchronous_commit': 'local'})]),
    ({'synchronous_commit': 'local'}, {'options': {'synchronous_commit': 'local'}}, PG15, []),
    ({}, {'enabled': False}, PG15, [('disable',)]),
    ({'enabled': False}, {'enabled': True}, PG15, [('enable',)]),
    ({}, {'conninfo_differs': True}, PG15, [('connection',)]),
    ({}, {'publications': ['a', 'b']}, PG15, [('publications', 'add', ['b'], True, None)]),
    ({}, {'publications': ['a', 'b'], 'copy_data': False}, PG15, [('publications', 'add', ['b'], True, False)]),
    ({}, {'publications': ['a', 'b'], 'refresh': False, 'copy_data': False}, PG15,
     [('publications', 'add', ['b'], False, None)]),
    ({'enabled': False}, {'publications': ['b']}, PG15, [('publications', 'set', ['b'], False, None)]),
    ({}, {'refreshed': True}, PG15, [('refresh', None)]),
    ({}, {'refreshed': True, 'copy_data': False}, PG15, [('refresh', False)]),
    ({}, {'refreshed': True, 'publications': ['c']}, PG15, [('publications', 'set', ['c'], True, None)]),
    ({'enabled': False}, {'refreshed': True, 'enabled': True}, PG15, [('enable',), ('refresh', None)]),
    ({}, {'owner': 'bob', 'comment': 'hi'}, PG15, [('owner', 'bob'), ('comment', 'hi')]),
    ({'comment': 'hi'}, {'comment': ''}, PG15, [('comment', None)]),
    ({}, {'comment': ''}, PG15, []),
    ({}, {'owner': 'postgres', 'comment': None}, PG15, []),
    # slot flows
    ({}, {'enabled': False, 'options': {'slot_name': None}}, PG15, [('disable',), ('set', {'slot_name': None})]),
    ({'enabled': False, 'slot_name': None}, {'enabled': True, 'options': {'slot_name': 'late'}}, PG15,
     [('set', {'slot_name': 'late'}), ('enable',)]),
    # disabled-only options
    ({}, {'enabled': False, 'options': {'two_phase': True, 'failover': True}}, PG18,
     [('disable',), ('set', {'two_phase': True, 'failover': True})]),
    ({'failover': False}, {'enabled': False, 'options': {'failover': True}}, PG17,
     [('disable',), ('set', {'failover': True})]),
    # skip
    ({}, {'skip_lsn': '0/100'}, PG15, [('skip', '0/100')]),
    ({'skip_lsn': '0/100'}, {'skip_lsn': '0/0100'}, PG15, []),
    ({'origin_lsn': '0/200'}, {'skip_lsn': '0/100'}, PG15, []),
    ({'skip_lsn': '0/100'}, {'skip_lsn': 'none'}, PG15, [('skip', None)]),
    ({}, {'skip_lsn': 'NONE'}, PG15, []),
    # the full order
    ({'enabled': False}, {'enabled': True, 'conninfo_differs': True, 'options': {'binary': True},
                          'publications': ['b'], 'owner': 'x'}, PG15,
     [('connection',), ('set', {'binary': True}), ('enable',), ('publications', 'set', ['b'], True, None),
      ('owner', 'x')]),
]


@pytest.mark.parametrize('have, want, version, actions', PLANS)
def test_plan(have, want, version, actions):
    assert sub.plan(current(**have), want, version) == actions


PLAN_ERRORS = [
    ({}, {'options': {'two_phase': True}}, PG15,
     'two_phase cannot be changed on an existing subscription before PostgreSQL 18; this server runs PostgreSQL 15.10 '
     '(it is false, you asked for true). Leave two_phase out, or drop and recreate the subscription (state: absent, '
     'then present; the initial copy runs again unless copy_data: false).'),
    ({'enabled': False}, {'options': {'two_phase': True}}, PG17, 'two_phase cannot be changed'),
    ({}, {'options': {'two_phase': True}}, PG18,
     'two_phase can only be changed while the subscription is disabled. Run with state: disabled (or enabled: false) '
     'to change it, then with state: enabled.'),
    ({'failover': False}, {'options': {'failover': True}}, PG17, 'failover can only be changed while'),
    ({}, {'options': {'slot_name': None}}, PG15, 'slot_name = NONE can only be changed while'),
    ({'enabled': False, 'slot_name': None, 'failover': False}, {'options': {'failover': True}}, PG17,
     'failover cannot be changed on a subscription without a slot'),
    ({'enabled': False, 'slot_name': None}, {'enabled': True}, PG15,
     'A subscription without a replication slot (slot_name is NONE) cannot be enabled.'),
    ({'enabled': False}, {'refreshed': True}, PG15, 'state: refreshed needs an enabled subscription'),
    ({}, {'skip_lsn': 'later'}, PG15, "'later' is not an LSN (skip_lsn)"),
]


@pytest.mark.parametrize('have, want, version, message', PLAN_ERRORS)
def test_plan_errors(have, want, version, message):
    with pytest.raises(PgOpsError) as err:
        sub.plan(current(**have), want, version)
    assert str(err.value).startswith(message)


@pytest.mark.parametrize('version, present, absent', [
    (PG15, ['s.subdisableonerr', 's.subskiplsn', 's.subconninfo'], ['suborigin', 'subfailover', 'origin_lsn']),
    (PG16, ['s.suborigin', 's.subrunasowner'], ['subfailover']),
    (PG17, ['s.subfailover'], []),
    (140000, ['s.subbinary'], ['subtwophasestate']),
])
def test_catalog_query_columns(version, present, absent):
    query = sub.catalog_query(version)
    assert all(c in query for c in present) and not any(c in query for c in absent)
    assert 's.subname = %(name)s' in query and query.count('%') == 1


def test_catalog_query_without_conninfo_and_with_origin():
    query = sub.catalog_query(PG15, conninfo=False, origin_lsn=True)
    assert 'subconninfo' not in query and 'NULL::text AS conninfo' in query and 'origin_lsn' in query


@pytest.mark.parametrize('tables, text', [
    ([], ''),
    ([dict(name='public.a', state='data_copy')], 'public.a (data_copy)'),
    ([dict(name='s."A b"', state='init'), dict(name='s.c', state='finished_copy')],
     's."A b" (init), s.c (finished_copy)'),
])
def test_describe(tables, text):
    assert sub.describe(tables) == text


@pytest.mark.parametrize('given, stored, compare, write', [
    # creation: the default is added
    (dict(host='h'), None, dict(host='h'), dict(host='h', connect_timeout='10')),
    # the user's own value always wins
    (dict(host='h', connect_timeout='3'), dict(host='h', connect_timeout='30'), dict(host='h', connect_timeout='3'),
     dict(host='h', connect_timeout='3')),
    # none given: the stored value is kept and not compared
    (dict(host='h'), dict(host='h', connect_timeout='30'), dict(host='h', connect_timeout='30'),
     dict(host='h', connect_timeout='30')),
    # none given, none stored (made before the default): not compared; written with the default when altered
    (dict(host='h'), dict(host='h'), dict(host='h'), dict(host='h', connect_timeout='10')),
])
def test_conninfo_connect_timeout(given, stored, compare, write):
    assert sub.conninfo_to_compare(given, stored) == compare
    assert sub.conninfo_to_write(given, stored) == write
    assert 'connect_timeout' not in given or given['connect_timeout'] == '3'


@pytest.mark.parametrize('info, text', [
    (dict(host='rhino', port='5433', dbname='zoo'), 'the publisher at rhino port 5433 (database zoo)'),
    (dict(hostaddr='10.0.0.1'), 'the publisher at 10.0.0.1 port 5432'),
    ({}, 'the publisher at the default host port 5432'),
])
def test_publisher_words(info, text):
    assert sub.publisher_words(info) == text


def test_default_timeouts_fail_a_silent_publisher_within_a_minute():
    from ansible_collections.pgops.logical_replication.plugins.module_utils import _connection
    assert sub.DEFAULT_STATEMENT_TIMEOUT + _connection.CANCEL_GRACE < 60


@pytest.mark.parametrize('version, present, absent', [
    (140000, ['NULL::bigint AS sync_error_count', 'w.relid IS NULL LIMIT 1) AS apply_pid'], ['pg_stat_subscription_stats']),
    (PG15, ['st.sync_error_count', 'st.apply_error_count', 'w.relid IS NULL LIMIT 1'], ['leader_pid']),
    (PG16, ['w.leader_pid IS NULL'], ['worker_type']),
    (PG17, ["w.worker_type = 'apply'"], ['leader_pid']),
])
def test_tables_query(version, present, absent):
    query = sub.tables_query(version)
    assert all(c in query for c in present) and not any(c in query for c in absent), query
    assert query.count('%(oid)s') >= 3 and query.count('%') == query.count('%(oid)s')


def test_sync_errors_count_only_while_one_apply_worker_stays_up():
    errors = sub.SyncErrors(confirm=1.0)
    assert errors.update(None, 7, 0.0) is False                          # before 15: nothing to read
    errors = sub.SyncErrors(confirm=1.0)
    assert errors.update(2, None, 0.0) is False                          # no apply worker yet
    assert errors.update(2, 100, 0.1) is False                           # baseline 2 for worker 100
    assert errors.update(3, 100, 0.2) is False                           # grew: wait for confirmation
    assert errors.update(3, 100, 0.9) is False
    assert errors.update(3, 100, 1.2) is True                            # still the same worker 1 s later
    assert errors.during_wait(3) == 1


def test_sync_errors_of_a_publisher_outage_do_not_count():
    errors = sub.SyncErrors(confirm=1.0)
    errors.update(0, 100, 0.0)
    assert errors.update(1, 100, 0.1) is False                           # the copy broke ...
    assert errors.update(1, None, 0.3) is False                          # ... and so did the apply worker
    assert errors.update(2, 200, 5.0) is False                           # a new worker: new baseline
    assert errors.update(2, 200, 9.0) is False                           # no new error since: waiting
    assert errors.during_wait(2) == 2
