# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Schema changes without breaking replication: the schema_change module (every major, one playbook run on the
shared server) and the schema_change / status / setup playbooks on a pair and a cascade (across majors)."""

import os

import pytest

from conftest import MAJORS
from pgharness import (PLAYBOOKS, Servers, assert_nothing_changed, changed_tasks, fact, random_name, recap, wait_for,
                       write_inventory)

FQCN = 'pgops.logical_replication.schema_change'


def columns(server, table, dbname='zoo'):
    return server.value("SELECT coalesce(json_agg(attname ORDER BY attnum), '[]') FROM pg_attribute "
                        "WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped", (table,), dbname=dbname)


@pytest.mark.all_cores
def test_schema_change_module(ansible, pg):
    """Check mode runs nothing; the statements commit together; a refused one rolls every one back and is named."""
    table = random_name('sc')
    pg.sql('CREATE TABLE %s (id int PRIMARY KEY)' % table)
    add = ['ALTER TABLE %s ADD COLUMN a text' % table, 'ALTER TABLE %s ADD COLUMN b int DEFAULT 7' % table]
    broken = ['ALTER TABLE %s ADD COLUMN c text' % table, 'ALTER TABLE %s ADD COLUMN a text' % table,
              'ALTER TABLE %s ADD COLUMN d text' % table]
    try:
        run = ansible.tasks([
            {'name': 'check', FQCN: dict(pg.login, statements=add), 'check_mode': True},
            {'name': 'apply', FQCN: dict(pg.login, statements=add)},
            {'name': 'refused', FQCN: dict(pg.login, statements=broken)},
            {'name': 'empty', FQCN: dict(pg.login, statements=[])},
            {'name': 'blank item', FQCN: dict(pg.login, statements=['SELECT 1', ' '])},
        ], diff=True)
        check, apply, refused, empty, blank = [r['result'] for r in run.results]
        assert check['changed'] is True and check['queries'] == add, check
        assert check['diff']['after'] == {'statements': add}
        assert apply['changed'] is True and apply['queries'] == add, apply
        assert columns(pg, table, 'postgres') == ['id', 'a', 'b']
        assert refused['failed'] and refused['changed'] is False, refused
        assert refused['failed_statement'] == 2 and refused['sqlstate'] == '42701'
        assert refused['msg'].startswith('Statement 2 of 3: PostgreSQL refused %s: ' % broken[1]), refused['msg']
        assert 'already exists' in refused['msg'] and 'rolled back' in refused['msg']
        assert columns(pg, table, 'postgres') == ['id', 'a', 'b']   # c (statement 1) was rolled back too
        assert empty['changed'] is False and empty['queries'] == [] and not empty.get('failed'), empty
        assert blank['failed'] and blank['msg'].startswith('statement 2 is empty'), blank
    finally:
        pg.sql('DROP TABLE IF EXISTS %s' % table)


# -- the playbooks on a cascade a -> b -> c (database zoo), across majors ----------------------------------------------

PASSWORD = 'Schema pw 14'
SETUP, STATUS, CHANGE = (os.path.join(PLAYBOOKS, name) for name in ('setup.yml', 'status.yml', 'schema_change.yml'))
ROWS = "SELECT coalesce(json_agg(t ORDER BY id), '[]') FROM abc t"


@pytest.fixture(scope='module')
def cascade(ansible, work_root):
    """a publishes abc to b, which republishes it to c; after the first setup.yml run (its result kept).
    Across majors, oldest at the root: with 15 16 17 18 tested, a is 15, b 17 and c 18."""
    with Servers(work_root) as make:
        majors = dict(a=MAJORS[0], b=MAJORS[len(MAJORS) // 2], c=MAJORS[-1])
        servers = dict((name, make(majors[name], name, conf={'wal_level': 'logical'})) for name in ('a', 'b', 'c'))
        for server in servers.values():
            server.sql('CREATE DATABASE zoo')
        servers['a'].sql('CREATE TABLE abc (id int PRIMARY KEY, v text);'
                         "INSERT INTO abc SELECT g, 'v' || g FROM generate_series(1, 20) g", dbname='zoo')
        # the middle host publishes abc before its subscription copies the definition (test_topologies)
        servers['b'].sql('CREATE TABLE abc (id int PRIMARY KEY, v text)', dbname='zoo')
        entries = [{'name': 'ab', 'publisher': 'a', 'subscriber': 'b', 'database': 'zoo', 'tables': ['public.abc'],
                    'user': 'logic', 'password': PASSWORD},
                   {'name': 'bc', 'publisher': 'b', 'subscriber': 'c', 'database': 'zoo', 'tables': ['public.abc'],
                    'user': 'logic', 'password': PASSWORD}]
        inventory = write_inventory(work_root, servers, entries)
        first = ansible.playbook(SETUP, inventory=inventory)
        assert first.rc == 0, first.output[-6000:]
        yield dict(servers=servers, entries=entries, inventory=inventory, first=first)


def play(ansible, cascade, playbook, **kwargs):
    return ansible.playbook(playbook, inventory=cascade['inventory'], **kwargs)


def applied_by(run):
    """The hosts the schema_change module ran on (not in check mode), in order."""
    return [r['host'] for r in run.results if r['task'] == 'Run the statements in one transaction'
            and r['status'] == 'ok' and r['result'].get('changed')]


def test_check_mode_of_setup_reports_the_schema_copy_and_the_refresh(ansible, cascade, work_root):
    """Issue 10 item 15: a table added to an entry; --check says what the real run then does; a rerun is quiet."""
    a, b, c = (cascade['servers'][n] for n in 'abc')
    assert wait_for(lambda: c.value(ROWS, dbname='zoo') == a.value(ROWS, dbname='zoo'), 'the cascade copy')
    a.sql("CREATE TABLE keepers (id int PRIMARY KEY, name text); INSERT INTO keepers VALUES (1, 'ann'), (2, 'bob')",
          dbname='zoo')
    cascade['entries'][0]['tables'].append('public.keepers')
    cascade['inventory'] = write_inventory(work_root, cascade['servers'], cascade['entries'])
    pair = {'logical_replication_hosts': 'a,b'}   # c is not concerned: three runs on the pair a -> b only
    check = play(ansible, cascade, SETUP, check=True, extra_vars=pair)
    assert check.rc == 0, check.output[-6000:]
    assert b.value("SELECT to_regclass('keepers')", dbname='zoo') is None   # check mode changed nothing
    checked = [t for t in changed_tasks(check) if t.startswith('b: ')]
    real = play(ansible, cascade, SETUP, extra_vars=pair)
    assert real.rc == 0, real.output[-6000:]
    assert b.value('SELECT count(*) FROM keepers', dbname='zoo') == 2
    done = [t for t in changed_tasks(real) if t.startswith('b: ')]
    assert recap(check)['b']['changed'] == recap(real)['b']['changed'] == 2, (checked, done)
    assert checked == done, (checked, done)
    assert_nothing_changed(play(ansible, cascade, SETUP, extra_vars=pair))
    # A new entry (its publication does not exist yet) in check mode: the subscription is to be created, its
    # table exists here already (nothing to copy), nothing fails.
    entries = cascade['entries'] + [dict(cascade['entries'][0], name='ab_new', tables=['public.abc'])]
    check = ansible.playbook(SETUP, inventory=write_inventory(work_root, cascade['servers'], entries), check=True,
                             extra_vars=pair)
    assert check.rc == 0, check.output[-6000:]
    changed = [t for t in changed_tasks(check) if t.startswith('b: pgops.logical_replication.subscriber : ')]
    assert changed == ['b: pgops.logical_replication.subscriber : Subscriptions (round 1)'], changed


def test_drift_is_reported_before_any_row_breaks(ansible, cascade):
    """A column added on the publisher by hand: status.yml shows the drift of a -> b before an insert stops b."""
    a, b = cascade['servers']['a'], cascade['servers']['b']
    a.sql('ALTER TABLE abc ADD COLUMN by_hand int', dbname='zoo')
    status = play(ansible, cascade, STATUS)
    assert status.rc == 0, status.output[-6000:]
    rows = dict((r['name'], r) for r in fact(status, 'logical_replication_status')['subscriptions'])
    drift = rows['ab']['schema_drift']
    assert [(d['table'], d['column'], d['problem']) for d in drift] == [('public.abc', 'by_hand', 'missing_column')]
    assert rows['bc']['schema_drift'] == []
    assert 'DRIFT ab (a -> b): Column public.abc.by_hand (integer) is published but missing' in status.stdout
    assert rows['ab']['apply_error_count'] == 0 and b.value('SELECT count(*) FROM abc', dbname='zoo') == 20


def test_preflight_reports_the_drift_and_missing_extensions(ansible, cascade):
    """preflight.yml: what the subscriber role creates is a note (the column, the extension and its publisher
    version, the table); what it cannot fix (a type that differs) is a problem."""
    a, c = cascade['servers']['a'], cascade['servers']['c']
    a.sql('CREATE EXTENSION citext; CREATE TABLE tags (id int PRIMARY KEY, name citext);'
          'CREATE INDEX ON tags (name); ALTER PUBLICATION ab ADD TABLE tags', dbname='zoo')
    c.sql('ALTER TABLE abc ALTER COLUMN v TYPE varchar(50)', dbname='zoo')
    version = a.value("SELECT extversion FROM pg_extension WHERE extname = 'citext'", dbname='zoo')
    try:
        run = play(ansible, cascade, os.path.join(PLAYBOOKS, 'preflight.yml'), check=True)
        assert run.rc != 0   # the type that differs
        result = fact(run, '_pf_all')
        notes, problems = result['notes'], result['problems']
        assert [n for n in notes if n.startswith('b: subscription ab (a -> b): extension citext (version %s on the '
                                                 'publisher) is missing here' % version)], notes
        assert [n for n in notes if n.startswith('b: subscription ab (a -> b): the subscriber role creates here: ')
                and 'table public.tags' in n and 'column public.abc.by_hand' in n], notes
        assert [p for p in problems if p.startswith('c: subscription bc (b -> c): ') and 'public.abc.v' in p], problems
        assert len(problems) == 1, problems
        assert b_has_no(cascade, 'tags')   # check mode: nothing created
    finally:
        a.sql('ALTER PUBLICATION ab DROP TABLE tags; DROP TABLE tags; DROP EXTENSION citext', dbname='zoo')
        c.sql('ALTER TABLE abc ALTER COLUMN v TYPE text', dbname='zoo')


def b_has_no(cascade, table):
    return cascade['servers']['b'].value('SELECT to_regclass(%s)', (table,), dbname='zoo') is None


def test_schema_change_check_mode_shows_the_plan_and_runs_nothing(ansible, cascade):
    a, b, c = (cascade['servers'][n] for n in 'abc')
    before = [columns(s, 'abc') for s in (a, b, c)]
    run = play(ansible, cascade, CHANGE, check=True, extra_vars={
        'schema_change_database': 'zoo', 'schema_change_statements': ['ALTER TABLE abc ADD COLUMN never int']})
    assert run.rc == 0, run.output[-6000:]
    assert 'Schema change of database zoo (subscribers_first)' in run.stdout
    assert run.stdout.index('  c') < run.stdout.index('  b') < run.stdout.index('  a')   # leaf to root
    assert [r['host'] for r in run.results if r['task'] == 'Run the statements in one transaction'] == ['c', 'b', 'a']
    assert [columns(s, 'abc') for s in (a, b, c)] == before


def test_schema_change_adds_a_column_leaf_to_root_with_no_apply_error(ansible, cascade, work_root):
    """The column added by hand made part of the change, another column and a new table (listed in the topology,
    with rows on a already): everything arrives on c, through b."""
    a, b, c = (cascade['servers'][n] for n in 'abc')
    a.sql("CREATE TABLE animals (id int PRIMARY KEY, name text); INSERT INTO animals VALUES (1, 'ann')", dbname='zoo')
    for entry in cascade['entries']:
        entry['tables'].append('public.animals')
    cascade['inventory'] = write_inventory(work_root, cascade['servers'], cascade['entries'])
    statements = ['ALTER TABLE abc ADD COLUMN IF NOT EXISTS by_hand int', 'ALTER TABLE abc ADD COLUMN weight numeric',
                  'CREATE TABLE IF NOT EXISTS animals (id int PRIMARY KEY, name text)']
    run = play(ansible, cascade, CHANGE, extra_vars={'schema_change_database': 'zoo',
                                                     'schema_change_statements': statements})
    assert run.rc == 0, run.output[-6000:]
    assert applied_by(run) == ['c', 'b', 'a']
    assert 'Schema drift left: none' in run.stdout
    assert c.value('SELECT name FROM animals WHERE id = 1', dbname='zoo') == 'ann'   # published, refreshed, copied
    a.sql("INSERT INTO animals VALUES (2, 'bob')", dbname='zoo')
    assert wait_for(lambda: c.value('SELECT name FROM animals WHERE id = 2', dbname='zoo') == 'bob', 'a new row')
    a.sql("INSERT INTO abc VALUES (21, 'new', 7, 1.5)", dbname='zoo')
    assert wait_for(lambda: c.value('SELECT weight FROM abc WHERE id = 21', dbname='zoo') == 1.5, 'the new column on c')
    for server, name in ((b, 'ab'), (c, 'bc')):
        assert server.value('SELECT apply_error_count FROM pg_stat_subscription_stats WHERE subname = %s',
                            (name,)) == 0
    assert c.value(ROWS, dbname='zoo') == a.value(ROWS, dbname='zoo')


def test_a_failing_host_stops_the_run_and_names_those_that_applied(ansible, cascade):
    a, b, c = (cascade['servers'][n] for n in 'abc')
    b.sql('ALTER TABLE abc ADD COLUMN clash int', dbname='zoo')   # the statement fails on b, the second host
    run = play(ansible, cascade, CHANGE, extra_vars={'schema_change_database': 'zoo',
                                                     'schema_change_statements': ['ALTER TABLE abc ADD COLUMN clash int']})
    assert run.rc != 0
    assert applied_by(run) == ['c']
    assert 'The schema change failed on b (host 2 of 3)' in run.stdout
    assert 'Already applied (committed) on: c.' in run.stdout and 'Not run on: a.' in run.stdout
    assert 'clash' in columns(c, 'abc') and 'clash' not in columns(a, 'abc')
