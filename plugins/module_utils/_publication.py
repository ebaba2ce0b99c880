# -*- coding: utf-8 -*-
# Copyright: pgops.logical_replication contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The logic of the postgresql_publication module: parse the request, read the publication's whole
state in one catalog query, compare as data, and compose the statements.

State is kept as plain data: tables as ``{(schema, table): {'columns': tuple|None, 'where': str|None}}``,
schemas as a sorted list of names, ``publish`` as a list in the canonical order. The same
differences drive ``changed``, the diff and the statements.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import uuid

from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.pgops.logical_replication.plugins.module_utils import _errors, _sql, _versions
from ansible_collections.pgops.logical_replication.plugins.module_utils._errors import PgOpsError

PUBLISH_OPERATIONS = ('insert', 'update', 'delete', 'truncate')
TABLE_KEYS = ('name', 'columns', 'where', 'only')
RELKIND_WORDS = {
    'v': 'a view', 'm': 'a materialized view', 'f': 'a foreign table', 'S': 'a sequence',
    'i': 'an index', 'I': 'a partitioned index', 'c': 'a composite type', 't': 'a TOAST table',
}
IDENTITY_FIX = ('add a primary key, or ALTER TABLE ... REPLICA IDENTITY USING INDEX <a unique index on NOT NULL '
                'columns>, or ALTER TABLE ... REPLICA IDENTITY FULL; or publish only insert/truncate; or set '
                'replica_identity_check to warn or ignore')
PROBE_SQLSTATE = 'PGRB1'
PROBE_NOTICE = 'pgops-probe '


# -- the request ------------------------------------------------------------------------------------

def check_expression(text, what='where'):
    """Return a row filter unchanged when it is one self-contained SQL expression, else raise PgOpsError.

    A row filter is SQL by nature, so it is placed in the statement as written, inside
    ``WHERE (...)``. This check makes sure it cannot leave those parentheses. It splits the text
    into tokens by the rules of PostgreSQL's own lexer with ``standard_conforming_strings = on``
    (the module's session always runs with it on, whatever the database's default): ``'...'``
    (backslash is an ordinary character), ``E'...'`` (backslash escapes), ``$tag$...$tag$``,
    ``"..."``, identifiers (which may contain ``$``) and numbers. Outside those, the parentheses
    must balance and never close more than they opened; a ``;``, a comment, a backslash, and a
    ``$`` that starts no dollar quote are refused, and so is a number followed directly by a
    quote or ``$`` (whose reading differs between server versions). Anything that cannot be
    proven to stay inside the parentheses is refused.
    """
    if not isinstance(text, str) or not text.strip():
        raise PgOpsError('%s must be a non-empty SQL expression, e.g. "status = \'active\'".' % what)
    if '\x00' in text:
        raise PgOpsError('%s contains a NUL byte.' % what)
    depth = 0
    for _index, depth in _depths(_tokens(text, what)):
        if depth < 0:
            raise PgOpsError('%s %r closes a parenthesis it did not open.' % (what, text))
    if depth:
        raise PgOpsError('%s %r has %d unclosed parenthes%s.' % (what, text, depth, 'is' if depth == 1 else 'es'))
    return text


_SPACE = ' \t\n\r\f\v'


def _ident_start(ch):
    """A character that starts an identifier, as PostgreSQL's lexer sees it (every byte >= 0x80 of a
    multibyte character is one)."""
    return ('a' <= ch <= 'z') or ('A' <= ch <= 'Z') or ch == '_' or ord(ch) >= 0x80


def _tag_char(ch):
    return _ident_start(ch) or '0' <= ch <= '9'


def _tokens(text, what='where'):
    """The (kind, text) tokens of an expression, in order (a generator): kinds space, word, number,
    param, string, estring, dollar, qident and op (one character). Raises PgOpsError, when it gets
    there, for what check_expression refuses besides the parentheses."""
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        start = i
        if ch in _SPACE:
            while i < n and text[i] in _SPACE:
                i += 1
            yield ('space', text[start:i])
            continue
        if _ident_start(ch):
            while i < n and (_tag_char(text[i]) or text[i] == '$'):
                i += 1
            word = text[start:i]
            if i < n and text[i] == "'" and word in ('e', 'E'):
                i = _skip_quoted(text, i, "'", True, what)
                yield ('estring', text[start:i])
                continue
            yield ('word', word)
            continue
        if '0' <= ch <= '9' or (ch == '.' and i + 1 < n and '0' <= text[i + 1] <= '9'):
            while i < n and (text[i].isascii() and (text[i].isalnum() or text[i] in '_.')):
                i += 1
            if i < n and text[i] in "'$":
                raise PgOpsError('%s %r has a number directly followed by %s; put a space or an operator between '
                                 'them.' % (what, text, text[i]))
            yield ('number', text[start:i])
            continue
        if ch == "'":
            i = _skip_quoted(text, i, "'", False, what)
            yield ('string', text[start:i])
            continue
        if ch == '"':
            i = _skip_quoted(text, i, '"', False, what)
            yield ('qident', text[start:i])
            continue
        if ch == '$':
            j = i + 1
            if j < n and '0' <= text[j] <= '9':
                while j < n and '0' <= text[j] <= '9':
                    j += 1
                yield ('param', text[i:j])
                i = j
                continue
            if j < n and _ident_start(text[j]):
                while j < n and _tag_char(text[j]):
                    j += 1
            if j < n and text[j] == '$':
                tag = text[i:j + 1]
                end = text.find(tag, j + 1)
                if end < 0:
                    raise PgOpsError('%s %r has an unterminated dollar-quoted string.' % (what, text))
                i = end + len(tag)
                yield ('dollar', text[start:i])
                continue
            raise PgOpsError('%s %r has a "$" that starts no dollar-quoted string ($tag$...$tag$).' % (what, text))
        if text.startswith('--', i) or text.startswith('/*', i):
            raise PgOpsError('%s %r contains an SQL comment; leave comments out of row filters.' % (what, text))
        if ch == ';':
            raise PgOpsError('%s %r contains ";": a row filter is one expression, not statements.' % (what, text))
        if ch == '\\':
            raise PgOpsError(
                '%s %r has a backslash outside a string. The module runs with standard_conforming_strings = on, '
                "as PostgreSQL does by default: a backslash inside '...' is an ordinary character and does not escape "
                "the closing quote; write E'...' for backslash escapes (E'it\\'s')." % (what, text))
        yield ('op', ch)
        i += 1


