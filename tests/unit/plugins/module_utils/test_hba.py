# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""pg_hba.conf as data: tokens, addresses, overlap of rules, placement of entries."""

import os

import pytest

from ansible_collections.pgops.logical_replication.plugins.module_utils import _hba


def rec(line):
    return _hba.parse_file(line + '\n')[0].record


def entry(type_='host', database='replication', user='logic', address='127.0.0.1/32', method=None, options=None):
    item = dict(type=type_, database=database, user=user, address=address, method=method, options=options)
    return (_hba.entry_record(item), _hba.address_text(address, _hba.entry_record(item).address) if address else None)


@pytest.mark.parametrize('text, fields', [
    ('host all all 127.0.0.1/32 trust', [[('host', False)], [('all', False)], [('all', False)],
                                         [('127.0.0.1/32', False)], [('trust', False)]]),
    ('local db1,db2 "my user" peer # comment', [[('local', False)], [('db1', False), ('db2', False)],
                                                [('my user', True)], [('peer', False)]]),
    ('host a, b u 10.0.0.0/8 md5', [[('host', False)], [('a', False), ('b', False)], [('u', False)],
                                    [('10.0.0.0/8', False)], [('md5', False)]]),
    ('   # only a comment', []),
    ('', []),
    ('host all all ::1/128 ldap ldapprefix="cn=" ldapsuffix=", dc=x"',
     [[('host', False)], [('all', False)], [('all', False)], [('::1/128', False)], [('ldap', False)],
      [('ldapprefix=cn=', True)], [('ldapsuffix=, dc=x', True)]]),
])
def test_tokenize(text, fields):
    assert _hba.tokenize(text) == fields


def test_tokenize_unterminated_quote():
    with pytest.raises(_hba.HbaError, match='unterminated double quote'):
        _hba.tokenize('host "all all 0.0.0.0/0 trust')


@pytest.mark.parametrize('text, mask, expected', [
    ('127.0.0.1/32', None, ('net', '127.0.0.1/32')),
    ('10.1.2.3/8', None, ('net', '10.0.0.0/8')),
    ('10.0.0.0', '255.0.0.0', ('net', '10.0.0.0/8')),
    ('::1/128', None, ('net', '::1/128')),
    ('fe80::', 'ffff:ffff:ffff:ffff::', ('net', 'fe80::/64')),
    ('all', None, ('kw', 'all')),
    ('samenet', None, ('kw', 'samenet')),
    ('db.example.com', None, ('name', 'db.example.com')),
    ('.example.com', None, ('name', '.example.com')),
])
def test_parse_address(text, mask, expected):
    kind, value = _hba.parse_address(text, mask)
    assert (kind, str(value)) == expected


@pytest.mark.parametrize('text, message', [
    ('127.0.0.999/32', "address '127.0.0.999/32' is not an IP address in CIDR notation"),
    ('10.0.0.0/33', "address '10.0.0.0/33' is not an IP address in CIDR notation"),
    ('300.1.1.1', "address '300.1.1.1' is not an IP address in CIDR notation"),
    ('127.0.0.1', "address '127.0.0.1' is not an IP address in CIDR notation"),
    ('not a host!', "address 'not a host!' is neither an IP address in CIDR notation, a host name"),
])
def test_parse_address_refuses(text, message):
    with pytest.raises(_hba.HbaError) as err:
        _hba.parse_address(text)
    assert str(err.value).startswith(message)


@pytest.mark.parametrize('address, text', [('127.0.0.1', '127.0.0.1/32'), ('::1', '::1/128'),
                                           ('10.0.0.0/8', '10.0.0.0/8'), ('db.example.com', 'db.example.com')])
def test_bare_ip_is_one_host(address, text):
    record, shown = entry(address=address)
    assert shown == text


@pytest.mark.parametrize('line, key, method, options', [
    ('host replication logic 127.0.0.1/32 scram-sha-256',
     ('host', ('replication',), ('logic',), 'net:127.0.0.1/32'), 'scram-sha-256', ()),
    ('host all all 127.0.0.1 255.255.255.255 md5', ('host', ('all',), ('all',), 'net:127.0.0.1/32'), 'md5', ()),
    ('local all postgres peer map=admins', ('local', ('all',), ('postgres',), None), 'peer', (('map', 'admins'),)),
    ('hostssl b,a "U" all cert clientcert=verify-full',
     ('hostssl', ('a', 'b'), ('"U"',), 'kw:all'), 'cert', (('clientcert', 'verify-full'),)),
])
def test_parse_record(line, key, method, options):
    record = rec(line)
    assert (record.key, record.method, record.options) == (key, method, options)


