# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""postgresql_publication against real PostgreSQL servers (every tested major).

Each test works in its own random database (ALL TABLES publications and the replica identity
check look at every table of the database) and reads the catalog itself after each step.
"""


import pytest

from pgharness import SUPERUSER_PASSWORD, assert_quartet, quartet_tasks, random_name, wait_for

pytestmark = pytest.mark.all_cores  # also run on ansible-core 2.16 (make integration)

MODULE = 'postgresql_publication'
APP = 'pgops.logical_replication.postgresql_publication'
FULL = ['insert', 'update', 'delete', 'truncate']


def make_db(server, setup=None):
    name = random_name('db')
    server.sql('CREATE DATABASE "%s"' % name)
    if setup:
        server.sql(setup, dbname=name)
    return name


def drop_db(server, name):
    server.sql('DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % name)


@pytest.fixture
def db(pg):
    made = []

    def make(setup=None):
        made.append(make_db(pg, setup))
        return made[-1]

    yield make
    for name in made:
        drop_db(pg, name)


def catalog(server, dbname, name):
    """The publication as the catalog shows it, read without the module."""
    pub = server.sql(
        """SELECT p.oid, p.puballtables, p.pubinsert, p.pubupdate, p.pubdelete, p.pubtruncate, p.pubviaroot,
                  pg_get_userbyid(p.pubowner), obj_description(p.oid, 'pg_publication')
           FROM pg_publication p WHERE p.pubname = %s""", (name,), dbname=dbname)
    if not pub:
        return None
    oid, alltables, ins, upd, dele, trunc, viaroot, owner, comment = pub[0]
    rels = server.sql(
        """SELECT n.nspname, c.relname, pg_get_expr(r.prqual, r.prrelid),
                  ARRAY(SELECT a.attname::text FROM pg_attribute a
                        WHERE a.attrelid = r.prrelid AND a.attnum = ANY(r.prattrs::int2[]) ORDER BY a.attnum)
           FROM pg_publication_rel r JOIN pg_class c ON c.oid = r.prrelid
           JOIN pg_namespace n ON n.oid = c.relnamespace WHERE r.prpubid = %s""", (oid,), dbname=dbname)
    schemas = server.sql(
        """SELECT n.nspname FROM pg_publication_namespace pn JOIN pg_namespace n ON n.oid = pn.pnnspid
           WHERE pn.pnpubid = %s""", (oid,), dbname=dbname)
    published = server.sql("SELECT schemaname, tablename FROM pg_publication_tables WHERE pubname = %s",
                           (name,), dbname=dbname)
    return dict(
        oid=oid, all_tables=alltables, owner=owner, comment=comment, viaroot=viaroot,
        publish=[op for op, on in zip(FULL, (ins, upd, dele, trunc)) if on],
        tables=dict(((s, t), dict(where=w, columns=list(c) or None)) for s, t, w, c in rels),
        schemas=sorted(s for (s,) in schemas),
        published=sorted(published),
    )


def run_quartet(ansible, args):
    """The quartet of the module; returns the applying run's result."""
    return ansible.quartet(MODULE, args)[1]


# -- every option: create, check mode, idempotence, alter in place, switch, drop ------------------------

LIFECYCLE_SETUP = """
CREATE SCHEMA sales; CREATE SCHEMA inv;
CREATE TABLE public.orders (id int PRIMARY KEY, status varchar(20), amount int, note text);
CREATE TABLE public.customers (id int PRIMARY KEY, name text, country text);
CREATE TABLE sales.q1 (id int PRIMARY KEY, total int);
CREATE TABLE inv.items (id int PRIMARY KEY, qty int);
"""