def _skip_quoted(text, start, quote, backslash_escapes, what):
    """The index after the quoted string or identifier that starts at ``start`` (its quote; for
    ``E'...'`` the quote after the E)."""
    i = start + 1
    n = len(text)
    while i < n:
        ch = text[i]
        if backslash_escapes and ch == '\\':
            i += 2
            continue
        if ch == quote:
            if i + 1 < n and text[i + 1] == quote:
                i += 2
                continue
            return i + 1
        i += 1
    raise PgOpsError('%s %r has an unterminated %s.' % (
        what, text, 'string literal' if quote == "'" else 'quoted identifier'))


def normalise_expression(text):
    """A cheap comparable form of a filter: whitespace collapsed between tokens, outer parentheses removed.

    Used only to avoid asking the server when the requested text already equals what it stores
    (``e > 5`` and ``(e > 5)``); anything else is compared with the server's own deparsed form.
    A text with forms the server never prints (``E'...'``, dollar quotes) or that does not
    tokenize is returned as it is, so it is compared by the server.
    """
    if text is None:
        return None
    try:
        tokens = list(_tokens(text))
    except PgOpsError:
        return text
    if any(kind in ('estring', 'dollar') for kind, _token in tokens):
        return text
    while tokens and tokens[0][0] == 'space':
        tokens.pop(0)
    while tokens and tokens[-1][0] == 'space':
        tokens.pop()
    while len(tokens) >= 2 and tokens[0] == ('op', '(') and tokens[-1] == ('op', ')') and _outer_pair(tokens):
        tokens = tokens[1:-1]
        while tokens and tokens[0][0] == 'space':
            tokens.pop(0)
        while tokens and tokens[-1][0] == 'space':
            tokens.pop()
    return ''.join(' ' if kind == 'space' else token for kind, token in tokens)


def _depths(tokens):
    """(index, parenthesis depth after it) of each '(' and ')' among the tokens."""
    depth = 0
    for index, (kind, token) in enumerate(tokens):
        if kind == 'op' and token in '()':
            depth += 1 if token == '(' else -1
            yield index, depth


def _outer_pair(tokens):
    """True when the first token, '(', closes at the last token."""
    for index, depth in _depths(tokens):
        if depth == 0:
            return index == len(tokens) - 1
    return False


def parse_table(item):
    """One element of ``tables``: "schema.table" or {name, columns, where, only} -> ((schema, table), spec)."""
    if isinstance(item, str):
        item = dict(name=item)
    if not isinstance(item, dict):
        raise PgOpsError('Each element of tables must be a string "schema.table" or a dict with name, columns, '
                         'where and only; got %r.' % (item,))
    unknown = sorted(set(item) - set(TABLE_KEYS))
    if unknown:
        raise PgOpsError('tables element %r has unknown key(s) %s; the keys are name, columns, where and only.'
                         % (item.get('name'), ', '.join(unknown)))
    if not item.get('name'):
        raise PgOpsError('tables element %r has no name.' % (item,))
    key = _sql.split_qualified(item['name'], default_schema='public', what='table')
    columns = item.get('columns')
    if columns is not None:
        if isinstance(columns, str) or not isinstance(columns, (list, tuple)) or not columns:
            raise PgOpsError('tables[%s].columns must be a non-empty list of column names (leave it out to '
                             'publish every column).' % item['name'])
        with _errors.where('tables[%s].columns: ' % item['name']):
            for column in columns:
                _sql.check_name(column, 'column')
        if len(set(columns)) != len(columns):
            raise PgOpsError('tables[%s].columns names a column twice.' % item['name'])
        columns = tuple(columns)
    where = item.get('where')
    if where is not None:
        check_expression(where, 'tables[%s].where' % item['name'])
    only = item.get('only')
    if only is None:
        only = False
    if not isinstance(only, bool):
        try:
            only = boolean(only, strict=True)
        except TypeError:
            raise PgOpsError('tables[%s].only must be true or false; got %r.' % (item['name'], only))
    return key, dict(columns=columns, where=where, only=only)


