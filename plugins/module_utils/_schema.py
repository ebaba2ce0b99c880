# -*- coding: utf-8 -*-
# Copyright: pgops.logical_replication contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Schema drift between a publisher and a subscriber, and the additive DDL that removes it.

Used by replication_info (``schema_drift`` of each subscription) and schema_sync (the tables,
columns and extensions it creates). One read per side, whatever the number of tables:

- the publisher (``published_query``): every table of the given publications with its columns
  (type, NOT NULL, default, identity/serial sequence, whether the publication sends it), primary
  key and unique constraints, indexes, replica identity, and the extensions its column types and
  index operator classes come from (``pg_depend``);
- the subscriber (``SUBSCRIBER_QUERY``): the same tables' columns, the schemas and extensions it
  has, the extensions it could create (``pg_available_extensions``) and which of the needed types
  exist.

``drift`` compares the two (pure); ``plan`` says what schema_sync would change (pure);
``statements`` renders it. Type names are compared fully qualified (``QUALIFIED_TYPE``), so
the search_path of either side does not matter.

DDL text that PostgreSQL renders on the publisher (``format_type``, ``pg_get_expr``,
``pg_get_indexdef``, ``pg_get_constraintdef``) is used as it comes (``server_text``): it is the
server's own deparsed, quoted SQL, never a user string. The publisher is read with
``search_path=pg_catalog`` (``publisher_params``) so every name in it is schema-qualified.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.pgops.logical_replication.plugins.module_utils import _sql, _versions
from ansible_collections.pgops.logical_replication.plugins.module_utils._errors import PgOpsError

# OIDs below this are the server's own objects (built-in types, functions, operators).
FIRST_NORMAL_OID = 16384

PROBLEMS = ('missing_table', 'missing_column', 'type_mismatch', 'unpublished_not_null', 'missing_extension')

# A type as text that does not depend on the search_path: format_type() qualifies a type only when it
# is not visible, so qualify what it left bare (pg_catalog types stay bare on both sides).
QUALIFIED_TYPE = """(SELECT CASE WHEN tn.nspname = 'pg_catalog'
                   OR left(ft.t, length(quote_ident(tn.nspname)) + 1) = quote_ident(tn.nspname) || '.'
              THEN ft.t ELSE quote_ident(tn.nspname) || '.' || ft.t END
        FROM pg_type ty JOIN pg_namespace tn ON tn.oid = ty.typnamespace
        CROSS JOIN (SELECT format_type({typid}, {typmod}) AS t) ft
        WHERE ty.oid = {typid})"""

# The extensions an index needs (its operator classes, functions, collations from an extension).
_INDEX_EXTENSIONS = """ARRAY(SELECT DISTINCT e.extname::text FROM pg_depend d
          JOIN pg_depend x ON x.classid = d.refclassid AND x.objid = d.refobjid
                          AND x.refclassid = 'pg_extension'::regclass AND x.deptype = 'e'
          JOIN pg_extension e ON e.oid = x.refobjid
          WHERE d.classid = 'pg_class'::regclass AND d.objid = {index})"""

