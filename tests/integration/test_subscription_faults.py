# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""postgresql_subscription and the subscriber role under faults (issue 10 items 2, 3 and 4), one major:
the first of PGOPS_TEST_MAJORS.

- A publisher that accepts TCP connections and never answers (a Python socket server on 127.0.0.1):
  the module fails within its statement_timeout naming the publisher, nothing is left waiting on the
  subscriber (no backend, no lock on pg_subscription), even when the module is killed; and while the
  CREATE SUBSCRIPTION waits, a pg_monitor member never sees its password in pg_stat_activity.
- A table copy that keeps failing (a duplicate key on the subscriber) and a disabled subscription:
  wait_for_sync fails at once, and setup.yml fails in the first report round, naming the subscription,
  the table, the error count and what to do.
"""

import os
import signal
import socket
import subprocess
import tempfile
import threading
import time

import psycopg2
import pytest
import yaml

from conftest import LOGICAL, MAJORS
from pgharness import PLAYBOOKS, SUPERUSER_PASSWORD, Servers, random_name, wait_for, write_inventory

FQCN = 'pgops.logical_replication.postgresql_subscription'
PASSWORD = 'Silent-%s' % random_name('pw')


@pytest.fixture(scope='module')
def pair(work_root):
    """(publisher, subscriber) of this file."""
    with Servers(work_root) as make:
        yield make(MAJORS[0], 'rhino', conf=LOGICAL), make(MAJORS[0], 'zebra', conf=LOGICAL)


@pytest.fixture
def server(pair):
    return pair[1]


@pytest.fixture
def silent():
    """(host, port) of a server that accepts TCP connections and never answers."""
    listener = socket.socket()
    listener.bind(('127.0.0.1', 0))
    listener.listen(20)
    accepted = []
    stop = threading.Event()

    def accept():
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except socket.timeout:
                continue
            except OSError:
                return
    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield listener.getsockname()
    stop.set()
    thread.join()
    for conn in accepted + [listener]:
        conn.close()


def subscription_task(server, host, port, name, **extra):
    args = dict(server.login, db='postgres', name=name, publications=['p'],
                conninfo=dict(host=host, port=port, dbname='zoo', user='logic', password=PASSWORD))
    args.update(extra)
    return {FQCN: args}


def our_backends(server):
    """Backends of the module (by application_name) on the server."""
    return server.sql('SELECT pid, state, query FROM pg_stat_activity WHERE application_name = %s', (FQCN,))


def subscription_locks(server):
    return server.value("SELECT count(*) FROM pg_locks WHERE relation = 'pg_subscription'::regclass")


def test_silent_publisher_fails_in_time_hides_the_password_and_leaves_nothing(ansible, server, silent):
    host, port = silent
    name = random_name('sub')
    monitor = random_name('mon')
    server.sql("CREATE ROLE %s LOGIN PASSWORD 'mon' IN ROLE pg_monitor" % monitor)
    seen, done = [], threading.Event()

    def watch():
        conn = server.connect(user=monitor, password='mon')
        try:
            with conn.cursor() as cur:
                while not done.is_set():
                    cur.execute('SELECT pid, application_name, state, query FROM pg_stat_activity '
                                'WHERE pid <> pg_backend_pid()')
                    seen.extend(cur.fetchall())
                    time.sleep(0.05)
        finally:
            conn.close()
    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        started = time.time()
        run = ansible.tasks([subscription_task(server, host, port, name, statement_timeout=4)], timeout=120)
        took = time.time() - started
    finally:
        done.set()
        watcher.join()
        server.sql('DROP ROLE %s' % monitor)
    result = run.results[0]['result']
    # Item 3: bounded, and the message names the publisher and the way out.
    assert result['failed'] and took < 60, (took, result)
    assert 'CREATE SUBSCRIPTION "%s" did not finish within statement_timeout (4.0 s)' % name in result['msg'], result
    assert 'the publisher at %s port %s (database zoo) did not answer in time' % (host, port) in result['msg']
    assert PASSWORD not in str(result)
    wait_for(lambda: not our_backends(server), 'the module\'s backend to end', timeout=10)
    assert subscription_locks(server) == 0
    assert server.value('SELECT count(*) FROM pg_subscription WHERE subname = %s', (name,)) == 0
    # Item 2: the pg_monitor member saw the module's backend while it waited, never the password.
    ours = [row for row in seen if row[1] == FQCN]
    assert ours, 'the watcher never saw the module\'s backend'
    assert not [row for row in seen if PASSWORD in (row[3] or '')], 'pg_stat_activity showed the password'
    assert any(row[2] == 'disabled' for row in ours), ours


def test_killed_module_leaves_nothing_waiting(ansible, server, silent, work_root):
    host, port = silent
    play = [dict(hosts='localhost', connection='local', gather_facts=False,
                 tasks=[subscription_task(server, host, port, random_name('sub'), statement_timeout=3)])]
    run_dir = tempfile.mkdtemp(prefix='killed-', dir=work_root)
    path = os.path.join(run_dir, 'playbook.yml')
    with open(path, 'w') as handle:
        yaml.safe_dump(play, handle)
    proc = subprocess.Popen([ansible.playbook_bin, path, '-i', 'localhost,'], cwd=run_dir, start_new_session=True,
                            env=ansible.env(os.path.join(run_dir, 'results.jsonl')), stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: our_backends(server) and subscription_locks(server), 'CREATE SUBSCRIPTION to wait',
                 timeout=30, interval=0.1)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    # The server ends the statement at its statement_timeout, then the backend finds its client gone.
    wait_for(lambda: not our_backends(server) and not subscription_locks(server),
             'the killed module\'s backend and its lock to go', timeout=15)


# -- item 4: tables that cannot get ready ------------------------------------------------------------

def test_wait_for_sync_fails_at_once_on_a_copy_that_keeps_failing_and_on_a_disabled_subscription(ansible, pair):
    pub, sub = pair
    table, pubname, name, off = random_name('t'), random_name('pub'), random_name('sub'), random_name('off')
    for server in (pub, sub):
        server.sql('CREATE TABLE %s (id int PRIMARY KEY, v text)' % table)
    pub.sql("INSERT INTO %s SELECT g, 'row' FROM generate_series(1, 3) g" % table)
    sub.sql("INSERT INTO %s VALUES (2, 'here first')" % table)
    pub.sql('CREATE PUBLICATION %s FOR TABLE %s' % (pubname, table))
    conninfo = dict(host=pub.host, port=pub.port, dbname='postgres', user='postgres', password=SUPERUSER_PASSWORD)
    base = dict(sub.login, db='postgres', publications=[pubname], conninfo=conninfo, wait_for_sync=True,
                sync_timeout=60)
    try:
        run = ansible.tasks([
            {FQCN: dict(base, name=name)},
            {FQCN: dict(base, name=off, enabled=False, create_slot=False, slot_name='none')},
        ])
        failing, disabled = [r['result'] for r in run.results]
        assert failing['failed'] and failing['sync_timed_out'] is False, failing
        assert failing['waited'] < 15, failing['waited']
        assert failing['sync_error_count'] >= 1
        msg = failing['msg']
        assert msg.startswith('Subscription %s: the initial copy of public.%s (' % (name, table)), msg
        assert 'sync_error_count %s' % failing['sync_error_count'] in msg and 'duplicate key' in msg
        assert 'TRUNCATE' in msg and 'then run again' in msg
        assert disabled['failed'] and disabled['sync_timed_out'] is False and disabled['waited'] < 5, disabled
        assert disabled['msg'].startswith('Subscription %s is disabled, so its tables will not synchronise: '
                                          'public.%s (' % (off, table)), disabled['msg']
        assert 'Enable it (state: enabled)' in disabled['msg']
    finally:
        for sub_name in (name, off):
            sub.sql('DROP SUBSCRIPTION IF EXISTS %s' % sub_name)
        pub.sql('DROP PUBLICATION %s' % pubname)
        for server in (pub, sub):
            server.sql('DROP TABLE %s' % table)


def test_setup_fails_in_the_first_round_on_a_duplicate_key(ansible, pair, work_root):
    pub, sub = pair
    db = random_name('dup')
    for server in (pub, sub):
        server.sql('CREATE DATABASE %s' % db)
        server.sql('CREATE TABLE animals (id int PRIMARY KEY, name text)', dbname=db)
    pub.sql("INSERT INTO animals VALUES (1, 'rhino'), (2, 'hippo')", dbname=db)
    sub.sql("INSERT INTO animals VALUES (2, 'hippo, here first')", dbname=db)
    entries = [{'name': db, 'publisher': 'rhino', 'subscriber': 'zebra', 'database': db,
                'tables': ['public.animals'], 'user': 'logic', 'password': PASSWORD}]
    inventory = write_inventory(work_root, {'rhino': pub, 'zebra': sub}, entries)
    try:
        # Without the fast failure the role would report "still copying" every 5 s until this timeout.
        run = ansible.playbook(os.path.join(PLAYBOOKS, 'setup.yml'), inventory=inventory,
                               extra_vars={'subscriber_sync_timeout': 20})
        assert run.rc != 0, run.output[-4000:]
        failed = [r for r in run.results if r['status'] == 'failed']
        rounds = [r for r in run.results if 'Subscriptions (round' in r['task']]
        assert len(rounds) == 1 and failed == rounds, [(r['host'], r['task'], r['result'].get('msg')) for r in failed]
        assert rounds[0]['host'] == 'zebra' and '(round 1)' in rounds[0]['task'], rounds[0]['task']
        item = rounds[0]['result']['results'][0]
        assert item['sync_timed_out'] is False and item['sync_error_count'] >= 1, item
        assert item['msg'].startswith('Subscription %s: the initial copy of public.animals (' % db), item['msg']
        assert 'duplicate key' in item['msg'] and 'TRUNCATE' in item['msg']
        assert not [r for r in run.results if 'Initial copy still running' in r['task']]
    finally:
        try:
            sub.sql('DROP SUBSCRIPTION IF EXISTS %s' % db, dbname=db)
        except psycopg2.Error:
            pass
        for server in (pub, sub):
            server.sql('DROP DATABASE IF EXISTS %s WITH (FORCE)' % db)
