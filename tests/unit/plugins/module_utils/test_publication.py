# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure functions of the postgresql_publication module: parsing, filters, comparing as data."""

import pytest

from ansible_collections.pgops.logical_replication.plugins.module_utils import _publication as P
from ansible_collections.pgops.logical_replication.plugins.module_utils._connection import PgOpsError


def params(**kwargs):
    base = dict(name='pub', state='present', all_tables=None, tables=None, schemas=None, publish=None,
                publish_via_partition_root=None, publish_generated_columns=None, owner=None, comment=None,
                replica_identity_check='fail')
    base.update(kwargs)
    return base


def state(**kwargs):
    base = dict(exists=True, all_tables=False, tables={}, schemas=[], publish=list(P.PUBLISH_OPERATIONS),
                publish_via_partition_root=False, publish_generated_columns=None, owner='postgres', comment=None)
    base.update(kwargs)
    return base


# (text, None): accepted as it is; (text, message): refused with a message containing ``message``.
@pytest.mark.parametrize('text, message', [
    ("e > 5", None),
    ("(e > 5)", None),
    ("status = 'x'", None),
    ("status = 'a;b' AND note <> ')'", None),
    ("\"odd;col\" = 1", None),
    ("name = E'it\\'s; (fine'", None),
    ("body = $$ ; ) -- $$", None),
    ("body = $tag$ ; $tag$", None),
    ("(a > 1) AND (b < 2 OR (c = 3))", None),
    ("a = $1", None),
    ("x = 'it''s'", None),
    ("e > 5); DROP TABLE t; --", "closes a parenthesis it did not open"),
    ("true) OR (true", "closes a parenthesis it did not open"),
    ("e > 5; DROP TABLE t", 'contains ";"'),
    ("e > 5 -- comment", 'contains an SQL comment'),
    ("e > 5 /* c */", 'contains an SQL comment'),
    ("(e > 5", '1 unclosed parenthesis'),
    ("((e > 5", '2 unclosed parentheses'),
    ("status = 'x", 'unterminated string literal'),
    ('"col = 1', 'unterminated quoted identifier'),
    ("b = $q$ x", 'unterminated dollar-quoted string'),
    ("name = E'x\\'", 'unterminated string literal'),
    ("   ", 'must be a non-empty SQL expression'),
    # standard_conforming_strings = on (pinned for the module's session): a backslash in '...' escapes
    # nothing, so this filter (issue 10) has a backslash outside any string
    ("v = '\\' || ') , public.hidden WHERE (ssn <> '\\'x'", 'backslash outside a string'),
    ("v = 'C:\\new' OR v = 'it''s' OR v = E'a\\\\b\\'c'", None),
    ("v = U&'d\\0061t' UESCAPE '\\'", None),
    ("v = B'01''' OR v = N'x'", None),
    # identifiers may contain $: no dollar quote starts inside one (PostgreSQL reads ok$$$ as a name)
    ("ok$$$) , public.hidden WHERE (ok$$ IS NOT NULL", 'closes a parenthesis it did not open'),
    ("a$e'\\' ) , x'", 'closes a parenthesis it did not open'),
    ("abe'x' = v", None),
    ("e'x\\') ' = v", None),
    # a tag of any character >= 0x80, as PostgreSQL's lexer reads bytes
    ("v = $\u00b7$ ) $\u00b7$", None),
    ("v = $\u00b7$ ) ", 'unterminated dollar-quoted string'),
    ("v = $ ) $", 'starts no dollar-quoted string'),
    ("v = $x ) $x", 'starts no dollar-quoted string'),
    ("1e'x' = v", 'a number directly followed by'),
    ("1$$)$$ = v", 'a number directly followed by'),
    ("a--b", 'contains an SQL comment'),
])
def test_check_expression(check_input, text, message):
    check_input(PgOpsError, P.check_expression, text, text if message is None else None, message)


