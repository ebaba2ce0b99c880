# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""replication_slot against real servers (every tested major)."""


import pytest

from pgharness import SUPERUSER_PASSWORD, random_name, wait_for

pytestmark = pytest.mark.all_cores  # also run on ansible-core 2.16 (make integration)

FQCN = 'pgops.logical_replication.replication_slot'


def slot_row(server, name):
    rows = server.sql('SELECT slot_type, plugin, database, active, restart_lsn IS NOT NULL, two_phase '
                      'FROM pg_replication_slots WHERE slot_name = %s', (name,))
    return rows[0] if rows else None


def drop_slot(server, name):
    server.sql('SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots '
               'WHERE slot_name = %s AND NOT active', (name,))


def test_logical_slot_quartet_and_noop_cost(ansible, pg):
    name = random_name('slot')
    args = dict(pg.login, name=name, db='postgres')
    try:
        check, apply, check2, apply2 = ansible.quartet('replication_slot', args)
        assert check['exists'] is False and check2['exists'] is True
        assert check['queries'] == ["SELECT pg_create_logical_replication_slot('%s', 'pgoutput')" % name]
        assert check['diff']['before'] == {'state': 'absent'}
        assert check['diff']['after'] == {'state': 'present', 'slot_type': 'logical', 'plugin': 'pgoutput',
                                          'database': 'postgres'}
        # apply changed, so the check run before it wrote nothing
        assert apply['changed'] and apply['exists'] and apply['plugin'] == 'pgoutput'
        assert apply['active'] is False and apply['wal_status'] == 'reserved'
        assert isinstance(apply['retained_wal_bytes'], int) and apply['retained_wal_bytes'] >= 0
        assert apply['restart_lsn'] and apply['confirmed_flush_lsn']
        assert apply2['restart_lsn'] == apply['restart_lsn']
        assert slot_row(pg, name)[:4] == ('logical', 'pgoutput', 'postgres', False)

        # a run that changes nothing: one connection, at most two statements
        with pg.all_statements_logged():
            since = pg.log_size()
            again = ansible.module('replication_slot', args)
            sessions, statements = pg.statements_of(FQCN, since)
        assert not again['changed']
        assert len(sessions) == 1, sessions
        assert 1 <= len(statements) <= 2, statements

        # drop: quartet again
        check, apply, check2, apply2 = ansible.quartet('replication_slot', dict(args, state='absent'))
        assert apply['queries'] == ["SELECT pg_drop_replication_slot('%s')" % name]
        assert apply['exists'] is False
        assert slot_row(pg, name) is None
    finally:
        drop_slot(pg, name)


def test_mismatch_and_version_gates(ansible, pg, major):
    other = random_name('slot')
    phys = random_name('slot')
    tp = random_name('slot')
    fo = random_name('slot')
    # The slot exists with pgoutput and the tasks ask for another plugin: test_decoding is a contrib
    # module, which the PostgreSQL 16 wheel (pgserver) does not ship, so no slot is made with it.
    pg.sql("SELECT pg_create_logical_replication_slot(%s, 'pgoutput')", (other,))
    try:
        run = ansible.tasks([
            {'name': 'plugin differs', FQCN: dict(pg.login, name=other, plugin='test_decoding')},
            {'name': 'type differs', FQCN: dict(pg.login, name=other, slot_type='physical')},
            {'name': 'same plugin', FQCN: dict(pg.login, name=other, plugin='pgoutput')},
            {'name': 'physical', FQCN: dict(pg.login, name=phys, slot_type='physical', immediately_reserve=True)},
            {'name': 'physical with plugin', FQCN: dict(pg.login, name=phys, slot_type='physical',
                                                        plugin='pgoutput')},
            {'name': 'two_phase', FQCN: dict(pg.login, name=tp, two_phase=True)},
            {'name': 'two_phase differs', FQCN: dict(pg.login, name=tp, two_phase=False)},
            {'name': 'failover', FQCN: dict(pg.login, name=fo, failover=True)},
            {'name': 'bad name', FQCN: dict(pg.login, name='Bad-Name')},
        ])
        res = dict((r['task'], r['result']) for r in run.results)
        assert res['plugin differs']['failed']
        assert 'plugin is pgoutput, not test_decoding' in res['plugin differs']['msg']
        assert res['type differs']['failed']
        assert 'slot_type is logical, not physical' in res['type differs']['msg']
        assert not res['same plugin'].get('failed') and not res['same plugin']['changed']
        assert slot_row(pg, other)[:2] == ('logical', 'pgoutput')   # never silently replaced

        assert res['physical']['changed'] and res['physical']['slot_type'] == 'physical'
        assert slot_row(pg, phys)[0] == 'physical' and slot_row(pg, phys)[4] is True   # WAL reserved
        assert res['physical with plugin']['failed']
        assert 'plugin applies to logical slots only' in res['physical with plugin']['msg']

        assert res['two_phase']['changed'] and slot_row(pg, tp)[5] is True
        assert res['two_phase differs']['failed']
        assert 'two_phase is true, not false' in res['two_phase differs']['msg']

        if int(major) < 17:
            assert res['failover']['failed']
            assert 'failover on a replication slot needs PostgreSQL 17 or later' in res['failover']['msg']
            assert 'this server runs PostgreSQL %s.' % pg.version_text in res['failover']['msg']
            assert slot_row(pg, fo) is None
        else:
            assert res['failover']['changed'] and res['failover']['failover'] is True
            assert pg.value('SELECT failover FROM pg_replication_slots WHERE slot_name = %s', (fo,)) is True
        assert res['bad name']['failed'] and 'lower-case letters' in res['bad name']['msg']
    finally:
        for name in (other, phys, tp, fo):
            drop_slot(pg, name)


