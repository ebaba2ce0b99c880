# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""replication_info against a real publisher/subscriber pair (every tested major)."""

import json

import pytest

from conftest import MAJORS
from pgharness import SUPERUSER_PASSWORD, random_name, wait_for

pytestmark = pytest.mark.all_cores  # also run on ansible-core 2.16 (make integration)

FQCN = 'pgops.logical_replication.replication_info'


def by_name(items, name):
    found = [i for i in items if i['name'] == name]
    assert found, '%s not in %s' % (name, [i['name'] for i in items])
    return found[0]


def test_info_on_a_live_pair(ansible, pg_pair, major):
    pub, sub = pg_pair
    name = random_name('sub')
    table = random_name('tbl')
    unused = random_name('slot')
    role = random_name('ro')
    role_password = 'ro-' + random_name('pw')
    created = False
    for server in (pub, sub):
        server.sql('CREATE TABLE %s (id int PRIMARY KEY)' % table)
        server.sql("CREATE ROLE %s LOGIN PASSWORD '%s'" % (role, role_password))
    pub.sql('INSERT INTO %s SELECT generate_series(1, 100)' % table)
    pub.sql('CREATE PUBLICATION %s FOR TABLE %s' % (name, table))
    pub.sql("SELECT pg_create_logical_replication_slot(%s, 'pgoutput')", (unused,))
    try:
        conninfo = 'host=127.0.0.1 port=%d dbname=postgres user=postgres password=%s' % (
            pub.port, SUPERUSER_PASSWORD)
        sub.sql("CREATE SUBSCRIPTION %s CONNECTION '%s' PUBLICATION %s" % (name, conninfo, name))
        created = True
        wait_for(lambda: sub.value("SELECT count(*) FROM pg_subscription_rel r JOIN pg_subscription s "
                                   "ON s.oid = r.srsubid WHERE s.subname = %s AND r.srsubstate = 'r'",
                                   (name,)) == 1, 'initial sync')
        wait_for(lambda: pub.value('SELECT active FROM pg_replication_slots WHERE slot_name = %s', (name,)),
                 'the subscription slot to be active')
        wait_for(lambda: pub.value('SELECT count(*) FROM pg_stat_replication WHERE application_name = %s',
                                   (name,)) == 1, 'the table sync walsender to end')
        pub.sql('INSERT INTO %s SELECT generate_series(101, 200)' % table)   # WAL the unused slot keeps
        wait_for(lambda: sub.value('SELECT count(*) FROM %s' % table) == 200, 'rows to arrive')

        publisher = dict(host='127.0.0.1', port=pub.port, dbname='postgres', user='postgres',
                         password=SUPERUSER_PASSWORD)
        as_role = dict(login_user=role, login_password=role_password)
        run = ansible.tasks([
            {'name': 'publisher', FQCN: dict(pub.login, db='postgres')},
            {'name': 'subscriber', FQCN: dict(sub.login, db='postgres', publisher=publisher)},
            {'name': 'subscriber check mode', FQCN: dict(sub.login, publisher=publisher), 'check_mode': True},
            {'name': 'publisher as role', FQCN: dict(pub.login, **as_role)},
            {'name': 'subscriber as role', FQCN: dict(sub.login, publisher=dict(publisher, user=role,
                                                                                password=role_password),
                                                      **as_role)},
        ], verbosity=3)
        res = dict((r['task'], r['result']) for r in run.results)
        for task, result in res.items():
            assert not result.get('failed'), (task, result.get('msg'))
            assert result['changed'] is False and result['queries'] == []
        assert SUPERUSER_PASSWORD not in run.output and role_password not in run.output
        assert SUPERUSER_PASSWORD not in json.dumps(run.results)

        p = res['publisher']
        assert p['database'] == 'postgres' and p['in_recovery'] is False
        assert by_name(p['publications'], name)['tables'] == ['public.%s' % table]
        live = by_name(p['slots'], name)
        assert live['active'] is True and live['used_by'] == name and live['plugin'] == 'pgoutput'
        idle = by_name(p['slots'], unused)
        assert idle['active'] is False and idle['used_by'] is None and idle['wal_status'] == 'reserved'
        assert isinstance(idle['retained_wal_bytes'], int) and idle['retained_wal_bytes'] > 0
        walsender = [r for r in p['replication'] if r['application_name'] == name]
        assert len(walsender) == 1 and walsender[0]['slot_name'] == name
        assert isinstance(walsender[0]['flush_lag_bytes'], int)

        s = res['subscriber']
        entry = by_name(s['subscriptions'], name)
        assert entry['enabled'] is True and entry['publications'] == [name] and entry['slot_name'] == name
        assert [(t['name'], t['state']) for t in entry['tables']] == [('public.%s' % table, 'ready')]
        assert entry['tables_not_ready'] == []
        assert isinstance(entry['worker_pid'], int) and entry['received_lsn']
        assert entry['apply_error_count'] == 0 and entry['sync_error_count'] == 0
        assert isinstance(entry['lag_bytes'], int) and entry['lag_bytes'] >= 0
        assert entry['lag_source'] == 'slot'
        assert (entry['health'], entry['problems'], entry['schema_drift']) == ('ok', [], [])
        assert by_name(res['subscriber check mode']['subscriptions'], name)['lag_bytes'] is not None

        # a role without privileges: no crash; what it may not see is null
        pr = res['publisher as role']
        assert by_name(pr['slots'], unused)['retained_wal_bytes'] > 0
        assert by_name(pr['slots'], name)['active'] is True
        assert by_name(pr['slots'], name)['used_by'] == name
        seen = [r for r in pr['replication'] if r['application_name'] == name]
        # another user's walsender: its positions and lags are unknown (null), not an error
        assert len(seen) == 1 and seen[0]['sent_lsn'] is None and seen[0]['flush_lag_bytes'] is None
        sr = res['subscriber as role']
        assert by_name(sr['subscriptions'], name)['tables'][0]['state'] == 'ready'
        assert isinstance(by_name(sr['subscriptions'], name)['lag_bytes'], int)
    finally:
        if created:
            sub.sql('DROP SUBSCRIPTION %s' % name)
        pub.sql('SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots '
                'WHERE slot_name IN (%s, %s) AND NOT active', (unused, name))
        pub.sql('DROP PUBLICATION IF EXISTS %s' % name)
        for server in (pub, sub):
            server.sql('DROP TABLE IF EXISTS %s' % table)
            server.sql('DROP ROLE IF EXISTS %s' % role)