@pytest.mark.parametrize('text, expected', [
    ('e > 5', 'e > 5'),
    ('(e > 5)', 'e > 5'),
    ('((e > 5))', 'e > 5'),
    ('  ( e   >  5 ) ', 'e > 5'),
    ('(a > 1) AND (b < 2)', '(a > 1) AND (b < 2)'),
    ("(s = 'a''  b')", "s = 'a''  b'"),
    # forms the server never prints are left as they are (compared by the server)
    ("(s = E'a\\'  b')", "(s = E'a\\'  b')"),
    ("(s = $$a  b$$)", "(s = $$a  b$$)"),
    ("(s = 'a  b')", "s = 'a  b'"),
    ("(s = ')')", "s = ')'"),
    (None, None),
])
def test_normalise_expression(text, expected):
    assert P.normalise_expression(text) == expected


@pytest.mark.parametrize('item, key, spec', [
    ('t', ('public', 't'), dict(columns=None, where=None, only=False)),
    ('s.t', ('s', 't'), dict(columns=None, where=None, only=False)),
    ('"My Schema"."a.b"', ('My Schema', 'a.b'), dict(columns=None, where=None, only=False)),
    ('Mixed.Case', ('Mixed', 'Case'), dict(columns=None, where=None, only=False)),
    (dict(name='s.t', columns=['b', 'a'], where='a > 1'), ('s', 't'),
     dict(columns=('b', 'a'), where='a > 1', only=False)),
    (dict(name='t', columns=None), ('public', 't'), dict(columns=None, where=None, only=False)),
    (dict(name='t', only=True), ('public', 't'), dict(columns=None, where=None, only=True)),
    (dict(name='t', only='no'), ('public', 't'), dict(columns=None, where=None, only=False)),
])
def test_parse_table(item, key, spec):
    assert P.parse_table(item) == (key, spec)


@pytest.mark.parametrize('item, message', [
    (dict(name='t', colums=['a']), 'unknown key(s) colums'),
    (dict(columns=['a']), 'has no name'),
    (dict(name='t', columns=[]), 'must be a non-empty list'),
    (dict(name='t', columns='a'), 'must be a non-empty list'),
    (dict(name='t', columns=['a', 'a']), 'names a column twice'),
    (dict(name='t', where='a; b'), 'contains ";"'),
    (dict(name='t', only='sometimes'), 'tables[t].only must be true or false'),
    (5, 'must be a string "schema.table" or a dict'),
    ('a.b.c', 'must be "table" or "schema.table"'),
    ('x' * 64, 'is 64 bytes long'),
])
def test_parse_table_refuses(item, message):
    with pytest.raises(PgOpsError) as err:
        P.parse_table(item)
    assert message in str(err.value)


@pytest.mark.parametrize('kwargs, message', [
    (dict(name='p' * 64), 'is 64 bytes long'),
    (dict(all_tables=True, tables=['t']), 'all_tables: true cannot be combined'),
    (dict(all_tables=True, schemas=['s']), 'all_tables: true cannot be combined'),
    (dict(tables=['t', 'public.t']), 'Table public.t is listed twice'),
    (dict(schemas=['s', 's']), 'A schema is listed twice'),
    (dict(publish=['insert', 'upsert']), 'got upsert'),
    (dict(owner='o' * 64), 'owner'),
])
def test_parse_params_refuses(kwargs, message):
    with pytest.raises(PgOpsError) as err:
        P.parse_params(params(**kwargs))
    assert message in str(err.value)


def test_parse_params_orders_publish_and_schemas():
    spec = P.parse_params(params(publish=['truncate', 'insert', 'insert'], schemas=['b', 'a']))
    assert spec['publish'] == ['insert', 'truncate']
    assert spec['schemas'] == ['a', 'b']


@pytest.mark.parametrize('kwargs, expected', [
    (dict(), []),
    (dict(tables=[dict(name='t', where='a > 1')]), ['publication_row_filter']),
    (dict(tables=[dict(name='t', columns=['a'])]), ['publication_column_list']),
    (dict(schemas=['s']), ['publication_schemas']),
    (dict(schemas=[]), []),
    # publish: truncate (11) and publish_via_partition_root (13) are in every supported server
    (dict(publish=['truncate']), []),
    (dict(publish_via_partition_root=False), []),
    (dict(publish_generated_columns='stored'), ['publication_generated_columns']),
])
def test_features(kwargs, expected):
    assert P.features(P.parse_params(params(**kwargs))) == expected