_PUBLISHED_QUERY = """
WITH pt AS (
  SELECT p.pubname::text AS pubname, c.oid AS relid, {attnames} AS attnames
  FROM pg_publication_tables p
  JOIN pg_namespace n ON n.nspname = p.schemaname
  JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = p.tablename
  WHERE p.pubname = ANY(%(publications)s)
), t AS (
  SELECT pt.relid, array_agg(DISTINCT pt.pubname ORDER BY pt.pubname) AS publications, {published} AS published
  FROM pt GROUP BY pt.relid
)
SELECT json_build_object(
  'publications', (SELECT coalesce(json_agg(p.pubname ORDER BY p.pubname), '[]'::json)
                     FROM pg_publication p WHERE p.pubname = ANY(%(publications)s)),
  'extensions', (SELECT coalesce(json_object_agg(e.extname, json_build_object('version', e.extversion,
                                                                               'schema', en.nspname)), '{{}}'::json)
                   FROM pg_extension e JOIN pg_namespace en ON en.oid = e.extnamespace),
  'tables', (SELECT coalesce(json_agg(json_build_object(
      'schema', n.nspname, 'table', c.relname, 'publications', t.publications,
      'replica_identity', c.relreplident::text,
      'replica_identity_index', (SELECT ic.relname FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
                                 WHERE i.indrelid = c.oid AND i.indisreplident LIMIT 1),
      'columns', (SELECT coalesce(json_agg(json_build_object(
            'name', a.attname, 'type', {qualified_type}, 'not_null', a.attnotnull,
            'default', CASE WHEN a.attgenerated = '' THEN pg_get_expr(ad.adbin, ad.adrelid) END,
            'expression', CASE WHEN a.attgenerated <> '' THEN pg_get_expr(ad.adbin, ad.adrelid) END,
            'expression_columns', ARRAY(SELECT ea.attname FROM pg_depend d JOIN pg_attribute ea
                                          ON ea.attrelid = d.refobjid AND ea.attnum = d.refobjsubid
                                        WHERE d.classid = 'pg_attrdef'::regclass AND d.objid = ad.oid
                                          AND d.refclassid = 'pg_class'::regclass AND d.refobjid = ad.adrelid
                                          AND d.refobjsubid > 0 AND d.refobjsubid <> a.attnum AND a.attgenerated <> ''),
            'default_builtin', NOT EXISTS (
                SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_attrdef'::regclass AND d.objid = ad.oid
                   AND d.refobjid >= {first_normal_oid}
                   AND NOT (d.refclassid = 'pg_class'::regclass AND d.refobjid = ad.adrelid)),
            'identity', nullif(a.attidentity::text, ''), 'generated', nullif(a.attgenerated::text, ''),
            'collation', CASE WHEN a.attcollation <> ty.typcollation
                              THEN quote_ident(cn.nspname) || '.' || quote_ident(co.collname) END,
            'published', {published_column},
            'extension', (SELECT e.extname FROM pg_depend d JOIN pg_extension e ON e.oid = d.refobjid
                           WHERE d.classid = 'pg_type'::regclass AND d.refclassid = 'pg_extension'::regclass
                             AND d.deptype = 'e' AND d.objid IN (ty.oid, ty.typelem, ty.typbasetype)
                           ORDER BY e.extname LIMIT 1),
            'sequence', (SELECT json_build_object(
                  'schema', sn.nspname, 'name', sc.relname, 'type', format_type(s.seqtypid, NULL),
                  'start', s.seqstart, 'increment', s.seqincrement, 'min', s.seqmin, 'max', s.seqmax,
                  'cache', s.seqcache, 'cycle', s.seqcycle,
                  'owned_default', pg_get_expr(ad.adbin, ad.adrelid) = format('nextval(%%L::regclass)',
                                                                              s.seqrelid::regclass))
                FROM pg_depend d JOIN pg_sequence s ON s.seqrelid = d.objid
                JOIN pg_class sc ON sc.oid = s.seqrelid JOIN pg_namespace sn ON sn.oid = sc.relnamespace
                WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass
                  AND d.refobjid = a.attrelid AND d.refobjsubid = a.attnum AND d.deptype IN ('a', 'i')
                LIMIT 1)) ORDER BY a.attnum), '[]'::json)
          FROM pg_attribute a JOIN pg_type ty ON ty.oid = a.atttypid
          LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
          LEFT JOIN pg_collation co ON co.oid = a.attcollation
          LEFT JOIN pg_namespace cn ON cn.oid = co.collnamespace
          WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped),
      'constraints', (SELECT coalesce(json_agg(json_build_object(
            'name', k.conname, 'definition', pg_get_constraintdef(k.oid), 'index', ki.relname,
            'columns', ARRAY(SELECT ka.attname FROM pg_attribute ka
                             WHERE ka.attrelid = k.conrelid AND ka.attnum = ANY(k.conkey)),
            'extensions', {constraint_extensions}) ORDER BY k.contype, k.conname), '[]'::json)
          FROM pg_constraint k LEFT JOIN pg_class ki ON ki.oid = k.conindid
          WHERE k.conrelid = c.oid AND k.contype IN ('p', 'u')),
      'indexes', (SELECT coalesce(json_agg(json_build_object(
            'name', ic.relname, 'definition', pg_get_indexdef(i.indexrelid),
            'columns', ARRAY(SELECT ia.attname FROM pg_attribute ia
                             WHERE ia.attrelid = i.indrelid AND ia.attnum > 0
                               AND (ia.attnum = ANY(i.indkey::int2[]) OR ia.attnum IN (
                                    SELECT d.refobjsubid FROM pg_depend d
                                    WHERE d.classid = 'pg_class'::regclass AND d.objid = i.indexrelid
                                      AND d.refclassid = 'pg_class'::regclass AND d.refobjid = i.indrelid))),
            'extensions', {index_extensions}) ORDER BY ic.relname), '[]'::json)
          FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
          WHERE i.indrelid = c.oid AND NOT EXISTS (
              SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid AND k.conrelid = c.oid))
    ) ORDER BY n.nspname, c.relname), '[]'::json)
    FROM t JOIN pg_class c ON c.oid = t.relid JOIN pg_namespace n ON n.oid = c.relnamespace)
) AS published"""


