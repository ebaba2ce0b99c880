# -*- coding: utf-8 -*-
# Copyright: pgops.logical_replication contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""sequence_sync: one read per server, and the pure plan that decides which setval to run.

Values come from ``pg_sequences``: its ``last_value`` is the last value the sequence handed
out (cached values included) and NULL while the sequence was never used (``is_called`` false)
or when the role may not read it; ``readable`` tells the two NULLs apart.

The sequences of a table are those it owns (serial and identity columns: pg_depend from the
sequence to the table) and those its column defaults name (pg_depend from pg_attrdef to the
sequence).

The wait for a subscription (``wait_for_subscription``) reads a target on the publisher once:
the end of its WAL (the insert position, so an asynchronous commit not yet written is inside it;
a position just past a page header means the page is empty, and the end is the page start).
Everything the publisher committed before is applied on the subscriber once one of these reaches
the target: the slot's confirmed_flush_lsn (publisher), the apply worker's latest_end_lsn (a
keepalive it processed after applying everything before it) or its origin's remote_lsn (the end
of the last commit it applied; superusers).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.pgops.logical_replication.plugins.module_utils import _catalog, _sql
from ansible_collections.pgops.logical_replication.plugins.module_utils._errors import PgOpsError

_READABLE = ("has_sequence_privilege(quote_ident(s.schemaname) || '.' || quote_ident(s.sequencename), "
             "'SELECT,USAGE') AS readable")

PUBLISHER_QUERY = """
SELECT s.schemaname AS schema, s.sequencename AS sequence, s.last_value, s.increment_by, """ + _READABLE + """
FROM pg_sequences s
WHERE s.schemaname NOT IN ('pg_catalog', 'information_schema')
  AND (%(all)s
       OR s.schemaname = ANY(%(schemas)s)
       OR (s.schemaname, s.sequencename) IN (SELECT * FROM unnest(%(seq_schemas)s::text[], %(seq_names)s::text[]))
       OR (s.schemaname, s.sequencename) IN (
            SELECT sn.nspname::text, sc.relname::text
            FROM unnest(%(tab_schemas)s::text[], %(tab_names)s::text[]) AS t(nsp, rel)
            JOIN pg_namespace tn ON tn.nspname = t.nsp
            JOIN pg_class tc ON tc.relnamespace = tn.oid AND tc.relname = t.rel
            JOIN pg_depend d ON d.refclassid = 'pg_class'::regclass AND d.classid = 'pg_class'::regclass
                            AND d.refobjid = tc.oid AND d.deptype IN ('a', 'i')
            JOIN pg_class sc ON sc.oid = d.objid AND sc.relkind = 'S'
            JOIN pg_namespace sn ON sn.oid = sc.relnamespace
            UNION
            SELECT sn.nspname::text, sc.relname::text
            FROM unnest(%(tab_schemas)s::text[], %(tab_names)s::text[]) AS t(nsp, rel)
            JOIN pg_namespace tn ON tn.nspname = t.nsp
            JOIN pg_class tc ON tc.relnamespace = tn.oid AND tc.relname = t.rel
            JOIN pg_attrdef ad ON ad.adrelid = tc.oid
            JOIN pg_depend d ON d.classid = 'pg_attrdef'::regclass AND d.objid = ad.oid
                            AND d.refclassid = 'pg_class'::regclass
            JOIN pg_class sc ON sc.oid = d.refobjid AND sc.relkind = 'S'
            JOIN pg_namespace sn ON sn.oid = sc.relnamespace))
ORDER BY s.schemaname, s.sequencename
"""

# The requested tables the publisher does not have (only run when tables are given).
MISSING_TABLES_QUERY = """
SELECT t.nsp AS schema, t.rel AS table
FROM unnest(%(tab_schemas)s::text[], %(tab_names)s::text[]) WITH ORDINALITY AS t(nsp, rel, n)
WHERE NOT EXISTS (SELECT FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                  WHERE n.nspname = t.nsp AND c.relname = t.rel AND c.relkind IN ('r', 'p'))
ORDER BY t.n
"""

# On the subscriber: the subscription to wait for, in the module's database.
SUBSCRIPTION_QUERY = """
SELECT s.oid::bigint AS oid, s.subslotname AS slot_name, s.subenabled AS enabled,
       has_table_privilege('pg_catalog.pg_replication_origin_status', 'SELECT') AS origin_readable
FROM pg_subscription s
WHERE s.subname = %(name)s AND s.subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())
"""

# On the publisher, once: the end of its WAL and the sizes that place page headers (the arithmetic is done by
# wait_target: pg_lsn minus a number needs PostgreSQL 14, and 13 is still a publisher to upgrade from).
TARGET_QUERY = """
SELECT pg_current_wal_insert_lsn()::text AS lsn,
       (SELECT setting::bigint FROM pg_settings WHERE name = 'wal_segment_size') AS seg,
       (SELECT setting::bigint FROM pg_settings WHERE name = 'wal_block_size') AS blk
"""