def test_lifecycle_of_every_option(ansible, pg, db, major):
    dbname = db(LIFECYCLE_SETUP)
    owner = random_name('owner')
    name = random_name('pub')
    pg.sql('CREATE ROLE "%s"; GRANT CREATE ON DATABASE "%s" TO "%s"' % (owner, dbname, owner))
    base = dict(pg.login, db=dbname, name=name)
    try:
        # create: a list with a column list and filters PostgreSQL rewrites, owner, comment
        created = run_quartet(ansible, dict(
            base, tables=[dict(name='orders', columns=['id', 'status', 'amount'], where="status = 'paid'"),
                          dict(name='public.customers', where="(country = 'DE')")],
            publish=['insert', 'truncate'], publish_via_partition_root=False, owner=owner, comment='first'))
        cat = catalog(pg, dbname, name)
        assert cat['tables'] == {
            ('public', 'orders'): dict(where="((status)::text = 'paid'::text)", columns=['id', 'status', 'amount']),
            ('public', 'customers'): dict(where="(country = 'DE'::text)", columns=None)}
        assert cat['publish'] == ['insert', 'truncate'] and not cat['all_tables'] and not cat['viaroot']
        assert (cat['owner'], cat['comment'], cat['schemas']) == (owner, 'first', [])
        assert cat['published'] == [('public', 'customers'), ('public', 'orders')]
        assert created['exists'] and created['owner'] == owner and created['comment'] == 'first'
        assert created['tables'][1] == dict(name='public.orders', schema='public', table='orders',
                                            columns=['id', 'status', 'amount'],
                                            where="((status)::text = 'paid'::text)")
        assert created['diff']['before'] == dict(exists=False)
        assert created['diff']['after']['publish'] == ['insert', 'truncate']
        first_oid = cat['oid']

        # alter in place: filters, membership, a schema, every publish op, partition root, owner, comment
        # (and on 18 publish_generated_columns)
        gencols = dict(publish_generated_columns='stored') if major == '18' else {}
        altered = run_quartet(ansible, dict(
            base, tables=[dict(name='orders', where='id > 100'), 'sales.q1'], schemas=['inv'],
            publish=['truncate', 'insert', 'update', 'delete'], publish_via_partition_root=True,
            owner='postgres', comment='second', **gencols))
        assert not [q for q in altered['queries'] if 'CREATE PUBLICATION' in q or 'DROP PUBLICATION' in q]
        cat = catalog(pg, dbname, name)
        assert cat['oid'] == first_oid
        assert cat['tables'] == {('public', 'orders'): dict(where='(id > 100)', columns=None),
                                 ('sales', 'q1'): dict(where=None, columns=None)}
        assert cat['schemas'] == ['inv'] and cat['publish'] == FULL and cat['viaroot']
        assert (cat['owner'], cat['comment']) == ('postgres', 'second')
        assert cat['published'] == [('inv', 'items'), ('public', 'orders'), ('sales', 'q1')]
        assert altered['diff']['before']['comment'] == 'first' and altered['diff']['after']['comment'] == 'second'
        if major == '18':
            assert pg.value('SELECT pubgencols FROM pg_publication WHERE pubname = %s', (name,), dbname=dbname) == 's'
            assert altered['publish_generated_columns'] == 'stored'

        # a list becomes ALL TABLES: PostgreSQL has no ALTER for it, so drop + create, said in a warning
        switched = run_quartet(ansible, dict(base, all_tables=True, publish=['insert']))
        assert switched['queries'][0].startswith('DROP PUBLICATION')
        assert any('dropped and re-created' in w for w in switched['warnings'])
        cat = catalog(pg, dbname, name)
        assert cat['all_tables'] and cat['tables'] == {} and cat['schemas'] == []
        assert (cat['publish'], cat['comment'], cat['owner'], cat['viaroot']) == (['insert'], 'second', 'postgres', True)
        assert len(cat['published']) == 4

        # and back to a list, leaving publish alone; comment removed
        back = run_quartet(ansible, dict(base, all_tables=False, tables=['customers'], comment=''))
        cat = catalog(pg, dbname, name)
        assert not cat['all_tables'] and cat['published'] == [('public', 'customers')]
        assert (cat['publish'], cat['comment']) == (['insert'], None)
        assert back['all_tables'] is False

        dropped = run_quartet(ansible, dict(base, state='absent'))
        assert dropped['queries'] == ['DROP PUBLICATION "%s"' % name] and dropped['exists'] is False
        assert catalog(pg, dbname, name) is None
    finally:
        drop_db(pg, dbname)
        pg.sql('DROP ROLE IF EXISTS "%s"' % owner)


# -- row filters and column lists round-trip ------------------------------------------------------------