def published_query(version):
    """The one statement that reads the publications ``%(publications)s`` (a list of names) of the
    publisher (server_version_num ``version``): one JSON value ``published`` = {publications (those
    that exist), extensions {name: {version, schema}}, tables [...]}."""
    if _versions.supports('publication_column_list', version):
        attnames = 'p.attnames::text[]'
        published = 'ARRAY(SELECT DISTINCT x FROM pt p2, unnest(p2.attnames) x WHERE p2.relid = pt.relid)'
        published_column = 'a.attname = ANY(t.published)'
        if not _versions.supports('publication_generated_columns', version):
            # before 18 generated columns are never sent, though 15 and 16 list them in attnames
            published_column += " AND a.attgenerated = ''"
    else:   # no column lists: every column but generated ones is published
        attnames = 'NULL::text[]'
        published = 'NULL::text[]'
        published_column = "a.attgenerated = ''"
    return _PUBLISHED_QUERY.format(
        attnames=attnames, published=published, published_column=published_column,
        qualified_type=QUALIFIED_TYPE.format(typid='a.atttypid', typmod='a.atttypmod'),
        first_normal_oid=FIRST_NORMAL_OID,
        constraint_extensions=_INDEX_EXTENSIONS.format(index='k.conindid'),
        index_extensions=_INDEX_EXTENSIONS.format(index='i.indexrelid'))


SUBSCRIBER_QUERY = """
SELECT
  (SELECT coalesce(json_agg(n.nspname ORDER BY n.nspname), '[]'::json) FROM pg_namespace n
    WHERE n.nspname = ANY(%(schemas)s)) AS schemas,
  (SELECT coalesce(json_agg(json_build_object('schema', n.nspname, 'table', c.relname,
      'columns', (SELECT coalesce(json_agg(json_build_object(
            'name', a.attname, 'type', """ + QUALIFIED_TYPE.format(typid='a.atttypid', typmod='a.atttypmod') + """,
            'not_null', a.attnotnull,
            'has_default', a.atthasdef OR a.attidentity <> '' OR a.attgenerated <> '') ORDER BY a.attnum), '[]'::json)
          FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped))
      ORDER BY n.nspname, c.relname), '[]'::json)
     FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE (n.nspname, c.relname) IN (SELECT * FROM unnest(%(table_schemas)s::text[], %(table_names)s::text[]))
  ) AS tables,
  (SELECT coalesce(json_object_agg(e.extname, json_build_object('version', e.extversion, 'schema', n.nspname)),
                   '{}'::json)
     FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace) AS extensions,
  (SELECT coalesce(json_object_agg(x.name, x.default_version), '{}'::json) FROM pg_available_extensions x
    WHERE x.name = ANY(%(extensions)s)) AS available_extensions,
  (SELECT coalesce(json_agg(t), '[]'::json) FROM unnest(%(types)s::text[]) t WHERE to_regtype(t) IS NOT NULL)
    AS types
"""


