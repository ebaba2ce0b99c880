# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The topology filters (plugins/filter/topology.py): pure functions over the `logical_replication` list."""

import os

import pytest
import yaml

from ansible.errors import AnsibleFilterError

from ansible_collections.pgops.logical_replication.plugins.filter import topology as f

HERE = os.path.dirname(os.path.abspath(__file__))
FILTER_DIR = os.path.join(HERE, '..', '..', '..', '..', 'plugins', 'filter')

TOPOLOGY = [
    {'name': 'zoo', 'publisher': 'rhino', 'subscriber': 'hippo', 'database': 'zoo', 'tables': ['public.abc', 'keepers'],
     'user': 'logic', 'password': 's3cret'},
    {'name': 'zoo_z', 'publisher': 'rhino', 'subscriber': 'zebra', 'database': 'zoo', 'subscriber_database': 'zoo2',
     'tables': [{'name': 'sales.orders', 'where': 'id > 0'}], 'user': 'logic', 'password': 's3cret', 'sslmode': 'require'},
    {'name': 'fish', 'publisher': 'hippo', 'subscriber': 'zebra', 'database': 'aqua', 'all_tables': True,
     'grant_schemas': ['public', 'fish'], 'user': 'swimmer', 'password': 'other'},
]
HOSTVARS = {
    'rhino': {'server_address': '10.0.0.1', 'server_port': 5433},
    'hippo': {'ansible_host': 'fd00::2'},
    'zebra': {'server_address': '', 'ansible_host': '10.0.0.3'},
    'giraffe': {},
}


def test_every_filter_is_documented():
    names = sorted(f.FilterModule().filters())
    for name in names:
        with open(os.path.join(FILTER_DIR, name + '.yml')) as handle:
            doc = yaml.safe_load(handle)
        assert doc['DOCUMENTATION']['name'] == name
        assert doc['EXAMPLES'] and doc['RETURN']['_value']
    assert sorted(n[:-4] for n in os.listdir(FILTER_DIR) if n.endswith('.yml')) == names


@pytest.mark.parametrize('host, side, expected', [
    ('rhino', 'publisher', ['zoo', 'zoo_z']),
    ('rhino', 'subscriber', []),
    ('zebra', 'subscriber', ['zoo_z', 'fish']),
    ('hippo', 'any', ['fish', 'zoo']),  # publisher entries first
    (None, 'any', ['zoo', 'zoo_z', 'fish']),
])
def test_entries_by_side_without_passwords(host, side, expected):
    entries = f.topology_entries(TOPOLOGY, host, side)
    assert [e['name'] for e in entries] == expected
    assert all('password' not in e for e in entries)
    assert 'password' in TOPOLOGY[0]  # the input is not changed


def test_entries_by_name_and_bad_side():
    assert [e['name'] for e in f.topology_entries(TOPOLOGY, names=['fish'])] == ['fish']
    with pytest.raises(AnsibleFilterError, match='side must be one of'):
        f.topology_entries(TOPOLOGY, 'rhino', 'both')
    with pytest.raises(AnsibleFilterError, match='must be a list'):
        f.topology_entries('zoo', 'rhino')
    assert f.topology_entries(None, 'rhino') == []


@pytest.mark.parametrize('entry, expected', [
    ({'name': 'zoo', 'publisher': 'rhino', 'subscriber': 'hippo'}, 's3cret'),
    ({'name': 'fish', 'publisher': 'hippo', 'subscriber': 'zebra'}, 'other'),
    ({'name': 'zoo', 'publisher': 'rhino', 'subscriber': 'zebra'}, ''),  # same name, other subscriber
    ('not an entry', ''),
])
def test_password(entry, expected):
    assert f.topology_password(entry, TOPOLOGY) == expected


@pytest.mark.parametrize('host, address, cidr', [
    ('rhino', '10.0.0.1', '10.0.0.1/32'),     # server_address
    ('hippo', 'fd00::2', 'fd00::2/128'),      # ansible_host, IPv6
    ('zebra', '10.0.0.3', '10.0.0.3/32'),     # an empty server_address does not count
    ('giraffe', 'giraffe', 'giraffe/32'),     # the inventory name
    ('unknown', 'unknown', 'unknown/32'),
])
def test_address_and_cidr(host, address, cidr):
    assert f.host_address(host, HOSTVARS) == address
    assert f.host_cidr(host, HOSTVARS) == cidr