def test_filters_and_column_lists_round_trip(ansible, pg, db):
    dbname = db("""
        CREATE TABLE f1 (id int PRIMARY KEY, e int, status varchar(10), note text);
        CREATE TABLE f2 (id int PRIMARY KEY, e int, status varchar(10), note text);
        CREATE TABLE f3 (id int PRIMARY KEY, e int, status varchar(10), note text);
        CREATE TABLE f4 (id int PRIMARY KEY, e int, status varchar(10), note text);
        CREATE TABLE f5 (id int PRIMARY KEY, e int, status varchar(10), note text);
    """)
    name = random_name('pub')
    requested = [dict(name='f1', where='e > 5'),
                 dict(name='f2', where='(e > 5)', columns=['note', 'id']),
                 dict(name='f3', where="status = 'x'"),
                 dict(name='f4', where="e BETWEEN 1 AND 3 AND upper(note) <> 'A;B'"),
                 dict(name='f5', where="note IS NOT NULL OR   status = 'y'", columns=['status', 'id', 'note'])]
    # (publish insert only: these filters use columns outside the replica identity)
    args = dict(pg.login, db=dbname, name=name, tables=requested, publish=['insert'])
    # in the same playbook: the quartet, then the filters exactly as PostgreSQL stores them
    stored = [dict(name='f1', where='(e > 5)'),
              dict(name='f2', where='(e > 5)', columns=['id', 'note']),
              dict(name='f3', where="((status)::text = 'x'::text)"),
              dict(name='f4', where="(((e >= 1) AND (e <= 3)) AND (upper(note) <> 'A;B'::text))"),
              dict(name='f5', where="((note IS NOT NULL) OR ((status)::text = 'y'::text))",
                   columns=['id', 'status', 'note'])]
    # then a real change of one filter: only that table changes, in place
    f3 = dict(name='f3', where="status = 'z'")
    tasks = quartet_tasks(MODULE, args) + [
        {'name': 'stored form', 'pgops.logical_replication.' + MODULE: dict(args, tables=stored)},
        {'name': 'one filter', 'pgops.logical_replication.' + MODULE: dict(args, tables=stored[:2] + [f3] + stored[3:])}]
    results = [r['result'] for r in ansible.tasks(tasks, diff=True).results]
    assert_quartet(results[:4])
    assert not results[4]['failed'] and not results[4]['changed'], results[4]
    assert [t['where'] for t in results[1]['tables']] == [t['where'] for t in stored]
    changed = results[5]
    assert changed['queries'] == ['ALTER PUBLICATION "%s" DROP TABLE ONLY "public"."f3"' % name,
                                  'ALTER PUBLICATION "%s" ADD TABLE ONLY "public"."f3" WHERE (status = \'z\')' % name]
    cat = catalog(pg, dbname, name)
    assert dict((t, v['where']) for (s, t), v in cat['tables'].items()) == dict(
        (t['name'], t['where']) for t in stored[:2] + [dict(f3, where="((status)::text = 'z'::text)")] + stored[3:])
    assert cat['tables'][('public', 'f2')]['columns'] == ['id', 'note']
    assert cat['tables'][('public', 'f5')]['columns'] == ['id', 'status', 'note']


def test_partitioned_root_and_all_or_nothing(ansible, pg, db):
    dbname = db("""
        CREATE TABLE m (id int, sensor int, v int, PRIMARY KEY (id, sensor)) PARTITION BY RANGE (sensor);
        CREATE TABLE m_low PARTITION OF m FOR VALUES FROM (0) TO (100);
        CREATE TABLE m_high PARTITION OF m FOR VALUES FROM (100) TO (1000);
        CREATE TABLE other (id int PRIMARY KEY);
    """)
    name = random_name('pub')
    args = dict(pg.login, db=dbname, name=name, tables=[dict(name='m', where='sensor > 100')],
                publish_via_partition_root=True)
    refused = {'name': 'refused', 'pgops.logical_replication.' + MODULE:
               dict(args, tables=args['tables'] + ['other'], publish_via_partition_root=False, comment='x')}
    results = [r['result'] for r in ansible.tasks(quartet_tasks(MODULE, args) + [refused]).results]
    assert_quartet(results[:4])
    failed = results[4]
    assert failed['failed'] and not failed['changed']
    assert 'publish_via_partition_root' in failed['msg'] and 'rolled back' in failed['msg']
    cat = catalog(pg, dbname, name)
    assert cat['viaroot'] and cat['comment'] is None
    assert cat['tables'] == {('public', 'm'): dict(where='(sensor > 100)', columns=None)}
    assert cat['published'] == [('public', 'm')]


# -- rows reach a subscriber --------------------------------------------------------------------------

