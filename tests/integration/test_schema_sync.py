# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""schema_sync (and replication_info's schema_drift) against real publisher/subscriber pairs.

Every tested major: a published table missing on the subscriber is created (schema, serial sequence,
identity, defaults, primary key, indexes, column list), rows arrive; the publisher gains a column, the
drift is reported before any insert, schema_sync adds it and rows with it arrive; a differing type and
an unpublished NOT NULL column are reported and left alone. An extension type (citext) on the majors
that ship contrib. And once: an 18 publisher and a 15 subscriber.
"""

import json

import pytest

from pgharness import SUPERUSER_PASSWORD, Servers, assert_quartet, quartet_tasks, random_name, wait_for

SYNC = 'pgops.logical_replication.schema_sync'
INFO = 'pgops.logical_replication.replication_info'
# The majors whose server binaries here ship no contrib extensions (pgserver's 16 wheel).
NO_CONTRIB = ('16',)


def conninfo(pub, dbname):
    return dict(host=pub.host, port=pub.port, dbname=dbname, user='postgres', password=SUPERUSER_PASSWORD)


def columns(server, schema, table, dbname='postgres'):
    """[(name, type, not null, default)] of a table, as the catalog has them."""
    return [tuple(r) for r in server.sql(
        "SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, pg_get_expr(d.adbin, d.adrelid) "
        "FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
        "WHERE a.attrelid = to_regclass(%s) AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
        ('"%s"."%s"' % (schema, table),), dbname=dbname)]


def subscribe(pub, sub, name, dbname='postgres', tables=1):
    sub.sql("CREATE SUBSCRIPTION %s CONNECTION 'host=%s port=%d dbname=%s user=postgres password=%s' "
            "PUBLICATION %s" % (name, pub.host, pub.port, dbname, SUPERUSER_PASSWORD, name), dbname=dbname)
    wait_for(lambda: sub.value("SELECT count(*) FROM pg_subscription_rel r JOIN pg_subscription s ON s.oid = r.srsubid "
                               "WHERE s.subname = %s AND r.srsubstate = 'r'", (name,), dbname=dbname) == tables,
             'initial sync of %s' % name)


def drop_subscription(sub, name, dbname='postgres'):
    sub.sql('DROP SUBSCRIPTION IF EXISTS %s' % name, dbname=dbname)


def entries(drift):
    return sorted((e['table'], e['column'], e['problem']) for e in drift)


@pytest.mark.all_cores   # also run on ansible-core 2.16 (make integration)
def test_create_add_and_report(ansible, pg_pair, major):
    pub, sub = pg_pair
    name = random_name('ss')
    schema = random_name('sch')
    other = random_name('oth')
    created = False
    pub.sql('CREATE SCHEMA %(s)s;'
            'CREATE TABLE %(s)s.orders (id serial PRIMARY KEY, label text NOT NULL DEFAULT \'100%%\', '
            '  at timestamptz DEFAULT now(), amount numeric(10,2), secret text NOT NULL, "Odd col" varchar(20));'
            'CREATE INDEX orders_label ON %(s)s.orders (lower(label)) WHERE label NOT LIKE \'x%%\';'
            'CREATE UNIQUE INDEX orders_secret ON %(s)s.orders (secret);'
            'CREATE TABLE %(s)s.items (id bigint GENERATED ALWAYS AS IDENTITY (START WITH 100) PRIMARY KEY, qty int,'
            '  twice int GENERATED ALWAYS AS (qty * 2) STORED);'
            'INSERT INTO %(s)s.orders (amount, secret) VALUES (1.5, \'a\'), (2.5, \'b\');'
            'INSERT INTO %(s)s.items (qty) VALUES (7);'
            'CREATE TABLE public.%(o)s (id int PRIMARY KEY, v int, gone int);'
            'CREATE PUBLICATION %(n)s FOR TABLE %(s)s.orders (id, label, at, amount, "Odd col"), %(s)s.items, '
            '  public.%(o)s;' % dict(s=schema, n=name, o=other))
    # on the subscriber: "other" exists with a different type, a NOT NULL column nobody sends, without "gone"
    sub.sql('CREATE TABLE public.%s (id int PRIMARY KEY, v text, must int NOT NULL)' % other)
    args = dict(sub.login, db='postgres', conninfo=conninfo(pub, 'postgres'), publications=[name])
    try:
        # the quartet (check, apply, check, apply): check mode plans exactly what the run then does, so it
        # wrote nothing; the second run changes nothing
        results = ansible.quartet('schema_sync', args)
        apply = results[1]
        assert SUPERUSER_PASSWORD not in json.dumps(results)
        assert sorted(apply['created_tables']) == ['%s.items' % schema, '%s.orders' % schema]
        assert apply['created_schemas'] == [schema] and apply['queries'][0] == 'CREATE SCHEMA "%s"' % schema
        assert apply['added_columns'] == ['public.%s.gone' % other] and apply['created_extensions'] == []
        assert apply['diff']['before'] == {'public.%s' % other: ['id', 'v', 'must']}
        assert apply['diff']['after']['public.%s' % other] == ['id', 'v', 'must', 'gone']
        assert apply['diff']['after']['%s.orders' % schema] == ['id', 'label', 'at', 'amount', 'Odd col']
        # what schema_sync does not change is reported as the drift left
        assert entries(apply['schema_drift']) == [('public.%s' % other, 'must', 'unpublished_not_null'),
                                                  ('public.%s' % other, 'v', 'type_mismatch')]
        mismatch = [e for e in apply['schema_drift'] if e['problem'] == 'type_mismatch'][0]
        assert (mismatch['publisher_type'], mismatch['subscriber_type']) == ('integer', 'text')
        assert 'public.%s.v' % other in mismatch['message']

        orders = columns(sub, schema, 'orders')
        assert [c[:3] for c in orders] == [('id', 'integer', True), ('label', 'text', True),
                                           ('at', 'timestamp with time zone', False),
                                           ('amount', 'numeric(10,2)', False),
                                           ('Odd col', 'character varying(20)', False)]
        assert orders[0][3] == "nextval('%s.orders_id_seq'::regclass)" % schema
        assert orders[1][3] == "'100%'::text" and orders[2][3] == 'now()'
        assert sorted(r[0] for r in sub.sql("SELECT indexdef FROM pg_indexes WHERE schemaname = %s "
                                            "AND tablename = 'orders'", (schema,))) == [
            "CREATE INDEX orders_label ON %s.orders USING btree (lower(label)) WHERE (label !~~ 'x%%'::text)" % schema,
            'CREATE UNIQUE INDEX orders_pkey ON %s.orders USING btree (id)' % schema]
        assert sub.value("SELECT attidentity FROM pg_attribute WHERE attrelid = %s::regclass AND attname = 'id'",
                         ('%s.items' % schema,)) == 'a'

        subscribe(pub, sub, name, tables=3)
        created = True
        assert sub.value('SELECT count(*) FROM %s.orders' % schema) == 2
        # the generated column (never sent before 18) is computed on the subscriber
        assert sub.sql('SELECT id, twice FROM %s.items' % schema) == [(100, 14)]

        # the publisher gains a column: drift before any insert, schema_sync adds it, rows arrive
        pub.sql('ALTER TABLE %s.items ADD COLUMN note text' % schema)
        publisher = conninfo(pub, 'postgres')
        offsets = pub.log_size(), sub.log_size()
        with pub.all_statements_logged(), sub.all_statements_logged():
            run = ansible.tasks([
                {'name': 'info', INFO: dict(sub.login, publisher=publisher)},
                {'name': 'sync', SYNC: args, 'diff': True},
                {'name': 'info after', INFO: dict(sub.login, publisher=publisher)},
            ])
        # one catalog read on each side (two on the subscriber for replication_info: its status, then the
        # drift), whatever the number of tables
        for server, offset, reads in ((pub, offsets[0], dict(info=1, sync=1)), (sub, offsets[1], dict(info=2, sync=1))):
            sessions = server.sessions_of(INFO, offset)
            assert [len(session[1]) for session in sessions] == [reads['info']] * 2, sessions
            (session,) = server.sessions_of(SYNC, offset)
            reads_done = [q for q in session[1] if (q.split() or [''])[0] not in ('BEGIN', 'COMMIT', 'ALTER')]
            assert len(reads_done) == reads['sync'], session
        info, synced, after = [r['result'] for r in run.results]
        assert not info.get('failed'), info.get('msg')
        mine = [s for s in info['subscriptions'] if s['name'] == name][0]
        assert mine['health'] == 'ok', mine['problems']
        assert entries(mine['schema_drift']) == sorted([('%s.items' % schema, 'note', 'missing_column'),
                                                        ('public.%s' % other, 'must', 'unpublished_not_null'),
                                                        ('public.%s' % other, 'v', 'type_mismatch')])
        missing = [e for e in mine['schema_drift'] if e['problem'] == 'missing_column'][0]
        assert missing['subscription'] == name and missing['publisher_type'] == 'text'
        assert 'missing replicated column' in missing['message']
        assert synced['changed'] is True and synced['added_columns'] == ['%s.items.note' % schema]
        assert synced['queries'] == ['ALTER TABLE "%s"."items" ADD COLUMN "note" text' % schema]
        assert synced['diff']['after']['%s.items' % schema] == ['id', 'qty', 'twice', 'note']
        mine = [s for s in after['subscriptions'] if s['name'] == name][0]
        assert entries(mine['schema_drift']) == [('public.%s' % other, 'must', 'unpublished_not_null'),
                                                 ('public.%s' % other, 'v', 'type_mismatch')]
        pub.sql("INSERT INTO %s.items (qty, note) VALUES (8, 'with note')" % schema)
        wait_for(lambda: sub.value("SELECT note FROM %s.items WHERE qty = 8" % schema) == 'with note',
                 'the row with the new column')
        assert sub.value("SELECT count(*) FROM pg_stat_subscription_stats s JOIN pg_subscription p "
                         "ON p.oid = s.subid WHERE p.subname = %s AND s.apply_error_count > 0", (name,)) == 0
    finally:
        if created:
            drop_subscription(sub, name)
        pub.sql('DROP PUBLICATION IF EXISTS %s' % name)
        for server in (pub, sub):
            server.sql('DROP SCHEMA IF EXISTS %s CASCADE; DROP TABLE IF EXISTS public.%s' % (schema, other))


@pytest.mark.all_cores
def test_extension_type(ansible, pg_pair, major):
    if major in NO_CONTRIB:
        pytest.skip('the PostgreSQL %s binaries here (pgserver wheel) ship no contrib extension (citext)' % major)
    pub, sub = pg_pair
    dbname = random_name('ext')
    name = random_name('pub')
    created = False
    for server in (pub, sub):
        server.sql('CREATE DATABASE %s' % dbname)
    try:
        pub.sql('CREATE EXTENSION citext;'
                'CREATE TABLE tags (id int PRIMARY KEY, name citext NOT NULL, names citext[]);'
                'CREATE INDEX tags_name ON tags (name);'
                "INSERT INTO tags VALUES (1, 'Zebra', '{a}'), (2, 'zebra', NULL), (3, 'Lion', NULL);"
                'CREATE PUBLICATION %s FOR TABLE tags' % name, dbname=dbname)
        version = pub.value("SELECT extversion FROM pg_extension WHERE extname = 'citext'", dbname=dbname)
        args = dict(sub.login, db=dbname, conninfo=conninfo(pub, dbname), publications=[name])
        # refused first (nothing written: the quartet's check then still plans CREATE EXTENSION), then the quartet
        run = ansible.tasks([{'name': 'no extensions', SYNC: dict(args, create_extensions=False)}]
                            + quartet_tasks('schema_sync', args), diff=True)
        refused = run.results[0]['result']
        assert refused['failed'] and 'extension citext (version %s on the publisher)' % version in refused['msg']
        assert 'create_extensions is false' in refused['msg'] and refused['queries'] == []
        assert [(e['table'], e['column'], e['problem'], e['extension'], e['publisher_version'])
                for e in refused['schema_drift']] == [('public.tags', None, 'missing_table', None, None),
                                                      ('public.tags', 'name', 'missing_extension', 'citext', version)]
        apply = assert_quartet([r['result'] for r in run.results[1:]])[1]
        assert apply['created_extensions'] == ['citext'] and apply['created_tables'] == ['public.tags']
        assert apply['queries'][0] == 'CREATE EXTENSION "citext" WITH SCHEMA "public" CASCADE'
        assert apply['schema_drift'] == []
        assert columns(sub, 'public', 'tags', dbname)[1][:2] == ('name', 'citext')

        subscribe(pub, sub, name, dbname)
        created = True
        query = "SELECT id FROM tags WHERE name = 'ZEBRA' ORDER BY id"
        assert sub.sql(query, dbname=dbname) == pub.sql(query, dbname=dbname) == [(1,), (2,)]
        pub.sql("INSERT INTO tags VALUES (4, 'ZeBrA', '{b}')", dbname=dbname)
        wait_for(lambda: sub.sql(query, dbname=dbname) == pub.sql(query, dbname=dbname), 'the new citext row')
        assert sub.value("SELECT indexdef FROM pg_indexes WHERE indexname = 'tags_name'", dbname=dbname) == \
            'CREATE INDEX tags_name ON public.tags USING btree (name)'
    finally:
        if created:
            drop_subscription(sub, name, dbname)
        for server in (pub, sub):
            server.sql('DROP DATABASE IF EXISTS %s' % dbname)


def test_newer_publisher_to_older_subscriber(ansible, work_root):
    """18 -> 15: the definitions come from the catalogs, not from a pg_dump that the older side cannot
    load (the old schema copy failed here)."""
    with Servers(work_root) as make:
        pub = make('18', 'xpub', conf={'wal_level': 'logical'})
        sub = make('15', 'xsub')
        name = random_name('down')
        pub.sql('CREATE TABLE abc (id serial PRIMARY KEY, v text NOT NULL, t timestamptz DEFAULT now());'
                "INSERT INTO abc (v) SELECT 'row ' || g FROM generate_series(1, 20) g;"
                'CREATE INDEX abc_v ON abc (v text_pattern_ops);'
                'CREATE PUBLICATION %s FOR TABLE abc;'
                # read as the replication user, as the subscriber role does: SELECT on the table, no more
                "CREATE ROLE logic LOGIN REPLICATION PASSWORD 'logic-pw';"
                'GRANT SELECT ON abc TO logic' % name)
        args = dict(sub.login, db='postgres', publications=[name],
                    conninfo=dict(conninfo(pub, 'postgres'), user='logic', password='logic-pw'))
        results = ansible.quartet('schema_sync', args)
        assert results[1]['created_tables'] == ['public.abc'] and results[1]['schema_drift'] == []
        assert 'logic-pw' not in json.dumps(results)
        subscribe(pub, sub, name)
        assert sub.value('SELECT count(*) FROM abc') == 20
        assert sub.value("SELECT indexdef FROM pg_indexes WHERE indexname = 'abc_v'") == \
            'CREATE INDEX abc_v ON public.abc USING btree (v text_pattern_ops)'
        drop_subscription(sub, name)