def test_active_slot_drop_needs_force(ansible, pg_pair):
    pub, sub = pg_pair
    slot = random_name('slot')
    name = random_name('sub')
    table = random_name('tbl')
    for server in (pub, sub):
        server.sql('CREATE TABLE %s (id int PRIMARY KEY)' % table)
    pub.sql('CREATE PUBLICATION %s FOR TABLE %s' % (name, table))
    created = False
    try:
        res = ansible.module('replication_slot', dict(pub.login, name=slot, db='postgres'))
        assert res['changed']
        conninfo = 'host=127.0.0.1 port=%d dbname=postgres user=postgres password=%s' % (
            pub.port, SUPERUSER_PASSWORD)
        sub.sql("CREATE SUBSCRIPTION %s CONNECTION '%s' PUBLICATION %s WITH (create_slot = false, slot_name = '%s')"
                % (name, conninfo, name, slot))
        created = True
        wait_for(lambda: slot_row(pub, slot)[3], 'the subscription to use the slot')

        run = ansible.tasks([
            {'name': 'no force', FQCN: dict(pub.login, name=slot, state='absent')},
            {'name': 'force, check', FQCN: dict(pub.login, name=slot, state='absent', force=True),
             'check_mode': True},
        ])
        refused, checked = [r['result'] for r in run.results]
        assert refused['failed'] and 'is active' in refused['msg'] and 'force: true' in refused['msg']
        assert checked['changed'] and not checked.get('failed')
        assert any('pg_terminate_backend' in q for q in checked['queries'])
        assert slot_row(pub, slot) is not None and slot_row(pub, slot)[3] is True

        forced = ansible.module('replication_slot', dict(pub.login, name=slot, state='absent', force=True))
        assert forced['changed'] and not forced.get('failed'), forced.get('msg')
        assert forced['queries'][0].startswith('SELECT pg_terminate_backend(active_pid')
        assert forced['queries'][-1] == "SELECT pg_drop_replication_slot('%s')" % slot
        assert slot_row(pub, slot) is None
    finally:
        if created:
            sub.sql('ALTER SUBSCRIPTION %s DISABLE' % name)
            sub.sql('ALTER SUBSCRIPTION %s SET (slot_name = NONE)' % name)
            sub.sql('DROP SUBSCRIPTION %s' % name)
        wait_for(lambda: slot_row(pub, slot) is None or not slot_row(pub, slot)[3], 'slot release')
        drop_slot(pub, slot)
        pub.sql('DROP PUBLICATION IF EXISTS %s' % name)
        for server in (pub, sub):
            server.sql('DROP TABLE IF EXISTS %s' % table)