def parse_params(params):
    """The module options as data, validated before connecting. Raises PgOpsError."""
    name = _sql.check_name(params['name'], 'publication name')
    owner = _sql.check_name(params['owner'], 'owner') if params.get('owner') is not None else None
    schemas = None
    if params.get('schemas') is not None:
        schemas = [_sql.check_name(s, 'schema') for s in params['schemas']]
    tables = None
    if params.get('tables') is not None:
        tables = {}
        for item in params['tables']:
            key, spec = parse_table(item)
            if key in tables:
                raise PgOpsError('Table %s is listed twice in tables.' % _sql.display_name(key))
            tables[key] = spec
    if schemas is not None:
        if len(set(schemas)) != len(schemas):
            raise PgOpsError('A schema is listed twice in schemas.')
        schemas = sorted(schemas)
    publish = None
    if params.get('publish') is not None:
        wrong = [p for p in params['publish'] if p not in PUBLISH_OPERATIONS]
        if wrong:
            raise PgOpsError('publish may contain only insert, update, delete and truncate; got %s.'
                             % ', '.join(map(str, wrong)))
        publish = [p for p in PUBLISH_OPERATIONS if p in params['publish']]
    if params.get('all_tables') and (tables or schemas):
        raise PgOpsError('all_tables: true cannot be combined with tables or schemas: a FOR ALL TABLES publication '
                         'already publishes every table. Give one or the other.')
    return dict(name=name, state=params.get('state') or 'present', all_tables=params.get('all_tables'),
                tables=tables, schemas=schemas, publish=publish,
                publish_via_partition_root=params.get('publish_via_partition_root'),
                publish_generated_columns=params.get('publish_generated_columns'),
                owner=owner, comment=params.get('comment'),
                replica_identity_check=params.get('replica_identity_check') or 'fail')


def features(spec):
    """The version gates the request needs (keys of _versions.FEATURES)."""
    needed = []
    tables = spec['tables'] or {}
    if any(t['where'] is not None for t in tables.values()):
        needed.append('publication_row_filter')
    if any(t['columns'] is not None for t in tables.values()):
        needed.append('publication_column_list')
    if spec['schemas']:
        needed.append('publication_schemas')
    if spec['publish_generated_columns'] is not None:
        needed.append('publication_generated_columns')
    return needed


# -- reading the catalog ------------------------------------------------------------------------------

