# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
import pytest

from ansible_collections.pgops.logical_replication.plugins.module_utils import _conninfo

HOSTILE = "p a'ss\\w=rd"


@pytest.mark.parametrize('params, text', [
    ({'host': 'db1', 'port': 5432, 'dbname': 'zoo'}, 'dbname=zoo host=db1 port=5432'),
    ({'user': 'logic', 'password': 'a b'}, "password='a b' user=logic"),
    ({'password': "it's"}, "password=it\\'s"),
    ({'password': 'back\\slash'}, 'password=back\\\\slash'),
    ({'host': 'db1', 'sslmode': None, 'options': ''}, 'host=db1'),
    ({'keepalives': True}, 'keepalives=1'),
])
def test_build(params, text):
    assert _conninfo.build(params) == text


@pytest.mark.parametrize('params', [
    {'host': 'h', 'password': HOSTILE, 'user': 'u'},
    {'host': 'h', 'application_name': 'x y', 'options': '-c search_path=a,b'},
])
def test_build_parse_round_trip(params):
    assert _conninfo.parse(_conninfo.build(params)) == dict((k, str(v)) for k, v in params.items())


@pytest.mark.parametrize('params, message', [
    ({'hots': 'db1'}, "unknown libpq connection keyword 'hots'"),
    ({}, 'a connection needs at least one libpq keyword'),
])
def test_build_errors(params, message):
    with pytest.raises(_conninfo.ConninfoError) as err:
        _conninfo.build(params)
    assert message in str(err.value)


@pytest.mark.parametrize('a, b, same', [
    ('host=a port=5432 dbname=z', {'dbname': 'z', 'host': 'a', 'port': 5432}, True),
    ("host=a password='x y'", 'password=\'x y\'  host=a', True),
    ('host=a port=5433', {'host': 'a', 'port': 5432}, False),
    ('postgresql://u@a:5432/z', 'user=u host=a port=5432 dbname=z', True),
])
def test_same(a, b, same):
    assert _conninfo.same(a, b) is same


@pytest.mark.parametrize('value, shown', [
    ({'host': 'h', 'password': 'secret'}, {'host': 'h', 'password': '********'}),
    ({'host': 'h', 'password': None}, {'host': 'h', 'password': None}),
    ({'sslpassword': 'k'}, {'sslpassword': '********'}),
    ("host=h password='a b'", 'host=h password=********'),
    ('host=h user=u', 'host=h user=u'),
])
def test_mask(value, shown):
    assert _conninfo.mask(value) == shown


@pytest.mark.parametrize('text', [
    HOSTILE,
    _conninfo.build({'password': HOSTILE}),
    "CONNECTION '%s'" % _conninfo.build({'password': HOSTILE}).replace("'", "''"),
    "E'%s'" % _conninfo.build({'password': HOSTILE}).replace("'", "''").replace('\\', '\\\\'),
])
def test_mask_text_catches_every_spelling(text):
    masked = _conninfo.mask_text(text, [HOSTILE])
    assert '********' in masked
    for fragment in ('a\'ss', 'w=rd', "a\\'ss", "a''ss"):
        assert fragment not in masked, masked
