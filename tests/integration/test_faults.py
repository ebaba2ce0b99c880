# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Faults on real servers (issue 10's fault-injection suite and item 14), one major: the first of PGOPS_TEST_MAJORS.

Two fresh servers for the whole file (rhino publishes, hippo subscribes); each test wires its own
database with the collection's modules (cheaper than setup.yml, which test_playbooks runs), breaks
something, and checks what a user would: every committed row there exactly once, the wiring converged.
"""

import os
import threading
import time

import psycopg2
import pytest

from conftest import LOGICAL, MAJORS
from pgharness import PLAYBOOKS, SUPERUSER_PASSWORD, Servers, fact, random_name, wait_for, write_inventory

PASSWORD = 'fault-pw-%s' % random_name('x')
READ_ONLY = '25006'  # read_only_sql_transaction


@pytest.fixture(scope='module')
def pair(work_root):
    with Servers(work_root) as make:
        yield make(MAJORS[0], 'rhino', conf=LOGICAL), make(MAJORS[0], 'hippo', conf=LOGICAL)


def wire(ansible, pub, sub, db, tables, name=None, wait=True):
    """The replication user, publication and subscription of ``tables`` (the tables exist on both sides)."""
    name = name or db
    conninfo = dict(host=pub.host, port=pub.port, dbname=db, user='logic', password=PASSWORD)
    run = ansible.tasks([
        {'name': 'user', 'pgops.logical_replication.replication_user': dict(
            pub.login, db=db, name='logic', password=PASSWORD, grant_select={'tables': tables})},
        {'name': 'publication', 'pgops.logical_replication.postgresql_publication': dict(
            pub.login, db=db, name=name, tables=tables)},
        {'name': 'subscription', 'pgops.logical_replication.postgresql_subscription': dict(
            sub.login, db=db, name=name, publications=[name], conninfo=conninfo, wait_for_sync=wait)},
    ])
    for result in run.results:
        assert not result['result'].get('failed'), result['result'].get('msg')
    return conninfo


def create_db(db, *servers):
    for server in servers:
        server.sql('CREATE DATABASE %s' % db)


def table_state(server, db, table='t'):
    """(count, sum of id, count of distinct id) of a table."""
    return tuple(server.sql('SELECT count(*), coalesce(sum(id), 0), count(DISTINCT id) FROM %s' % table, dbname=db)[0])


class Writer(object):
    """Inserts one row per transaction (autocommit) on a few connections at about ``rate`` commits/s.

    Records the id of every committed row. A session ended by the server reconnects; a write refused
    because the server became read-only is counted and tried again 20 ms later. A commit whose outcome
    is unknown (the session ended while it ran) is not counted as committed, and is counted apart.
    """

    def __init__(self, server, db, table, rate=300, connections=3):
        self.server, self.db, self.table = server, db, table
        self.interval = connections / float(rate)
        self.ids, self.refused, self.reconnects, self.unknown, self.errors = [], 0, 0, 0, []
        self.lock = threading.Lock()
        self.stop_event = threading.Event()
        self.threads = [threading.Thread(target=self.work, args=(n,), daemon=True) for n in range(connections)]

    def connect(self):
        while not self.stop_event.is_set():
            try:
                return self.server.connect(self.db)
            except psycopg2.OperationalError as exc:
                with self.lock:
                    self.errors.append(str(exc).strip())
                time.sleep(0.02)
        return None

    def work(self, worker):
        conn, sent, started = self.connect(), 0, time.time()
        while conn is not None and not self.stop_event.is_set():
            sent += 1
            ahead = started + sent * self.interval - time.time()
            if ahead > 0:
                time.sleep(ahead)
            try:
                with conn.cursor() as cur:
                    cur.execute('INSERT INTO %s (note) VALUES (%%s) RETURNING id' % self.table, ('w%d' % worker,))
                    new_id = cur.fetchone()[0]
                with self.lock:
                    self.ids.append(new_id)
            except psycopg2.Error as exc:
                if getattr(exc, 'pgcode', None) == READ_ONLY:
                    with self.lock:
                        self.refused += 1
                    time.sleep(0.02)
                    continue
                with self.lock:
                    self.unknown += 1
                    self.reconnects += 1
                try:
                    conn.close()
                except psycopg2.Error:
                    pass
                conn = self.connect()
        if conn is not None:
            conn.close()

    def __enter__(self):
        for thread in self.threads:
            thread.start()
        wait_for(lambda: len(self.ids) >= 20, 'the writer to commit its first rows', timeout=30, interval=0.05)
        return self

    def __exit__(self, *exc_info):
        self.stop_event.set()
        for thread in self.threads:
            thread.join(30)


def ids_of(server, db, table):
    return sorted(row[0] for row in server.sql('SELECT id FROM %s' % table, dbname=db))


# -- (a) the publisher stops during the initial copy ----------------------------------------------------------

def test_publisher_stopped_during_initial_copy(ansible, pair):
    pub, sub = pair
    db = random_name('fa')
    create_db(db, pub, sub)
    for server in (pub, sub):
        server.sql('CREATE TABLE t (id bigint PRIMARY KEY, v int NOT NULL, pad text)', dbname=db)
    # about 45 MB: the copy lasts long enough to be stopped in the middle
    pub.sql("INSERT INTO t SELECT g, mod(g, 97), repeat('x', 100) FROM generate_series(1, 300000) g", dbname=db)
    expected = table_state(pub, db)
    wire(ansible, pub, sub, db, ['t'], wait=False)
    state = "SELECT srsubstate FROM pg_subscription_rel WHERE srrelid = 't'::regclass"
    # the table's sync worker is copying: stop the publisher under it
    wait_for(lambda: sub.value(state, dbname=db) == 'd', 'the initial copy to start', timeout=60, interval=0.01)
    pub.stop('fast')
    try:
        assert sub.value(state, dbname=db) == 'd'  # stopped before the copy was done
        time.sleep(1)
        assert table_state(sub, db)[0] == 0        # the interrupted copy left nothing behind
    finally:
        pub.start()
    # the subscription module, run again as a re-run of setup would, waits for the copy and changes nothing
    conninfo = dict(host=pub.host, port=pub.port, dbname=db, user='logic', password=PASSWORD)
    again = ansible.module('postgresql_subscription', dict(
        sub.login, db=db, name=db, publications=[db], conninfo=conninfo, wait_for_sync=True, sync_timeout=90))
    assert not again.get('failed') and not again['changed'], again.get('msg')
    assert sub.value(state, dbname=db) == 'r'
    assert table_state(sub, db) == expected


# -- (b) the subscriber restarts while streaming ------------------------------------------------------------------

def test_subscriber_restarted_while_streaming(ansible, pair):
    pub, sub = pair
    db = random_name('fb')
    create_db(db, pub, sub)
    pub.sql('CREATE TABLE t (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, note text)', dbname=db)
    # no key on the subscriber: a transaction applied twice would show as a duplicate id
    sub.sql('CREATE TABLE t (id bigint, note text)', dbname=db)
    pub.sql('ALTER TABLE t REPLICA IDENTITY FULL', dbname=db)
    wire(ansible, pub, sub, db, ['t'])
    with Writer(pub, db, 't') as writer:
        time.sleep(1)
        sub.restart()
        time.sleep(1.5)
    committed = sorted(writer.ids)
    assert len(committed) >= 200 and writer.unknown == 0, (len(committed), writer.errors)
    wait_for(lambda: table_state(sub, db)[0] >= len(committed), 'the rows to reach the restarted subscriber')
    time.sleep(0.5)  # anything applied twice would arrive now
    assert ids_of(sub, db, 't') == ids_of(pub, db, 't') == committed


# -- (c) teardown.yml with the publisher gone -----------------------------------------------------------------------

def test_teardown_with_the_publisher_gone_reports_the_kept_slot(ansible, pair, work_root):
    pub, sub = pair
    db = random_name('fc')
    create_db(db, pub, sub)
    for server in (pub, sub):
        server.sql('CREATE TABLE t (id int PRIMARY KEY)', dbname=db)
    wire(ansible, pub, sub, db, ['t'])
    entries = [{'name': db, 'publisher': 'rhino', 'subscriber': 'hippo', 'database': db, 'tables': ['t'],
                'user': 'logic', 'password': PASSWORD}]
    inventory = write_inventory(work_root, {'rhino': pub, 'hippo': sub}, entries)
    pub.stop('fast')
    try:
        run = ansible.playbook(os.path.join(PLAYBOOKS, 'teardown.yml'), inventory=inventory, timeout=300)
    finally:
        pub.start()
    assert run.rc == 0, run.output[-6000:]
    assert sub.value('SELECT count(*) FROM pg_subscription WHERE subname = %s', (db,)) == 0
    kept = fact(run, 'logical_replication_kept_slots')
    assert [(k['slot'], k['publisher'], k['database']) for k in kept] == [(db, 'rhino', db)]
    report = [line for line in run.stdout.splitlines() if 'KEPT SLOT' in line]
    assert report and db in report[0] and 'rhino' in report[0], run.stdout[-4000:]
    assert 'WAL' in report[0] and 'pg_drop_replication_slot' in report[0], report
    # and what else is left on the publisher it could not reach
    gone = [line for line in run.stdout.splitlines() if 'PUBLISHER NOT REACHED rhino' in line]
    assert gone and 'Connection refused' in gone[0] and 'publications %s' % db in gone[0], run.stdout[-4000:]
    # it is really there, holding WAL, until dropped on the publisher
    assert pub.value('SELECT active FROM pg_replication_slots WHERE slot_name = %s', (db,)) is False
    pub.sql('SELECT pg_drop_replication_slot(%s)', (db,))
    assert PASSWORD not in run.output


# -- (d) switchover under a writer; item 14: unqualified and dict-form tables ---------------------------------------

def switchover_db(ansible, pub, sub, prefix):
    """A database with abc (serial) and xyz (identity), published as `abc` and {name: public.xyz}."""
    db = random_name(prefix)
    create_db(db, pub, sub)
    for server in (pub, sub):
        server.sql('CREATE TABLE abc (id serial PRIMARY KEY, note text);'
                   'CREATE TABLE xyz (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, note text)', dbname=db)
    pub.sql("INSERT INTO abc (note) SELECT 'old' FROM generate_series(1, 50);"
            "INSERT INTO xyz (note) SELECT 'old' FROM generate_series(1, 70)", dbname=db)
    wire(ansible, pub, sub, db, ['public.abc', 'public.xyz'])
    entry = {'name': db, 'publisher': 'rhino', 'subscriber': 'hippo', 'database': db,
             'tables': ['abc', {'name': 'public.xyz'}], 'user': 'logic', 'password': PASSWORD}
    return db, entry


def reset_read_only(pub):
    pub.sql('ALTER SYSTEM RESET default_transaction_read_only')
    pub.sql('SELECT pg_reload_conf()')
    wait_for(lambda: pub.setting('default_transaction_read_only') == 'off', 'the publisher to accept writes')


def test_switchover_under_a_writer_loses_nothing(ansible, pair, work_root):
    pub, sub = pair
    db, entry = switchover_db(ansible, pub, sub, 'fd')
    inventory = write_inventory(work_root, {'rhino': pub, 'hippo': sub}, [entry])
    try:
        with Writer(pub, db, 'abc') as writer:
            run = ansible.playbook(os.path.join(PLAYBOOKS, 'switchover.yml'), inventory=inventory,
                                   extra_vars={'switchover_sequence_margin': 10}, timeout=300)
        assert run.rc == 0, run.output[-6000:]
        committed = sorted(writer.ids)
        # the writer ran through the switchover: its sessions were ended, then its writes refused
        assert len(committed) >= 200 and writer.reconnects >= 1 and writer.refused >= 1, (
            len(committed), writer.reconnects, writer.refused, writer.errors[-3:])
        # every committed row is on the new primary, and nothing else
        assert ids_of(sub, db, 'abc') == ids_of(pub, db, 'abc')
        assert set(committed) <= set(ids_of(sub, db, 'abc'))
        assert sub.value('SELECT count(*) FROM pg_subscription WHERE subname = %s', (db,)) == 0
        # inserts on the new primary succeed at once: both sequences are past the publisher's
        # (the margin of 10 is far below what the writer added after the first copy: the top-up did it)
        for table in ('abc', 'xyz'):
            top = pub.value('SELECT max(id) FROM %s' % table, dbname=db)
            new = sub.value("INSERT INTO %s (note) VALUES ('new primary') RETURNING id" % table, dbname=db)
            assert new > top, (table, new, top)
        assert PASSWORD not in run.output
    finally:
        reset_read_only(pub)


def test_switchover_refused_before_writes_stop_when_a_sequence_cannot_be_copied(ansible, pair, work_root):
    pub, sub = pair
    db, entry = switchover_db(ansible, pub, sub, 'fe')
    # the subscriber's xyz takes its ids from nowhere: public.xyz_id_seq is missing there
    sub.sql('ALTER TABLE xyz ALTER COLUMN id DROP IDENTITY', dbname=db)
    inventory = write_inventory(work_root, {'rhino': pub, 'hippo': sub}, [entry])
    try:
        run = ansible.playbook(os.path.join(PLAYBOOKS, 'switchover.yml'), inventory=inventory, timeout=300)
        assert run.rc != 0
        failed = [r for r in run.results if r['result'].get('failed')]
        assert [r['host'] for r in failed] == ['hippo'], [r['task'] for r in failed]
        assert 'missing on the subscriber: public.xyz_id_seq' in str(failed[0]['result'].get('results')), failed
        # writes never stopped, the subscription is still there and still streams
        assert pub.setting('default_transaction_read_only') == 'off'
        assert not [r for r in run.results if r['task'].endswith('read-only for every user (ALTER SYSTEM + reload)')
                    and r['result'].get('changed')]
        pub.sql("INSERT INTO abc (note) VALUES ('still writable')", dbname=db)
        assert sub.value('SELECT count(*) FROM pg_subscription WHERE subname = %s', (db,)) == 1
        wait_for(lambda: sub.value("SELECT count(*) FROM abc WHERE note = 'still writable'", dbname=db) == 1,
                 'the row written after the refused switchover to arrive')
        assert SUPERUSER_PASSWORD not in run.output and PASSWORD not in run.output
    finally:
        reset_read_only(pub)