READ_QUERY = """
WITH RECURSIVE pub AS (
  SELECT p.oid, p.puballtables AS all_tables,
         ARRAY_REMOVE(ARRAY[CASE WHEN p.pubinsert THEN 'insert' END, CASE WHEN p.pubupdate THEN 'update' END,
                            CASE WHEN p.pubdelete THEN 'delete' END, CASE WHEN p.pubtruncate THEN 'truncate' END], NULL) AS publish,
         p.pubviaroot AS publish_via_partition_root,
         {gencols} AS publish_generated_columns,
         pg_get_userbyid(p.pubowner) AS owner,
         obj_description(p.oid, 'pg_publication') AS comment
  FROM pg_publication p WHERE p.pubname = %(name)s
), listed AS (
  SELECT w.nsp, w.rel, w.ord, w.only_table, c.oid AS relid, c.relkind, c.relpersistence, c.relreplident
  FROM unnest(%(t_schemas)s::text[], %(t_names)s::text[], %(t_only)s::bool[]) WITH ORDINALITY
       AS w(nsp, rel, only_table, ord)
  LEFT JOIN pg_namespace n ON n.nspname = w.nsp
  LEFT JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = w.rel
), inherited AS (
  -- the inheritance descendants of a regular table listed without ONLY, which PostgreSQL publishes with it
  SELECT l.ord, i.inhrelid AS relid FROM listed l JOIN pg_inherits i ON i.inhparent = l.relid
  WHERE l.relkind = 'r' AND NOT l.only_table
  UNION
  SELECT h.ord, i.inhrelid FROM inherited h JOIN pg_inherits i ON i.inhparent = h.relid
), wanted AS (
  SELECT l.nsp, l.rel, l.ord, NULL::text AS parent_nsp, NULL::text AS parent_rel,
         l.relid, l.relkind, l.relpersistence, l.relreplident
  FROM listed l
  UNION ALL
  SELECT n.nspname::text, c.relname::text, l.ord, l.nsp, l.rel, c.oid, c.relkind, c.relpersistence, c.relreplident
  FROM inherited h JOIN listed l ON l.ord = h.ord JOIN pg_class c ON c.oid = h.relid
  JOIN pg_namespace n ON n.oid = c.relnamespace
), members AS (
  SELECT r.prrelid AS relid FROM pg_publication_rel r JOIN pub ON r.prpubid = pub.oid
), member_schemas AS (
  {member_schemas}
), candidates AS (
  SELECT w.relid FROM wanted w WHERE w.relid IS NOT NULL
  UNION SELECT m.relid FROM members m WHERE NOT %(tables_managed)s
  UNION SELECT t.relid FROM wanted w, LATERAL pg_partition_tree(w.relid) t WHERE w.relid IS NOT NULL
  UNION SELECT t.relid FROM members m, LATERAL pg_partition_tree(m.relid) t WHERE NOT %(tables_managed)s
)
SELECT
  (SELECT row_to_json(pub) FROM pub) AS publication,
  COALESCE((SELECT json_agg(json_build_object(
        'schema', n.nspname, 'table', c.relname, 'where', {prqual},
        'columns', {prattrs}, 'filter_columns', {filter_columns}) ORDER BY n.nspname, c.relname)
    FROM pg_publication_rel r JOIN pub ON r.prpubid = pub.oid
    JOIN pg_class c ON c.oid = r.prrelid JOIN pg_namespace n ON n.oid = c.relnamespace), '[]') AS tables,
  COALESCE((SELECT json_agg(ms.nspname ORDER BY ms.nspname) FROM member_schemas ms), '[]') AS schemas,
  COALESCE((SELECT json_agg(json_build_object(
        'schema', w.nsp, 'table', w.rel, 'exists', w.relid IS NOT NULL, 'relkind', w.relkind,
        'persistence', w.relpersistence, 'parent_schema', w.parent_nsp, 'parent_table', w.parent_rel,
        'columns', (SELECT json_agg(a.attname ORDER BY a.attnum) FROM pg_attribute a
                    WHERE a.attrelid = w.relid AND a.attnum > 0 AND NOT a.attisdropped),
        'identity', w.relreplident,
        'identity_columns', CASE w.relreplident
            WHEN 'f' THEN (SELECT json_agg(a.attname ORDER BY a.attnum) FROM pg_attribute a
                           WHERE a.attrelid = w.relid AND a.attnum > 0 AND NOT a.attisdropped)
            WHEN 'n' THEN NULL
            ELSE (SELECT json_agg(a.attname ORDER BY a.attnum) FROM pg_index i
                  JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey::int2[])
                  WHERE i.indrelid = w.relid
                    AND CASE WHEN w.relreplident = 'd' THEN i.indisprimary ELSE i.indisreplident END)
            END) ORDER BY w.ord, w.parent_nsp IS NOT NULL, w.nsp, w.rel) FROM wanted w), '[]') AS requested_tables,
  COALESCE((SELECT json_agg(s.nsp ORDER BY s.nsp) FROM unnest(%(schemas)s::text[]) AS s(nsp)
            WHERE NOT EXISTS (SELECT 1 FROM pg_namespace n WHERE n.nspname = s.nsp)), '[]') AS missing_schemas,
  (SELECT r.rolsuper FROM pg_roles r WHERE r.rolname = current_user) AS superuser,
  current_user AS current_user,
  (%(owner)s::text IS NULL OR EXISTS (SELECT 1 FROM pg_roles r WHERE r.rolname = %(owner)s)) AS owner_exists,
  COALESCE((SELECT json_agg(json_build_object('schema', n.nspname, 'table', c.relname,
        'identity', c.relreplident) ORDER BY n.nspname, c.relname)
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind = 'r' AND c.relpersistence = 'p'
      AND (c.relreplident = 'n'
           OR (c.relreplident = 'd' AND NOT EXISTS (
                 SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary))
           OR (c.relreplident = 'i' AND NOT EXISTS (
                 SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisreplident)))
      AND (((%(all_tables)s OR (%(keep_all)s AND EXISTS (SELECT 1 FROM pub WHERE pub.all_tables)))
            AND n.nspname NOT IN ('pg_catalog', 'information_schema')
            AND n.nspname !~ '^pg_(toast|temp)')
           OR n.nspname = ANY(%(schemas)s::text[])
           OR (NOT %(schemas_managed)s AND n.nspname IN (SELECT ms.nspname FROM member_schemas ms))
           OR c.oid IN (SELECT cd.relid FROM candidates cd))), '[]') AS identity_problems
"""


# The columns a stored row filter uses (the Var nodes of its node tree).
FILTER_COLUMNS = ("(SELECT json_agg(a.attname ORDER BY a.attnum) FROM pg_attribute a "
                  "WHERE a.attrelid = {rel}.prrelid AND a.attnum IN ("
                  "SELECT m[1]::int2 FROM regexp_matches({rel}.prqual::text, ':varattno ([0-9]+)', 'g') AS m))")