class SchemaError(PgOpsError, ValueError):
    """What schema_sync cannot do; nothing was changed."""


def publisher_params(params):
    """The publisher's conninfo with ``search_path=pg_catalog`` added to its ``options``, so every
    name the publisher renders (types, defaults, index definitions) comes schema-qualified."""
    out = dict(params or {})
    out['options'] = ' '.join(p for p in (out.get('options'), '-c search_path=pg_catalog') if p)
    return out


def subscriber_params(published):
    """Bound parameters of SUBSCRIBER_QUERY for the tables of ``published``."""
    tables = published.get('tables') or []
    extensions = set()
    types = set()
    for table in tables:
        for column in table['columns']:
            types.add(column['type'])
            if column.get('extension'):
                extensions.add(column['extension'])
        for index in table.get('indexes', []) + table.get('constraints', []):
            extensions.update(index.get('extensions') or [])
    return dict(schemas=sorted(set(t['schema'] for t in tables)
                               | set(e['schema'] for e in (published.get('extensions') or {}).values())),
                table_schemas=[t['schema'] for t in tables], table_names=[t['table'] for t in tables],
                extensions=sorted(extensions), types=sorted(types))


def subscriber_state(row):
    """SUBSCRIBER_QUERY's row as {schemas: set, tables: {(schema, table): [columns]}, extensions,
    available_extensions, types: set}."""
    return dict(schemas=set(row.get('schemas') or []),
                tables=dict(((t['schema'], t['table']), list(t['columns'] or [])) for t in row.get('tables') or []),
                extensions=dict(row.get('extensions') or {}),
                available_extensions=dict(row.get('available_extensions') or {}),
                types=set(row.get('types') or []))


def published_columns(table):
    return [c for c in table['columns'] if c['published']]


def _entry(table, column, problem, message, publisher_type=None, subscriber_type=None, extension=None,
           publisher_version=None):
    return dict(table=table, column=column, problem=problem, publisher_type=publisher_type,
                subscriber_type=subscriber_type, extension=extension, publisher_version=publisher_version,
                message=message)


def _tables_of(published, publications=None):
    tables = published.get('tables') or []
    if publications is None:
        return tables
    wanted = set(publications)
    return [t for t in tables if wanted & set(t['publications'])]


def needed_extensions(table, columns=None, indexes=True):
    """{extension: [(table, column or None, what)]} for the given columns of ``table`` (default: its
    published ones) and, with ``indexes``, its constraints and indexes."""
    name = _sql.display_name((table['schema'], table['table']))
    out = {}
    for column in published_columns(table) if columns is None else columns:
        if column.get('extension'):
            out.setdefault(column['extension'], []).append(
                (name, column['name'], '%s.%s' % (name, _sql.display_name((column['name'],)))))
    if indexes:
        for index in table.get('constraints', []) + table.get('indexes', []):
            for ext in index.get('extensions') or []:
                out.setdefault(ext, []).append(
                    (name, None, 'index %s' % _sql.display_name((table['schema'], index.get('index') or index['name']))))
    return out