@pytest.mark.parametrize('spec_all, tables, schemas, current_all, expected', [
    (True, None, None, False, True),
    (False, None, None, True, False),
    (None, None, None, True, True),
    (None, None, None, False, False),
    (None, {}, None, True, False),
    (None, None, ['s'], True, False),
])
def test_desired_all_tables(spec_all, tables, schemas, current_all, expected):
    spec = dict(all_tables=spec_all, tables=tables, schemas=schemas)
    assert P.desired_all_tables(spec, current_all) is expected


def test_desired_state_keeps_what_is_left_out():
    current = state(tables={('public', 't'): dict(columns=None, where=None)}, schemas=['s'], publish=['insert'],
                    comment='c', owner='alice')
    spec = P.parse_params(params(publish=['insert', 'update']))
    desired = P.desired_state(spec, current, 'postgres')
    assert desired['tables'] == current['tables']
    assert desired['schemas'] == ['s']
    assert desired['publish'] == ['insert', 'update']
    assert desired['owner'] == 'alice'
    assert desired['comment'] == 'c'


def test_desired_state_of_a_new_publication():
    missing = dict(state(), exists=False, publish=[], owner=None, publish_generated_columns=None)
    desired = P.desired_state(P.parse_params(params(comment='')), missing, 'bob')
    assert desired['publish'] == list(P.PUBLISH_OPERATIONS)
    assert desired['owner'] == 'bob'
    assert desired['comment'] is None
    assert desired['publish_via_partition_root'] is False


T = ('public', 't')
U = ('public', 'u')


@pytest.mark.parametrize('have, want, normalised, expected', [
    # unchanged, filter written as stored or without the outer parentheses
    ({T: dict(columns=None, where='(e > 5)')}, {T: dict(columns=None, where='e > 5')}, {}, ([], [], [])),
    # the server's form decides when the text differs
    ({T: dict(columns=None, where="((s)::text = 'x'::text)")}, {T: dict(columns=None, where="s = 'x'")},
     {T: "((s)::text = 'x'::text)"}, ([], [], [])),
    ({T: dict(columns=None, where="((s)::text = 'x'::text)")}, {T: dict(columns=None, where="s = 'y'")},
     {T: "((s)::text = 'y'::text)"}, ([], [], [T])),
    # filter added or removed
    ({T: dict(columns=None, where=None)}, {T: dict(columns=None, where='e > 5')}, {}, ([], [], [T])),
    ({T: dict(columns=None, where='(e > 5)')}, {T: dict(columns=None, where=None)}, {}, ([], [], [T])),
    # column lists compare as sets
    ({T: dict(columns=('a', 'b'), where=None)}, {T: dict(columns=('b', 'a'), where=None)}, {}, ([], [], [])),
    ({T: dict(columns=('a', 'b'), where=None)}, {T: dict(columns=('a',), where=None)}, {}, ([], [], [T])),
    ({T: dict(columns=('a',), where=None)}, {T: dict(columns=None, where=None)}, {}, ([], [], [T])),
    # membership
    ({T: dict(columns=None, where=None)}, {U: dict(columns=None, where=None)}, {}, ([U], [T], [])),
])
def test_table_differences(have, want, normalised, expected):
    assert P.table_differences(state(tables=have), state(tables=want), normalised) == expected


def test_filters_to_probe_only_asks_when_text_differs():
    have = {T: dict(columns=None, where='(e > 5)'), U: dict(columns=None, where="((s)::text = 'x'::text)"),
            ('public', 'v'): dict(columns=None, where=None)}
    want = {T: dict(columns=None, where='e > 5'), U: dict(columns=None, where="s = 'x'"),
            ('public', 'v'): dict(columns=None, where='a > 1'), ('public', 'w'): dict(columns=None, where='a > 1')}
    assert P.filters_to_probe(state(tables=have), state(tables=want)) == [U]
    assert P.filters_to_probe(state(tables=have), state(tables=want), new_filters=True) == [
        U, ('public', 'v'), ('public', 'w')]