def test_conninfo():
    entry = f.topology_entries(TOPOLOGY, 'hippo', 'subscriber')[0]
    assert f.topology_conninfo(entry, TOPOLOGY, HOSTVARS, application_name='zoo') == {
        'host': '10.0.0.1', 'port': 5433, 'dbname': 'zoo', 'user': 'logic', 'password': 's3cret',
        'sslmode': 'prefer', 'application_name': 'zoo'}
    zebra = f.topology_entries(TOPOLOGY, 'zebra', 'subscriber')
    assert f.topology_conninfo(zebra[0], TOPOLOGY, HOSTVARS, sslmode='disable', connect_timeout='5') == {
        'host': '10.0.0.1', 'port': 5433, 'dbname': 'zoo', 'user': 'logic', 'password': 's3cret',
        'sslmode': 'require', 'connect_timeout': 5}  # the entry's sslmode wins
    assert f.topology_conninfo(zebra[1], TOPOLOGY, HOSTVARS)['port'] == 5432  # no server_port: the default


def test_conninfo_reverse_reaches_the_subscriber_database():
    entry = f.topology_entries(TOPOLOGY, 'zebra', 'subscriber')[0]
    info = f.topology_conninfo(entry, TOPOLOGY, HOSTVARS, reverse=True, application_name='zoo_z_reverse')
    assert (info['host'], info['port'], info['dbname'], info['application_name']) == (
        '10.0.0.3', 5432, 'zoo2', 'zoo_z_reverse')


@pytest.mark.parametrize('tables, expected', [
    (['abc'], [{'table': 'abc', 'schema': 'public', 'name': 'abc', 'qualified': 'public.abc'}]),
    (['sales.orders'], [{'table': 'sales.orders', 'schema': 'sales', 'name': 'orders', 'qualified': 'sales.orders'}]),
    (['"My Schema"."a.b"'],
     [{'table': '"My Schema"."a.b"', 'schema': 'My Schema', 'name': 'a.b', 'qualified': '"My Schema"."a.b"'}]),
    ([{'name': 'abc', 'columns': ['id']}],
     [{'table': 'abc', 'schema': 'public', 'name': 'abc', 'qualified': 'public.abc', 'columns': ['id']}]),
    ([{'name': 'sales.orders', 'where': 'id > 0'}],
     [{'table': 'sales.orders', 'schema': 'sales', 'name': 'orders', 'qualified': 'sales.orders', 'where': 'id > 0'}]),
    ([], []),
])
def test_tables_with_their_schemas(tables, expected):
    assert f.topology_tables({'name': 'e', 'tables': tables}) == expected


def test_a_bad_table_name_is_an_error():
    with pytest.raises(AnsibleFilterError, match=r'entry e: table name .*a\.b\.c'):
        f.topology_tables({'name': 'e', 'tables': ['a.b.c']})


@pytest.mark.parametrize('entry, expected', [
    # unqualified and dict-form tables count too (issue 10 item 14: their sequences were skipped)
    ({'tables': ['abc', {'name': 'keepers'}]}, ['public']),
    ({'tables': [{'name': 'sales.orders'}, '"Odd ""S"""."t"']}, ['sales', 'Odd "S"']),
    ({'schemas': ['s1'], 'tables': ['s2.t', 's1.u']}, ['s1', 's2']),
    ({'all_tables': True}, ['public']),
    ({'all_tables': True, 'grant_schemas': ['a', 'b']}, ['a', 'b']),
])
def test_schemas(entry, expected):
    assert f.topology_schemas(dict(entry, name='e')) == expected


