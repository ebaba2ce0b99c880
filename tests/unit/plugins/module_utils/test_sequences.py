# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure functions of sequence_sync (module_utils/_sequences.py)."""

import pytest

from ansible_collections.pgops.logical_replication.plugins.module_utils import _sequences

BIG = 2 ** 63 - 1


def pub(name, last, inc=1, readable=True, schema='public'):
    return dict(schema=schema, sequence=name, last_value=last, increment_by=inc, readable=readable)


def sub(name, last, inc=1, start=None, lo=None, hi=None, readable=True, schema='public'):
    if start is None:
        start = 1 if inc > 0 else -1
    return dict(schema=schema, sequence=name, last_value=last, start_value=start, increment_by=inc,
                min_value=lo if lo is not None else (1 if inc > 0 else -BIG - 1),
                max_value=hi if hi is not None else (BIG if inc > 0 else -1), readable=readable)


@pytest.mark.parametrize('pubrow, subrow, margin, before, after, changed', [
    (pub('a', 50), sub('a', None), 0, None, 50, True),          # never used on the subscriber
    (pub('a', 50), sub('a', None), 100, None, 150, True),
    (pub('a', 50), sub('a', 10), 100, 10, 150, True),
    (pub('a', 50), sub('a', 150), 100, 150, 150, False),       # already there: second run
    (pub('a', 50), sub('a', 9000), 100, 9000, 9000, False),    # ahead: never moved back
    (pub('a', None), sub('a', None), 100, None, None, False),  # never used on the publisher
    (pub('a', 1), sub('a', None), 0, None, 1, True),           # start 1, not called: behind 1
    (pub('a', 0), sub('a', None, start=1, lo=0), 0, None, None, False),   # publisher at 0: next is 1 anyway
    (pub('d', -5, inc=-1), sub('d', None, inc=-1), 100, None, -105, True),
    (pub('d', -5, inc=-1), sub('d', -200, inc=-1), 100, -200, -200, False),
    (pub('s', 100, inc=10), sub('s', 30, inc=10), 5, 30, 105, True),
])
def test_plan(pubrow, subrow, margin, before, after, changed):
    entries, skipped = _sequences.plan([pubrow], [subrow], margin, False)
    assert skipped == []
    entry = entries[0]
    assert (entry['before'], entry['after'], entry['changed']) == (before, after, changed)
    assert entry['publisher_value'] == pubrow['last_value']


def test_plan_missing_skipped():
    entries, skipped = _sequences.plan([pub('a', 5), pub('b', 5, schema='S')], [sub('a', None)], 0, True)
    assert [e['name'] for e in entries] == ['public.a'] and skipped == ['"S".b']


@pytest.mark.parametrize('pubrows, subrows, message', [
    ([pub('a', 5), pub('b', 5)], [], 'Cannot sync sequences: missing on the subscriber: public.a, public.b '
                                     '(create them, or set skip_missing: true to leave them out). Nothing was changed.'),
    ([pub('a', 5, readable=False)], [sub('a', None)],
     'Cannot sync sequences: the publisher role may not read public.a (GRANT SELECT on them). Nothing was changed.'),
    ([pub('a', 5)], [sub('a', None, readable=False)],
     'Cannot sync sequences: the subscriber role may not read public.a (GRANT SELECT, UPDATE on it). '
     'Nothing was changed.'),
    ([pub('a', 500)], [sub('a', None, hi=100)],
     "Cannot sync sequences: public.a: the value to set, 510, is outside the subscriber sequence's range 1..100. "
     'Nothing was changed.'),
    ([pub('a', 5), pub('b', 500)], [sub('b', None, hi=100)],
     'Cannot sync sequences: missing on the subscriber: public.a (create them, or set skip_missing: true to leave '
     "them out); public.b: the value to set, 510, is outside the subscriber sequence's range 1..100. "
     'Nothing was changed.'),
])
def test_plan_errors(pubrows, subrows, message):
    with pytest.raises(_sequences.SequenceError) as exc:
        _sequences.plan(pubrows, subrows, 10, False)
    assert str(exc.value) == message


NO_TABLES = dict(tab_schemas=[], tab_names=[])


@pytest.mark.parametrize('schemas, sequences, tables, params, names', [
    ([], [], [], dict(NO_TABLES, all=True, schemas=[], seq_schemas=[], seq_names=[]), []),
    (['app'], [], [], dict(NO_TABLES, all=False, schemas=['app'], seq_schemas=[], seq_names=[]), []),
    ([], ['s1', 'app.s2', '"a.b"."C"'], [],
     dict(NO_TABLES, all=False, schemas=[], seq_schemas=['public', 'app', 'a.b'], seq_names=['s1', 's2', 'C']),
     [('public', 's1'), ('app', 's2'), ('a.b', 'C')]),
    # tables: unqualified ones are in public (the switchover passes `abc` and {name: public.xyz} alike)
    ([], [], ['abc', 'public.xyz', '"My S"."T"'],
     dict(all=False, schemas=[], seq_schemas=[], seq_names=[], tab_schemas=['public', 'public', 'My S'],
          tab_names=['abc', 'xyz', 'T']), []),
])
def test_selection(schemas, sequences, tables, params, names):
    assert _sequences.selection(schemas, sequences, tables) == (params, names)


@pytest.mark.parametrize('lsn, target', [
    ('0/3000148', '0/3000148'),      # inside a page: as it is
    ('0/3002018', '0/3002000'),      # just past a page header (8192-byte pages): back 24 bytes
    ('1/28', '1/0'),                 # just past the long header at a segment start: back 40 bytes
    ('0/1000028', '0/1000000'),      # a segment start inside the first 4 GB (16 MB segments)
])
def test_wait_target_steps_back_over_a_page_header(lsn, target):
    assert _sequences.wait_target(lsn, 16 * 1024 * 1024, 8192) == target
