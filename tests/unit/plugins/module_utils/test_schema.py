# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure functions of the schema drift and schema_sync (module_utils/_schema.py)."""

import copy

import pytest

from ansible_collections.pgops.logical_replication.plugins.module_utils import _schema


def col(name, type_='integer', published=True, not_null=False, default=None, builtin=True, identity=None,
        extension=None, sequence=None, collation=None, generated=None, expression=None, uses=()):
    return dict(name=name, type=type_, published=published, not_null=not_null, default=default,
                default_builtin=builtin, identity=identity, generated=generated, extension=extension,
                sequence=sequence, collation=collation, expression=expression, expression_columns=list(uses))


def table(name='abc', schema='public', columns=None, publications=('zoo',), constraints=None, indexes=None,
          replica_identity='d', replica_identity_index=None):
    return dict(schema=schema, table=name, publications=list(publications),
                columns=columns if columns is not None else [col('id', not_null=True), col('v', 'text')],
                constraints=constraints if constraints is not None else [
                    dict(name='abc_pkey', definition='PRIMARY KEY (id)', index='abc_pkey', columns=['id'],
                         extensions=[])],
                indexes=indexes or [], replica_identity=replica_identity,
                replica_identity_index=replica_identity_index)


def published(*tables, **extensions):
    return dict(publications=['zoo'], tables=list(tables),
                extensions=dict((k, dict(version=v, schema='public')) for k, v in extensions.items()))


def here(name, type_='integer', not_null=False, has_default=False):
    return dict(name=name, type=type_, not_null=not_null, has_default=has_default)


TYPES = ('integer', 'text', 'bigint', 'timestamp with time zone')


def state(tables=None, extensions=None, available=None, types=TYPES, schemas=('public',)):
    return _schema.subscriber_state(dict(
        schemas=list(schemas), tables=[dict(schema=k[0], table=k[1], columns=v) for k, v in (tables or {}).items()],
        extensions=extensions or {}, available_extensions=available or {}, types=list(types)))


def problems(drift):
    return [(e['table'], e['column'], e['problem']) for e in drift]


SAME = {('public', 'abc'): [here('id', not_null=True), here('v', 'text')]}


@pytest.mark.parametrize('pub, sub, expected', [
    (published(table()), state(SAME), []),
    (published(table()), state({}), [('public.abc', None, 'missing_table')]),
    (published(table()), state({('public', 'abc'): [here('id')]}), [('public.abc', 'v', 'missing_column')]),
    (published(table()), state({('public', 'abc'): [here('id'), here('v', 'character varying(10)')]}),
     [('public.abc', 'v', 'type_mismatch')]),
    # a subscriber column nobody sends: a problem only when NOT NULL without a default
    (published(table()), state({('public', 'abc'): SAME[('public', 'abc')] + [here('x', not_null=True)]}),
     [('public.abc', 'x', 'unpublished_not_null')]),
    (published(table()), state({('public', 'abc'): SAME[('public', 'abc')]
                                + [here('x', not_null=True, has_default=True), here('y')]}), []),
    # a column left out by the column list is not expected, and is "not published" on the subscriber
    (published(table(columns=[col('id'), col('v', 'text', published=False)])),
     state({('public', 'abc'): [here('id'), here('v', 'text', not_null=True)]}),
     [('public.abc', 'v', 'unpublished_not_null')]),
    (published(table(columns=[col('id'), col('v', 'text', published=False)])), state({('public', 'abc'): [here('id')]}),
     []),
    # extension types: reported once per extension, naming its version on the publisher
    (published(table(columns=[col('id'), col('v', 'public.citext', extension='citext')]), citext='1.6'),
     state({}), [('public.abc', None, 'missing_table'), ('public.abc', 'v', 'missing_extension')]),
    (published(table(columns=[col('id'), col('v', 'public.citext', extension='citext')]), citext='1.6'),
     state({}, extensions={'citext': dict(version='1.6', schema='public')}), [('public.abc', None, 'missing_table')]),
])
def test_drift(pub, sub, expected):
    assert problems(_schema.drift(pub, sub)) == expected


def test_drift_entry_shape_and_messages():
    pub = published(table('My T', columns=[col('id'), col('v', 'public.citext', extension='citext')]), citext='1.6')
    drift = _schema.drift(pub, state({('public', 'My T'): [here('id', 'bigint')]}, available={'citext': '1.6'}),
                          subscription='zoo')
    assert [sorted(e) for e in drift] == [sorted(['subscription', 'table', 'column', 'problem', 'publisher_type',
                                                  'subscriber_type', 'extension', 'publisher_version', 'message'])] * 3
    mismatch, missing, extension = drift
    assert (mismatch['problem'], mismatch['publisher_type'], mismatch['subscriber_type']) == (
        'type_mismatch', 'integer', 'bigint')
    assert mismatch['message'].startswith('Column public."My T".id is integer on the publisher but bigint on the '
                                          'subscriber')
    assert missing['message'].startswith('Column public."My T".v (public.citext) is published but missing')
    assert (extension['extension'], extension['publisher_version']) == ('citext', '1.6')
    assert extension['subscription'] == 'zoo'
    assert 'Extension citext (version 1.6 on the publisher)' in extension['message']
    assert 'it is available there (version 1.6)' in extension['message']


