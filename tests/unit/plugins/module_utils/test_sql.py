# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
import pytest

from ansible_collections.pgops.logical_replication.plugins.module_utils import _sql


@pytest.mark.parametrize('text, expected', [
    ('abc', ('public', 'abc')),
    ('s.t', ('s', 't')),
    ('Mixed.Case', ('Mixed', 'Case')),
    ('"my.schema"."my.table"', ('my.schema', 'my.table')),
    ('"a ""quoted"" name"', ('public', 'a "quoted" name')),
    ('"semi;colon"."x; DROP TABLE y"', ('semi;colon', 'x; DROP TABLE y')),
    ('ünïcødé.表', ('ünïcødé', '表')),
    ('s."with space"', ('s', 'with space')),
])
def test_split_qualified(text, expected):
    assert _sql.split_qualified(text) == expected


@pytest.mark.parametrize('text, message', [
    ('', 'table name must be a non-empty string'),
    ('a.b.c', 'must be "table" or "schema.table"'),
    ('"open', 'has an unterminated double quote'),
    ('"a"b', 'has text after a closing quote'),
    ('a"b"', 'has a quote in the middle of a name part'),
    ('.t', 'must be "table" or "schema.table"'),
    ('x' * 64, 'is 64 bytes long; PostgreSQL identifiers are at most 63 bytes'),
    ('é' * 32, 'is 64 bytes long'),
])
def test_split_qualified_errors(text, message):
    with pytest.raises(_sql.IdentifierError) as err:
        _sql.split_qualified(text)
    assert message in str(err.value)


def test_63_bytes_is_fine():
    assert _sql.check_name('x' * 63) == 'x' * 63


@pytest.mark.parametrize('parts, shown', [
    (('public', 'abc'), 'public.abc'),
    (('Mixed', 'Case'), '"Mixed"."Case"'),
    (('s', 'a "q"'), 's."a ""q"""'),
    (('s', 'my.table'), 's."my.table"'),
])
def test_display_name(parts, shown):
    assert _sql.display_name(parts) == shown


def test_ident_keeps_parts_separate():
    composed = _sql.ident('my.schema', 'tab"le')
    assert composed == _sql.sql.Identifier('my.schema', 'tab"le')      # the driver's sql module, either driver
    assert composed != _sql.sql.Identifier('my', 'schema', 'tab"le')


def test_ident_refuses_a_long_name():
    with pytest.raises(_sql.IdentifierError):
        _sql.ident('s', 'x' * 64)
