# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The playbooks (setup, status, switchover, teardown) on fresh servers, as an operator runs them.

Fan-out: one publisher (rhino) and two subscribers (hippo into database zoo, zebra into zoo2). The
publisher starts with wal_level = replica, so the server role must restart it (pg_ctl on the data
directory) before anything can be published.
"""

import os
import re
import time

import pytest

from pgharness import (PLAYBOOKS, Servers, assert_nothing_changed, changed_tasks, fact, random_name, recap,
                       wait_for, write_inventory)

PASSWORD = 'Zoo keeper\'s "pw" 42'
OTHER_PASSWORD = 'Another keeper 77'


def assert_no_password(run):
    """Neither the password nor any 7-character piece of it (JSON escaping splits it at the quotes)."""
    text = run.output.replace('keepers', '')
    leaks = sorted({PASSWORD[i:i + 7] for i in range(len(PASSWORD) - 6)
                    if PASSWORD[i:i + 7] in text})
    assert not leaks, leaks


def seed(pub, sub, sub2):
    for server in (pub, sub):
        server.sql('CREATE DATABASE zoo')
    sub2.sql('CREATE DATABASE zoo2')
    pub.sql('CREATE TABLE abc (id serial PRIMARY KEY, animal text NOT NULL);'
            'INSERT INTO abc (animal) SELECT \'animal \' || g FROM generate_series(1, 200) g;'
            'CREATE TABLE keepers (id int PRIMARY KEY, name text);'
            'INSERT INTO keepers VALUES (1, \'ann\'), (2, \'bob\')', dbname='zoo')
    # Exists on the subscriber already: the schema copy must leave it alone.
    sub.sql('CREATE TABLE keepers (id int PRIMARY KEY, name text);'
            'COMMENT ON TABLE keepers IS \'made by hand\'', dbname='zoo')


def state(server, dbname='zoo'):
    return dict(
        subscriptions=server.value('SELECT coalesce(json_agg(subname ORDER BY subname), \'[]\') FROM pg_subscription'),
        slots=server.value('SELECT coalesce(json_agg(slot_name ORDER BY slot_name), \'[]\') FROM pg_replication_slots'),
        publications=server.value('SELECT coalesce(json_agg(pubname ORDER BY pubname), \'[]\') FROM pg_publication',
                                  dbname=dbname),
        hba=[line for line in open(server.value('SHOW hba_file')).read().splitlines() if 'logic' in line],
        tables=server.value('SELECT coalesce(json_agg(relname ORDER BY relname), \'[]\') FROM pg_class '
                            'WHERE relkind = \'r\' AND relnamespace = \'public\'::regnamespace', dbname=dbname))


COUNT = 'SELECT count(*) FROM abc'


@pytest.fixture(scope='module')
def zoo(ansible, work_root, major):
    """The fan-out of this module's docstring, after the first setup.yml run (its result kept).

    The tests below run in file order on the same servers, each a stage of an operator's day; each
    checks its own stage, so one failing stage does not hide the others.
    """
    with Servers(work_root) as make:
        pub = make(major, 'rhino', conf={'wal_level': 'replica'})
        sub = make(major, 'hippo', conf={'wal_level': 'logical'})
        sub2 = make(major, 'zebra', conf={'wal_level': 'logical'})
        seed(pub, sub, sub2)
        entries = [{'name': 'zoo', 'publisher': 'rhino', 'subscriber': 'hippo', 'database': 'zoo',
                    'tables': ['public.abc', 'public.keepers'], 'user': 'logic', 'password': PASSWORD},
                   {'name': 'zoo_z', 'publisher': 'rhino', 'subscriber': 'zebra', 'database': 'zoo',
                    'subscriber_database': 'zoo2', 'tables': ['public.abc'], 'user': 'logic', 'password': PASSWORD}]
        inventory = write_inventory(work_root, {'rhino': pub, 'hippo': sub, 'zebra': sub2}, entries)
        first = ansible.playbook(os.path.join(PLAYBOOKS, 'setup.yml'), inventory=inventory)
        yield dict(pub=pub, sub=sub, sub2=sub2, inventory=inventory, first=first, major=major)


def play(ansible, zoo, name, **kwargs):
    run = ansible.playbook(os.path.join(PLAYBOOKS, name), inventory=zoo['inventory'], **kwargs)
    assert run.rc == 0, run.output[-6000:]
    return run


@pytest.mark.all_cores
def test_setup_restarts_for_wal_level_and_wires_everything(zoo):
    """setup: restart for wal_level, user, pg_hba, publication, schema copy, subscription, sync."""
    first, pub, sub, sub2 = zoo['first'], zoo['pub'], zoo['sub'], zoo['sub2']
    assert first.rc == 0, first.output[-6000:]
    assert pub.setting('wal_level') == 'logical'
    assert sub.value(COUNT, dbname='zoo') == 200  # waited for the initial copy
    assert sub2.value(COUNT, dbname='zoo2') == 200
    assert sub2.value("SELECT to_regclass('keepers')", dbname='zoo2') is None  # only what zoo_z publishes
    assert sub.value('SELECT count(*) FROM keepers', dbname='zoo') == 2
    assert sub.value("SELECT obj_description('keepers'::regclass)", dbname='zoo') == 'made by hand'
    assert sub.value("SELECT pg_get_serial_sequence('abc', 'id')", dbname='zoo') == 'public.abc_id_seq'
    assert pub.value("SELECT rolreplication FROM pg_roles WHERE rolname = 'logic'") is True
    assert pub.value("SELECT has_table_privilege('logic', 'public.abc', 'SELECT')", dbname='zoo') is True
    assert pub.value("SELECT has_table_privilege('logic', 'public.abc', 'INSERT')", dbname='zoo') is False
    assert state(pub)['hba'] and all(re.match(r'host\s+zoo\s+logic\s+127\.0\.0\.1/32\s+scram-sha-256', line)
                                     for line in state(pub)['hba'])
    assert all(recap(first)[host]['changed'] > 0 for host in ('rhino', 'hippo', 'zebra'))
    assert [r['host'] for r in first.results
            if r['task'].endswith('Restart with pg_ctl on the data directory') and r['result'].get('changed')] == ['rhino']
    assert PASSWORD not in first.output and 'keeper' not in first.output.replace('keepers', '')


@pytest.mark.all_cores
def test_second_run_and_check_mode_change_nothing(ansible, zoo):
    pub, sub, sub2 = zoo['pub'], zoo['sub'], zoo['sub2']
    before = (state(pub), state(sub), state(sub2, 'zoo2'))
    second = play(ansible, zoo, 'setup.yml', verbosity=1)
    assert_no_password(second)
    assert_nothing_changed(second)
    # initdb's `host replication all 127.0.0.1/32 ...` lets the replication user in for physical replication.
    shown = [r['result'].get('msg') for r in second.results if r['task'] == 'Show the result']
    assert any('rhino: warning: pg_hba.conf line' in line and 'lets replication user logic in for physical replication'
               in line and 'host replication all 127.0.0.1' in line for line in shown[0]), shown
    pub.sql("INSERT INTO keepers VALUES (3, 'cy')", dbname='zoo')
    check = play(ansible, zoo, 'setup.yml', check=True)
    assert changed_tasks(check) == []
    assert (state(pub), state(sub), state(sub2, 'zoo2')) == before


@pytest.mark.all_cores
def test_rows_keep_arriving_and_status_says_so(ansible, zoo):
    pub, sub, sub2 = zoo['pub'], zoo['sub'], zoo['sub2']
    pub.sql("INSERT INTO abc (animal) SELECT 'late ' || g FROM generate_series(1, 50) g", dbname='zoo')
    total = pub.value(COUNT, dbname='zoo')
    assert wait_for(lambda: sub.value(COUNT, dbname='zoo') == total)
    assert wait_for(lambda: sub2.value(COUNT, dbname='zoo2') == total)
    for _attempt in range(3):
        status = play(ansible, zoo, 'status.yml', verbosity=1)
        assert_no_password(status)
        rows = fact(status, 'logical_replication_status')['subscriptions']
        if [row['lag_bytes'] for row in rows] == [0, 0]:
            break
        time.sleep(1)
    assert [(r['name'], r['publisher'], r['subscriber'], r['subscriber_database'], r['state']) for r in rows] == [
        ('zoo', 'rhino', 'hippo', 'zoo', 'streaming'), ('zoo_z', 'rhino', 'zebra', 'zoo2', 'streaming')]
    for row in rows:
        assert row['lag_bytes'] == 0
        assert row['tables_not_ready'] == []
        assert row['slot_active'] is True and row['slot_retained_wal_bytes'] is not None
        assert row['apply_error_count'] == 0
    assert 'rhino -> hippo' in status.stdout and 'rhino -> zebra' in status.stdout


def reverse_of(zoo):
    return ['zoo'] if int(zoo['major']) >= 16 else []  # origin = none needs PostgreSQL 16


@pytest.mark.all_cores
def test_switchover_drains_syncs_sequences_and_detaches(ansible, zoo):
    """switchover: read-only publisher, drained, sequences synced, subscription detached."""
    pub, sub, sub2 = zoo['pub'], zoo['sub'], zoo['sub2']
    pub.sql("INSERT INTO abc (animal) SELECT 'last ' || g FROM generate_series(1, 30) g", dbname='zoo')
    total = pub.value(COUNT, dbname='zoo')   # ids 1..total: the serial was never skipped
    reverse = reverse_of(zoo)
    play(ansible, zoo, 'switchover.yml', extra_vars={'switchover_sequence_margin': 100, 'switchover_reverse': reverse})
    rows_of = 'SELECT coalesce(json_agg(t ORDER BY id), \'[]\') FROM abc t'
    assert sub.value(rows_of, dbname='zoo') == pub.value(rows_of, dbname='zoo')
    assert sub2.value(rows_of, dbname='zoo2') == pub.value(rows_of, dbname='zoo')
    assert sub.value('SELECT last_value FROM abc_id_seq', dbname='zoo') == total + 100
    assert sub2.value('SELECT last_value FROM abc_id_seq', dbname='zoo2') == total + 100
    assert pub.setting('default_transaction_read_only') == 'on'
    assert state(sub)['subscriptions'] == [] and state(sub2, 'zoo2')['subscriptions'] == []
    assert state(pub)['slots'] == []
    sub.sql("INSERT INTO abc (animal) VALUES ('first on the new primary')", dbname='zoo')  # no key clash
    if reverse:  # the way back: writes on the new primary reach the old publisher, and nothing loops
        assert wait_for(lambda: pub.value(COUNT, dbname='zoo') == total + 1)
        assert pub.value('SELECT max(id) FROM abc', dbname='zoo') == total + 101
        assert pub.value("SELECT json_agg(subname) FROM pg_subscription") == ['zoo_reverse']
        assert sub.value(COUNT, dbname='zoo') == total + 1


@pytest.mark.all_cores
def test_teardown_leaves_nothing_but_the_tables(ansible, zoo):
    pub, sub, sub2 = zoo['pub'], zoo['sub'], zoo['sub2']
    pub.sql('ALTER SYSTEM RESET default_transaction_read_only')
    pub.sql('SELECT pg_reload_conf()')
    assert wait_for(lambda: pub.setting('default_transaction_read_only') == 'off')
    # the way back (if the switchover made it) is not part of the topology: remove it by hand
    if pub.value("SELECT count(*) FROM pg_subscription WHERE subname = 'zoo_reverse'"):
        pub.sql('DROP SUBSCRIPTION zoo_reverse', dbname='zoo')  # drops its slot on hippo too
    sub.sql('DROP PUBLICATION IF EXISTS zoo_reverse', dbname='zoo')
    play(ansible, zoo, 'teardown.yml')
    after_pub, after_sub = state(pub), state(sub)
    assert (after_pub['publications'], after_pub['slots'], after_pub['hba']) == ([], [], [])
    assert after_sub['subscriptions'] == []
    assert after_sub['tables'] == ['abc', 'keepers']
    assert state(sub2, 'zoo2')['tables'] == ['abc']


def test_preflight_reports_every_problem_at_once(ansible, pg_pair, work_root):
    pub, sub = pg_pair
    no_key, missing, nodb = random_name('nokey'), random_name('missing'), random_name('nodb')
    pub.sql('CREATE TABLE public.%s (v int)' % no_key)
    try:
        entries = [{'name': random_name('a'), 'publisher': 'rhino', 'subscriber': 'hippo', 'database': 'postgres',
                    'tables': ['public.' + no_key], 'user': 'nobody_yet', 'password': PASSWORD},
                   {'name': random_name('b'), 'publisher': 'rhino', 'subscriber': 'hippo', 'database': 'postgres',
                    'subscriber_database': nodb, 'tables': ['public.' + missing], 'user': 'nobody_yet',
                    'password': PASSWORD},
                   {'name': 'c', 'publisher': 'rhino', 'subscriber': 'giraffe', 'database': 'postgres',
                    'user': 'nobody_yet', 'password': PASSWORD},
                   # the same user on the same publisher and database with another password (issue 10 item 16)
                   {'name': 'd', 'publisher': 'rhino', 'subscriber': 'hippo', 'database': 'postgres',
                    'tables': ['public.' + no_key], 'user': 'nobody_yet', 'password': OTHER_PASSWORD}]
        inventory = write_inventory(work_root, {'rhino': pub, 'hippo': sub}, entries)
        run = ansible.playbook(os.path.join(PLAYBOOKS, 'preflight.yml'), inventory=inventory, check=True)
        assert run.rc != 0
        problems = fact(run, '_pf_all')['problems']
        expected = ['entry 3 (c): subscriber giraffe is not in the inventory',
                    'entry 3 (c): give tables, schemas or all_tables: true',
                    'entry 4 (d): user nobody_yet on publisher rhino, database postgres, has another password in '
                    'entry 1 (%s)' % entries[0]['name'],
                    'rhino: publication %s: no usable replica identity' % entries[0]['name'],
                    'rhino: publication %s: ' % entries[1]['name'],
                    'hippo: subscription %s (rhino -> hippo): ' % entries[0]['name'],
                    'hippo: subscription %s (rhino -> hippo): ' % entries[1]['name']]
        for start in expected:
            assert [p for p in problems if p.startswith(start)], (start, problems)
        assert [p for p in problems if missing in p and 'does not exist' in p], problems
        assert [p for p in problems if nodb in p], problems
        assert [p for p in problems if 'nobody_yet' in p], problems
        assert 'PROBLEM  rhino: publication' in run.stdout  # the readable list
        assert pub.value('SELECT count(*) FROM pg_publication') == 0 or not pub.value(
            'SELECT count(*) FROM pg_publication WHERE pubname = ANY(%s)', ([e['name'] for e in entries],))
        assert PASSWORD not in run.output and OTHER_PASSWORD not in run.output
    finally:
        pub.sql('DROP TABLE public.%s' % no_key)