def test_drift_only_for_the_given_publications():
    pub = published(table('a', publications=['one']), table('b', publications=['two']))
    assert problems(_schema.drift(pub, state({}), ['two'])) == [('public.b', None, 'missing_table')]


@pytest.mark.parametrize('options, sub, error', [
    (dict(), state({}, available={}), 'extension citext (version 1.6 on the publisher), needed by public.abc.v, is '
                                      'not available on the subscriber server (pg_available_extensions)'),
    (dict(create_extensions=False), state({}, available={'citext': '1.6'}), 'create_extensions is false'),
    (dict(), state({}, available={'citext': '1.6'}, types=('integer',)), None),
])
def test_plan_refuses_what_it_cannot_create(options, sub, error):
    pub = published(table(columns=[col('id'), col('v', 'public.citext', extension='citext')]), citext='1.6')
    if error is None:
        assert _schema.plan(pub, sub, **options)['extensions'] == [('citext', 'public')]
        return
    with pytest.raises(_schema.SchemaError) as err:
        _schema.plan(pub, sub, **options)
    assert error in str(err.value) and str(err.value).endswith('Nothing was changed.')


def test_plan_refuses_a_type_the_subscriber_lacks():
    pub = published(table(columns=[col('id'), col('mood', 'public.mood')]))
    with pytest.raises(_schema.SchemaError, match='type public.mood of public.abc.mood exists neither on the '
                                                  'subscriber nor in an extension'):
        _schema.plan(pub, state({}))


def test_plan_is_additive_only():
    pub = published(table(columns=[col('id'), col('v', 'text'), col('w', 'bigint')]))
    sub = state({('public', 'abc'): [here('id', 'bigint'), here('v', 'integer'), here('old')]})
    planned = _schema.plan(pub, sub)
    assert (planned['tables'], [pair[1]['name'] for pair in planned['columns']]) == ([], ['w'])
    assert _schema.plan(pub, sub, add_columns=False)['columns'] == []
    assert _schema.plan(published(table()), state({}), create_tables=False)['tables'] == []
    after = _schema.after_state(sub, planned)
    assert problems(_schema.drift(pub, after)) == [('public.abc', 'id', 'type_mismatch'),
                                                   ('public.abc', 'v', 'type_mismatch')]


def render(statement):
    """A composed statement as text, without a connection."""
    return statement.as_string(None)


SEQ = dict(schema='s', name='abc_id_seq', type='integer', start=1, increment=1, min=1, max=2147483647, cache=1,
           cycle=False, owned_default=True)


def test_statements_of_a_new_table():
    t = table(schema='s', columns=[
        col('id', not_null=True, default="nextval('s.abc_id_seq'::regclass)", builtin=False, sequence=SEQ),
        col('label', 'text', not_null=True, default="'new'::text"),
        col('at', 'timestamp with time zone', default='now()'),
        col('f', 'integer', default='s.f()', builtin=False),
        col('name', 'text', collation='pg_catalog."C"'),
        col('secret', 'text', published=False, not_null=True)],
        indexes=[dict(name='abc_lower', definition='CREATE INDEX abc_lower ON s.abc USING btree (lower(label))',
                      columns=['label'], extensions=[]),
                 dict(name='abc_secret', definition='CREATE UNIQUE INDEX abc_secret ON s.abc USING btree (secret)',
                      columns=['secret'], extensions=[])],
        replica_identity='i', replica_identity_index='abc_lower')
    planned = _schema.plan(published(t), state({}, schemas=()))
    assert [render(s) for s in _schema.statements(planned)] == [
        'CREATE SCHEMA "s"',
        'CREATE SEQUENCE IF NOT EXISTS "s"."abc_id_seq" AS integer START WITH 1 INCREMENT BY 1 MINVALUE 1 '
        'MAXVALUE 2147483647 CACHE 1 NO CYCLE',
        'CREATE TABLE "s"."abc" ("id" integer DEFAULT nextval(\'"s"."abc_id_seq"\'::regclass) NOT NULL, '
        '"label" text DEFAULT \'new\'::text NOT NULL, "at" timestamp with time zone DEFAULT now(), '
        '"f" integer, "name" text COLLATE pg_catalog."C", CONSTRAINT "abc_pkey" PRIMARY KEY (id))',
        'ALTER SEQUENCE "s"."abc_id_seq" OWNED BY "s"."abc"."id"',
        'CREATE INDEX abc_lower ON s.abc USING btree (lower(label))',
        'ALTER TABLE "s"."abc" REPLICA IDENTITY USING INDEX "abc_lower"',
    ]