def test_publisher_grants_union_per_database_and_user():
    entries = f.topology_entries(TOPOLOGY, 'rhino', 'publisher') + [
        {'name': 'x', 'database': 'zoo', 'user': 'logic', 'schemas': ['s'], 'tables': ['abc']},
        {'name': 'y', 'database': 'other', 'user': 'logic', 'all_tables': True}]
    assert f.publisher_grants(entries) == [
        {'database': 'zoo', 'name': 'logic', 'tables': ['public.abc', 'keepers', 'sales.orders', 'abc'],
         'schemas': ['s'], 'entry': {'name': 'zoo', 'publisher': 'rhino', 'subscriber': 'hippo'}},
        {'database': 'other', 'name': 'logic', 'tables': [], 'schemas': ['public'],
         'entry': {'name': 'y', 'publisher': None, 'subscriber': None}}]
    # the password of the user: its first entry's (topology_problems refuses two different ones)
    assert f.topology_password(f.publisher_grants(entries)[0]['entry'], TOPOLOGY) == 's3cret'


def test_hba():
    entries = f.topology_entries(TOPOLOGY, 'rhino', 'publisher')
    assert f.topology_hba(entries, HOSTVARS, ['hostssl'], 'scram-sha-256') == [
        {'type': 'hostssl', 'database': 'zoo', 'user': 'logic', 'address': 'fd00::2/128', 'method': 'scram-sha-256'},
        {'type': 'hostssl', 'database': 'zoo', 'user': 'logic', 'address': '10.0.0.3/32', 'method': 'scram-sha-256'}]
    both = f.topology_hba(entries + entries, HOSTVARS, types=['host', 'hostssl'])
    assert len(both) == 4 and all('method' not in line for line in both)
    assert f.topology_hba(entries[1:], HOSTVARS, 'host', reverse=True) == [
        {'type': 'host', 'database': 'zoo2', 'user': 'logic', 'address': '10.0.0.1/32'}]


def test_a_good_topology_has_no_problem():
    hostvars = dict(HOSTVARS, hippo={'ansible_host': 'fd00::2'})
    assert f.topology_problems(TOPOLOGY, hostvars) == []


@pytest.mark.parametrize('topology, expected', [
    (None, ['logical_replication is not defined as a list (see the README)']),
    ('zoo', ['logical_replication is not defined as a list (see the README)']),
    (['zoo'], ['entry 1: is not a dict (name, publisher, subscriber, ...)']),
    ([{'name': 'c', 'publisher': 'rhino', 'subscriber': 'giraffe2', 'database': 'd', 'user': 'u', 'password': 'p'}],
     ['entry 1 (c): subscriber giraffe2 is not in the inventory',
      'entry 1 (c): give tables, schemas or all_tables: true']),
    ([{'publisher': 'rhino', 'subscriber': 'zebra', 'tables': ['t']}],
     ['entry 1 (no name): name is missing', 'entry 1 (no name): database is missing',
      'entry 1 (no name): user is missing', 'entry 1 (no name): password is missing']),
    ([{'name': 'a', 'publisher': 'rhino', 'subscriber': 'zebra', 'database': 5, 'user': 'u', 'password': 'p',
       'all_tables': True, 'schemas': ['s']}],
     ['entry 1 (a): database must be a string', 'entry 1 (a): all_tables cannot be combined with tables or schemas']),
    ([{'name': 'a', 'publisher': 'rhino', 'subscriber': 'zebra', 'database': 'd', 'user': 'u', 'password': 'p',
       'tables': 'public.abc'}], ['entry 1 (a): tables must be a list']),
    ([{'name': 'a', 'publisher': 'rhino', 'subscriber': 'zebra', 'database': 'd', 'user': 'u', 'password': 'p',
       'tables': ['x.y.z']}],
     ['entry 1 (a): table name \'x.y.z\' must be "table" or "schema.table"; quote a name that contains a dot, '
      'e.g. \'"my.schema"."my.table"\'']),
    ([{'name': 'a', 'publisher': 'rhino', 'subscriber': 'rhino', 'database': 'd', 'user': 'u', 'password': 'p',
       'all_tables': True}], ['entry 1 (a): publisher and subscriber are the same database']),
    ([{'name': 'a', 'publisher': 'rhino', 'subscriber': 'giraffe', 'database': 'd', 'user': 'u', 'password': 'p',
       'all_tables': True}],
     ['entry 1 (a): the address of subscriber giraffe (giraffe) is not an IP address; set server_address (or '
      'ansible_host) to its IP address in the inventory: the pg_hba entry needs one']),
])
def test_problems(topology, expected):
    assert f.topology_problems(topology, HOSTVARS) == expected


