# -*- coding: utf-8 -*-
# Copyright: pgops.logical_replication contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Identifier handling: the one place that turns user strings into SQL names.

No module builds SQL text from a user string. Names become ``sql.Identifier`` objects of the
driver (psycopg 3 or psycopg2, see _driver: both have the same ``sql`` module) here, a qualified
name as separate parts; values become ``Literal`` objects or bound parameters at the call site.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.pgops.logical_replication.plugins.module_utils._driver import sql
from ansible_collections.pgops.logical_replication.plugins.module_utils._errors import PgOpsError

MAX_IDENTIFIER_BYTES = 63


class IdentifierError(PgOpsError, ValueError):
    """A name the user gave cannot be a PostgreSQL identifier."""


def check_name(name, what='name'):
    """Return name unchanged when it is a valid PostgreSQL identifier, else raise IdentifierError."""
    if not isinstance(name, str) or name == '':
        raise IdentifierError('%s must be a non-empty string' % what)
    if '\x00' in name:
        raise IdentifierError('%s %r contains a NUL byte, which PostgreSQL does not allow' % (what, name))
    size = len(name.encode('utf-8'))
    if size > MAX_IDENTIFIER_BYTES:
        raise IdentifierError(
            '%s %r is %d bytes long; PostgreSQL identifiers are at most %d bytes '
            '(longer names are silently truncated by the server, so the name would not match). '
            'Choose a shorter name.' % (what, name, size, MAX_IDENTIFIER_BYTES))
    return name


def split_qualified(text, default_schema='public', what='table'):
    """Split 'schema.table' into (schema, table).

    Double quotes work as in SQL: '"My Schema"."a.b"' -> ('My Schema', 'a.b'), a doubled quote
    inside quotes is a literal quote. Unquoted parts are taken AS WRITTEN (not lower-cased):
    Ansible users write the names they see in the catalog. A name without a schema gets
    default_schema.
    """
    if not isinstance(text, str) or not text:
        raise IdentifierError('%s name must be a non-empty string' % what)
    parts = []
    current = []
    i = 0
    quoted_part = False
    while i < len(text):
        ch = text[i]
        if ch == '"':
            if current and not quoted_part:
                raise IdentifierError('%s name %r has a quote in the middle of a name part' % (what, text))
            quoted_part = True
            i += 1
            closed = False
            while i < len(text):
                if text[i] == '"':
                    if i + 1 < len(text) and text[i + 1] == '"':
                        current.append('"')
                        i += 2
                        continue
                    closed = True
                    i += 1
                    break
                current.append(text[i])
                i += 1
            if not closed:
                raise IdentifierError('%s name %r has an unterminated double quote' % (what, text))
            if i < len(text) and text[i] != '.':
                raise IdentifierError('%s name %r has text after a closing quote' % (what, text))
            continue
        if ch == '.':
            parts.append(''.join(current))
            current = []
            quoted_part = False
            i += 1
            continue
        current.append(ch)
        i += 1
    parts.append(''.join(current))
    if len(parts) == 1:
        parts.insert(0, default_schema)
    if len(parts) != 2 or not all(parts):
        raise IdentifierError(
            '%s name %r must be "table" or "schema.table"; quote a name that contains a dot, '
            'e.g. \'"my.schema"."my.table"\'' % (what, text))
    return tuple(check_name(p, what) for p in parts)


def ident(*parts):
    """A quoted (possibly qualified) identifier: ident('s', 't') -> "s"."t"."""
    for part in parts:
        check_name(part)
    return sql.Identifier(*parts)


def literal(value):
    """A SQL literal for a value (strings are quoted and escaped by the driver)."""
    return sql.Literal(value)


def join(parts, sep=', '):
    """Join composables with a separator."""
    return sql.SQL(sep).join(parts)


def fragment(text):
    """A piece of this collection's own constant SQL text as a Composable, to nest in ``stmt``.

    Never for a user string: names go through ``ident``, values through ``literal``.
    """
    return sql.SQL(text)


def stmt(template, *args, **kwargs):
    """Compose a statement: template text is ours, args must be Composable (ident/literal)."""
    return sql.SQL(template).format(*args, **kwargs)


def display_name(parts):
    """How a qualified name is shown to users: quote parts only when needed."""
    return '.'.join(_display_part(p) for p in parts)


def _display_part(part):
    simple = part and (part[0].isalpha() or part[0] == '_') and all(
        c.isalnum() or c == '_' for c in part) and part == part.lower() and part.isascii()
    return part if simple else '"%s"' % part.replace('"', '""')
