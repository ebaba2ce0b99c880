# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""sequence_sync between two real servers (every tested major)."""

import json

import pytest

from pgharness import SUPERUSER_PASSWORD, random_name

pytestmark = pytest.mark.all_cores  # also run on ansible-core 2.16 (make integration)

FQCN = 'pgops.logical_replication.sequence_sync'


def seq_state(server, name):
    """(last_value, is_called) read from the sequence itself."""
    return server.sql('SELECT last_value, is_called FROM %s' % name)[0]


def test_sequence_sync(ansible, pg_pair):
    pub, sub = pg_pair
    up, unused, down, ahead, only_pub = [random_name('seq') for _number in range(5)]
    made = []

    def create(server, name, extra=''):
        server.sql('CREATE SEQUENCE %s %s' % (name, extra))
        made.append((server, name))

    try:
        for server in (pub, sub):
            create(server, up)
            create(server, unused)
            create(server, down, 'INCREMENT BY -1')
            create(server, ahead)
        create(pub, only_pub)
        pub.sql("SELECT nextval('%s') FROM generate_series(1, 50)" % up)      # publisher at 50
        pub.sql("SELECT nextval('%s') FROM generate_series(1, 5)" % down)     # publisher at -5
        pub.sql("SELECT nextval('%s') FROM generate_series(1, 7)" % ahead)    # publisher at 7
        pub.sql("SELECT setval('%s', 5000)" % only_pub)
        sub.sql("SELECT setval('%s', 10000)" % ahead)                         # subscriber already past it

        conninfo = dict(host='127.0.0.1', port=pub.port, dbname='postgres', user='postgres',
                        password=SUPERUSER_PASSWORD)
        args = dict(sub.login, db='postgres', conninfo=conninfo, sequences=[up, unused, 'public.' + down, ahead],
                    margin=100)
        before = [seq_state(sub, n) for n in (up, unused, down, ahead)]

        run = ansible.tasks([
            {'name': 'check', FQCN: args, 'check_mode': True},
            {'name': 'missing on subscriber', FQCN: dict(args, sequences=args['sequences'] + [only_pub])},
            {'name': 'missing, skipped, check', FQCN: dict(args, sequences=args['sequences'] + [only_pub],
                                                           skip_missing=True), 'check_mode': True},
            {'name': 'missing on publisher', FQCN: dict(args, sequences=['public.no_such_seq'])},
        ], diff=True)
        check, missing, skipped, nopub = [r['result'] for r in run.results]
        assert check['changed'] and not check.get('failed')
        q = dict((n, 'public.' + n) for n in (up, unused, down, ahead, only_pub))
        assert check['diff'] == {'before': {q[up]: None, q[down]: None}, 'after': {q[up]: 150, q[down]: -105}}
        assert missing['failed'] and 'missing on the subscriber: %s' % q[only_pub] in missing['msg']
        assert 'skip_missing' in missing['msg'] and missing['queries'] == []
        assert not skipped.get('failed') and skipped['missing'] == [q[only_pub]]
        assert nopub['failed'] and 'public.no_such_seq do not exist on the publisher' in nopub['msg']
        # check mode and the failures changed nothing (read from the sequences themselves)
        assert [seq_state(sub, n) for n in (up, unused, down, ahead)] == before

        check, apply, check2, apply2 = ansible.quartet('sequence_sync', args)
        entries = dict((e['name'], e) for e in apply['sequences'])
        assert entries[q[up]] == dict(name=q[up], schema='public', sequence=up, publisher_value=50,
                                      before=None, after=150, changed=True)
        assert entries[q[unused]]['changed'] is False and entries[q[unused]]['publisher_value'] is None
        assert entries[q[down]]['after'] == -105
        assert entries[q[ahead]] == dict(name=q[ahead], schema='public', sequence=ahead, publisher_value=7,
                                         before=10000, after=10000, changed=False)
        assert sorted(apply['queries']) == sorted([
            "SELECT setval('\"public\".\"%s\"'::regclass, 150, true)" % up,
            "SELECT setval('\"public\".\"%s\"'::regclass,  -105, true)" % down])
        assert SUPERUSER_PASSWORD not in json.dumps([check, apply, check2, apply2])

        assert seq_state(sub, up) == (150, True)                  # >= publisher + margin
        assert seq_state(sub, unused) == before[1]                # never used on the publisher
        assert seq_state(sub, down) == (-105, True)
        assert seq_state(sub, ahead) == (10000, True)             # never moved backwards
        assert sub.value("SELECT nextval('%s')" % up) == 151

        # the publisher moves on: only that sequence is set again; then a no-op run costs one
        # connection and at most two statements on the subscriber (one on the publisher)
        pub.sql("SELECT nextval('%s') FROM generate_series(1, 100)" % up)   # publisher at 150
        moved = ansible.module('sequence_sync', args)
        assert moved['changed'] and moved['queries'] == [
            "SELECT setval('\"public\".\"%s\"'::regclass, 250, true)" % up]
        assert seq_state(sub, up) == (250, True)
        with pub.all_statements_logged(), sub.all_statements_logged():
            since_pub, since_sub = pub.log_size(), sub.log_size()
            again = ansible.module('sequence_sync', args)
            sub_sessions, sub_statements = sub.statements_of(FQCN, since_sub)
            pub_sessions, pub_statements = pub.statements_of(FQCN, since_pub)
        assert not again['changed'] and not again.get('failed')
        assert len(sub_sessions) == 1 and 1 <= len(sub_statements) <= 2, sub_statements
        assert len(pub_sessions) == 1 and len(pub_statements) == 1, pub_statements
        assert SUPERUSER_PASSWORD not in ' '.join(sub_statements + pub_statements)
    finally:
        for server, name in made:
            server.sql('DROP SEQUENCE IF EXISTS %s' % name)