@pytest.mark.parametrize('line, kind', [
    ('include other.conf', 'include'), ('include_dir conf.d', 'include'), ('# comment', 'blank'),
    ('', 'blank'), ('bogus all all trust', 'other'), ('host all all', 'other'),
    ('host all all 127.0.0.1/32 trust', 'record'),
])
def test_line_kinds(line, kind):
    assert _hba.parse_file(line + '\n')[0].kind == kind


def test_parse_file_keeps_the_text_byte_for_byte():
    text = ('# comment\r\n\nlocal all all trust\nhost all all 127.0.0.1/32 \\\n  scram-sha-256\n'
            'include_if_exists extra.conf\nhost "quoted db" all ::1/128 md5   # trailing')
    lines = _hba.parse_file(text)
    assert _hba.text_of(lines) == text
    assert [ln.kind for ln in lines] == ['blank', 'blank', 'record', 'record', 'include', 'record']
    assert lines[3].record.method == 'scram-sha-256'


# The overlap table: is there a connection both lines match (or can it not be ruled out)?
@pytest.mark.parametrize('existing, new, expected', [
    # connection types
    ('host all all 0.0.0.0/0 reject', 'host all logic 127.0.0.1/32 md5', True),
    ('hostssl all all 0.0.0.0/0 reject', 'host all logic 127.0.0.1/32 md5', True),
    ('hostssl all all 0.0.0.0/0 reject', 'hostnossl all logic 127.0.0.1/32 md5', False),
    ('hostgssenc all all 0.0.0.0/0 reject', 'hostssl all logic 127.0.0.1/32 md5', False),
    ('hostnogssenc all all 0.0.0.0/0 reject', 'hostssl all logic 127.0.0.1/32 md5', True),
    ('local all all trust', 'host all logic 127.0.0.1/32 md5', False),
    ('local all all trust', 'local all logic md5', True),
    # databases: all does not match physical replication, replication only matches it
    ('host all all 127.0.0.1/32 trust', 'host replication logic 127.0.0.1/32 md5', False),
    ('host replication all 127.0.0.1/32 trust', 'host replication logic 127.0.0.1/32 md5', True),
    ('host all all 127.0.0.1/32 trust', 'host zoo logic 127.0.0.1/32 md5', True),
    ('host replication all 127.0.0.1/32 trust', 'host zoo logic 127.0.0.1/32 md5', False),
    ('host "replication" all 127.0.0.1/32 trust', 'host replication logic 127.0.0.1/32 md5', False),
    ('host "replication" all 127.0.0.1/32 trust', 'host all logic 127.0.0.1/32 md5', True),
    ('host sameuser all 127.0.0.1/32 trust', 'host zoo logic 127.0.0.1/32 md5', True),
    ('host zoo,farm all 127.0.0.1/32 trust', 'host farm logic 127.0.0.1/32 md5', True),
    ('host zoo all 127.0.0.1/32 trust', 'host farm logic 127.0.0.1/32 md5', False),
    ('host @dbs all 127.0.0.1/32 trust', 'host replication logic 127.0.0.1/32 md5', True),
    ('host /^z all 127.0.0.1/32 trust', 'host farm logic 127.0.0.1/32 md5', True),
    # users
    ('host all other 127.0.0.1/32 trust', 'host all logic 127.0.0.1/32 md5', False),
    ('host all +admins 127.0.0.1/32 trust', 'host all logic 127.0.0.1/32 md5', True),
    ('host all "+admins" 127.0.0.1/32 trust', 'host all logic 127.0.0.1/32 md5', False),
    ('host all logic,other 127.0.0.1/32 trust', 'host all logic 127.0.0.1/32 md5', True),
    ('host all all 127.0.0.1/32 trust', 'host all logic 127.0.0.1/32 md5', True),
    # addresses
    ('host all all 10.0.0.0/8 trust', 'host all logic 127.0.0.1/32 md5', False),
    ('host all all 10.0.0.0/8 trust', 'host all logic 10.1.2.3/32 md5', True),
    ('host all all 10.1.2.3/32 trust', 'host all logic 10.0.0.0/8 md5', True),
    ('host all all ::1/128 trust', 'host all logic 127.0.0.1/32 md5', False),
    ('host all all ::/0 trust', 'host all logic ::1/128 md5', True),
    ('host all all all trust', 'host all logic 127.0.0.1/32 md5', True),
    ('host all all samenet trust', 'host all logic 127.0.0.1/32 md5', True),
    ('host all all .example.com trust', 'host all logic 127.0.0.1/32 md5', True),
    ('host all all 127.0.0.1 255.255.255.255 trust', 'host all logic 127.0.0.1/32 md5', True),
])
def test_overlaps(existing, new, expected):
    assert _hba.overlaps(rec(existing), rec(new)) is expected
    assert _hba.overlaps(rec(new), rec(existing)) is expected


