# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shared catalog helpers (module_utils/_catalog.py): LSNs and the subscription table shape."""

import pytest

from ansible_collections.pgops.logical_replication.plugins.module_utils import _catalog


@pytest.mark.parametrize('text, value', [
    ('0/0', 0),
    ('0/3000060', 0x3000060),
    ('16/B374D848', (0x16 << 32) + 0xB374D848),
    ('0/014C0378', 0x14C0378),
    (' 1/0 ', 1 << 32),
    ('FFFFFFFF/FFFFFFFF', 2 ** 64 - 1),
    (None, None),
    ('', None),
])
def test_parse_lsn(text, value):
    assert _catalog.parse_lsn(text) == value


@pytest.mark.parametrize('text', ['0x10', '1/2/3', 'abc/xyz', 'zz', '0-1'])
def test_parse_lsn_errors(text):
    with pytest.raises(_catalog.LsnError, match="is not a WAL position \\(LSN\\); write it as PostgreSQL prints it"):
        _catalog.parse_lsn(text)


def test_parse_lsn_names_what_it_parsed():
    with pytest.raises(ValueError) as err:
        _catalog.parse_lsn('zz', 'an LSN (skip_lsn)')
    assert str(err.value) == "'zz' is not an LSN (skip_lsn); write it as PostgreSQL prints it, e.g. '0/14C0378'."


@pytest.mark.parametrize('later, earlier, diff', [
    ('0/3000100', '0/3000000', 0x100),
    ('1/0', '0/FFFFFFFF', 1),
    ('0/3000000', '0/3000100', 0),       # never negative
    (None, '0/1', None),
    ('0/1', None, None),
])
def test_lsn_diff(later, earlier, diff):
    assert _catalog.lsn_diff(later, earlier) == diff


@pytest.mark.parametrize('code, word', [('i', 'init'), ('d', 'data_copy'), ('f', 'finished_copy'),
                                        ('s', 'synchronized'), ('r', 'ready'), ('x', 'x')])
def test_subscription_tables_state_words(code, word):
    out = _catalog.subscription_tables([dict(schema='My Schema', table='b', state=code, lsn=None)])
    assert out == [dict(name='"My Schema".b', schema='My Schema', table='b', state=word, state_code=code, lsn=None)]
    assert _catalog.not_ready(out) == ([] if code == 'r' else out)


def test_subscription_tables_query_is_one_json_list():
    text = _catalog.SUBSCRIPTION_TABLES.format(oid='s.oid')
    assert 'r.srsubid = s.oid' in text and "'[]'::json" in text and '{' not in text.replace('{oid}', '')


@pytest.mark.parametrize('line, text', [
    (dict(type='local', database=['replication'], user_name=['all'], address=None, auth_method='trust'),
     'local replication all trust'),
    (dict(type='host', database=['replication', 'zoo'], user_name=['+repl', 'logic'], address='10.0.0.0',
          auth_method='scram-sha-256'), 'host replication,zoo +repl,logic 10.0.0.0 scram-sha-256'),
])
def test_hba_text(line, text):
    assert _catalog.hba_text(line) == text