def test_rows_reach_a_subscriber(ansible, pg_pair):
    publisher, subscriber = pg_pair
    # (hier_c inherits from hier: listed without only, hier publishes its child too)
    table = ('CREATE TABLE items (id int PRIMARY KEY, kind text, secret text, qty int); '
             'CREATE TABLE logs (id int PRIMARY KEY, line text); '
             'CREATE TABLE hier (id int PRIMARY KEY, note text); CREATE TABLE hier_c (PRIMARY KEY (id)) INHERITS (hier)')
    pubdb = make_db(publisher, table)
    subdb = make_db(subscriber, table)
    name, sub = random_name('pub'), random_name('sub')
    publisher.sql("INSERT INTO items VALUES (1, 'a', 's1', 1), (200, 'b', 's2', 2)", dbname=pubdb)
    try:
        result = ansible.module(MODULE, dict(
            publisher.login, db=pubdb, name=name, publish=['insert', 'update'],
            tables=[dict(name='items', columns=['id', 'kind', 'qty'], where='id < 100'), 'logs', 'hier']))
        assert result['changed'] and not result['failed'], result.get('msg')
        subscriber.sql("CREATE SUBSCRIPTION %s CONNECTION 'host=127.0.0.1 port=%d user=postgres password=%s "
                       "dbname=%s' PUBLICATION %s" % (sub, publisher.port, SUPERUSER_PASSWORD, pubdb, name),
                       dbname=subdb)

        def rows():
            return subscriber.sql('SELECT id, kind, secret, qty FROM items ORDER BY id', dbname=subdb)

        wait_for(lambda: rows() == [(1, 'a', None, 1)], 'the initial copy')
        # (a row filter of a publication that publishes update must use replica identity columns)
        publisher.sql("INSERT INTO items VALUES (3, 'c', 's3', 3), (400, 'd', 's4', 4);"
                      "UPDATE items SET qty = 10 WHERE id = 1; DELETE FROM items WHERE id = 3;"
                      "INSERT INTO hier VALUES (1, 'parent'); INSERT INTO hier_c VALUES (2, 'child');"
                      "INSERT INTO logs VALUES (1, 'marker')", dbname=pubdb)
        wait_for(lambda: subscriber.value('SELECT count(*) FROM logs', dbname=subdb) == 1, 'the marker row')
        # the filter kept 200 and 400 out, the column list kept secret out, the delete was not published
        assert rows() == [(1, 'a', None, 10), (3, 'c', None, 3)]
        assert subscriber.sql('SELECT id, note FROM ONLY hier_c', dbname=subdb) == [(2, 'child')]
        assert subscriber.sql('SELECT id, note FROM ONLY hier', dbname=subdb) == [(1, 'parent')]
    finally:
        subscriber.sql('DROP SUBSCRIPTION IF EXISTS %s' % sub, dbname=subdb)
        drop_db(subscriber, subdb)
        drop_db(publisher, pubdb)


# -- hostile names --------------------------------------------------------------------------------------

HOSTILE_SCHEMA = 'Sch "q"; DROP TABLE canary; -- ü.x'
HOSTILE_TABLE = 'Tab le;"x" ü.y'
HOSTILE_COLUMN = 'Col "a"; b'
OTHER_SCHEMA = 'Ünï "s".z;'


def quote(name):
    return '"%s"' % name.replace('"', '""')


def test_hostile_names(ansible, pg, db):
    setup = """
        CREATE TABLE canary (id int);
        CREATE SCHEMA {s}; CREATE SCHEMA {o};
        CREATE TABLE {s}.{t} ({c} int PRIMARY KEY, "MixedCase" text);
        CREATE TABLE {o}.plain (id int PRIMARY KEY);
        CREATE TABLE public."UPPER" (id int PRIMARY KEY);
    """.format(s=quote(HOSTILE_SCHEMA), t=quote(HOSTILE_TABLE), c=quote(HOSTILE_COLUMN), o=quote(OTHER_SCHEMA))
    dbname = db(setup)
    prefix = 'Pub "x"; ü.'
    name = prefix + 'n' * (63 - len(prefix.encode('utf-8')))
    assert len(name.encode('utf-8')) == 63
    second = 'p2 "y";DROP TABLE canary;--'
    qualified = '%s.%s' % (quote(HOSTILE_SCHEMA), quote(HOSTILE_TABLE))
    args = dict(pg.login, db=dbname, name=name, comment="it's; a 'comment'",
                tables=[dict(name=qualified, columns=[HOSTILE_COLUMN, 'MixedCase'],
                             where='%s > 0' % quote(HOSTILE_COLUMN)), 'UPPER'])
    more = [
        {'name': 'schemas', 'pgops.logical_replication.' + MODULE:
         dict(pg.login, db=dbname, name=second, schemas=[OTHER_SCHEMA], tables=[qualified])},
        {'name': 'schemas again', 'pgops.logical_replication.' + MODULE:
         dict(pg.login, db=dbname, name=second, schemas=[OTHER_SCHEMA], tables=[qualified])},
        {'name': 'too long', 'pgops.logical_replication.' + MODULE: dict(pg.login, db=dbname, name=name + 'x')},
        {'name': 'injection', 'pgops.logical_replication.' + MODULE:
         dict(pg.login, db=dbname, name='inj', tables=[dict(name='UPPER', where='true); DROP TABLE canary; --')])},
    ]
    results = [r['result'] for r in ansible.tasks(quartet_tasks(MODULE, args) + more).results]
    applied = assert_quartet(results[:4])[1]
    assert applied['tables'][0]['schema'] == HOSTILE_SCHEMA and applied['tables'][0]['table'] == HOSTILE_TABLE
    cat = catalog(pg, dbname, name)
    assert cat['comment'] == "it's; a 'comment'"
    assert cat['tables'] == {(HOSTILE_SCHEMA, HOSTILE_TABLE): dict(where='(%s > 0)' % quote(HOSTILE_COLUMN),
                                                                   columns=[HOSTILE_COLUMN, 'MixedCase']),
                             ('public', 'UPPER'): dict(where=None, columns=None)}
    assert results[4]['changed'] and not results[4]['failed'], results[4].get('msg')
    assert not results[5]['changed'] and not results[5]['failed']
    cat2 = catalog(pg, dbname, second)
    assert cat2['schemas'] == [OTHER_SCHEMA] and list(cat2['tables']) == [(HOSTILE_SCHEMA, HOSTILE_TABLE)]
    assert results[6]['failed'] and 'is 64 bytes long' in results[6]['msg']
    assert results[7]['failed'] and 'closes a parenthesis it did not open' in results[7]['msg']
    assert pg.value("SELECT count(*) FROM pg_publication", dbname=dbname) == 2
    assert pg.value("SELECT to_regclass('public.canary') IS NOT NULL", dbname=dbname)