FILE = '''# TYPE  DATABASE USER ADDRESS METHOD
local   all      all                  trust
host    all      postgres 127.0.0.1/32 scram-sha-256
host    all      all      127.0.0.1/32 trust
host    all      all      0.0.0.0/0    reject
host    replication all   0.0.0.0/0    reject
'''


def planned(text, entries, state='present'):
    lines, changes = _hba.plan(_hba.parse_file(text), entries, state)
    return _hba.text_of(lines), [(action, _hba.line_number(lines, line) if action != 'removed' else None)
                                 for action, _r, line in changes]


REPL = 'host    replication     logic           127.0.0.1/32            scram-sha-256\n'
ZOO = 'host    zoo             logic           127.0.0.1/32            scram-sha-256\n'
LINES = FILE.splitlines(True)


@pytest.mark.parametrize('entries, expected_lines, changes', [
    # before the catch-all replication reject (all does not match physical replication)
    ([entry()], LINES[:5] + [REPL] + LINES[5:], [('added', 6)]),
    # the earlier "host all all 127.0.0.1/32 trust" would match first: go before it
    ([entry(database='zoo')], LINES[:3] + [ZOO] + LINES[3:], [('added', 4)]),
    # list order is precedence where entries overlap
    ([entry(database='zoo'), entry(database='zoo,farm', user='all', address='127.0.0.0/8')],
     LINES[:2] + [ZOO, 'host    zoo,farm        all             127.0.0.0/8             scram-sha-256\n'] + LINES[2:],
     [('added', 3), ('added', 4)]),
    # no overlap anywhere: appended
    ([entry(database='zoo', user='other', address='::1', method='md5')],
     LINES + ['host    zoo             other           ::1/128                 md5\n'], [('added', 7)]),
])
def test_plan_places_entries_where_they_take_effect(entries, expected_lines, changes):
    text, done = planned(FILE, entries)
    assert text == ''.join(expected_lines)
    assert done == changes
    # planning again on the result changes nothing
    assert planned(text, entries) == (text, [])


def test_local_all_all_trust_is_found_first_for_local_entries():
    text, done = planned(FILE, [entry(type_='local', database='zoo', user='logic', address=None, method='md5')])
    assert text.splitlines()[1].split() == ['local', 'zoo', 'logic', 'md5']
    assert done == [('added', 2)]


def test_update_in_place_keeps_the_rest():
    text = FILE.replace('host    all      all      0.0.0.0/0    reject\n',
                        'host    all      all      0.0.0.0/0    reject\n' + ZOO.replace('scram-sha-256', 'md5'))
    # existing zoo line below the catch-all: it never took effect, so it is moved up
    new, done = planned(text, [entry(database='zoo')])
    assert new == ''.join(LINES[:3] + [ZOO] + LINES[3:])
    assert done == [('moved', 4)]
    # existing zoo line where it takes effect: method updated in place
    new2, done2 = planned(''.join(LINES[:3] + [ZOO.replace('scram-sha-256', 'md5')] + LINES[3:]),
                          [entry(database='zoo', options={'clientcert': 'verify-ca'})])
    assert new2 == ''.join(LINES[:3] + [ZOO.rstrip('\n') + ' clientcert=verify-ca\n'] + LINES[3:])
    assert done2 == [('updated', 4)]


def test_include_directive_is_a_barrier():
    text = 'local all all trust\ninclude_if_exists more.conf\n'
    new, done = planned(text, [entry()])
    assert new == 'local all all trust\n' + REPL + 'include_if_exists more.conf\n'


def test_file_without_final_newline():
    new, done = planned('local all all trust', [entry()])
    assert new == 'local all all trust\n' + REPL


def test_absent_removes_every_line_of_the_rule():
    text = ''.join(LINES[:3] + [ZOO.replace('scram-sha-256', 'md5')] + LINES[3:] + [ZOO])
    new, done = planned(text, [entry(database='zoo', method='trust')], state='absent')
    assert new == FILE
    assert done == [('removed', None), ('removed', None)]
    assert planned(FILE, [entry(database='zoo')], state='absent') == (FILE, [])


def test_duplicate_entries_refused():
    with pytest.raises(_hba.HbaError, match='two entries have the same type, database, user and address'):
        _hba.plan(_hba.parse_file(FILE), [entry(), entry(address='127.0.0.1', method='md5')], 'present')


