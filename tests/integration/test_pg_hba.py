# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""pg_hba against real servers: a private server per test (the module rewrites its pg_hba.conf)."""

import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import time

import psycopg2
import psycopg2.extras
import pytest

from conftest import MAJORS
from pgharness import Servers, as_postgres

# The module tests also run on ansible-core 2.16 (make integration: all_cores); the fault tests below
# (issue 10 items 6-9) test the module's own file handling, the same under every ansible-core, and run once.

FQCN = 'pgops.logical_replication.pg_hba'
PASSWORD = 'hba-test-pw'

ORIGINAL = '''# pg_hba.conf of the pg_hba tests
# TYPE  DATABASE        USER            ADDRESS                 METHOD
local   all             all                                     trust
host    all             postgres        127.0.0.1/32            scram-sha-256   # the module's own login

host    all             all             0.0.0.0/0               reject
host    replication     all             0.0.0.0/0               reject
'''

ENTRIES = [
    {'database': 'replication', 'user': 'logic', 'address': '127.0.0.1'},
    {'type': 'host', 'database': 'postgres', 'user': 'logic', 'address': '127.0.0.1/32'},
]

EXPECTED = '''# pg_hba.conf of the pg_hba tests
# TYPE  DATABASE        USER            ADDRESS                 METHOD
local   all             all                                     trust
host    all             postgres        127.0.0.1/32            scram-sha-256   # the module's own login

host    postgres        logic           127.0.0.1/32            scram-sha-256
host    all             all             0.0.0.0/0               reject
host    replication     logic           127.0.0.1/32            scram-sha-256
host    replication     all             0.0.0.0/0               reject
'''


def hba_path(server):
    return os.path.join(server.data, 'pg_hba.conf')


def read_bytes(server):
    with open(hba_path(server), 'rb') as handle:
        return handle.read()


def prepared_server(new_server, conf=None):
    """A server with roles logic and other and the test's own pg_hba.conf loaded."""
    server = new_server(name='hba', conf=conf)
    server.sql("CREATE ROLE logic LOGIN REPLICATION PASSWORD %s; CREATE ROLE other LOGIN PASSWORD %s",
               (PASSWORD, PASSWORD))
    with open(hba_path(server), 'w') as handle:   # keeps the file's owner (postgres) and mode
        handle.write(ORIGINAL)
    server.sql('SELECT pg_reload_conf()')
    return server


def connect_as(server, user, replication=False, attempts=20):
    """A connection as user (physical replication connection if asked); retries while the reload lands."""
    kwargs = dict(host=server.host, port=server.port, user=user, password=PASSWORD, connect_timeout=5,
                  dbname='postgres')
    if replication:
        kwargs['connection_factory'] = psycopg2.extras.PhysicalReplicationConnection
    last = None
    for _attempt in range(attempts):
        try:
            return psycopg2.connect(**kwargs)
        except psycopg2.OperationalError as exc:
            last = exc
            if 'pg_hba.conf rejects' not in str(exc) and 'no pg_hba.conf entry' not in str(exc):
                raise
            time.sleep(0.1)
    raise last


def refused(server, user, replication=False):
    try:
        connect_as(server, user, replication, attempts=1).close()
    except psycopg2.OperationalError as exc:
        return str(exc)
    return None


