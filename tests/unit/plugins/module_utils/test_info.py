# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure functions of replication_info (module_utils/_info.py)."""

import pytest

from ansible_collections.pgops.logical_replication.plugins.module_utils import _info


def sub(**kw):
    base = dict(name='zoo', slot_name='zoo', latest_end_lsn='0/100',
                tables=[dict(schema='public', table='a', state='r', lsn='0/50'),
                        dict(schema='My Schema', table='b', state='d', lsn=None)])
    base.update(kw)
    return base


@pytest.mark.parametrize('subscription, publisher, lag, source', [
    (sub(), dict(current_lsn='0/400', slots={'zoo': dict(confirmed_flush_lsn='0/300')}), 0x100, 'slot'),
    (sub(), dict(current_lsn='0/400', slots={}), 0x300, 'worker'),
    (sub(latest_end_lsn=None), dict(current_lsn='0/400', slots={}), None, None),
    (sub(slot_name=None), dict(current_lsn='0/400', slots={}), 0x300, 'worker'),
    (sub(), dict(current_lsn='0/400', slots={'zoo': dict(confirmed_flush_lsn=None)}), 0x300, 'worker'),
])
def test_subscription_lag(subscription, publisher, lag, source):
    out = _info.subscription_entries([subscription], publisher)[0]
    assert (out['lag_bytes'], out['lag_source']) == (lag, source)
    assert out['publisher_lsn'] == publisher['current_lsn']


def test_subscription_tables_without_publisher():
    out = _info.subscription_entries([sub()])[0]
    assert 'lag_bytes' not in out
    assert out['tables'] == [
        dict(name='public.a', schema='public', table='a', state='ready', state_code='r', lsn='0/50'),
        dict(name='"My Schema".b', schema='My Schema', table='b', state='data_copy', state_code='d', lsn=None)]
    assert out['tables_not_ready'] == ['"My Schema".b']


def test_publication_tables():
    pubs = _info.publication_entries([dict(name='p', tables=[dict(schema='public', table='T')])])
    assert pubs[0]['tables'] == ['public."T"']


@pytest.mark.parametrize('version, present, absent', [
    (140000, ['w.relid IS NULL'], ['pg_stat_subscription_stats', 'leader_pid', 'worker_type']),
    (150000, ['pg_stat_subscription_stats', 'st.apply_error_count'], ['leader_pid', 'worker_type']),
    (160000, ['w.leader_pid IS NULL'], ['worker_type']),
    (180000, ["w.worker_type = 'apply'", 's.wal_status', 'p.pubviaroot'], ['leader_pid']),
])
def test_server_query_by_version(mentions, version, present, absent):
    mentions(_info.server_query(version), present, absent)


def publisher(slots=None, publications=('zoo',), tables=None):
    return dict(current_lsn='0/400', slots=slots if slots is not None else {'zoo': dict(
        confirmed_flush_lsn='0/300', wal_status='reserved')},
        published=dict(publications=list(publications), tables=tables or [], extensions={}))


def worker(**kw):
    base = dict(enabled=True, worker_pid=42, publications=['zoo'],
                tables=[dict(schema='public', table='a', state='r', lsn='0/50')])
    base.update(kw)
    return sub(**base)


@pytest.mark.parametrize('subscription, pub, health, problem', [
    (worker(), None, 'ok', None),
    (worker(), publisher(), 'ok', None),
    (worker(tables=[dict(schema='public', table='a', state='d', lsn=None)]), publisher(), 'syncing', None),
    (worker(enabled=False, worker_pid=None), publisher(slots={}), 'disabled', None),
    (worker(worker_pid=None), None, 'stalled', 'Subscription zoo is enabled but no apply worker runs'),
    (worker(worker_pid=None), publisher(), 'stalled', 'no apply worker runs'),
    # the slot is gone on the publisher: broken, whether or not the worker shows at this instant
    (worker(worker_pid=None), publisher(slots={}), 'broken',
     'Replication slot zoo of subscription zoo does not exist on the publisher'),
    (worker(), publisher(slots={}), 'broken', 'does not exist on the publisher'),
    (worker(), publisher(slots={'zoo': dict(confirmed_flush_lsn=None, wal_status='lost')}), 'broken',
     'was invalidated on the publisher'),
    (worker(publications=['zoo', 'gone']), publisher(), 'broken', 'Publication(s) gone of subscription zoo do not exist'),
    # a publisher that holds none of its publications is another server: its slots say nothing
    (worker(), publisher(slots={}, publications=('other',)), 'ok', None),
])
def test_health(subscription, pub, health, problem):
    out = _info.subscription_entries([subscription], pub)[0]
    assert out['health'] == health and out['health'] in _info.HEALTH
    if problem is None:
        assert out['problems'] == []
    else:
        assert len(out['problems']) == 1 and problem in out['problems'][0]


def test_schema_drift_only_from_its_publisher():
    tables = [dict(schema='public', table='a', publications=['zoo'], columns=[], constraints=[], indexes=[])]
    state = dict(schemas=set(), tables={}, extensions={}, available_extensions={}, types=set())
    mine, other = _info.subscription_entries([worker(), worker(name='x', publications=['elsewhere'])],
                                             publisher(tables=tables), state)
    assert [(e['subscription'], e['table'], e['problem']) for e in mine['schema_drift']] == [
        ('zoo', 'public.a', 'missing_table')]
    assert other['schema_drift'] is None
    assert 'schema_drift' not in _info.subscription_entries([worker()])[0]


@pytest.mark.parametrize('version, present, absent', [
    (140000, ['s.wal_status', '%(slots)s', '%(publications)s', "a.attgenerated = ''"], ['attnames::text[]']),
    (180000, ['s.wal_status', 'p.attnames::text[]'], ["AND a.attgenerated = ''"]),
])
def test_publisher_query_reads_slots_and_published_tables_in_one_statement(mentions, version, present, absent):
    query = _info.publisher_query(version)
    mentions(query, present, absent)
    assert query.count('%(slots)s') == 1 and ';' not in query


def test_physical_replication_hba_only_in_a_superuser_read():
    """pg_hba_file_rules is for superusers only: another login's one statement must not name it."""
    assert 'pg_hba_file_rules' not in _info.server_query(150000)
    query = _info.server_query(150000, superuser=True)
    assert query.count('SELECT current_database()') == 1
    assert 'pg_hba_file_rules' in query and 'AS physical_replication_hba' in query