def read_query(version):
    """The one catalog query, with the parts that exist on this server version."""
    return READ_QUERY.format(
        gencols=_versions.column('publication_generated_columns', version,
                                 "CASE p.pubgencols WHEN 's' THEN 'stored' ELSE 'none' END", 'text'),
        prqual=_versions.column('publication_row_filter', version, 'pg_get_expr(r.prqual, r.prrelid)', 'text'),
        prattrs=_versions.column('publication_column_list', version,
                                 '(SELECT json_agg(a.attname ORDER BY a.attnum) FROM pg_attribute a '
                                 'WHERE a.attrelid = r.prrelid AND a.attnum = ANY(r.prattrs::int2[]))', 'json'),
        filter_columns=_versions.column('publication_row_filter', version, FILTER_COLUMNS.replace('{rel}', 'r'),
                                        'json'),
        member_schemas=('SELECT n.nspname FROM pg_publication_namespace pn JOIN pub ON pn.pnpubid = pub.oid '
                        'JOIN pg_namespace n ON n.oid = pn.pnnspid')
        if _versions.supports('publication_schemas', version) else 'SELECT NULL::name AS nspname WHERE false',
    )


def read_params(spec):
    """Bound parameters of READ_QUERY."""
    keys = list((spec['tables'] or {}).keys())
    return dict(
        name=spec['name'],
        t_schemas=[k[0] for k in keys], t_names=[k[1] for k in keys],
        t_only=[bool(spec['tables'][k].get('only')) for k in keys],
        schemas=spec['schemas'] or [],
        tables_managed=spec['tables'] is not None,
        schemas_managed=spec['schemas'] is not None,
        owner=spec['owner'],
        all_tables=spec['all_tables'] is True,
        keep_all=spec['all_tables'] is None and spec['tables'] is None and spec['schemas'] is None,
    )


def current_state(row):
    """The publication as data from the read query's row (``exists`` False when there is none)."""
    pub = row['publication']
    if not pub:
        return dict(exists=False, all_tables=False, tables={}, schemas=[], publish=[],
                    publish_via_partition_root=False, publish_generated_columns=None, owner=None, comment=None)
    tables = {}
    for t in row['tables'] or []:
        tables[(t['schema'], t['table'])] = dict(
            columns=tuple(t['columns']) if t['columns'] else None, where=t['where'],
            filter_columns=t.get('filter_columns'))
    return dict(exists=True, all_tables=pub['all_tables'], tables=tables, schemas=sorted(row['schemas'] or []),
                publish=[p for p in PUBLISH_OPERATIONS if p in (pub['publish'] or [])],
                publish_via_partition_root=pub['publish_via_partition_root'],
                publish_generated_columns=pub['publish_generated_columns'],
                owner=pub['owner'], comment=pub['comment'])


def desired_all_tables(spec, current_all):
    """Whether the publication should be FOR ALL TABLES (see the module docs for the rules)."""
    if spec['all_tables'] is not None:
        return bool(spec['all_tables'])
    if spec['tables'] is not None or spec['schemas'] is not None:
        return False
    return bool(current_all)


def desired_state(spec, current, session_user):
    """What the publication should look like; options left out keep their current value."""
    all_tables = desired_all_tables(spec, current['all_tables'])
    if all_tables:
        tables, schemas = {}, []
    else:
        tables = dict(spec['tables']) if spec['tables'] is not None else dict(current['tables'])
        schemas = list(spec['schemas']) if spec['schemas'] is not None else list(current['schemas'])
    exists = current['exists']

    def pick(key, default):
        if spec[key] is not None:
            return spec[key]
        return current[key] if exists else default

    comment = spec['comment'] if spec['comment'] is not None else current['comment']
    if comment == '':
        comment = None
    return dict(exists=True, all_tables=all_tables, tables=tables, schemas=sorted(schemas),
                publish=pick('publish', list(PUBLISH_OPERATIONS)),
                publish_via_partition_root=pick('publish_via_partition_root', False),
                publish_generated_columns=pick('publish_generated_columns', current['publish_generated_columns']),
                owner=spec['owner'] or (current['owner'] if exists else session_user),
                comment=comment)


def with_children(spec, row):
    """The request with the inheritance children PostgreSQL publishes along with a table listed without
    ``only``: every descendant (found by the read query), with the column list and row filter of the
    listed table it descends from, as ``FOR TABLE parent`` gives them. Raises PgOpsError when a
    table would get two different ones (it is listed itself, or descends from two listed tables).
    """
    if spec['tables'] is None:
        return spec
    tables = dict(spec['tables'])
    problems = []
    for t in row['requested_tables'] or []:
        if t.get('parent_schema') is None:
            continue
        key, parent = (t['schema'], t['table']), (t['parent_schema'], t['parent_table'])
        inherited = dict(columns=spec['tables'][parent]['columns'], where=spec['tables'][parent]['where'],
                         only=True, parent=parent)
        have = tables.get(key)
        if have is None:
            tables[key] = inherited
            continue
        if (same_columns(have['columns'], inherited['columns'])
                and normalise_expression(have['where']) == normalise_expression(inherited['where'])):
            continue
        problems.append('%s is an inheritance child of %s, which is listed without only: true, so PostgreSQL '
                        'publishes it with the column list and row filter of %s; it is also %s with a different '
                        'one' % (_sql.display_name(key), _sql.display_name(parent), _sql.display_name(parent),
                                 'a child of %s' % _sql.display_name(have['parent']) if have.get('parent')
                                 else 'listed itself'))
    if problems:
        raise PgOpsError('Cannot reconcile publication %s: %s. Give the parent only: true (and list its children '
                         'as they should be published), or give them the same column list and row filter. Nothing '
                         'was changed.' % (spec['name'], '; '.join(problems)), problems=problems)
    return dict(spec, tables=tables)