@pytest.mark.all_cores
def test_entries_quartet_placement_connections_and_absent(ansible, new_server):
    server = prepared_server(new_server)
    stat_before = os.stat(hba_path(server))
    assert 'pg_hba.conf rejects' in refused(server, 'logic')
    args = dict(server.login, entries=ENTRIES)

    check, apply, check_again, apply_again = ansible.quartet('pg_hba', args)

    assert check['diff'] == {'before': ORIGINAL, 'after': EXPECTED}
    assert check['backup_file'] is None
    assert check['queries'] == ['-- write %s' % hba_path(server), 'SELECT pg_reload_conf()']
    assert [(e['action'], e['line']) for e in check['entries']] == [('added', 8), ('added', 6)]

    assert apply['hba_file'] == hba_path(server)
    assert apply['diff'] == check['diff']   # the check run wrote nothing
    with open(apply['backup_file']) as handle:
        assert handle.read() == ORIGINAL
    for later in (check_again, apply_again):
        assert later['entries'] == [] and later['backup_file'] is None

    # the file, its owner and mode, and what PostgreSQL reads from it
    assert read_bytes(server).decode() == EXPECTED
    stat_after = os.stat(hba_path(server))
    assert (stat_after.st_uid, stat_after.st_gid, stat_after.st_mode) == \
        (stat_before.st_uid, stat_before.st_gid, stat_before.st_mode)
    rules = server.sql('SELECT line_number, database, user_name, address, auth_method, error '
                       'FROM pg_hba_file_rules ORDER BY line_number')
    assert rules == [
        (3, ['all'], ['all'], None, 'trust', None),
        (4, ['all'], ['postgres'], '127.0.0.1', 'scram-sha-256', None),
        (6, ['postgres'], ['logic'], '127.0.0.1', 'scram-sha-256', None),
        (7, ['all'], ['all'], '0.0.0.0', 'reject', None),
        (8, ['replication'], ['logic'], '127.0.0.1', 'scram-sha-256', None),
        (9, ['replication'], ['all'], '0.0.0.0', 'reject', None),
    ]

    # the loaded configuration: logic gets in (also for replication), the catch-all still rejects others
    conn = connect_as(server, 'logic')
    with conn.cursor() as cur:
        cur.execute('SELECT current_user')
        assert cur.fetchone() == ('logic',)
    conn.close()
    repl = connect_as(server, 'logic', replication=True)
    with repl.cursor() as cur:
        cur.execute('IDENTIFY_SYSTEM')
        assert len(cur.fetchone()) == 4
    repl.close()
    assert 'pg_hba.conf rejects' in refused(server, 'other')
    assert 'pg_hba.conf rejects' in refused(server, 'other', replication=True)

    # absent: the same entries (whatever their method) go, the file is the original again
    absent = [dict(e, method='md5') for e in ENTRIES]
    check, apply, check_again, apply_again = ansible.quartet('pg_hba', dict(server.login, entries=absent,
                                                                            state='absent'))
    assert check['diff'] == {'before': EXPECTED, 'after': ORIGINAL}
    assert [(e['action'], e['line']) for e in apply['entries']] == [('removed', 8), ('removed', 6)]
    assert read_bytes(server).decode() == ORIGINAL
    assert 'pg_hba.conf rejects' in refused(server, 'logic', replication=True)


@pytest.mark.all_cores
def test_bad_entries_never_reach_the_file_or_the_server(ansible, new_server):
    server = prepared_server(new_server, conf={'log_statement': 'all'})
    before = read_bytes(server)
    listing = sorted(os.listdir(server.data))
    loaded = server.value('SELECT pg_conf_load_time()')
    base = {'database': 'postgres', 'user': 'logic'}
    run = ansible.tasks([
        {'name': 'bad method', FQCN: dict(server.login, entries=[dict(base, address='127.0.0.1/32',
                                                                      method='bogus')])},
        {'name': 'bad option', FQCN: dict(server.login, entries=[dict(base, address='127.0.0.1/32',
                                                                      options={'nonsense': 'x'})])},
        {'name': 'bad address', FQCN: dict(server.login, entries=[dict(base, address='127.0.0.999/32')])},
        {'name': 'local with address', FQCN: dict(server.login, entries=[dict(base, type='local',
                                                                              address='127.0.0.1/32')])},
        {'name': 'secret option', 'check_mode': True, 'diff': True,
         FQCN: dict(server.login, entries=[dict(base, address='127.0.0.1/32', method='ldap', options={
             'ldapserver': '127.0.0.1', 'ldapbasedn': 'dc=zoo', 'ldapbindpasswd': 'Ldap-Secret-55'})])},
    ], verbosity=3)
    method, option, address, local, secret = [r['result'] for r in run.results]
    assert secret['changed'] is True and '********' in secret['diff']['after'], secret
    assert 'Ldap-Secret-55' not in run.stdout + run.stderr
    for result in (method, option, address, local):
        assert result.get('failed') is True and result['changed'] is False, result
    assert 'PostgreSQL refused the new pg_hba.conf: %s line 6 (host    postgres        logic           ' \
        '127.0.0.1/32            bogus): invalid authentication method "bogus". The original file was put ' \
        'back and the configuration was not reloaded.' % hba_path(server) in method['msg']
    assert 'unrecognized authentication option name: "nonsense"' in option['msg']
    assert option['msg'].startswith('PostgreSQL refused the new pg_hba.conf: ')
    assert address['msg'] == ("entries[1]: address '127.0.0.999/32' is not an IP address in CIDR notation "
                              "(for example 192.0.2.10/32 or 2001:db8::/64). Nothing was changed.")
    assert local['msg'].startswith('entries[1]: a local entry has no address')
    for result in (method, option, address, local):
        assert result['queries'] == []

    # byte for byte the same file, no backup or temporary file left, no reload happened
    assert read_bytes(server) == before
    assert sorted(os.listdir(server.data)) == listing
    assert server.value('SELECT pg_conf_load_time()') == loaded
    assert server.value('SELECT count(*) FROM pg_hba_file_rules WHERE error IS NOT NULL') == 0
    assert 'pg_hba.conf rejects' in refused(server, 'logic')

    # a run that changes nothing: one connection, at most two statements
    since = server.log_size()
    result = ansible.module('pg_hba', dict(server.login, entries=[dict(base, address='127.0.0.1/32')],
                                           state='absent'))
    assert result['changed'] is False and not result.get('failed'), result
    sessions, statements = server.statements_of(FQCN, since)
    assert len(sessions) == 1 and len(statements) <= 2, statements


