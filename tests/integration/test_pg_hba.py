# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""pg_hba against real servers: a private server per test (the module rewrites its pg_hba.conf)."""

import os
import time

import psycopg2
import psycopg2.extras
import pytest

pytestmark = pytest.mark.all_cores  # also run on ansible-core 2.16 (make integration)

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