# -- validation -------------------------------------------------------------------------------------------

def requested_tables(row):
    """The read query's requested tables, each once: a table listed itself and also an inheritance child
    of a listed table (or a child of two) appears once, as listed (else as the first child)."""
    rows = row['requested_tables'] or []
    seen = set((t['schema'], t['table']) for t in rows if t.get('parent_schema') is None)
    out = [t for t in rows if t.get('parent_schema') is None]
    for t in rows:
        key = (t['schema'], t['table'])
        if t.get('parent_schema') is not None and key not in seen:
            seen.add(key)
            out.append(t)
    return out


def validate_request(spec, row):
    """Missing tables and schemas, relations that cannot be published, unknown columns, a missing owner.

    ``spec`` is the request with the inheritance children (with_children)."""
    errors = []
    for t in requested_tables(row):
        shown = _sql.display_name((t['schema'], t['table']))
        if t.get('parent_schema') is not None:
            shown += (' (an inheritance child of %s, which is listed without only: true)'
                      % _sql.display_name((t['parent_schema'], t['parent_table'])))
        if not t['exists']:
            errors.append('table %s does not exist' % shown)
            continue
        if t['relkind'] not in ('r', 'p'):
            errors.append('%s is %s; only regular and partitioned tables can be published'
                          % (shown, RELKIND_WORDS.get(t['relkind'], 'not a table (relkind %s)' % t['relkind'])))
            continue
        if t['persistence'] != 'p':
            errors.append('%s is %s; only permanent (logged) tables can be published'
                          % (shown, 'an unlogged table' if t['persistence'] == 'u' else 'a temporary table'))
        wanted = spec['tables'][(t['schema'], t['table'])]['columns'] or ()
        unknown = [c for c in wanted if c not in (t['columns'] or [])]
        if unknown:
            errors.append('table %s has no column(s) %s' % (shown, ', '.join(unknown)))
    if row['missing_schemas']:
        errors.append('schema(s) %s do not exist' % ', '.join(row['missing_schemas']))
    if not row['owner_exists']:
        errors.append('owner role %s does not exist' % spec['owner'])
    if errors:
        raise PgOpsError('Cannot reconcile publication %s: %s. Nothing was changed.'
                         % (spec['name'], '; '.join(errors)), problems=errors)


def identity_problems(spec, row, desired, filter_columns=None):
    """Tables whose UPDATE/DELETE the publication would break, as readable strings (empty: none).

    ``filter_columns``: {(schema, table): columns its row filter uses}, for the requested filters.
    """
    if not ({'update', 'delete'} & set(desired['publish'])):
        return []
    problems = []
    words = {'n': 'REPLICA IDENTITY NOTHING', 'd': 'no primary key and REPLICA IDENTITY DEFAULT',
             'i': 'REPLICA IDENTITY USING INDEX on an index that is gone'}
    for t in row['identity_problems'] or []:
        problems.append('%s (%s)' % (_sql.display_name((t['schema'], t['table'])), words.get(t['identity'], '?')))
    for t in requested_tables(row):
        if not t['exists'] or t['relkind'] != 'r':
            continue
        columns = desired['tables'].get((t['schema'], t['table']), {}).get('columns')
        identity = t['identity_columns'] or []
        if columns and identity:
            left_out = [c for c in identity if c not in columns]
            if left_out:
                problems.append('%s (column list leaves out replica identity column(s) %s)'
                                % (_sql.display_name((t['schema'], t['table'])), ', '.join(left_out)))
        used = (filter_columns or {}).get((t['schema'], t['table']))
        if used and identity:
            outside = [c for c in used if c not in identity]
            if outside:
                problems.append('%s (row filter uses column(s) %s, which are not in the replica identity %s)'
                                % (_sql.display_name((t['schema'], t['table'])), ', '.join(outside),
                                   ', '.join(identity)))
    return problems


def identity_message(name, problems, publish):
    return ('Publication %s publishes %s, but UPDATE/DELETE on these tables would fail on the publisher (no usable '
            'replica identity): %s. Fix: %s. Nothing was changed.'
            % (name, '/'.join(p for p in publish if p in ('update', 'delete')), '; '.join(problems), IDENTITY_FIX))


# -- comparing ---------------------------------------------------------------------------------------------

def same_columns(a, b):
    return (sorted(a) if a else None) == (sorted(b) if b else None)


def filters_to_probe(current, desired, new_filters=False):
    """Tables whose requested filter the server must deparse: members whose stored and requested filters
    differ as text (to compare them), and with ``new_filters`` also the filters not stored yet (to learn
    the columns they use, for the replica identity check)."""
    keys = []
    for key, want in desired['tables'].items():
        if want['where'] is None:
            continue
        have = current['tables'].get(key)
        if have is None or have['where'] is None:
            if new_filters:
                keys.append(key)
            continue
        if normalise_expression(have['where']) != normalise_expression(want['where']):
            keys.append(key)
    return sorted(keys)


