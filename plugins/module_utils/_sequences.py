# -*- coding: utf-8 -*-
# Copyright: pgops.logical_replication contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""sequence_sync: one read per server, and the pure plan that decides which setval to run.

Values come from ``pg_sequences``: its ``last_value`` is the last value the sequence handed
out (cached values included) and NULL while the sequence was never used (``is_called`` false)
or when the role may not read it; ``readable`` tells the two NULLs apart.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.pgops.logical_replication.plugins.module_utils import _sql
from ansible_collections.pgops.logical_replication.plugins.module_utils._errors import PgOpsError

_READABLE = ("has_sequence_privilege(quote_ident(s.schemaname) || '.' || quote_ident(s.sequencename), "
             "'SELECT,USAGE') AS readable")

PUBLISHER_QUERY = """
SELECT s.schemaname AS schema, s.sequencename AS sequence, s.last_value, s.increment_by, """ + _READABLE + """
FROM pg_sequences s
WHERE s.schemaname NOT IN ('pg_catalog', 'information_schema')
  AND (%(all)s
       OR s.schemaname = ANY(%(schemas)s)
       OR (s.schemaname, s.sequencename) IN (SELECT * FROM unnest(%(seq_schemas)s::text[], %(seq_names)s::text[])))
ORDER BY s.schemaname, s.sequencename
"""

SUBSCRIBER_QUERY = """
SELECT s.schemaname AS schema, s.sequencename AS sequence, s.last_value, s.start_value, s.increment_by,
       s.min_value, s.max_value, """ + _READABLE + """
FROM pg_sequences s
WHERE (s.schemaname, s.sequencename) IN (SELECT * FROM unnest(%(seq_schemas)s::text[], %(seq_names)s::text[]))
"""


class SequenceError(PgOpsError, ValueError):
    """The request cannot be carried out; nothing was changed."""


def selection(schemas, sequences):
    """Bound parameters of PUBLISHER_QUERY from the options; sequences as (schema, name) tuples."""
    names = [_sql.split_qualified(s, what='sequence') for s in (sequences or [])]
    schemas = [_sql.check_name(s, 'schema') for s in (schemas or [])]
    return dict(all=not names and not schemas, schemas=schemas,
                seq_schemas=[n[0] for n in names], seq_names=[n[1] for n in names]), names


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