# -- a no-op run: one connection, at most two statements ------------------------------------------------

def test_noop_run_uses_one_connection_and_at_most_two_statements(ansible, new_server):
    server = new_server(name='pubstmt', conf={'wal_level': 'logical', 'log_statement': "'all'"})
    server.sql("""CREATE SCHEMA s; CREATE TABLE s.x (id int PRIMARY KEY);
                  CREATE TABLE t (id int PRIMARY KEY, status varchar(5), e int)""")
    rewritten = dict(server.login, db='postgres', name='rewritten', schemas=['s'], publish_via_partition_root=True,
                     tables=[dict(name='t', where="status = 'a' AND e > 1")], owner='postgres', comment='c',
                     publish=['insert', 'truncate'])
    exact = dict(server.login, db='postgres', name='exact', publish=['insert'],
                 tables=[dict(name='t', columns=['id', 'e'], where='(e > 1)')])
    tasks = [{'name': n, 'pgops.logical_replication.' + MODULE: a}
             for n, a in (('create 1', rewritten), ('create 2', exact))]
    assert all(r['result']['changed'] for r in ansible.tasks(tasks).results)
    since = server.log_size()
    results = ansible.tasks([dict(t, name=t['name'].replace('create', 'again')) for t in tasks]).results
    assert not any(r['result']['changed'] or r['result']['failed'] for r in results), results
    sessions = [statements for _session, statements in server.sessions_of(APP, since)]
    assert len(sessions) == 2, sessions        # one connection per run
    assert len(sessions[0]) <= 2, sessions[0]  # the read, and the server's form of the rewritten filter
    assert len(sessions[1]) == 1, sessions[1]  # filters written as stored: the read only
    assert server.value("SELECT count(*) FROM pg_publication") == 2


# -- replica identity -------------------------------------------------------------------------------------

def test_replica_identity_check(ansible, pg, db):
    dbname = db("""CREATE TABLE nopk (a int, b text); CREATE TABLE haspk (id int PRIMARY KEY, name text);
                   CREATE TABLE nothing (id int PRIMARY KEY); ALTER TABLE nothing REPLICA IDENTITY NOTHING;""")
    base = dict(pg.login, db=dbname)

    def task(label, **args):
        return {'name': label, 'pgops.logical_replication.' + MODULE: dict(base, **args)}

    results = [r['result'] for r in ansible.tasks([
        task('fail', name='r_fail', tables=['nopk', 'haspk', 'nothing']),
        task('warn', name='r_warn', tables=['nopk'], replica_identity_check='warn'),
        task('ignore', name='r_ignore', tables=['nopk'], replica_identity_check='ignore'),
        task('column list', name='r_cols', tables=[dict(name='haspk', columns=['name'])], publish=['update']),
        task('insert only', name='r_insert', tables=['nopk'], publish=['insert', 'truncate']),
        task('all tables', name='r_all', all_tables=True, publish=['delete']),
        task('row filter', name='r_filter', tables=[dict(name='haspk', where="name = 'x'")]),
        task('row filter on the key', name='r_filter_ok', tables=[dict(name='haspk', where='id > 1')]),
    ]).results]
    fail, warn, ignore, cols, insert_only, all_tables, row_filter, filter_ok = results
    assert fail['failed'] and not fail['changed']
    assert 'public.nopk (no primary key and REPLICA IDENTITY DEFAULT)' in fail['msg']
    assert 'public.nothing (REPLICA IDENTITY NOTHING)' in fail['msg'] and 'haspk' not in fail['msg']
    assert 'add a primary key' in fail['msg'] and 'REPLICA IDENTITY USING INDEX' in fail['msg']
    assert fail['replica_identity_problems'] == ['public.nopk (no primary key and REPLICA IDENTITY DEFAULT)',
                                                 'public.nothing (REPLICA IDENTITY NOTHING)']
    assert warn['changed'] and any('public.nopk' in w for w in warn['warnings'])
    assert ignore['changed'] and not ignore.get('warnings')
    assert cols['failed'] and 'column list leaves out replica identity column(s) id' in cols['msg']
    assert insert_only['changed'] and not insert_only.get('warnings')
    assert all_tables['failed'] and 'public.nopk' in all_tables['msg'] and 'public.nothing' in all_tables['msg']
    assert row_filter['failed'] and ('public.haspk (row filter uses column(s) name, which are not in the replica '
                                     'identity id)') in row_filter['msg']
    assert filter_ok['changed'] and not filter_ok['failed'], filter_ok.get('msg')
    names = [n for (n,) in pg.sql('SELECT pubname FROM pg_publication ORDER BY 1', dbname=dbname)]
    assert names == ['r_filter_ok', 'r_ignore', 'r_insert', 'r_warn']