def wait_target(lsn, seg, blk):
    """The WAL position to wait for from TARGET_QUERY's row: the insert position, stepped back over a page
    header it points just past (24 bytes, 40 at the start of a segment), where no record ends."""
    position = _catalog.parse_lsn(lsn)
    if position % seg == 40:
        position -= 40
    elif position % blk == 24:
        position -= 24
    return '%X/%X' % (position >> 32, position & 0xFFFFFFFF)


# On the publisher, each poll: has the slot confirmed the target?
SLOT_QUERY = """
SELECT coalesce(bool_or(confirmed_flush_lsn >= %(target)s::pg_lsn), false) AS reached,
       count(*) AS found,
       max(pg_wal_lsn_diff(%(target)s::pg_lsn, confirmed_flush_lsn))::bigint AS behind
FROM pg_replication_slots WHERE slot_name = %(slot)s
"""

# On the subscriber, each poll: has the apply worker (or its origin) reached the target?
WORKER_QUERY = """
SELECT coalesce(bool_or(latest_end_lsn >= %(target)s::pg_lsn), false) AS reached
FROM pg_stat_subscription WHERE subid = %(oid)s
"""

ORIGIN_QUERY = """
SELECT coalesce(bool_or(remote_lsn >= %(target)s::pg_lsn), false) AS reached
FROM pg_replication_origin_status WHERE external_id = 'pg_' || %(oid)s::text
"""

SUBSCRIBER_QUERY = """
SELECT s.schemaname AS schema, s.sequencename AS sequence, s.last_value, s.start_value, s.increment_by,
       s.min_value, s.max_value, """ + _READABLE + """
FROM pg_sequences s
WHERE (s.schemaname, s.sequencename) IN (SELECT * FROM unnest(%(seq_schemas)s::text[], %(seq_names)s::text[]))
"""


class SequenceError(PgOpsError, ValueError):
    """The request cannot be carried out; nothing was changed."""


def selection(schemas, sequences, tables=None):
    """Bound parameters of PUBLISHER_QUERY from the options; sequences as (schema, name) tuples."""
    names = [_sql.split_qualified(s, what='sequence') for s in (sequences or [])]
    schemas = [_sql.check_name(s, 'schema') for s in (schemas or [])]
    tabs = [_sql.split_qualified(t, what='table') for t in (tables or [])]
    return dict(all=not names and not schemas and not tabs, schemas=schemas,
                seq_schemas=[n[0] for n in names], seq_names=[n[1] for n in names],
                tab_schemas=[t[0] for t in tabs], tab_names=[t[1] for t in tabs]), names


def key_params(keys):
    return dict(seq_schemas=[k[0] for k in keys], seq_names=[k[1] for k in keys])


def missing_requested(requested, publisher_rows):
    """Sequences named in ``sequences`` that the publisher does not have."""
    found = set((r['schema'], r['sequence']) for r in publisher_rows)
    return [name for name in requested if name not in found]


def plan(publisher_rows, subscriber_rows, margin, skip_missing):
    """One entry per publisher sequence: {name, schema, sequence, publisher_value, before, after, changed}.

    after = publisher last_value + margin (minus for a descending sequence), set with
    setval(..., true) only when the subscriber's sequence is behind it: its last handed-out value
    (or, when never used, start_value - increment_by) is lower (higher for descending).
    Returns (entries, skipped names). Raises SequenceError naming every problem at once.
    """
    subs = dict(((r['schema'], r['sequence']), r) for r in subscriber_rows)
    entries, skipped, problems = [], [], []
    unreadable_pub = [_sql.display_name((r['schema'], r['sequence'])) for r in publisher_rows if not r['readable']]
    if unreadable_pub:
        problems.append('the publisher role may not read %s (GRANT SELECT on them)' % ', '.join(unreadable_pub))
    missing = []
    for row in publisher_rows:
        key = (row['schema'], row['sequence'])
        name = _sql.display_name(key)
        sub = subs.get(key)
        if sub is None:
            if skip_missing:
                skipped.append(name)
            else:
                missing.append(name)
            continue
        if not sub['readable']:
            problems.append('the subscriber role may not read %s (GRANT SELECT, UPDATE on it)' % name)
            continue
        if not row['readable']:
            continue
        entry = dict(name=name, schema=key[0], sequence=key[1], publisher_value=row['last_value'],
                     before=sub['last_value'], after=sub['last_value'], changed=False)
        entries.append(entry)
        if row['last_value'] is None:
            continue   # never used on the publisher: nothing to carry over
        descending = sub['increment_by'] < 0
        target = row['last_value'] - margin if descending else row['last_value'] + margin
        current = sub['last_value'] if sub['last_value'] is not None else sub['start_value'] - sub['increment_by']
        behind = current > target if descending else current < target
        if not behind:
            continue
        if not sub['min_value'] <= target <= sub['max_value']:
            problems.append('%s: the value to set, %d, is outside the subscriber sequence\'s range %d..%d'
                            % (name, target, sub['min_value'], sub['max_value']))
            continue
        entry.update(after=target, changed=True)
    if missing:
        problems.insert(0, 'missing on the subscriber: %s (create them, or set skip_missing: true to leave them out)'
                        % ', '.join(missing))
    if problems:
        raise SequenceError('Cannot sync sequences: %s. Nothing was changed.' % '; '.join(problems))
    return entries, skipped