def test_bad_publisher_connection_is_a_clear_error(ansible, pg):
    secret = 'wrong-' + random_name('pw')
    publisher = dict(host='127.0.0.1', port=pg.port, user='postgres', password=secret, dbname='postgres')
    run = ansible.tasks([
        {'name': 'unknown keyword', FQCN: dict(pg.login, publisher=dict(publisher, bogus='x'))},
        {'name': 'wrong password', FQCN: dict(pg.login, publisher=publisher)},
    ])
    unknown, wrong = [r['result'] for r in run.results]
    assert unknown['failed'] and 'bogus' in unknown['msg']
    # no subscription on this database reads from the publisher, but the connection is still made
    assert wrong['failed'] and 'Could not connect to the publisher' in wrong['msg']
    assert 'password authentication failed' in wrong['msg']
    assert secret not in run.output and secret not in json.dumps(run.results)


def test_slot_dropped_on_the_publisher_is_broken(ansible, pg_pair, major):
    """A subscription whose slot is gone on the publisher: the apply worker loops on "replication slot
    does not exist"; replication_info says broken, naming the slot (it said ok before). A fault test: on
    the first tested major only."""
    if major != MAJORS[0]:
        pytest.skip('fault test: runs on the first tested major (%s) only' % MAJORS[0])
    pub, sub = pg_pair
    name = random_name('gone')
    table = random_name('tbl')
    created = False
    for server in (pub, sub):
        server.sql('CREATE TABLE %s (id int PRIMARY KEY)' % table)
    pub.sql('CREATE PUBLICATION %s FOR TABLE %s' % (name, table))
    publisher = dict(host='127.0.0.1', port=pub.port, dbname='postgres', user='postgres', password=SUPERUSER_PASSWORD)
    try:
        sub.sql("CREATE SUBSCRIPTION %s CONNECTION 'host=127.0.0.1 port=%d dbname=postgres user=postgres "
                "password=%s' PUBLICATION %s" % (name, pub.port, SUPERUSER_PASSWORD, name))
        created = True
        wait_for(lambda: pub.value('SELECT active FROM pg_replication_slots WHERE slot_name = %s', (name,)),
                 'the subscription slot to be active')
        before = by_name(ansible.module('replication_info', dict(sub.login, publisher=publisher))['subscriptions'],
                         name)
        assert before['health'] in ('ok', 'syncing') and before['problems'] == []

        def drop_slot():
            # the apply worker reconnects at once: end its walsender and drop the slot until the drop wins
            pub.sql('SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots '
                    'WHERE slot_name = %s AND active_pid IS NOT NULL', (name,))
            try:
                pub.sql('SELECT pg_drop_replication_slot(%s)', (name,))
            except Exception:   # still (or again) active
                return False
            return True
        wait_for(drop_slot, 'the slot to be dropped')
        run = ansible.tasks([{'name': 'with publisher', FQCN: dict(sub.login, publisher=publisher)},
                             {'name': 'without', FQCN: sub.login}])
        broken, alone = [by_name(r['result']['subscriptions'], name) for r in run.results]
        assert broken['health'] == 'broken' and broken['enabled'] is True
        assert len(broken['problems']) == 1
        assert 'Replication slot %s of subscription %s does not exist on the publisher' % (name, name) \
            in broken['problems'][0]
        # without the publisher the cause is unknown; only a missing worker could tell
        assert alone['health'] in ('stalled', 'ok')
    finally:
        if created:
            sub.sql('ALTER SUBSCRIPTION %s DISABLE' % name)
            sub.sql('ALTER SUBSCRIPTION %s SET (slot_name = NONE)' % name)
            sub.sql('DROP SUBSCRIPTION %s' % name)
        pub.sql('SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots '
                'WHERE slot_name = %s AND NOT active', (name,))
        pub.sql('DROP PUBLICATION IF EXISTS %s' % name)
        for server in (pub, sub):
            server.sql('DROP TABLE IF EXISTS %s' % table)