def drift(published, state, publications=None, subscription=None):
    """What differs between the publisher's tables (of ``publications``, default all read) and the
    subscriber (``subscriber_state``), as a list of entries {table, column, problem, publisher_type,
    subscriber_type, extension, publisher_version, message}; ``subscription`` adds that key."""
    entries = []
    missing_ext = {}
    installed = state['extensions']
    for table in _tables_of(published, publications):
        name = _sql.display_name((table['schema'], table['table']))
        columns = published_columns(table)
        sub_columns = state['tables'].get((table['schema'], table['table']))
        for ext, uses in needed_extensions(table, indexes=sub_columns is None).items():
            if ext not in installed:
                missing_ext.setdefault(ext, []).extend(uses)
        if sub_columns is None:
            entries.append(_entry(name, None, 'missing_table', (
                'Table %s is published (%s) but does not exist on the subscriber: the apply worker stops at '
                'its first change ("logical replication target relation ... does not exist") and a refresh '
                'of the subscription fails; create it on the subscriber first (schema_sync does).'
                % (name, ', '.join(table['publications'])))))
            continue
        by_name = dict((c['name'], c) for c in sub_columns)
        for column in columns:
            full = '%s.%s' % (name, _sql.display_name((column['name'],)))
            here = by_name.get(column['name'])
            if here is None:
                entries.append(_entry(name, column['name'], 'missing_column', (
                    'Column %s (%s) is published but missing on the subscriber: the next change to %s stops '
                    'the apply worker ("logical replication target relation ... is missing replicated column"); '
                    'add it on the subscriber first (schema_sync does).' % (full, column['type'], name)),
                    publisher_type=column['type']))
            elif here['type'] != column['type']:
                entries.append(_entry(name, column['name'], 'type_mismatch', (
                    'Column %s is %s on the publisher but %s on the subscriber: each replicated value is '
                    'converted on apply, and one that does not convert (or any value, with binary = true) '
                    'stops the apply worker; make the types equal.' % (full, column['type'], here['type'])),
                    publisher_type=column['type'], subscriber_type=here['type']))
        sent = set(c['name'] for c in columns)
        for here in sub_columns:
            if here['name'] not in sent and here['not_null'] and not here['has_default']:
                full = '%s.%s' % (name, _sql.display_name((here['name'],)))
                entries.append(_entry(name, here['name'], 'unpublished_not_null', (
                    'Column %s is NOT NULL without a default on the subscriber and is not published: every '
                    'replicated INSERT into %s fails with a not-null violation and stops the apply worker; give '
                    'it a default or drop NOT NULL on the subscriber.' % (full, name)),
                    subscriber_type=here['type']))
    extensions = published.get('extensions') or {}
    for ext in sorted(missing_ext):
        uses = missing_ext[ext]
        version = (extensions.get(ext) or {}).get('version')
        available = state['available_extensions'].get(ext)
        entries.append(_entry(uses[0][0], uses[0][1], 'missing_extension', (
            'Extension %s (version %s on the publisher) is not installed on the subscriber and %s need%s it: '
            'they cannot be created there; %s.'
            % (ext, version, ', '.join(u[2] for u in uses), '' if len(uses) > 1 else 's',
               'it is available there (version %s): CREATE EXTENSION %s (schema_sync does)' % (available, ext)
               if available else 'it is not available on the subscriber server either: install its package there')),
            extension=ext, publisher_version=version))
    if subscription is not None:
        for entry in entries:
            entry['subscription'] = subscription
    return entries


# -- what schema_sync changes --------------------------------------------------------------------------

def server_text(text):
    """SQL text rendered by PostgreSQL on the publisher (format_type, pg_get_expr, pg_get_indexdef,
    pg_get_constraintdef): the server's own deparsed and quoted SQL, never a user string."""
    return _sql.fragment(text)