def test_same_slot_name_on_one_publisher():
    entry = {'name': 'a', 'publisher': 'rhino', 'subscriber': 'zebra', 'database': 'd', 'user': 'u', 'password': 'p',
             'all_tables': True}
    assert f.topology_problems([entry, dict(entry, subscriber='hippo')], HOSTVARS) == [
        'entry 2 (a): another entry of publisher rhino uses the same name (the replication slot name); give each '
        'subscriber its own name or slot_name']
    assert f.topology_problems([entry, dict(entry, subscriber='hippo', slot_name='a2')], HOSTVARS) == []


def test_same_user_with_two_passwords_is_a_problem():
    """Issue 10 item 16: the user would get the first password, the other subscription could not log in."""
    entry = {'name': 'a', 'publisher': 'rhino', 'subscriber': 'zebra', 'database': 'd', 'user': 'u',
             'password': 'pw-1', 'all_tables': True}
    other = dict(entry, name='b', subscriber='hippo', password='pw-2')
    problems = f.topology_problems([entry, other], HOSTVARS)
    assert problems == ['entry 2 (b): user u on publisher rhino, database d, has another password in entry 1 (a); '
                        'the user has one password, so give every entry of the same publisher, database and user '
                        'the same one']
    assert 'pw-1' not in problems[0] and 'pw-2' not in problems[0]
    assert f.topology_problems([entry, dict(other, password='pw-1')], HOSTVARS) == []
    assert f.topology_problems([entry, dict(other, database='e')], HOSTVARS) == []  # another database: another grant


def test_problems_of_one_host():
    topology = [{'name': 'a', 'publisher': 'rhino', 'subscriber': 'zebra', 'database': 'd', 'user': 'u',
                 'password': 'p'},
                {'name': 'b', 'publisher': 'hippo', 'subscriber': 'zebra', 'database': 'd', 'user': 'u',
                 'password': 'p'}]
    assert f.topology_problems(topology, HOSTVARS, host='rhino') == [
        'entry 1 (a): give tables, schemas or all_tables: true']
    assert len(f.topology_problems(topology, HOSTVARS, host='zebra')) == 2
    assert f.topology_problems(topology, HOSTVARS, host='giraffe') == []


@pytest.mark.parametrize('version, feature, expected', [
    (150004, 'publication_schemas', True),
    (140010, 'publication_schemas', False),
    (160000, 'subscription_origin', True),
    (150000, 'subscription_origin', False),
])
def test_pg_supports(version, feature, expected):
    assert f.pg_supports(version, feature) is expected
    assert (f.pg_version_problem(version, feature) == '') is expected


@pytest.mark.parametrize('version, expected', [(150004, '15'), (180000, '18'), (130020, '13')])
def test_pg_major(version, expected):
    assert f.pg_major(version) == expected


def test_pg_version_problem_messages():
    assert f.pg_version_problem(150004, 'subscription_origin') == (
        'origin needs PostgreSQL 16 or later; this server runs PostgreSQL 15.4. '
        'Upgrade the server or leave the option out.')
    assert f.pg_version_problem(180000) == ''
    assert 'runs PostgreSQL 12.3' in f.pg_version_problem(120003)
    with pytest.raises(AnsibleFilterError, match="unknown feature 'no_such_thing'"):
        f.pg_supports(150000, 'no_such_thing')


LOGIN = {'login_user': 'postgres', 'login_password': 'a:b\\c', 'login_host': '127.0.0.1', 'login_unix_socket': '',
         'port': 5433}