@pytest.mark.parametrize('notices, expected', [
    (['NOTICE:  pgops-probe [["public", "t", "(e > 5)", ["e"]]]\n'],
     {T: dict(where='(e > 5)', filter_columns=['e'])}),
    (['WARNING:  wal_level is insufficient\n', 'NOTICE:  pgops-probe [["a b", "c.d", "(x = 1)", ["x"]], \n '
      '["public", "u", null, null]]\n'],
     {('a b', 'c.d'): dict(where='(x = 1)', filter_columns=['x']), U: dict(where=None, filter_columns=None)}),
    (['NOTICE:  pgops-probe \n'], {}),
    (['NOTICE:  something else\n'], None),
])
def test_parse_probe_notices(notices, expected):
    assert P.parse_probe_notices(notices) == expected


def row(problems=(), requested=()):
    return dict(identity_problems=list(problems), requested_tables=list(requested))


@pytest.mark.parametrize('publish, problems, requested, columns, expected', [
    (['insert', 'truncate'], [dict(schema='public', table='t', identity='d')], [], None, []),
    (['insert', 'update'], [dict(schema='public', table='t', identity='d')], [], None,
     ['public.t (no primary key and REPLICA IDENTITY DEFAULT)']),
    (['delete'], [dict(schema='S', table='t', identity='n')], [], None, ['"S".t (REPLICA IDENTITY NOTHING)']),
    (['update'], [], [dict(schema='public', table='t', exists=True, relkind='r', identity_columns=['id'])],
     ('name',), ['public.t (column list leaves out replica identity column(s) id)']),
    (['update'], [], [dict(schema='public', table='t', exists=True, relkind='r', identity_columns=['id'])],
     ('id', 'name'), []),
])
def test_identity_problems(publish, problems, requested, columns, expected):
    desired = state(publish=publish, tables={T: dict(columns=columns, where=None)})
    assert P.identity_problems(None, row(problems, requested), desired) == expected


@pytest.mark.parametrize('identity, used, expected', [
    (['id'], ['id'], []),
    (['id'], ['kind', 'id'], ['public.t (row filter uses column(s) kind, which are not in the replica identity id)']),
    (['id', 'kind', 'qty'], ['kind'], []),
    ([], ['kind'], []),
])
def test_identity_problems_of_row_filters(identity, used, expected):
    requested = [dict(schema='public', table='t', exists=True, relkind='r', identity_columns=identity)]
    desired = state(publish=['update'], tables={T: dict(columns=None, where='x')})
    assert P.identity_problems(None, row((), requested), desired, {T: used}) == expected


def test_validate_request_lists_every_problem():
    spec = P.parse_params(params(tables=['missing', 'v', 'm', 'f', 'u', dict(name='t', columns=['nope'])],
                                 owner='ghost', schemas=['nowhere']))
    requested = [
        dict(schema='public', table='missing', exists=False),
        dict(schema='public', table='v', exists=True, relkind='v', persistence='p', columns=['a']),
        dict(schema='public', table='m', exists=True, relkind='m', persistence='p', columns=['a']),
        dict(schema='public', table='f', exists=True, relkind='f', persistence='p', columns=['a']),
        dict(schema='public', table='u', exists=True, relkind='r', persistence='u', columns=['a']),
        dict(schema='public', table='t', exists=True, relkind='r', persistence='p', columns=['a']),
    ]
    with pytest.raises(PgOpsError) as err:
        P.validate_request(spec, dict(requested_tables=requested, missing_schemas=['nowhere'], owner_exists=False))
    assert err.value.extra['problems'] == [
        'table public.missing does not exist',
        'public.v is a view; only regular and partitioned tables can be published',
        'public.m is a materialized view; only regular and partitioned tables can be published',
        'public.f is a foreign table; only regular and partitioned tables can be published',
        'public.u is an unlogged table; only permanent (logged) tables can be published',
        'table public.t has no column(s) nope',
        'schema(s) nowhere do not exist',
        'owner role ghost does not exist',
    ]
    assert str(err.value).endswith('Nothing was changed.')


def test_shown_state_names_and_version():
    st = state(tables={('My S', 't'): dict(columns=('a',), where='(a > 1)')}, publish_generated_columns='none')
    out = P.shown_state(st, 150000)
    assert out['tables'] == [dict(name='"My S".t', schema='My S', table='t', columns=['a'], where='(a > 1)')]
    assert 'publish_generated_columns' not in out
    assert P.shown_state(st, 180000)['publish_generated_columns'] == 'none'
    # check mode shows a new publication with the server's default, as the real run reads it back
    assert P.shown_state(dict(st, publish_generated_columns=None), 180000)['publish_generated_columns'] == 'none'
    assert P.shown_state(dict(st, exists=False), 180000) == dict(exists=False)


