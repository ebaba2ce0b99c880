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