def table_differences(current, desired, normalised):
    """(added, dropped, changed) table keys; ``normalised`` maps keys to the server's form of requested filters."""
    added = sorted(k for k in desired['tables'] if k not in current['tables'])
    dropped = sorted(k for k in current['tables'] if k not in desired['tables'])
    changed = []
    for key in sorted(desired['tables']):
        if key not in current['tables']:
            continue
        have, want = current['tables'][key], desired['tables'][key]
        if not same_columns(have['columns'], want['columns']):
            changed.append(key)
            continue
        if (have['where'] is None) != (want['where'] is None):
            changed.append(key)
            continue
        if have['where'] is not None:
            server_form = normalised.get(key)
            if server_form is not None:
                equal = server_form == have['where']
            else:
                equal = normalise_expression(have['where']) == normalise_expression(want['where'])
            if not equal:
                changed.append(key)
    return added, dropped, changed


# -- composing statements --------------------------------------------------------------------------------

def only(key):
    """``ONLY "schema"."table"``: every statement names each member itself (the module adds the inheritance
    children of a table listed without ``only`` as members of their own), so PostgreSQL never adds or
    drops a child behind the module's back."""
    return _sql.stmt('ONLY {}', _sql.ident(*key))


def table_item(key, spec):
    parts = [only(key)]
    if spec.get('columns'):
        parts.append(_sql.stmt('({})', _sql.join([_sql.ident(c) for c in spec['columns']])))
    if spec.get('where') is not None:
        parts.append(_sql.stmt('WHERE ({})', _sql.sql.SQL(check_expression(spec['where']))))
    return _sql.join(parts, ' ')


def objects_clause(tables, schemas):
    """``TABLE a, b, TABLES IN SCHEMA s`` (or None when both are empty)."""
    parts = []
    if tables:
        parts.append(_sql.stmt('TABLE {}', _sql.join([table_item(k, tables[k]) for k in sorted(tables)])))
    if schemas:
        parts.append(_sql.stmt('TABLES IN SCHEMA {}', _sql.join([_sql.ident(s) for s in schemas])))
    return _sql.join(parts) if parts else None


def with_options(options):
    """``publish = '...', publish_via_partition_root = true`` from a dict (None values left out)."""
    parts = []
    for key in ('publish', 'publish_via_partition_root', 'publish_generated_columns'):
        if key not in options or options[key] is None:
            continue
        value = options[key]
        if key == 'publish':
            value = ', '.join(value)
        parts.append(_sql.stmt(key + ' = {}', _sql.literal(value)))
    return _sql.join(parts) if parts else None


def create_statements(name, desired, creator, version):
    """CREATE PUBLICATION (+ OWNER TO, COMMENT) for a publication that does not exist (yet).

    ``creator`` is the role that will own it after CREATE (current_user).
    """
    pub = _sql.ident(name)
    if desired['all_tables']:
        target = _sql.stmt(' FOR ALL TABLES')
    else:
        clause = objects_clause(desired['tables'], desired['schemas'])
        target = _sql.stmt(' FOR {}', clause) if clause else _sql.stmt('')
    options = dict(publish=desired['publish'], publish_via_partition_root=desired['publish_via_partition_root'])
    if _versions.supports('publication_generated_columns', version) and desired['publish_generated_columns'] is not None:
        options['publish_generated_columns'] = desired['publish_generated_columns']
    statements = [_sql.stmt('CREATE PUBLICATION {}{} WITH ({})', pub, target, with_options(options))]
    statements += owner_comment_statements(name, dict(owner=creator, comment=None), desired)
    return statements


def owner_comment_statements(name, current, desired):
    statements = []
    if desired['owner'] != current['owner']:
        statements.append(_sql.stmt('ALTER PUBLICATION {} OWNER TO {}', _sql.ident(name),
                                    _sql.ident(desired['owner'])))
    if desired['comment'] != current['comment']:
        statements.append(_sql.stmt('COMMENT ON PUBLICATION {} IS {}', _sql.ident(name),
                                    _sql.literal(desired['comment']) if desired['comment'] is not None
                                    else _sql.stmt('NULL')))
    return statements