def plan(published, state, create_tables=True, add_columns=True, create_extensions=True):
    """What schema_sync changes: {schemas: [name], extensions: [(name, schema)], tables: [table],
    columns: [(table, column)]}. Raises SchemaError naming every problem at once (nothing changed)."""
    tables, columns, problems = [], [], []
    needed = {}
    for table in published.get('tables') or []:
        key = (table['schema'], table['table'])
        here = state['tables'].get(key)
        if here is None:
            if create_tables:
                tables.append(table)
                for ext, uses in needed_extensions(table, created_columns(table), indexes=True).items():
                    needed.setdefault(ext, []).extend(uses)
            continue
        if not add_columns:
            continue
        names = set(c['name'] for c in here)
        new = [c for c in published_columns(table) if c['name'] not in names]
        columns.extend((table, c) for c in new)
        for ext, uses in needed_extensions(table, new, indexes=False).items():
            needed.setdefault(ext, []).extend(uses)

    extensions = []
    info = published.get('extensions') or {}
    for ext in sorted(needed):
        if ext in state['extensions']:
            continue
        version = (info.get(ext) or {}).get('version')
        uses = ', '.join(u[2] for u in needed[ext])
        if ext not in state['available_extensions']:
            problems.append('extension %s (version %s on the publisher), needed by %s, is not available on the '
                            'subscriber server (pg_available_extensions): install its package there'
                            % (ext, version, uses))
        elif not create_extensions:
            problems.append('extension %s (version %s on the publisher), needed by %s, is not installed on the '
                            'subscriber and create_extensions is false: create it there' % (ext, version, uses))
        else:
            extensions.append((ext, (info.get(ext) or {}).get('schema') or 'public'))

    for table, column in [(t, c) for t in tables for c in created_columns(t)] + columns:
        if column['type'] not in state['types'] and not column.get('extension'):
            problems.append('type %s of %s.%s exists neither on the subscriber nor in an extension: create it '
                            'there first' % (column['type'], _sql.display_name((table['schema'], table['table'])),
                                             _sql.display_name((column['name'],))))
    if problems:
        raise SchemaError('Cannot bring the subscriber\'s schema up to the publisher\'s: %s. Nothing was changed.'
                          % '; '.join(problems))
    schemas = sorted(set([t['schema'] for t in tables] + [e[1] for e in extensions]) - state['schemas']
                     - set(['pg_catalog']))
    return dict(schemas=schemas, extensions=extensions, tables=tables, columns=columns)


def statements(planned):
    """The statements of a plan, in the order they run: schemas, extensions, tables (sequences, the
    table with its primary key and unique constraints, indexes, replica identity), added columns."""
    out = []
    for schema in planned['schemas']:
        out.append(_sql.stmt('CREATE SCHEMA {}', _sql.ident(schema)))
    for ext, schema in planned['extensions']:
        out.append(_sql.stmt('CREATE EXTENSION {} WITH SCHEMA {} CASCADE', _sql.ident(ext), _sql.ident(schema)))
    for table in planned['tables']:
        out.extend(table_statements(table))
    for table, column in planned['columns']:
        out.append(_sql.stmt('ALTER TABLE {} ADD COLUMN {} {}', _sql.ident(table['schema'], table['table']),
                             _sql.ident(column['name']), server_text(column['type'])))
    return out


def _sequence_options(seq, with_name):
    parts = []
    if with_name:
        parts.append(_sql.stmt('SEQUENCE NAME {}', _sql.ident(seq['schema'], seq['name'])))
    parts.extend([
        _sql.stmt('START WITH {}', _sql.literal(seq['start'])),
        _sql.stmt('INCREMENT BY {}', _sql.literal(seq['increment'])),
        _sql.stmt('MINVALUE {}', _sql.literal(seq['min'])),
        _sql.stmt('MAXVALUE {}', _sql.literal(seq['max'])),
        _sql.stmt('CACHE {}', _sql.literal(seq['cache'])),
        _sql.fragment('CYCLE' if seq['cycle'] else 'NO CYCLE')])
    return _sql.join(parts, ' ')


def kept_default(column):
    """The default a created column keeps: an identity, the nextval of its own (serial) sequence, or
    an expression of built-in functions and operators only; None otherwise."""
    seq = column.get('sequence')
    if column.get('identity'):
        return 'identity'
    if seq and seq.get('owned_default'):
        return 'serial'
    if column.get('default') is not None and column.get('default_builtin'):
        return 'expression'
    return None


def created_columns(table):
    """The columns a created table gets: the published ones, and the generated ones the publisher computes
    (never sent before PostgreSQL 18) whose expression uses built-ins and created columns only."""
    published = set(c['name'] for c in published_columns(table))
    return [c for c in table['columns'] if c['name'] in published or (
        c.get('generated') and c.get('expression') and c.get('default_builtin')
        and set(c.get('expression_columns') or []) <= published)]