@pytest.mark.all_cores
@pytest.mark.parametrize('entry, line', [
    # an earlier "host all all 127.0.0.1/32 trust" matches first: the entry goes above it
    ({'database': 'postgres', 'user': 'logic', 'address': '127.0.0.1/32', 'method': 'reject'}, 3),
])
def test_entry_goes_above_an_earlier_line_that_matches_first(ansible, new_server, entry, line):
    server = new_server(name='hba')
    server.sql('CREATE ROLE logic LOGIN PASSWORD %s', (PASSWORD,))
    text = ('local all all trust\nhost all postgres 127.0.0.1/32 scram-sha-256\n'
            'host all all 127.0.0.1/32 trust\n')
    with open(hba_path(server), 'w') as handle:
        handle.write(text)
    server.sql('SELECT pg_reload_conf()')
    assert refused(server, 'logic') is None   # trust lets logic in
    result = ansible.module('pg_hba', dict(server.login, entries=[entry]))
    assert result['changed'] is True and not result.get('failed'), result
    assert result['entries'][0]['line'] == line
    assert read_bytes(server).decode().splitlines()[line - 1].split() == ['host', 'postgres', 'logic',
                                                                          '127.0.0.1/32', 'reject']
    message = None
    for _attempt in range(20):   # until the reload has reached the postmaster
        message = refused(server, 'logic')
        if message:
            break
        time.sleep(0.1)
    assert 'pg_hba.conf rejects' in message


# -- faults and hostile input (issue 10 items 6-9): one major, the first of PGOPS_TEST_MAJORS ---------------

def one_server(servers, conf=None, text=ORIGINAL):
    """A private server of the first major with roles logic and other and ``text`` as its pg_hba.conf."""
    server = servers(MAJORS[0], name='hba', conf=conf)
    server.sql("CREATE ROLE logic LOGIN REPLICATION PASSWORD %s; CREATE ROLE other LOGIN PASSWORD %s",
               (PASSWORD, PASSWORD))
    with open(server.setting('hba_file'), 'w') as handle:   # keeps the file's owner (postgres) and mode
        handle.write(text)
    server.sql('SELECT pg_reload_conf()')
    return server


def hba_rules(server):
    return server.sql('SELECT line_number, type, database, user_name, auth_method, error FROM pg_hba_file_rules '
                      'ORDER BY line_number')