def membership_statements(name, current, desired, normalised):
    """ALTER PUBLICATION ADD/DROP/SET statements that turn current membership into desired membership."""
    pub = _sql.ident(name)
    added, dropped, changed = table_differences(current, desired, normalised)
    schemas_added = [s for s in desired['schemas'] if s not in current['schemas']]
    schemas_dropped = [s for s in current['schemas'] if s not in desired['schemas']]
    statements = []
    # A member whose column list or row filter changes is dropped and added again, in the same transaction
    # as everything else, so nobody sees it missing. (SET TABLE would have to list every member, and
    # PostgreSQL re-adds a member whose re-parsed filter differs in form from the stored one, for example
    # a stored BETWEEN; DROP + ADD touches only what changed.)
    drop_tables = sorted(set(dropped) | set(changed))
    add_tables = sorted(set(added) | set(changed))
    if drop_tables:
        statements.append(_sql.stmt('ALTER PUBLICATION {} DROP TABLE {}', pub,
                                    _sql.join([only(k) for k in drop_tables])))
    if schemas_dropped:
        statements.append(_sql.stmt('ALTER PUBLICATION {} DROP TABLES IN SCHEMA {}', pub,
                                    _sql.join([_sql.ident(s) for s in schemas_dropped])))
    if schemas_added:
        statements.append(_sql.stmt('ALTER PUBLICATION {} ADD TABLES IN SCHEMA {}', pub,
                                    _sql.join([_sql.ident(s) for s in schemas_added])))
    if add_tables:
        statements.append(_sql.stmt('ALTER PUBLICATION {} ADD {}', pub,
                                    objects_clause(dict((k, desired['tables'][k]) for k in add_tables), [])))
    return statements, (added, dropped, changed, schemas_added, schemas_dropped)


def option_statement(name, current, desired, version):
    changed = {}
    if desired['publish'] != current['publish']:
        changed['publish'] = desired['publish']
    if desired['publish_via_partition_root'] != current['publish_via_partition_root']:
        changed['publish_via_partition_root'] = desired['publish_via_partition_root']
    if (_versions.supports('publication_generated_columns', version)
            and desired['publish_generated_columns'] != current['publish_generated_columns']):
        changed['publish_generated_columns'] = desired['publish_generated_columns']
    if not changed:
        return None
    return _sql.stmt('ALTER PUBLICATION {} SET ({})', _sql.ident(name), with_options(changed))


# -- asking the server for its form of the requested filters -------------------------------------------

PROBE_BODY = """
DECLARE result text;
BEGIN
  PERFORM set_config('client_min_messages', 'notice', true);
  BEGIN
    EXECUTE {create};
    SELECT json_agg(json_build_array(n.nspname, c.relname, pg_get_expr(r.prqual, r.prrelid), {filter_columns}))::text
      INTO result
      FROM pg_publication_rel r JOIN pg_publication p ON p.oid = r.prpubid
      JOIN pg_class c ON c.oid = r.prrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE p.pubname = {probe};
    RAISE EXCEPTION USING ERRCODE = '{sqlstate}', MESSAGE = 'pgops probe: rolled back';
  EXCEPTION WHEN SQLSTATE '{sqlstate}' THEN NULL;
  END;
  RAISE NOTICE '{notice}%', result;
END
"""


def probe_statement(session, keys, desired):
    """One DO statement that creates a throwaway publication with the requested filters inside a
    subtransaction, reads back how the server stores them, rolls the subtransaction back and
    reports the result as a NOTICE. Nothing is left behind, and it is a single statement."""
    probe = 'pgops_probe_%s' % uuid.uuid4().hex[:16]
    tables = dict((k, dict(where=desired['tables'][k]['where'])) for k in keys)
    create = _sql.stmt('CREATE PUBLICATION {} FOR {} WITH (publish = {}, publish_via_partition_root = {})',
                       _sql.ident(probe), objects_clause(tables, []), _sql.literal('insert'),
                       _sql.literal(bool(desired['publish_via_partition_root'])))
    body = _sql.stmt(PROBE_BODY.replace('{sqlstate}', PROBE_SQLSTATE).replace('{notice}', PROBE_NOTICE)
                     .replace('{filter_columns}', FILTER_COLUMNS.replace('{rel}', 'r')),
                     create=_sql.literal(session.render(create)), probe=_sql.literal(probe))
    return _sql.stmt('DO {}', _sql.literal(session.render(body)))


def parse_probe_notices(notices):
    """{(schema, table): {'where': stored filter, 'filter_columns': [...]}} from the probe's NOTICE."""
    for notice in reversed(notices):
        text = notice.split(':', 1)[1].lstrip() if ':' in notice else notice
        if text.startswith(PROBE_NOTICE):
            payload = text[len(PROBE_NOTICE):].strip()
            return dict(((item[0], item[1]), dict(where=item[2], filter_columns=item[3] if len(item) > 3 else None))
                        for item in json.loads(payload or 'null') or [])
    return None


# -- presenting ---------------------------------------------------------------------------------------------

def shown_state(state, version):
    """The state as returned to the user (and shown in the diff)."""
    if not state['exists']:
        return dict(exists=False)
    out = dict(
        exists=True,
        all_tables=state['all_tables'],
        tables=[dict(name=_sql.display_name(k), schema=k[0], table=k[1],
                     columns=list(v['columns']) if v['columns'] else None, where=v['where'])
                for k, v in sorted(state['tables'].items())],
        schemas=list(state['schemas']),
        publish=list(state['publish']),
        publish_via_partition_root=state['publish_via_partition_root'],
        owner=state['owner'],
        comment=state['comment'],
    )
    if _versions.supports('publication_generated_columns', version):
        # (a publication about to be created without the option gets the server's default)
        out['publish_generated_columns'] = state['publish_generated_columns'] or 'none'
    return out