def test_documentation_agrees_with_the_argument_spec():
    import yaml
    from ansible_collections.pgops.logical_replication.plugins.modules import postgresql_publication as module
    documented = yaml.safe_load(module.DOCUMENTATION)['options']
    assert sorted(documented) == sorted(module.ARGUMENT_SPEC)
    for name, spec in module.ARGUMENT_SPEC.items():
        doc = documented[name]
        for key in ('type', 'default', 'choices', 'elements', 'required'):
            assert doc.get(key) == spec.get(key), (name, key)
    yaml.safe_load(module.EXAMPLES)
    returned = yaml.safe_load(module.RETURN)
    assert set(returned) >= {'exists', 'all_tables', 'tables', 'schemas', 'publish', 'publish_via_partition_root',
                             'owner', 'comment', 'queries', 'diff'}


# -- inheritance children follow a table listed without only --------------------------------------------

def child_row(schema, table, parent, relkind='r'):
    return dict(schema=schema, table=table, exists=True, relkind=relkind, persistence='p', columns=['id', 'a'],
                parent_schema=parent[0], parent_table=parent[1])


def listed_row(schema, table):
    return dict(schema=schema, table=table, exists=True, relkind='r', persistence='p', columns=['id', 'a'],
                parent_schema=None, parent_table=None)


def test_with_children_gives_children_the_parent_spec():
    spec = P.parse_params(params(tables=[dict(name='parent', columns=['id', 'a'], where='a > 1'), 'c2']))
    requested = [listed_row('public', 'parent'), child_row('public', 'c1', ('public', 'parent')),
                 child_row('public', 'c2', ('public', 'parent')), listed_row('public', 'c2')]
    with pytest.raises(PgOpsError) as err:
        P.with_children(spec, dict(requested_tables=requested))
    assert err.value.extra['problems'] == [
        'public.c2 is an inheritance child of public.parent, which is listed without only: true, so PostgreSQL '
        'publishes it with the column list and row filter of public.parent; it is also listed itself with a '
        'different one']
    spec = P.parse_params(params(tables=[dict(name='parent', columns=['id', 'a'], where='a > 1'),
                                         dict(name='c2', columns=['a', 'id'], where='(a > 1)')]))
    tables = P.with_children(spec, dict(requested_tables=requested))['tables']
    assert tables[('public', 'c1')] == dict(columns=('id', 'a'), where='a > 1', only=True, parent=('public', 'parent'))
    assert tables[('public', 'c2')] == dict(columns=('a', 'id'), where='(a > 1)', only=False)
    assert P.with_children(P.parse_params(params()), dict(requested_tables=[]))['tables'] is None


def test_with_children_refuses_two_parents_that_disagree():
    spec = P.parse_params(params(tables=[dict(name='p1', where='a > 1'), dict(name='p2', where='a > 2')]))
    requested = [listed_row('public', 'p1'), child_row('public', 'c', ('public', 'p1')),
                 listed_row('public', 'p2'), child_row('public', 'c', ('public', 'p2'))]
    with pytest.raises(PgOpsError) as err:
        P.with_children(spec, dict(requested_tables=requested))
    assert 'it is also a child of public.p1 with a different one' in str(err.value)


def test_requested_tables_once_each_and_children_validated():
    requested = [child_row('public', 'c', ('public', 'p')), listed_row('public', 'p'), listed_row('public', 'c'),
                 child_row('public', 'f', ('public', 'p'), relkind='f'), child_row('public', 'f', ('public', 'q'))]
    assert [(t['table'], t['parent_table']) for t in P.requested_tables(dict(requested_tables=requested))] == [
        ('p', None), ('c', None), ('f', 'p')]
    spec = P.with_children(P.parse_params(params(tables=['p', 'c', 'q'])), dict(requested_tables=requested))
    with pytest.raises(PgOpsError) as err:
        P.validate_request(spec, dict(requested_tables=requested, missing_schemas=[], owner_exists=True))
    assert err.value.extra['problems'] == [
        'public.f (an inheritance child of public.p, which is listed without only: true) is a foreign table; '
        'only regular and partitioned tables can be published']