def test_ten_concurrent_runs_each_keep_their_entry(ansible, work_root, monkeypatch):
    """Ten runs at once (ten inventory hosts, all this machine, forks=10), each adding its own entry."""
    with Servers(work_root) as servers:
        server = one_server(servers)
        users = ['u%d' % n for n in range(10)]
        inventory = os.path.join(work_root, 'hba-ten-%d.json' % time.time_ns())
        with open(inventory, 'w') as handle:
            json.dump({'all': {'hosts': dict((user, {}) for user in users), 'vars': {
                'ansible_connection': 'local', 'ansible_python_interpreter': sys.executable}}}, handle)
        play = [{'name': 'ten at once', 'hosts': 'all', 'gather_facts': False, 'tasks': [
            {'name': 'entry of this host', FQCN: dict(server.login, entries=[
                {'database': 'postgres', 'user': '{{ inventory_hostname }}', 'address': '127.0.0.1/32'}])}]}]
        monkeypatch.setenv('ANSIBLE_FORKS', '10')

        first = ansible.playbook(play, inventory=inventory)
        assert first.rc == 0, first.output[-4000:]
        assert sorted(r['host'] for r in first.results if r['result'].get('changed')) == users
        text = read_bytes(server).decode()
        for user in users:
            assert text.count(' %s ' % user) == 1, text
        seen = [row for row in hba_rules(server) if row[3][0] in users]
        assert sorted(row[3][0] for row in seen) == users
        assert all(row[5] is None for row in hba_rules(server))

        again = ansible.playbook(play, inventory=inventory)
        assert again.rc == 0, again.output[-4000:]
        assert [r['host'] for r in again.results if r['result'].get('changed')] == []
        assert read_bytes(server).decode() == text


def start_in_own_mount_namespace(server, mounted, over):
    """Restart ``server`` in a mount namespace where directory ``mounted`` is bind-mounted over ``over``:
    the server reads another file at the same path than processes outside (as in a container)."""
    server.stop()
    subprocess.run(['unshare', '--mount', '--propagation', 'private', 'sh', '-c',
                    'mount --bind "$1" "$2" && exec runuser -u postgres -- "$3" -D "$4" -l "$5" -w -t 60 start',
                    'sh', mounted, over, os.path.join(server.bin, 'pg_ctl'), server.data, server.logfile],
                   check=True, capture_output=True, text=True, stdin=subprocess.DEVNULL)


def test_a_file_the_server_does_not_read_fails(ansible, work_root):
    """The module runs on a host (here: a mount namespace) where hba_file's path is another file."""
    base = tempfile.mkdtemp(prefix='hba-mounts-', dir=work_root)
    os.chmod(base, 0o755)
    ours, theirs = os.path.join(base, 'conf'), os.path.join(base, 'server-conf')
    for directory in (ours, theirs):
        os.makedirs(directory)
        with open(os.path.join(directory, 'pg_hba.conf'), 'w') as handle:
            handle.write(ORIGINAL)
        for path in (directory, os.path.join(directory, 'pg_hba.conf')):
            shutil.chown(path, 'postgres', 'postgres')
    path = os.path.join(ours, 'pg_hba.conf')
    with Servers(work_root) as servers:
        server = servers(MAJORS[0], name='hba', conf={'hba_file': "'%s'" % path})
        start_in_own_mount_namespace(server, theirs, ours)
        assert server.setting('hba_file') == path
        loaded = server.value('SELECT pg_conf_load_time()')
        rules = hba_rules(server)
        entry = {'database': 'postgres', 'user': 'logic', 'address': '127.0.0.1/32'}
        with_entry = ORIGINAL.replace('\nhost    all             all ',
                                      '\nhost    postgres        logic           127.0.0.1/32            '
                                      'scram-sha-256\nhost    all             all ', 1)
        run = ansible.tasks([
            # the same text on both sides: found once the new file is written
            {'name': 'identical copy', FQCN: dict(server.login, entries=[entry])},
            # the copy already has the entry (as an earlier run left it): found before anything is written
            {'name': 'left by an earlier run', 'ansible.builtin.copy': {'dest': path, 'content': with_entry}},
            {'name': 'entry only in the copy', FQCN: dict(server.login, entries=[entry])},
        ])
        written, _copy, noop = [r['result'] for r in run.results]
        for result in (written, noop):
            assert result.get('failed') is True and result['changed'] is False, result
            assert '%s on this host is not the file the server reads' % path in result['msg'], result['msg']
            assert 'delegate_to' in result['msg']
        assert written['msg'].endswith('The file written was put back and the configuration was not reloaded.')
        assert noop['msg'].endswith('Nothing was changed.')
        with open(path) as handle:
            assert handle.read() == with_entry   # the copy task's text; the module put its own write back
        with open(os.path.join(theirs, 'pg_hba.conf')) as handle:
            assert handle.read() == ORIGINAL
        assert sorted(os.listdir(ours)) == ['pg_hba.conf'] and os.listdir(theirs) == ['pg_hba.conf']
        assert hba_rules(server) == rules
        assert server.value('SELECT pg_conf_load_time()') == loaded