def test_statements_of_identity_extension_and_added_column():
    ident = dict(SEQ, name='t_id_seq', start=100, owned_default=False)
    t = table('t', columns=[col('id', 'bigint', not_null=True, identity='a', sequence=ident),
                            col('tag', 'public.citext', extension='citext')],
              constraints=[], replica_identity='f')
    other = table('abc', columns=[col('id'), col('v', 'text'), col('w', 'public.citext', extension='citext')])
    sub = state({('public', 'abc'): [here('id'), here('v', 'text')]}, available={'citext': '1.6'})
    planned = _schema.plan(published(t, other, citext='1.6'), sub)
    assert [render(s) for s in _schema.statements(planned)] == [
        'CREATE EXTENSION "citext" WITH SCHEMA "public" CASCADE',
        'CREATE TABLE "public"."t" ("id" bigint GENERATED ALWAYS AS IDENTITY (SEQUENCE NAME "s"."t_id_seq" '
        'START WITH 100 INCREMENT BY 1 MINVALUE 1 MAXVALUE 2147483647 CACHE 1 NO CYCLE) NOT NULL, '
        '"tag" public.citext)',
        'ALTER TABLE "public"."t" REPLICA IDENTITY FULL',
        'ALTER TABLE "public"."abc" ADD COLUMN "w" public.citext',
    ]
    after = _schema.after_state(sub, planned)
    assert _schema.drift(published(t, other, citext='1.6'), after) == []
    assert _schema.columns_by_table(published(t, other), sub) == {'public.abc': ['id', 'v']}
    assert _schema.columns_by_table(published(t, other), after) == {'public.abc': ['id', 'v', 'w'],
                                                                    'public.t': ['id', 'tag']}


def test_nothing_to_do_is_no_statement():
    planned = _schema.plan(published(table()), state(SAME))
    assert _schema.statements(planned) == []


def test_subscriber_params():
    pub = published(table(columns=[col('id'), col('v', 'public.citext', extension='citext')],
                          indexes=[dict(name='i', definition='', columns=['v'], extensions=['pg_trgm'])]),
                    table('b', schema='other'), citext='1.6')
    assert _schema.subscriber_params(pub) == dict(
        schemas=['other', 'public'], table_schemas=['public', 'other'], table_names=['abc', 'b'],
        extensions=['citext', 'pg_trgm'], types=['integer', 'public.citext', 'text'])


@pytest.mark.parametrize('options, expected', [
    ({}, '-c search_path=pg_catalog'),
    ({'options': '-c work_mem=8MB'}, '-c work_mem=8MB -c search_path=pg_catalog'),
])
def test_publisher_params(options, expected):
    params = dict(host='h', password='pw', **options)
    before = copy.deepcopy(params)
    assert _schema.publisher_params(params)['options'] == expected
    assert params == before


@pytest.mark.parametrize('version, present, absent', [
    (140000, ["'published', a.attgenerated = ''", 'NULL::text[] AS attnames'], ['attnames::text[]']),
    (150000, ['p.attnames::text[]', "'published', a.attname = ANY(t.published)"], ["'published', a.attgenerated"]),
])
def test_published_query_by_version(mentions, version, present, absent):
    mentions(_schema.published_query(version), present + ['pg_get_indexdef', 'pg_depend', "'{}'::json"], absent)


def test_generated_columns_are_created_when_computable():
    t = table(columns=[col('id', not_null=True), col('v', 'text', published=False),
                       col('twice', generated='s', published=False, expression='(id * 2)', uses=['id']),
                       col('of_v', 'text', generated='s', published=False, expression='upper(v)', uses=['v']),
                       col('odd', generated='s', published=False, expression='f(id)', uses=['id'], builtin=False)])
    statements = [render(s) for s in _schema.statements(_schema.plan(published(t), state({})))]
    assert statements == ['CREATE TABLE "public"."abc" ("id" integer NOT NULL, "twice" integer GENERATED ALWAYS AS '
                          '((id * 2)) STORED, CONSTRAINT "abc_pkey" PRIMARY KEY (id))']
    # a generated column on the subscriber is never a NOT NULL column nobody sends
    after = _schema.after_state(state({}), _schema.plan(published(t), state({})))
    assert after['tables'][('public', 'abc')][1] == dict(name='twice', type='integer', not_null=False,
                                                         has_default=True)