# -- bad input: a clear error before any change ---------------------------------------------------------

def test_clear_errors_before_any_change(ansible, pg, db, major):
    dbname = db("""CREATE TABLE t (id int PRIMARY KEY, a int); CREATE VIEW v AS SELECT * FROM t;
                   CREATE MATERIALIZED VIEW mv AS SELECT * FROM t; CREATE UNLOGGED TABLE ul (id int PRIMARY KEY);
                   CREATE FOREIGN DATA WRAPPER dummy; CREATE SERVER srv FOREIGN DATA WRAPPER dummy;
                   CREATE FOREIGN TABLE ft (id int) SERVER srv; CREATE SCHEMA s;""")
    role = random_name('lr')
    pg.sql("CREATE ROLE %s LOGIN PASSWORD 'pw-%s'; GRANT CREATE ON DATABASE \"%s\" TO %s"
           % (role, role, dbname, role))
    pg.sql('ALTER TABLE t OWNER TO %s' % role, dbname=dbname)
    base = dict(pg.login, db=dbname, name='bad')
    as_role = dict(base, login_user=role, login_password='pw-' + role)

    def task(name, args):
        return {'name': name, 'pgops.logical_replication.' + MODULE: args}

    cases = [
        ('missing', dict(base, tables=['t', 'nope', 'nos.t']),
         ['table public.nope does not exist', 'table nos.t does not exist']),
        ('kinds', dict(base, tables=['v', 'mv', 'ft', 'ul']),
         ['public.v is a view', 'public.mv is a materialized view', 'public.ft is a foreign table',
          'public.ul is an unlogged table']),
        ('schema', dict(base, schemas=['missing_schema']), ['schema(s) missing_schema do not exist']),
        ('column', dict(base, tables=[dict(name='t', columns=['id', 'zz'])]), ['table public.t has no column(s) zz']),
        ('owner', dict(base, tables=['t'], owner='no_such_role'), ['owner role no_such_role does not exist']),
        ('both', dict(base, all_tables=True, tables=['t']), ['cannot be combined with tables or schemas']),
        ('bad filter', dict(base, tables=[dict(name='t', where='a >')]),
         ['PostgreSQL does not accept the row filter(s) of public.t', 'syntax error']),
        ('bad filter on create', dict(base, tables=[dict(name='t', where='a >')], publish=['insert']),
         ['PostgreSQL refused CREATE PUBLICATION', 'syntax error', 'rolled back']),
        ('superuser schemas', dict(as_role, schemas=['s']), ['FOR TABLES IN SCHEMA', 'only a superuser', role]),
        ('superuser all', dict(as_role, all_tables=True), ['FOR ALL TABLES', 'only a superuser']),
        ('generated columns', dict(base, tables=['t'], publish_generated_columns='stored'),
         ['publish_generated_columns needs PostgreSQL 18 or later; this server runs PostgreSQL %s.' % pg.version_text]
         if int(major) < 18 else None),
        # the owner of a table may publish it without being a superuser
        ('owner of the table', dict(as_role, name='mine', tables=['t'], publish=['insert']), None),
    ]
    try:
        results = [r['result'] for r in ansible.tasks([task(c[0], c[1]) for c in cases]).results]
        for (case, dummy, expected), result in zip(cases, results):
            if expected is None:
                assert result['changed'] and not result['failed'], (case, result.get('msg'))
                continue
            assert result['failed'] and not result['changed'], (case, result)
            for text in expected:
                assert text in result['msg'], (case, text, result['msg'])
        assert 'Nothing was changed' in results[0]['msg']
        names = [n for (n,) in pg.sql('SELECT pubname FROM pg_publication ORDER BY 1', dbname=dbname)]
        assert names == (['mine'] if int(major) < 18 else ['bad', 'mine'])
        assert catalog(pg, dbname, 'mine')['owner'] == role
    finally:
        drop_db(pg, dbname)
        pg.sql('DROP ROLE IF EXISTS %s' % role)