KILL_BEFORE_RENAME = '''
import os
_directory = os.environ.get('PGOPS_TEST_KILL_IN')
if _directory:
    _fsync = os.fsync

    def _killed(fd):
        name = os.readlink('/proc/self/fd/%d' % (fd if isinstance(fd, int) else fd.fileno()))
        if os.path.dirname(name) == _directory and os.path.basename(name) != 'pg_hba.conf':
            os.kill(os.getpid(), 9)   # killed while writing a new file next to pg_hba.conf, before any rename
        return _fsync(fd)

    os.fsync = _killed
'''


def base_backup(server, target):
    binary = os.path.join(server.bin, 'pg_basebackup')
    return as_postgres([binary, '-h', server.socket_dir, '-p', str(server.port), '-U', 'postgres', '-D', target,
                        '-X', 'none', '-c', 'fast', '--no-sync', '--no-manifest'], check=False)


def test_a_killed_run_never_breaks_a_base_backup_and_backup_false_leaves_nothing(ansible, work_root):
    hooks = tempfile.mkdtemp(prefix='hba-hooks-', dir=work_root)
    with open(os.path.join(hooks, 'sitecustomize.py'), 'w') as handle:
        handle.write(KILL_BEFORE_RENAME)
    text = 'local   replication     all                                     trust\n' + ORIGINAL
    with Servers(work_root) as servers:
        server = one_server(servers, text=text)
        if not os.path.exists(os.path.join(server.bin, 'pg_basebackup')):
            pytest.skip('no pg_basebackup for PostgreSQL %s' % server.major)
        listing = sorted(os.listdir(server.data))
        stat_before = os.stat(hba_path(server))
        entry = {'database': 'postgres', 'user': 'logic', 'address': '127.0.0.1/32'}
        run = ansible.tasks([
            {'name': 'killed', FQCN: dict(server.login, entries=[entry], backup=False),
             'environment': {'PYTHONPATH': hooks, 'PGOPS_TEST_KILL_IN': server.data}},
        ])
        killed = run.results[0]['result']
        assert killed.get('failed') is True and 'entries' not in killed, killed
        assert read_bytes(server).decode() == text
        target = os.path.join(server.dir, 'base-backup')
        backup = base_backup(server, target)
        assert backup.returncode == 0, backup.stderr
        left = sorted(set(os.listdir(server.data)) - set(listing))
        assert len(left) == 1 and left[0].startswith('pgsql_tmp.pg_hba.conf.'), left   # the temporary file only
        info = os.stat(os.path.join(server.data, left[0]))
        assert (info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)) == \
            (stat_before.st_uid, stat_before.st_gid, stat.S_IMODE(stat_before.st_mode))
        assert left[0] not in os.listdir(target)

        # the next run (backup: false) adds the entry, removes what the killed run left, and leaves nothing
        result = ansible.module('pg_hba', dict(server.login, entries=[entry], backup=False))
        assert result['changed'] is True and not result.get('failed'), result
        assert result['backup_file'] is None
        assert sorted(os.listdir(server.data)) == listing
        assert [row for row in hba_rules(server) if row[3] == ['logic']] == \
            [(result['entries'][0]['line'], 'host', ['postgres'], ['logic'], 'scram-sha-256', None)]
        stat_after = os.stat(hba_path(server))
        assert (stat_after.st_uid, stat_after.st_gid, stat_after.st_mode) == \
            (stat_before.st_uid, stat_before.st_gid, stat_before.st_mode)


READ_ONLY_PYTHON = """#!/bin/sh
# the module's interpreter, in a mount namespace where the directory of hba_file is mounted read-only
exec unshare --mount --propagation private sh -c 'mount -o bind,ro "$0" "$0" && exec "$@"' %s %s "$@"
"""