@pytest.mark.parametrize('conn, expected', [
    (LOGIN, '127.0.0.1:5433:*:postgres:a\\:b\\\\c\n'),
    (dict(LOGIN, login_unix_socket='/run/postgresql'), 'localhost:5433:*:postgres:a\\:b\\\\c\n'),
    (dict(LOGIN, login_host='', port=None), 'localhost:*:*:postgres:a\\:b\\\\c\n'),
    ({'host': 'fd00::1', 'port': 5432, 'user': 'lo:gic', 'password': 'pw'}, 'fd00\\:\\:1:5432:*:lo\\:gic:pw\n'),
    (dict(LOGIN, login_password=''), ''),  # peer authentication: nothing to write
])
def test_pgpass_line(conn, expected):
    assert f.pgpass_line(conn) == expected


def test_libpq_environment_never_holds_the_password():
    env = f.libpq_environment(LOGIN, dbname='zoo', application_name='app', passfile='/tmp/x.pgpass')
    assert env == {'PGHOST': '127.0.0.1', 'PGPORT': '5433', 'PGUSER': 'postgres', 'PGDATABASE': 'zoo',
                   'PGAPPNAME': 'app', 'PGPASSFILE': '/tmp/x.pgpass'}
    socket = f.libpq_environment(dict(LOGIN, login_unix_socket='/run/postgresql'))
    assert socket['PGHOST'] == '/run/postgresql' and 'PGPASSFILE' not in socket
    entry = f.topology_entries(TOPOLOGY, 'zebra', 'subscriber')[0]
    remote = f.libpq_environment(f.topology_conninfo(entry, TOPOLOGY, HOSTVARS, connect_timeout=10))
    assert remote == {'PGHOST': '10.0.0.1', 'PGPORT': '5433', 'PGUSER': 'logic', 'PGDATABASE': 'zoo',
                      'PGSSLMODE': 'require', 'PGCONNECT_TIMEOUT': '10'}
    assert all('s3cret' not in value for value in remote.values())
    with pytest.raises(AnsibleFilterError, match='expects a dict'):
        f.libpq_environment('host=x')


CASCADE = [
    {'name': 'ab', 'publisher': 'a', 'subscriber': 'b', 'database': 'zoo', 'tables': ['t']},
    {'name': 'bc', 'publisher': 'b', 'subscriber': 'c', 'database': 'zoo', 'tables': ['t']},
    {'name': 'ad', 'publisher': 'a', 'subscriber': 'd', 'database': 'zoo', 'tables': ['t']},
    {'name': 'other', 'publisher': 'e', 'subscriber': 'a', 'database': 'elsewhere', 'tables': ['t']},
    {'name': 'renamed', 'publisher': 'a', 'subscriber': 'f', 'database': 'zoo', 'subscriber_database': 'zoo2',
     'tables': ['t']},
]


@pytest.mark.parametrize('topology, database, order, expected', [
    (CASCADE, 'zoo', 'subscribers_first', ['c', 'd', 'b', 'a']),   # leaf to root; f holds zoo2, e elsewhere
    (CASCADE, 'zoo', 'publishers_first', ['a', 'b', 'd', 'c']),    # root to leaf
    (CASCADE, 'zoo2', 'subscribers_first', ['f']),
    (CASCADE, 'elsewhere', 'publishers_first', ['e', 'a']),
    (CASCADE, 'nowhere', 'subscribers_first', []),
    (TOPOLOGY, 'zoo', 'subscribers_first', ['hippo', 'rhino']),
])
def test_topology_order(topology, database, order, expected):
    assert f.topology_order(topology, database, order) == expected


def test_topology_order_refuses_a_cycle_and_a_bad_order():
    ring = [{'name': 'ab', 'publisher': 'a', 'subscriber': 'b', 'database': 'zoo'},
            {'name': 'ba', 'publisher': 'b', 'subscriber': 'a', 'database': 'zoo'},
            {'name': 'bc', 'publisher': 'b', 'subscriber': 'c', 'database': 'zoo'}]
    with pytest.raises(AnsibleFilterError, match='hosts a, b replicate database zoo to each other in a cycle'):
        f.topology_order(ring, 'zoo')
    with pytest.raises(AnsibleFilterError, match='order must be one of subscribers_first, publishers_first'):
        f.topology_order(CASCADE, 'zoo', 'leaves_first')