def table_statements(table):
    """CREATE TABLE with the published (and computable generated) columns, then its indexes and replica
    identity."""
    name = _sql.ident(table['schema'], table['table'])
    columns = created_columns(table)
    created = set(c['name'] for c in columns)
    out, parts, owned = [], [], []
    for column in columns:
        words = [_sql.ident(column['name']), server_text(column['type'])]
        if column.get('collation'):
            words += [_sql.fragment('COLLATE'), server_text(column['collation'])]
        kind = kept_default(column)
        seq = column.get('sequence')
        if not column['published']:
            words.append(_sql.stmt('GENERATED ALWAYS AS ({}) STORED', server_text(column['expression'])))
        elif kind == 'identity':
            words.append(_sql.stmt('GENERATED {} AS IDENTITY',
                                   _sql.fragment('ALWAYS' if column['identity'] == 'a' else 'BY DEFAULT')))
            if seq:
                words.append(_sql.stmt('({})', _sequence_options(seq, True)))
        elif kind == 'serial':
            out.append(_sql.stmt('CREATE SEQUENCE IF NOT EXISTS {} AS {} {}', _sql.ident(seq['schema'], seq['name']),
                                 server_text(seq['type']), _sequence_options(seq, False)))
            owned.append((seq, column))
            words.append(_sql.stmt('DEFAULT nextval({}::regclass)',
                                   _sql.literal('%s.%s' % (_quote(seq['schema']), _quote(seq['name'])))))
        elif kind == 'expression':
            words.append(_sql.stmt('DEFAULT {}', server_text(column['default'])))
        if column['not_null']:
            words.append(_sql.fragment('NOT NULL'))
        parts.append(_sql.join(words, ' '))
    for constraint in table.get('constraints') or []:
        if set(constraint['columns']) <= created:
            parts.append(_sql.stmt('CONSTRAINT {} {}', _sql.ident(constraint['name']),
                                   server_text(constraint['definition'])))
    out.append(_sql.stmt('CREATE TABLE {} ({})', name, _sql.join(parts)))
    for seq, column in owned:
        out.append(_sql.stmt('ALTER SEQUENCE {} OWNED BY {}', _sql.ident(seq['schema'], seq['name']),
                             _sql.ident(table['schema'], table['table'], column['name'])))
    made = set(c['index'] for c in table.get('constraints') or [] if set(c['columns']) <= created)
    for index in table.get('indexes') or []:
        if set(index['columns']) <= created:
            out.append(server_text(index['definition']))
            made.add(index['name'])
    identity = table.get('replica_identity')
    if identity == 'f':
        out.append(_sql.stmt('ALTER TABLE {} REPLICA IDENTITY FULL', name))
    elif identity == 'n':
        out.append(_sql.stmt('ALTER TABLE {} REPLICA IDENTITY NOTHING', name))
    elif identity == 'i' and table.get('replica_identity_index') in made:
        out.append(_sql.stmt('ALTER TABLE {} REPLICA IDENTITY USING INDEX {}', name,
                             _sql.ident(table['replica_identity_index'])))
    return out


def _quote(part):
    return '"%s"' % part.replace('"', '""')


def after_state(state, planned):
    """The subscriber's state once the plan ran (for the drift that remains)."""
    tables = dict(state['tables'])
    for table in planned['tables']:
        tables[(table['schema'], table['table'])] = [
            dict(name=c['name'], type=c['type'], not_null=c['not_null'],
                 has_default=kept_default(c) is not None or not c['published'])
            for c in created_columns(table)]
    for table, column in planned['columns']:
        key = (table['schema'], table['table'])
        tables[key] = tables[key] + [dict(name=column['name'], type=column['type'], not_null=False,
                                          has_default=False)]
    extensions = dict(state['extensions'])
    for ext, schema in planned['extensions']:
        extensions[ext] = dict(version=state['available_extensions'].get(ext), schema=schema)
    return dict(state, tables=tables, extensions=extensions,
                schemas=state['schemas'] | set(planned['schemas']))


def columns_by_table(published, state):
    """{display name: [columns]} of the published tables that exist in ``state`` (the diff)."""
    out = {}
    for table in published.get('tables') or []:
        here = state['tables'].get((table['schema'], table['table']))
        if here is not None:
            out[_sql.display_name((table['schema'], table['table']))] = [c['name'] for c in here]
    return out