# -- row filters where the database says standard_conforming_strings = off (issue 10, item 10) ------------

def test_row_filters_cannot_leave_their_parentheses(ansible, pg, db):
    dbname = db("""
        CREATE TABLE t (id int PRIMARY KEY, v text, "ok$$$" boolean);
        CREATE TABLE hidden (id int PRIMARY KEY, ssn text, "ok$$" text);
        CREATE TABLE legit (id int PRIMARY KEY, v text);
    """)
    pg.sql('ALTER DATABASE "%s" SET standard_conforming_strings = off' % dbname)
    base = dict(pg.login, db=dbname, publish=['insert'])
    # with backslash escapes in '...' (standard_conforming_strings off) this closes the filter and lists
    # public.hidden; the module's session has them off, so it is one string, a backslash and another string
    hostile = "v = '\\' || ') , public.hidden WHERE (ssn <> '\\'x'"
    # PostgreSQL reads ok$$$ as one name (identifiers may hold $), not as the start of a dollar quote
    dollar = 'ok$$$) , public.hidden WHERE (ok$$ IS NOT NULL'
    legit_filter = "v = 'C:\\new' OR v = 'it''s' OR v = E'a\\\\b\\'c' OR v = $q$x\\y$q$"
    stored = "((v = 'C:\\new'::text) OR (v = 'it''s'::text) OR (v = 'a\\b''c'::text) OR (v = 'x\\y'::text))"
    legit = dict(base, name='legit', tables=[dict(name='legit', where=legit_filter)])

    def task(label, args):
        return {'name': label, 'pgops.logical_replication.' + MODULE: args}

    results = [r['result'] for r in ansible.tasks(quartet_tasks(MODULE, legit) + [
        task('hostile', dict(base, name='hostile', tables=[dict(name='t', where=hostile)])),
        task('dollar', dict(base, name='dollar', tables=[dict(name='t', where=dollar)])),
        task('hostile added', dict(legit, tables=legit['tables'] + [dict(name='t', where=hostile)])),
        task('dollar added', dict(legit, tables=legit['tables'] + [dict(name='t', where=dollar)])),
    ], diff=True).results]
    assert pg.value("SELECT count(*) FROM pg_publication_tables WHERE tablename = 'hidden'", dbname=dbname) == 0
    assert [n for (n,) in pg.sql('SELECT pubname FROM pg_publication', dbname=dbname)] == ['legit']
    applied = assert_quartet(results[:4])[1]
    assert applied['tables'] == [dict(name='public.legit', schema='public', table='legit', columns=None,
                                      where=stored)]
    hostile_run, dollar_run, hostile_added, dollar_added = results[4:]
    for result in (hostile_run, hostile_added):
        assert result['failed'] and not result['changed'] and result['queries'] == [], result
        assert 'has a backslash outside a string' in result['msg'] and 'standard_conforming_strings' in result['msg']
    for result in (dollar_run, dollar_added):
        assert result['failed'] and not result['changed'] and result['queries'] == [], result
        assert 'closes a parenthesis it did not open' in result['msg']
    assert catalog(pg, dbname, 'legit')['published'] == [('public', 'legit')]
    # the stored constants hold the backslashes as written (read with the rule they were written with)
    conn = pg.connect(dbname, options='-c standard_conforming_strings=on')
    try:
        with conn.cursor() as cur:
            cur.execute('SELECT pg_get_expr(prqual, prrelid) FROM pg_publication_rel')
            assert cur.fetchall() == [(stored,)]
            cur.execute("SELECT %s::text = ANY(ARRAY['C:\\new', 'it''s', E'a\\\\b\\'c', 'x\\y'])", ('a\\b\'c',))
            assert cur.fetchone() == (True,)
    finally:
        conn.close()


# -- inheritance: children follow a parent listed without only (issue 10, item 17) ------------------------