@pytest.mark.parametrize('item, message', [
    (dict(type='host', database='all', user='u', address=None), 'a host entry needs an address'),
    (dict(type='local', database='all', user='u', address='127.0.0.1/32'), 'a local entry has no address'),
    (dict(type='hostx', database='all', user='u', address='::1/128'), "type 'hostx' is not one of"),
    (dict(type='host', database='a b', user='u', address='::1/128'), "database 'a b' must be one pg_hba field"),
    (dict(type='host', database='all', user='', address='::1/128'), 'user must be a non-empty string'),
    (dict(type='host', database='all', user='u#x', address='::1/128'), "user 'u#x' may not contain a newline or #"),
    (dict(type='host', database='all', user='u', address='::1/128', method='scram sha'),
     "method 'scram sha' is not an authentication method name"),
    (dict(type='host', database='all', user='u', address='::1/128', options={'a b': 1}), "option name 'a b'"),
    (dict(type='host', database='all', user='u', address='::1/128', options={'map': 'x"y'}),
     'option map may not contain a double quote'),
    (dict(type='host', database='all', user='u', address='1.2.3.4/40'), "address '1.2.3.4/40' is not an IP"),
])
def test_entry_refused(item, message):
    with pytest.raises(_hba.HbaError) as err:
        _hba.entry_record(item)
    assert str(err.value).startswith(message)


def test_render_quotes_and_options():
    record = _hba.entry_record(dict(type='hostssl', database='"my db",zoo', user='all', address='::1',
                                    options={'clientcert': 'verify-full', 'map': 'a b'}))
    assert _hba.render(record, '::1/128') == (
        'hostssl "my db",zoo     all             ::1/128                 scram-sha-256 clientcert=verify-full '
        'map="a b"\n')


# -- control characters and line separators (issue 10 item 9) ----------------------------------
SEPARATORS = ['\r', '\n', '\t', '\x00', '\x0b', '\x0c', '\x1c', '\x1d', '\x1e', '\x1f', '\x7f', '\x85',
              '\u2028', '\u2029']


@pytest.mark.parametrize('char', SEPARATORS)
@pytest.mark.parametrize('field, item', [
    ('user', lambda c: dict(user='"lo%sgic"' % c)),
    ('user', lambda c: dict(user='logic%s' % c)),
    ('database', lambda c: dict(database='"zo%so"' % c)),
    ('address', lambda c: dict(address='db.example.com%s' % c)),
    ('address', lambda c: dict(address='127.0.0.1/32%s' % c)),
    ('method', lambda c: dict(method='trust%s' % c)),
    ('option name', lambda c: dict(options={'ma%sp' % c: 'x'})),
    ('option map', lambda c: dict(options={'map': 'a%sb' % c})),
])
def test_control_and_line_separator_characters_refused(char, field, item):
    values = dict(type='host', database='zoo', user='logic', address='127.0.0.1/32', method=None, options=None)
    values.update(item(char))
    with pytest.raises(_hba.HbaError) as err:
        _hba.entry_record(values)
    assert str(err.value).startswith('%s ' % field)
    assert 'control or line separator character U+%04X' % ord(char) in str(err.value)


def test_lines_end_at_lf_only_as_postgresql_reads_them():
    weird = 'host all "we\u2028i\x85r\x0bd" 127.0.0.1/32 reject\r\n'
    text = weird + 'host all "a\rb" ::1/128 trust\n' + ZOO
    lines = _hba.parse_file(text)
    assert _hba.text_of(lines) == text
    users = [(('we\u2028i\x85r\x0bd', True),), (('a\rb', True),), (('logic', False),)]
    assert [line.record.user for line in lines] == users
    assert _hba.line_number(lines, lines[2]) == 3
    new, done = planned(text, [entry(database='zoo')])
    assert (new, done) == (text, [])


def test_blanks_are_space_tab_and_cr_only():
    # a no-break space is part of a field for PostgreSQL (hba.c pg_isblank), not a separator
    assert _hba.tokenize('host all a\xa0b 10.0.0.0/8\tmd5\r') == [
        [('host', False)], [('all', False)], [('a\xa0b', False)], [('10.0.0.0/8', False)], [('md5', False)]]


# -- the lock (issue 10 item 6) ------------------------------------------------------------------
def test_lock_on_the_directory_excludes_a_second_holder(tmp_path):
    path = str(tmp_path / 'pg_hba.conf')
    with _hba.locked(path, seconds=1):
        with pytest.raises(_hba.PgOpsError) as err:
            with _hba.locked(path, seconds=0.2):
                pass
        assert str(err.value).startswith('Another process has held the lock on %s' % tmp_path)
    with _hba.locked(path, seconds=0.2):   # released
        pass
    assert os.listdir(str(tmp_path)) == []   # nothing created for the lock


def test_a_refused_option_value_is_not_shown():
    with pytest.raises(_hba.HbaError) as err:
        _hba.wanted_entries([dict(type='host', database='zoo', user='logic', address='127.0.0.1', method='ldap',
                                  options={'ldapbindpasswd': 'Sec\u2028ret'})])
    assert 'Sec' not in str(err.value)
    assert str(err.value).startswith('entries[1]: option ldapbindpasswd contains the control or line separator '
                                     'character U+2028')
