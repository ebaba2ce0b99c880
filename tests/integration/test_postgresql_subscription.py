# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""postgresql_subscription against real publisher/subscriber pairs (every tested major).

Publications are made with plain SQL on the publisher. Every subscription is dropped in
``finally``: a leftover one holds a slot on the shared publisher.
"""

import json
import re

import psycopg2
from psycopg2 import sql
from psycopg2.extensions import make_dsn, parse_dsn

import pytest

from pgharness import SUPERUSER_PASSWORD, random_name, wait_for

pytestmark = pytest.mark.all_cores  # also run on ansible-core 2.16 (make integration)

FQCN = 'pgops.logical_replication.postgresql_subscription'
APP = FQCN
LOGICAL = {'wal_level': 'logical', 'max_replication_slots': '20', 'max_wal_senders': '20',
           'max_logical_replication_workers': '12', 'max_worker_processes': '20'}


# -- helpers --------------------------------------------------------------------------------------

def conninfo(pub, **extra):
    info = dict(host=pub.host, port=pub.port, dbname='postgres', user='postgres', password=SUPERUSER_PASSWORD,
                connect_timeout=5)
    info.update(extra)
    return info


def run_sql(server, query, *idents, **kwargs):
    """Run SQL with identifiers composed safely (test names can be mixed case or unicode)."""
    conn = server.connect(kwargs.pop('dbname', 'postgres'))
    try:
        with conn.cursor() as cur:
            cur.execute(sql.SQL(query).format(*[sql.Identifier(i) for i in idents]), kwargs.get('params'))
            return cur.fetchall() if cur.description else None
    finally:
        conn.close()


def make_table(pub, subr, table, rows=0):
    """The same table on both servers, rows on the publisher only."""
    for server in (pub, subr):
        run_sql(server, 'CREATE TABLE {} (id int PRIMARY KEY, v text)', table)
    if rows:
        run_sql(pub, "INSERT INTO {} SELECT g, 'row ' || g FROM generate_series(1, %s) g", table, params=(rows,))


def make_publication(pub, name, *tables):
    run_sql(pub, 'CREATE PUBLICATION {} FOR TABLE ' + ', '.join(['{}'] * len(tables)), name, *tables)


def rows_of(server, table):
    return run_sql(server, 'SELECT id, v FROM {} ORDER BY id', table)


def catalog(subr, name):
    """The subscription as the catalog says, read independently of the module."""
    cols = ['subenabled', 'subslotname::text', 'subpublications', 'subconninfo', 'subsynccommit', 'subbinary',
            'substream::text', 'subdisableonerr', "subtwophasestate::text",
            'pg_get_userbyid(subowner)', "obj_description(oid, 'pg_subscription')"]
    keys = ['enabled', 'slot_name', 'publications', 'conninfo', 'synchronous_commit', 'binary', 'streaming',
            'disable_on_error', 'two_phase', 'owner', 'comment']
    if subr.version_num >= 160000:
        cols += ['suborigin', 'subpasswordrequired', 'subrunasowner']
        keys += ['origin', 'password_required', 'run_as_owner']
    if subr.version_num >= 170000:
        cols += ['subfailover']
        keys += ['failover']
    found = subr.sql('SELECT %s FROM pg_subscription WHERE subname = %%s' % ', '.join(cols), (name,))
    return dict(zip(keys, found[0])) if found else None


def drop_everything(pub, subr, subs=(), pubs=(), tables=(), slots=()):
    for name in subs:
        try:
            run_sql(subr, 'DROP SUBSCRIPTION IF EXISTS {}', name)
        except psycopg2.Error:
            run_sql(subr, 'ALTER SUBSCRIPTION {} DISABLE', name)
            run_sql(subr, 'ALTER SUBSCRIPTION {} SET (slot_name = NONE)', name)
            run_sql(subr, 'DROP SUBSCRIPTION {}', name)
    for name in slots:
        def dropped():
            try:
                pub.sql('SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = %s',
                        (name,))
                return True
            except psycopg2.Error:
                return False
        wait_for(dropped, 'slot %s to be released' % name)
    for name in pubs:
        run_sql(pub, 'DROP PUBLICATION IF EXISTS {}', name)
    for table in tables:
        for server in (pub, subr):
            run_sql(server, 'DROP TABLE IF EXISTS {}', table)


# -- tests ----------------------------------------------------------------------------------------

def test_create_rows_flow_and_every_alterable_option(ansible, pg_pair, major):
    pub, subr = pg_pair
    name, table, table2, pubname, pubname2 = (random_name('sub'), random_name('t'), random_name('t'),
                                              random_name('pub'), random_name('pub'))
    owner = random_name('owner')
    make_table(pub, subr, table, rows=500)
    make_table(pub, subr, table2, rows=20)
    make_publication(pub, pubname, table)
    make_publication(pub, pubname2, table2)
    subr.sql('CREATE ROLE %s LOGIN SUPERUSER' % owner)
    args = dict(subr.login, db='postgres', name=name, publications=[pubname], conninfo=conninfo(pub),
                binary=True, streaming='on', synchronous_commit='off', disable_on_error=False,
                comment='from the publisher', wait_for_sync=True, sync_timeout=60)
    try:
        check, apply, check_again, again = ansible.quartet('postgresql_subscription', args)
        assert check['diff']['before'] == {} and check['diff']['after']['publications'] == [pubname]
        assert check['queries'][0].startswith('CREATE SUBSCRIPTION "%s" CONNECTION ' % name)
        assert 'password=********' in check['queries'][0] and SUPERUSER_PASSWORD not in json.dumps(apply)
        assert apply['tables'] == [dict(name='public.%s' % table, schema='public', table=table, state='ready',
                                        state_code='r', lsn=apply['tables'][0]['lsn'])]
        assert isinstance(apply['waited'], float) and apply['exists'] is True
        assert not apply.get('warnings') and not again.get('warnings'), apply.get('warnings')
        assert again['options']['binary'] is True and again['options']['streaming'] == 'on'
        assert again['conninfo']['password'] == '********' and again['conninfo']['port'] == str(pub.port)
        assert rows_of(subr, table) == rows_of(pub, table) and len(rows_of(subr, table)) == 500

        found = catalog(subr, name)
        assert found['enabled'] is True and found['slot_name'] == name and found['publications'] == [pubname]
        assert (found['binary'], found['streaming'], found['synchronous_commit']) == (True, 't' if major != '15' else 'true', 'off')
        assert found['comment'] == 'from the publisher' and found['owner'] == 'postgres'
        assert parse_dsn(found['conninfo'])['password'] == SUPERUSER_PASSWORD

        run_sql(pub, "INSERT INTO {} VALUES (1000, 'later')", table)
        wait_for(lambda: rows_of(subr, table)[-1] == (1000, 'later'), 'a later insert to arrive')

        # Alter everything that changes in place on an enabled subscription.
        altered = dict(args, publications=[pubname, pubname2], conninfo=conninfo(pub, application_name='sub_app'),
                       binary=False, streaming='parallel' if major != '15' else 'off',
                       synchronous_commit='local', disable_on_error=True, owner=owner, comment='changed')
        if major != '15':
            altered.update(origin='none', password_required=True, run_as_owner=True)
        check, apply, check_again, again = ansible.quartet('postgresql_subscription', altered)
        assert any(q.startswith('ALTER SUBSCRIPTION "%s" ADD PUBLICATION "%s" WITH (refresh = true)'
                                % (name, pubname2)) for q in apply['queries']), apply['queries']
        assert any('CONNECTION' in q and 'password=********' in q for q in apply['queries'])
        assert apply['diff']['before']['options']['binary'] is True
        assert apply['diff']['after']['options']['binary'] is False
        assert {(t['table'], t['state']) for t in apply['tables']} == {(table, 'ready'), (table2, 'ready')}
        assert rows_of(subr, table2) == rows_of(pub, table2)
        found = catalog(subr, name)
        assert found['publications'] == [pubname, pubname2]
        assert parse_dsn(found['conninfo'])['application_name'] == 'sub_app'
        assert (found['binary'], found['synchronous_commit'], found['disable_on_error']) == (False, 'local', True)
        assert found['streaming'] == ('p' if major != '15' else 'false')
        assert found['owner'] == owner and found['comment'] == 'changed'
        if major != '15':
            assert (found['origin'], found['password_required'], found['run_as_owner']) == ('none', True, True)

        # Disabled-only options (failover 17+, two_phase 18+); creation-only below 18 is an error.
        disabled = dict(altered, state='disabled', two_phase=True, publications=[pubname2])
        if major == '15':
            run = ansible.tasks([{FQCN: disabled}, {FQCN: dict(altered, origin='none')},
                                 {FQCN: dict(altered, two_phase=True)}])
            bad_two_phase, bad_origin, enabled_two_phase = [r['result'] for r in run.results]
            assert bad_two_phase['failed'] and 'two_phase cannot be changed on an existing subscription before ' \
                'PostgreSQL 18' in bad_two_phase['msg'] and 'drop and recreate' in bad_two_phase['msg']
            assert bad_origin['failed'] and bad_origin['msg'].startswith('origin needs PostgreSQL 16 or later; '
                                                                         'this server runs PostgreSQL 15.')
            assert catalog(subr, name)['enabled'] is True
        else:
            if int(major) < 18:   # two_phase of an existing subscription: 18 on; so 16 and 17 refuse it
                refused = ansible.module('postgresql_subscription', disabled)
                assert refused['failed'] and ('two_phase cannot be changed on an existing subscription before '
                                              'PostgreSQL 18') in refused['msg'], refused['msg']
                assert catalog(subr, name)['enabled'] is True
                del disabled['two_phase']
            if int(major) >= 17:
                disabled['failover'] = True
            check, apply, check_again, again = ansible.quartet('postgresql_subscription', disabled)
            assert apply['queries'][0] == 'ALTER SUBSCRIPTION "%s" DISABLE' % name
            assert any(q.startswith('ALTER SUBSCRIPTION "%s" DROP PUBLICATION "%s" WITH (refresh = false)'
                                    % (name, pubname)) for q in apply['queries']), apply['queries']
            found = catalog(subr, name)
            assert found['enabled'] is False and found['publications'] == [pubname2]
            assert found['two_phase'] in (('p', 'e') if int(major) >= 18 else ('d',))
            if int(major) >= 17:
                assert found['failover'] is True
                assert pub.value('SELECT failover FROM pg_replication_slots WHERE slot_name = %s', (name,)) is True
            # two_phase changes only on a disabled subscription (18), or not at all (16, 17)
            enabled_two_phase = ansible.module('postgresql_subscription', dict(
                disabled, state='enabled', two_phase=int(major) < 18))
        assert enabled_two_phase['failed']
        assert 'two_phase' in enabled_two_phase['msg']
    finally:
        drop_everything(pub, subr, subs=[name], pubs=[pubname, pubname2], tables=[table, table2])
        subr.sql('DROP ROLE IF EXISTS %s' % owner)


def test_password_never_leaks_and_noop_run_is_one_connection(ansible, pg_pair, new_server, major):
    pub = pg_pair[0]
    subr = new_server(name='sublog', conf=dict(LOGICAL, log_statement="'all'", log_min_error_statement='error'))
    password = "s3 cr'et\\pa=ss \"q\""
    role, name, table, pubname = random_name('repl'), random_name('sub'), random_name('t'), random_name('pub')
    make_table(pub, subr, table, rows=50)
    make_publication(pub, pubname, table)
    conn = pub.connect()
    with conn.cursor() as cur:
        cur.execute("SET log_statement = 'none'")
        cur.execute(sql.SQL('CREATE ROLE {} LOGIN REPLICATION PASSWORD {}').format(
            sql.Identifier(role), sql.Literal(password)))
        cur.execute(sql.SQL('GRANT SELECT ON {} TO {}').format(sql.Identifier(table), sql.Identifier(role)))
    conn.close()
    pub_log, sub_log = pub.log_size(), subr.log_size()
    args = dict(subr.login, db='postgres', name=name, publications=[pubname], wait_for_sync=True, sync_timeout=60,
                conninfo=dict(host=pub.host, port=pub.port, dbname='postgres', user=role, password=password))
    try:
        run = ansible.tasks([
            {'name': 'create', FQCN: args},
            {'name': 'again', FQCN: args},
            {'name': 'fails', FQCN: dict(args, name=random_name('sub'), conninfo=dict(args['conninfo'], port=1))},
        ], diff=True, verbosity=3)
        create, again, fails = [r['result'] for r in run.results]
        assert create['changed'] is True and again['changed'] is False, (create, again)
        assert fails['failed'] and 'could not connect to the publisher' in fails['msg']
        assert fails['queries'] and 'password=********' in fails['queries'][0]
        assert rows_of(subr, table) == rows_of(pub, table)
        stored = subr.value('SELECT subconninfo FROM pg_subscription WHERE subname = %s', (name,))
        assert parse_dsn(stored)['password'] == password

        since = subr.log_size()
        noop = ansible.module('postgresql_subscription', args)
        assert noop['changed'] is False and noop['queries'] == [] and noop['tables'][0]['state'] == 'ready'
        sessions, statements = subr.statements_of(APP, since)
        assert len(sessions) == 1 and 1 <= len(statements) <= 2, statements

        haystacks = {'results': json.dumps(run.results) + json.dumps(noop), 'output -vvv': run.output,
                     'publisher log': pub.log_text(pub_log), 'subscriber log': subr.log_text(sub_log)}
        assert 'CREATE SUBSCRIPTION' in haystacks['output -vvv'] or 'queries' in haystacks['output -vvv']
        for where, text in haystacks.items():
            for form in (password, "s3 cr", "cr'et", "cr''et", "cr\\'et", 'pa=ss'):
                assert form not in text, 'password found in %s' % where
    finally:
        drop_everything(pub, subr, subs=[name], pubs=[pubname], tables=[table])
        pub.sql('DROP OWNED BY %s; DROP ROLE IF EXISTS %s' % (role, role))


def test_mixed_case_quoted_unicode_names(ansible, pg_pair):
    pub, subr = pg_pair
    name = 'Süb "%s" Mixed' % random_name('x')
    pubname = 'Pub.Ünï "%s"' % random_name('q')
    table = random_name('T')
    reader = random_name('reader')
    make_table(pub, subr, table, rows=5)
    make_publication(pub, pubname, table)
    args = dict(subr.login, db='postgres', name=name, publications=[pubname], conninfo=conninfo(pub),
                wait_for_sync=True, sync_timeout=60, comment="it's", slot_name=random_name('slot'))
    try:
        check, apply, check_again, again = ansible.quartet('postgresql_subscription', args)
        assert apply['name'] == name and apply['publications'] == [pubname]
        assert catalog(subr, name)['publications'] == [pubname]
        assert rows_of(subr, table) == rows_of(pub, table)

        # A role that cannot read subconninfo: the connection is left alone, with a warning.
        subr.sql("CREATE ROLE %s LOGIN PASSWORD 'reader-pw'" % reader)
        as_reader = ansible.module('postgresql_subscription', dict(
            args, login_user=reader, login_password='reader-pw', conninfo=conninfo(pub, application_name='other')))
        assert as_reader['changed'] is False and not as_reader.get('failed'), as_reader
        assert as_reader['conninfo'] is None and as_reader['publications'] == [pubname]
        assert any('cannot read the stored connection' in w and 'left as it is' in w
                   for w in as_reader['warnings']), as_reader
    finally:
        drop_everything(pub, subr, subs=[name], pubs=[pubname], tables=[table])
        subr.sql('DROP ROLE IF EXISTS %s' % reader)


def test_the_manuals_deferred_slot_flows(ansible, pg_pair):
    pub, subr = pg_pair
    subs = [random_name('sub') for _index in range(3)]
    tables = [random_name('t') for _index in range(3)]
    pubs = [random_name('pub') for _index in range(3)]
    own_slot, later_slot = random_name('slot'), random_name('slot')
    for table, pubname in zip(tables, pubs):
        make_table(pub, subr, table, rows=10)
        make_publication(pub, pubname, table)
    base = [dict(subr.login, db='postgres', name=s, publications=[p], conninfo=conninfo(pub)) for s, p in zip(subs, pubs)]
    try:
        # 1. slot made beforehand under another name; 2. connect = false; 3. slot_name = NONE.
        pub.sql("SELECT pg_create_logical_replication_slot(%s, 'pgoutput')", (own_slot,))
        run = ansible.tasks([
            {FQCN: dict(base[0], slot_name=own_slot, create_slot=False, wait_for_sync=True, sync_timeout=60)},
            {FQCN: dict(base[1], connect=False)},
            {FQCN: dict(base[2], slot_name='none', enabled=False, create_slot=False)},
        ])
        first, second, third = [r['result'] for r in run.results]
        assert all(r['changed'] and not r.get('failed') for r in (first, second, third)), run.results
        assert rows_of(subr, tables[0]) == rows_of(pub, tables[0])
        assert catalog(subr, subs[0])['slot_name'] == own_slot
        assert second['enabled'] is False and catalog(subr, subs[1])['enabled'] is False
        assert third['slot_name'] is None and catalog(subr, subs[2])['slot_name'] is None
        assert pub.value('SELECT count(*) FROM pg_replication_slots WHERE slot_name = ANY(%s)',
                         ([subs[1], subs[2]],)) == 0

        pub.sql("SELECT pg_create_logical_replication_slot(%s, 'pgoutput')", (subs[1],))
        pub.sql("SELECT pg_create_logical_replication_slot(%s, 'pgoutput')", (later_slot,))
        run = ansible.tasks([
            {FQCN: dict(base[1], state='enabled')},
            {FQCN: dict(base[1], state='refreshed', wait_for_sync=True, sync_timeout=60)},
            {FQCN: dict(base[2], slot_name=later_slot, state='enabled')},
            {FQCN: dict(base[2], state='refreshed', wait_for_sync=True, sync_timeout=60)},
            {FQCN: dict(base[2], slot_name=later_slot, state='enabled')},
        ])
        results = [r['result'] for r in run.results]
        assert all(r['changed'] and not r.get('failed') for r in results[:4]), results
        assert results[0]['queries'] == ['ALTER SUBSCRIPTION "%s" ENABLE' % subs[1]]
        assert results[1]['queries'] == ['ALTER SUBSCRIPTION "%s" REFRESH PUBLICATION' % subs[1]]
        assert results[2]['queries'] == ['ALTER SUBSCRIPTION "%s" SET (slot_name = \'%s\')' % (subs[2], later_slot),
                                         'ALTER SUBSCRIPTION "%s" ENABLE' % subs[2]]
        assert results[4]['changed'] is False
        for table in tables[1:]:
            assert rows_of(subr, table) == rows_of(pub, table)
        assert catalog(subr, subs[2])['slot_name'] == later_slot
    finally:
        drop_everything(pub, subr, subs=subs, pubs=pubs, tables=tables, slots=[own_slot, later_slot, subs[1]])


def test_drop_keeps_slot_when_publisher_is_stopped(ansible, pg_pair, new_server):
    subr = pg_pair[1]
    pub = new_server(name='gone', conf={'wal_level': 'logical'})
    name, table, pubname = random_name('sub'), random_name('t'), random_name('pub')
    make_table(pub, subr, table, rows=3)
    make_publication(pub, pubname, table)
    args = dict(subr.login, db='postgres', name=name, conninfo=conninfo(pub, connect_timeout=3))
    try:
        created = ansible.module('postgresql_subscription', dict(args, publications=[pubname], wait_for_sync=True, sync_timeout=60))
        assert created['changed'] is True and not created.get('failed'), created
        pub.stop()
        run = ansible.tasks([
            {FQCN: dict(args, state='absent')},
            {FQCN: dict(args, state='absent', keep_slot_on_drop=True)},
            {FQCN: dict(args, state='absent', keep_slot_on_drop=True)},
        ])
        refused, dropped, again = [r['result'] for r in run.results]
        assert refused['failed'] and 'keep_slot_on_drop: true' in refused['msg'], refused
        assert dropped['changed'] is True and dropped['kept_slot'] == name and dropped['exists'] is False
        assert dropped['queries'] == ['ALTER SUBSCRIPTION "%s" DISABLE' % name,
                                      'ALTER SUBSCRIPTION "%s" SET (slot_name = NONE)' % name,
                                      'DROP SUBSCRIPTION "%s"' % name]
        assert any(name in w for w in dropped.get('warnings', []))
        assert again['changed'] is False and again['kept_slot'] is None
        assert catalog(subr, name) is None and catalog(subr, 'Mixed Case') is None
        pub.start()
        assert pub.value('SELECT count(*) FROM pg_replication_slots WHERE slot_name = %s', (name,)) == 1
    finally:
        drop_everything(pub, subr, subs=[name])
        run_sql(subr, 'DROP TABLE IF EXISTS {}', table)


def test_skip_lsn_steps_over_a_conflict(ansible, pg_pair):
    pub, subr = pg_pair
    name, table, pubname = random_name('sub'), random_name('t'), random_name('pub')
    make_table(pub, subr, table, rows=2)
    make_publication(pub, pubname, table)
    args = dict(subr.login, db='postgres', name=name, publications=[pubname], conninfo=conninfo(pub),
                wait_for_sync=True, sync_timeout=60)
    try:
        assert ansible.module('postgresql_subscription', args)['changed'] is True
        since = subr.log_size()
        run_sql(subr, "INSERT INTO {} VALUES (10, 'subscriber')", table)
        run_sql(pub, "INSERT INTO {} VALUES (10, 'publisher')", table)
        run_sql(pub, "INSERT INTO {} VALUES (11, 'after')", table)
        # 15: "duplicate key value violates ..."; 18: "conflict detected ...: conflict=insert_exists".
        pattern = re.compile(r'(?:duplicate key value|conflict=insert_exists).*?finished at ([0-9A-F]+/[0-9A-F]+)',
                             re.S)
        wait_for(lambda: pattern.search(subr.log_text(since)), 'the conflict in the subscriber log')
        lsn = pattern.search(subr.log_text(since)).group(1)
        run = ansible.tasks([{FQCN: dict(args, skip_lsn=lsn)}])
        skipped = run.results[0]['result']
        assert skipped['changed'] is True and skipped['queries'] == [
            'ALTER SUBSCRIPTION "%s" SKIP (lsn = \'%s\')' % (name, lsn)], skipped
        wait_for(lambda: (11, 'after') in rows_of(subr, table), 'replication to proceed after the skip')
        assert (10, 'subscriber') in rows_of(subr, table)
        again = ansible.module('postgresql_subscription', dict(args, skip_lsn=lsn))
        assert again['changed'] is False, again
    finally:
        drop_everything(pub, subr, subs=[name], pubs=[pubname], tables=[table])


def test_wait_for_sync_timeout_names_the_tables(ansible, pg_pair):
    pub, subr = pg_pair
    name, table, pubname = random_name('sub'), random_name('t'), random_name('pub')
    make_table(pub, subr, table, rows=3)
    make_publication(pub, pubname, table)
    locker = subr.connect()
    locker.autocommit = False
    try:
        with locker.cursor() as cur:
            cur.execute(sql.SQL('LOCK TABLE {} IN SHARE MODE').format(sql.Identifier(table)))
        result = ansible.module('postgresql_subscription', dict(
            subr.login, db='postgres', name=name, publications=[pubname], conninfo=conninfo(pub),
            wait_for_sync=True, sync_timeout=1))
        assert result['failed'] and 'not ready after 1.0 s (sync_timeout)' in result['msg'], result
        assert 'public.%s (' % table in result['msg']
        assert result['tables'][0]['table'] == table and result['tables'][0]['state'] != 'ready'
        assert result['changed'] is True and catalog(subr, name) is not None
    finally:
        locker.rollback()
        locker.close()
        drop_everything(pub, subr, subs=[name], pubs=[pubname], tables=[table])


def test_bad_input_changes_nothing(ansible, pg_pair, major):
    pub, subr = pg_pair
    name = random_name('sub')
    base = dict(subr.login, db='postgres', name=name)
    # Before 17 failover is refused by the version gate; from 17 on the same task would create the subscription.
    too_new = dict(base, publications=['p'], conninfo=conninfo(pub), failover=True) if int(major) < 17 else \
        dict(base, publications=['p'], conninfo=conninfo(pub), streaming='sideways')
    run = ansible.tasks([
        {FQCN: dict(base, publications=['p'], conninfo=dict(hots='x'))},
        {FQCN: dict(base, publications=['p'])},
        {FQCN: dict(base, publications=['p'], conninfo=conninfo(pub), state='enabled', enabled=False)},
        {FQCN: dict(base, skip_lsn='zz')},
        {FQCN: too_new},
        {FQCN: dict(base, name='Mixed Case', publications=['p'], conninfo=conninfo(pub))},
    ])
    unknown, missing, contradiction, bad_lsn, failover, slot = [r['result'] for r in run.results]
    assert slot['failed'] and slot['msg'] == ('The replication slot is named after the subscription by default, but '
                                              '"Mixed Case" is not a valid slot name (only lower case letters, digits '
                                              'and _, at most 63 bytes). Give slot_name.')
    assert unknown['failed'] and 'conninfo.hots' in unknown['msg']
    assert missing['failed'] and 'to create it give conninfo' in missing['msg']
    assert contradiction['failed'] and 'contradicts' in contradiction['msg']
    assert bad_lsn['failed'] and ('is not an LSN' in bad_lsn['msg'] or 'skip_lsn' in bad_lsn['msg'])
    assert failover['failed']
    assert ('failover needs PostgreSQL 17 or later; this server runs PostgreSQL %s.' % subr.version_text
            if int(major) < 17 else 'value of streaming must be one of') in failover['msg'], failover['msg']
    assert catalog(subr, name) is None and catalog(subr, 'Mixed Case') is None


def test_server_warnings_are_task_warnings_and_connect_timeout_is_added(ansible, pg_pair, major):
    """Issue 10 item 18: two servers feeding each other, origin = none with copy_data: PostgreSQL warns that
    the copy might bring rows of another origin; the task shows that warning. A conninfo without
    connect_timeout gets the module's default, returned, and a re-run is unchanged."""
    if int(major) < 16:
        pytest.skip('origin needs PostgreSQL 16')
    pub, subr = pg_pair
    table, forth, back, name_forth, name_back = (random_name('t'), random_name('pub'), random_name('pub'),
                                                 random_name('sub'), random_name('sub'))
    make_table(pub, subr, table, rows=2)
    make_publication(pub, forth, table)
    make_publication(subr, back, table)
    info = conninfo(subr)
    del info['connect_timeout']
    args = dict(pub.login, db='postgres', name=name_back, publications=[back], conninfo=info, origin='none')
    try:
        # subr's table is itself subscribed (from pub): a copy from it may carry pub's own rows back.
        run_sql(subr, "CREATE SUBSCRIPTION {} CONNECTION %s PUBLICATION {} WITH (copy_data = false)",
                name_forth, forth, params=(make_dsn(**conninfo(pub)),))
        run = ansible.tasks([{FQCN: args}, {FQCN: args}])
        created, again = [r['result'] for r in run.results]
        assert created['changed'] is True and not created.get('failed'), created.get('msg')
        warnings = created.get('warnings') or []
        assert [w for w in warnings if 'requested copy_data with origin = NONE but might copy data that had a '
                'different origin' in w and name_back in w], warnings
        assert SUPERUSER_PASSWORD not in json.dumps(created)
        assert created['conninfo']['connect_timeout'] == '10' and 'connect_timeout=10' in created['queries'][0]
        assert parse_dsn(catalog(pub, name_back)['conninfo'])['connect_timeout'] == '10'
        assert again['changed'] is False and again['queries'] == [] and not again.get('warnings'), again
    finally:
        drop_everything(subr, pub, subs=[name_back], pubs=[back])
        drop_everything(pub, subr, subs=[name_forth], pubs=[forth], tables=[table])
