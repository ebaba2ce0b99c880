# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
import pytest

from ansible_collections.pgops.logical_replication.plugins.module_utils import _sql


# (text, (schema, table), None): accepted; (text, None, message): refused with a message containing it.
@pytest.mark.parametrize('text, expected, message', [
    ('abc', ('public', 'abc'), None),
    ('s.t', ('s', 't'), None),
    ('Mixed.Case', ('Mixed', 'Case'), None),
    ('"my.schema"."my.table"', ('my.schema', 'my.table'), None),
    ('"a ""quoted"" name"', ('public', 'a "quoted" name'), None),
    ('"semi;colon"."x; DROP TABLE y"', ('semi;colon', 'x; DROP TABLE y'), None),
    ('ünïcødé.表', ('ünïcødé', '表'), None),
    ('s."with space"', ('s', 'with space'), None),
    ('', None, 'table name must be a non-empty string'),
    ('a.b.c', None, 'must be "table" or "schema.table"'),
    ('"open', None, 'has an unterminated double quote'),
    ('"a"b', None, 'has text after a closing quote'),
    ('a"b"', None, 'has a quote in the middle of a name part'),
    ('.t', None, 'must be "table" or "schema.table"'),
    ('x' * 64, None, 'is 64 bytes long; PostgreSQL identifiers are at most 63 bytes'),
    ('é' * 32, None, 'is 64 bytes long'),
])
def test_split_qualified(check_input, text, expected, message):
    check_input(_sql.IdentifierError, _sql.split_qualified, text, expected, message)


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