def test_a_directory_that_cannot_be_written_gives_a_clear_error(ansible, work_root):
    """hba_file outside the data directory, in a directory mounted read-only where the module runs (as a
    container's configuration mount): even root cannot create the temporary file or the backup there."""
    directory = tempfile.mkdtemp(prefix='hba-readonly-', dir=work_root)
    os.chmod(directory, 0o755)
    path = os.path.join(directory, 'pg_hba.conf')
    with open(path, 'w') as handle:
        handle.write(ORIGINAL)
    for name in (directory, path):
        shutil.chown(name, 'postgres', 'postgres')
    interpreter = os.path.join(work_root, 'read-only-python-%d' % time.time_ns())
    with open(interpreter, 'w') as handle:
        handle.write(READ_ONLY_PYTHON % (directory, sys.executable))
    os.chmod(interpreter, 0o755)
    with Servers(work_root) as servers:
        server = servers(MAJORS[0], name='hba', conf={'hba_file': "'%s'" % path})
        loaded = server.value('SELECT pg_conf_load_time()')
        entry = {'database': 'postgres', 'user': 'logic', 'address': '127.0.0.1/32'}
        run = ansible.tasks([
            {'name': 'backup %s' % backup, 'vars': {'ansible_python_interpreter': interpreter},
             FQCN: dict(server.login, entries=[entry], backup=backup)}
            for backup in (True, False)])
        for result in (r['result'] for r in run.results):
            assert result.get('failed') is True and result['changed'] is False, result
            assert "Traceback" not in json.dumps(result), result
            assert re.match(r"Could not write %s(\.\d+\..*~)?: cannot create a file in %s \(Read-only file system\)\. "
                            r"The module writes the new file next to the old one and renames it over it, so it "
                            r"needs write access to that directory: run it as the owner of the directory or as "
                            r"root \(become: true, with become_user if needed\)\. Nothing was changed\.$"
                            % (re.escape(path), re.escape(directory)), result['msg']), result['msg']
        with open(path) as handle:
            assert handle.read() == ORIGINAL
        assert os.listdir(directory) == ['pg_hba.conf']
        assert server.value('SELECT pg_conf_load_time()') == loaded


# the characters where Python splits a line and PostgreSQL does not (tab, DEL and the rest: unit tests)
SEPARATORS = ['\r', '\u2028', '\u2029', '\x85', '\x0b', '\x0c', '\x1c', '\x1d', '\x1e']


def test_control_and_line_separator_characters_are_refused(ansible, work_root):
    """A quoted user with CR or a Unicode line separator: refused in every field, nothing changed. A line
    the file already has with such a character is kept, and the line numbers are PostgreSQL's."""
    weird = 'host    all             "we\u2028ird"       127.0.0.1/32            reject\n'
    text = weird + ORIGINAL
    with Servers(work_root) as servers:
        server = one_server(servers, text=text)
        assert [row[3] for row in hba_rules(server)][:1] == [['we\u2028ird']]
        base = {'database': 'postgres', 'user': 'logic', 'address': '127.0.0.1/32'}
        cases = [('user', dict(base, user='"lo%sgic"' % char)) for char in SEPARATORS]
        cases += [('database', dict(base, database='"post\rgres"')),
                  ('address', dict(base, address='db.example.com\u2028')),
                  ('method', dict(base, method='trust\x0b')),
                  ('option map', dict(base, method='ident', options={'map': 'a\u2029b'}))]
        run = ansible.tasks([{'name': 'refused %d' % n, FQCN: dict(server.login, entries=[item])}
                             for n, (_what, item) in enumerate(cases)] +
                            [{'name': 'another entry', FQCN: dict(server.login, entries=[base])},
                             {'name': 'again', FQCN: dict(server.login, entries=[base])}])
        results = [r['result'] for r in run.results]
        for (what, item), result in zip(cases, results):
            assert result.get('failed') is True and result['changed'] is False, (item, result)
            assert result['queries'] == []
            assert result['msg'].startswith('entries[1]: %s ' % what), result['msg']
            assert 'control or line separator character U+' in result['msg']
            assert result['msg'].endswith('Remove it. Nothing was changed.'), result['msg']
        added, again = results[-2:]
        assert added['changed'] is True and not added.get('failed'), added
        assert again['changed'] is False and not again.get('failed'), again
        new = read_bytes(server).decode()
        assert new.startswith(weird) and new.count('logic') == 1
        line = added['entries'][0]['line']
        assert [row for row in hba_rules(server) if row[3] == ['logic']] == \
            [(line, 'host', ['postgres'], ['logic'], 'scram-sha-256', None)]
        assert new.split('\n')[line - 1].split() == ['host', 'postgres', 'logic', '127.0.0.1/32', 'scram-sha-256']