def test_tables_and_wait_for_subscription(ansible, pg_pair):
    """tables: the sequences a table owns or its defaults name; wait_for_subscription: the rows first."""
    pub, sub = pg_pair
    tab, ident, other, free, unrelated, name = [random_name(p) for p in ('tab', 'ident', 'other', 'free', 'unrel', 'sub')]
    conninfo = dict(host='127.0.0.1', port=pub.port, dbname='postgres', user='postgres', password=SUPERUSER_PASSWORD)
    schema = ('CREATE SEQUENCE {free}; CREATE TABLE {tab} (id serial PRIMARY KEY, n bigint DEFAULT nextval(\'{free}\'));'
              'CREATE TABLE {ident} (id int GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY);'
              'CREATE TABLE {other} (id serial PRIMARY KEY)').format(free=free, tab=tab, ident=ident, other=other)
    try:
        for server in (pub, sub):
            server.sql(schema)
        pub.sql('CREATE SEQUENCE %s' % unrelated)   # in public too, but used by no table given; not on sub
        pub.sql('INSERT INTO %s SELECT FROM generate_series(1, 40);'
                'INSERT INTO %s DEFAULT VALUES; INSERT INTO %s DEFAULT VALUES' % (ident, tab, other))
        pub.sql('CREATE PUBLICATION %s FOR TABLE %s' % (name, tab))
        sub.sql("CREATE SUBSCRIPTION %s CONNECTION 'host=127.0.0.1 port=%d dbname=postgres user=postgres "
                "password=%s' PUBLICATION %s WITH (copy_data = false)" % (name, pub.port, SUPERUSER_PASSWORD, name))
        # a big transaction right before the module: without the wait, its rows would not be there yet
        pub.sql('INSERT INTO %s (n) SELECT g FROM generate_series(1, 50000) g' % tab)
        args = dict(sub.login, db='postgres', conninfo=conninfo, tables=[tab, 'public.' + ident], margin=5)
        run = ansible.tasks([
            {'name': 'tables, after the subscription caught up', FQCN: dict(args, wait_for_subscription=name)},
            {'name': 'a table the publisher lacks', FQCN: dict(args, tables=['no_such_table'])},
            {'name': 'no such subscription', FQCN: dict(args, wait_for_subscription='no_such_sub')},
        ])
        applied = sub.value('SELECT count(*) FROM %s' % tab)
        done, notable, nosub = [r['result'] for r in run.results]
        assert not done.get('failed'), done.get('msg')
        assert applied == 50000   # every row written since the subscription began (copy_data = false)
        assert sorted(e['name'] for e in done['sequences']) == sorted(
            'public.%s' % s for s in (tab + '_id_seq', free, ident + '_id_seq'))   # not other's, not unrelated
        assert sub.value("SELECT nextval('%s_id_seq')" % tab) == 50001 + 5 + 1
        assert sub.value("SELECT nextval('%s_id_seq')" % ident) == 40 + 5 + 1
        assert notable['failed'] and 'public.no_such_table do not exist on the publisher' in notable['msg']
        assert nosub['failed'] and 'Subscription no_such_sub does not exist in database postgres' in nosub['msg']
        assert notable['queries'] == [] and nosub['queries'] == []
        # a subscription that does not apply: the wait ends at wait_timeout, nothing set
        sub.sql('ALTER SUBSCRIPTION %s DISABLE' % name)
        pub.sql('INSERT INTO %s (n) VALUES (1)' % tab)
        stuck = ansible.module('sequence_sync', dict(args, wait_for_subscription=name, wait_timeout=1, margin=100))
        assert stuck['failed'] and 'within wait_timeout (1 s): disabled' in stuck['msg'], stuck['msg']
        assert stuck['queries'] == []
    finally:
        sub.sql('DROP SUBSCRIPTION IF EXISTS %s' % name)
        pub.sql('DROP PUBLICATION IF EXISTS %s' % name)
        for server in (pub, sub):
            server.sql('DROP TABLE IF EXISTS %s, %s, %s; DROP SEQUENCE IF EXISTS %s, %s'
                       % (tab, ident, other, free, unrelated))