def test_inheritance_children_follow_their_parent(ansible, pg, db):
    dbname = db("""
        CREATE TABLE parent (id int PRIMARY KEY, v text);
        CREATE TABLE c1 (PRIMARY KEY (id)) INHERITS (parent);
        CREATE TABLE c2 (PRIMARY KEY (id)) INHERITS (parent);
        CREATE TABLE other (id int PRIMARY KEY);
        CREATE PUBLICATION by_sql FOR TABLE parent, other;
        CREATE TABLE fparent (id int PRIMARY KEY);
        CREATE FOREIGN DATA WRAPPER w; CREATE SERVER s FOREIGN DATA WRAPPER w;
        CREATE FOREIGN TABLE fchild () INHERITS (fparent) SERVER s;
    """)
    name = random_name('pub')
    base = dict(pg.login, db=dbname, name=name)
    follow = dict(base, tables=['parent', 'other'])
    alone = dict(base, tables=[dict(name='parent', only=True), 'other'])
    filtered = dict(base, tables=[dict(name='parent', where='id > 10'), 'other'], publish=['insert'])
    # PostgreSQL's own FOR TABLE parent (no ONLY) published the children: the same request changes nothing
    by_sql = {'name': 'as PostgreSQL made it', 'pgops.logical_replication.' + MODULE:
              dict(base, name='by_sql', tables=['parent', 'other'])}
    # a foreign table cannot be published: as a child it is refused, naming the way out
    foreign = {'name': 'foreign child', 'pgops.logical_replication.' + MODULE:
               dict(base, name='foreign', tables=['fparent'], publish=['insert'])}
    tasks = (quartet_tasks(MODULE, follow) + quartet_tasks(MODULE, alone) + quartet_tasks(MODULE, filtered)
             + [by_sql, foreign])
    results = [r['result'] for r in ansible.tasks(tasks, diff=True).results]
    quartets = [assert_quartet(results[i:i + 4]) for i in range(0, 12, 4)]

    def members(result):
        return [(t['name'], t['where']) for t in result['tables']]

    def only(*names):
        return ', '.join('ONLY "public"."%s"' % n for n in names)

    created, single, with_filter = (q[1] for q in quartets)
    assert created['queries'] == [
        'CREATE PUBLICATION "%s" FOR TABLE %s WITH (publish = \'insert, update, delete, truncate\', '
        'publish_via_partition_root = false)' % (name, only('c1', 'c2', 'other', 'parent'))]
    assert members(created) == [('public.c1', None), ('public.c2', None), ('public.other', None),
                                ('public.parent', None)]
    assert single['queries'] == ['ALTER PUBLICATION "%s" DROP TABLE %s' % (name, only('c1', 'c2'))]
    assert members(single) == [('public.other', None), ('public.parent', None)]
    # check mode and diff agree with the real run
    for check, applied in (q[:2] for q in quartets[:2]):
        assert check['diff'] == applied['diff'] and check['tables'] == applied['tables']
    # back to the children, with a filter on the parent: it is the children's filter too, as with
    # FOR TABLE parent WHERE (...)
    assert with_filter['queries'] == [
        'ALTER PUBLICATION "%s" DROP TABLE %s' % (name, only('parent')),
        'ALTER PUBLICATION "%s" ADD TABLE %s WHERE (id > 10), %s WHERE (id > 10), %s WHERE (id > 10)'
        % (name, only('c1'), only('c2'), only('parent')),
        'ALTER PUBLICATION "%s" SET (publish = \'insert\')' % name]
    assert members(with_filter) == [('public.c1', '(id > 10)'), ('public.c2', '(id > 10)'),
                                    ('public.other', None), ('public.parent', '(id > 10)')]
    assert [t['name'] for t in quartets[2][0]['diff']['after']['tables']] == [
        t['name'] for t in with_filter['diff']['after']['tables']]
    assert not results[12]['changed'] and not results[12]['failed'], results[12]
    assert results[13]['failed'] and not results[13]['changed'], results[13]
    assert ('public.fchild (an inheritance child of public.fparent, which is listed without only: true) is a '
            'foreign table') in results[13]['msg']
    cat = catalog(pg, dbname, name)
    assert cat['published'] == [('public', 'c1'), ('public', 'c2'), ('public', 'other'), ('public', 'parent')]
    assert set(v['where'] for k, v in cat['tables'].items() if k != ('public', 'other')) == {'(id > 10)'}
    assert catalog(pg, dbname, 'by_sql')['published'] == cat['published']

    # a child created later follows its parent on the next run; with only: true it stays out
    pg.sql('CREATE TABLE c3 (PRIMARY KEY (id)) INHERITS (c1)', dbname=dbname)
    runs = [r['result'] for r in ansible.tasks([
        {'name': 'grandchild', 'pgops.logical_replication.' + MODULE: filtered},
        {'name': 'alone again', 'pgops.logical_replication.' + MODULE:
         dict(filtered, tables=[dict(name='parent', where='id > 10', only=True), 'other'])},
    ]).results]
    assert runs[0]['queries'] == ['ALTER PUBLICATION "%s" ADD TABLE ONLY "public"."c3" WHERE (id > 10)' % name]
    assert runs[1]['queries'] == ['ALTER PUBLICATION "%s" DROP TABLE %s' % (name, only('c1', 'c2', 'c3'))]
    assert catalog(pg, dbname, name)['published'] == [('public', 'other'), ('public', 'parent')]
