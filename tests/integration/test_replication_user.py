# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""replication_user against real servers: role, SCRAM verifier, grants, read back independently."""

import json

import psycopg2
import psycopg2.extras
import pytest

from conftest import LOGICAL, MAJORS
from pgharness import assert_quartet, quartet_tasks, random_name, write_inventory

pytestmark = pytest.mark.all_cores  # also run on ansible-core 2.16 (make integration)

FQCN = 'pgops.logical_replication.replication_user'
PASSWORD = 'Zebra-Stripes-7431'
NEW_PASSWORD = 'Giraffe-Neck-9902'


def connect_as(server, user, password, replication=None):
    kwargs = dict(host=server.host, port=server.port, user=user, password=password, dbname='postgres',
                  connect_timeout=5)
    if replication:
        kwargs['connection_factory'] = psycopg2.extras.LogicalReplicationConnection
    conn = psycopg2.connect(**kwargs)
    if not replication:
        conn.autocommit = True
    return conn


def can_select(conn, table):
    with conn.cursor() as cur:
        try:
            cur.execute('SELECT count(*) FROM %s' % table)
            return cur.fetchone()[0]
        except psycopg2.errors.InsufficientPrivilege as exc:
            return str(exc).splitlines()[0]


def test_quartet_secret_grants_then_change_and_drop(ansible, new_server):
    server = new_server(name='ruser', conf={'log_statement': "'all'"})
    server.sql('CREATE SCHEMA app; CREATE TABLE app.t1 (id int PRIMARY KEY); CREATE TABLE app.t2 (id int); '
               'CREATE TABLE app.t3 (id int); INSERT INTO app.t1 VALUES (1), (2); '
               'CREATE SCHEMA other; CREATE TABLE other.x (id int)')
    name = random_name('logic')
    args = dict(server.login, name=name, password=PASSWORD, connection_limit=3,
                grant_select={'tables': ['app.t1', 'app.t2'], 'schemas': ['app']})
    since = server.log_size()
    run = ansible.tasks(quartet_tasks('replication_user', args), diff=True, verbosity=3)
    check, apply, check_again, apply_again = assert_quartet([r['result'] for r in run.results])

    expected = ['CREATE ROLE "%s" WITH LOGIN REPLICATION CONNECTION LIMIT 3 PASSWORD \'********\'' % name,
                'GRANT CONNECT ON DATABASE "postgres" TO "%s"' % name,
                'GRANT USAGE ON SCHEMA "app" TO "%s"' % name,
                'GRANT SELECT ON TABLE "app"."t1", "app"."t2" TO "%s"' % name]
    assert check['queries'] == expected
    assert check['diff']['before'] == {}
    assert check['diff']['after'] == dict(name=name, login=True, replication=True, connection_limit=3,
                                          password='set', connect=True, usage=['app'],
                                          select=['app.t1', 'app.t2'])
    assert apply['role'] == check['diff']['after']
    # initdb's pg_hba.conf lets every user in for physical replication from here: REPLICATION opens that too
    physical = ['%(type)s %(database)s %(user_name)s' % line for line in apply['physical_replication_hba']]
    assert physical == ["local ['replication'] ['all']", "host ['replication'] ['all']", "host ['replication'] ['all']"]
    warning = [w for w in apply['warnings'] if 'lets role %s in for physical replication' % name in w]
    assert warning and 'host replication all 127.0.0.1 scram-sha-256' in warning[0], apply['warnings']
    for later in (check_again, apply_again):
        assert later['password_compared'] is True
        assert later['role'] == apply['role']

    # the catalog, read independently
    role = server.sql('SELECT rolcanlogin, rolreplication, rolconnlimit, rolpassword FROM pg_authid '
                      'WHERE rolname = %s', (name,))
    assert role[0][:3] == (True, True, 3)
    verifier = role[0][3]
    assert verifier.startswith('SCRAM-SHA-256$4096:')
    privileges = server.sql(
        "SELECT c.oid::regclass::text, has_table_privilege(%s, c.oid, 'SELECT'), "
        "has_table_privilege(%s, c.oid, 'INSERT') FROM pg_class c "
        "WHERE c.relnamespace IN ('app'::regnamespace, 'other'::regnamespace) AND c.relkind = 'r' ORDER BY 1",
        (name, name))
    assert privileges == [('app.t1', True, False), ('app.t2', True, False), ('app.t3', False, False),
                          ('other.x', False, False)]

    # the password (and the verifier) are nowhere: not in any output at -vvv, not in the server log
    log = server.log_text(since)
    for text in (run.stdout, run.stderr, log):
        assert PASSWORD not in text
        assert verifier not in text
        assert verifier.split('$')[2] not in text
    # a run that changes nothing: one connection, at most two statements
    sessions = server.sessions_of(FQCN, since)
    assert len(sessions) == 4
    for _sess, statements in sessions[2:]:
        assert len(statements) <= 2, statements

    # the user connects, opens a replication connection, and reads only what was granted
    conn = connect_as(server, name, PASSWORD)
    assert can_select(conn, 'app.t1') == 2
    assert can_select(conn, 'app.t2') == 0
    assert can_select(conn, 'app.t3') == 'permission denied for table t3'
    assert can_select(conn, 'other.x') == 'permission denied for schema other'
    conn.close()
    repl = connect_as(server, name, PASSWORD, replication=True)
    with repl.cursor() as cur:
        cur.execute('IDENTIFY_SYSTEM')
        assert cur.fetchone()[3] == 'postgres'
    repl.close()

    # change: a new password, one table fewer, no connection limit; then every table of the schema
    changed = dict(args, password=NEW_PASSWORD, connection_limit=-1,
                   grant_select={'tables': ['app.t1'], 'schemas': ['app']})
    every = dict(args, password=NEW_PASSWORD, connection_limit=-1,
                 grant_select={'schemas': ['app'], 'all_tables_in_schemas': True})
    on_create = dict(every, password='something-else', update_password='on_create')
    since = server.log_size()
    run = ansible.tasks([{'name': 'change', FQCN: changed}, {'name': 'change again', FQCN: changed},
                         {'name': 'all tables', FQCN: every}, {'name': 'all tables again', FQCN: every},
                         {'name': 'on_create', FQCN: on_create}], verbosity=3)
    change, change_again, every_tables, every_again, on_create_run = [r['result'] for r in run.results]
    assert change['changed'] is True, change
    assert change['queries'] == [
        'ALTER ROLE "%s" WITH CONNECTION LIMIT -1 PASSWORD \'********\'' % name,
        'REVOKE SELECT ON TABLE "app"."t2" FROM "%s"' % name]
    assert every_tables['changed'] is True and every_tables['queries'] == [
        'GRANT SELECT ON ALL TABLES IN SCHEMA "app" TO "%s"' % name]
    for result in (change_again, every_again, on_create_run):
        assert result['changed'] is False and not result.get('failed'), result
    new_verifier = server.value('SELECT rolpassword FROM pg_authid WHERE rolname = %s', (name,))
    log = server.log_text(since)
    for text in (run.stdout, run.stderr, log):
        for secret in (NEW_PASSWORD, PASSWORD, 'something-else', new_verifier.split('$')[2]):
            assert secret not in text
    with pytest.raises(psycopg2.OperationalError, match='password authentication failed'):
        connect_as(server, name, PASSWORD)
    conn = connect_as(server, name, NEW_PASSWORD)
    assert [can_select(conn, t) for t in ('app.t1', 'app.t2', 'app.t3', 'other.x')] == [
        2, 0, 0, 'permission denied for schema other']
    conn.close()

    # NOLOGIN: the role stays, with its grants, but cannot log in
    nologin = ansible.module('replication_user', dict(every, login=False))
    assert nologin['changed'] is True and nologin['queries'] == ['ALTER ROLE "%s" WITH NOLOGIN' % name], nologin
    assert nologin['role']['login'] is False
    with pytest.raises(psycopg2.OperationalError, match='is not permitted to log in'):
        connect_as(server, name, NEW_PASSWORD)

    # absent: revoke and drop
    check, apply, check_again, apply_again = ansible.quartet('replication_user', dict(server.login, name=name,
                                                                                      state='absent'))
    assert check['diff']['after'] == {}
    assert apply['queries'] == ['REVOKE ALL ON ALL TABLES IN SCHEMA "app" FROM "%s"' % name,
                                'REVOKE ALL ON SCHEMA "app" FROM "%s"' % name,
                                'REVOKE ALL ON DATABASE "postgres" FROM "%s"' % name,
                                'DROP ROLE "%s"' % name]
    assert server.value('SELECT count(*) FROM pg_roles WHERE rolname = %s', (name,)) == 0


def test_server_made_verifier_recognised_and_refusals(ansible, pg):
    name, owner = random_name('logic'), random_name('owner')
    schema = random_name('s')
    try:
        # PostgreSQL computes this verifier itself: the module must recognise the password as unchanged
        pg.sql("SET password_encryption = 'scram-sha-256'; CREATE ROLE %s LOGIN REPLICATION PASSWORD %%s; "
               "GRANT CONNECT ON DATABASE postgres TO %s; CREATE ROLE %s LOGIN; CREATE SCHEMA %s; "
               "CREATE TABLE %s.owned (id int); ALTER TABLE %s.owned OWNER TO %s"
               % (name, name, owner, schema, schema, schema, owner), (PASSWORD,))
        stored = pg.value('SELECT rolpassword FROM pg_authid WHERE rolname = %s', (name,))
        run = ansible.tasks([
            {'name': 'same password', FQCN: dict(pg.login, name=name, password=PASSWORD)},
            {'name': 'missing table', FQCN: dict(pg.login, name=name, password=PASSWORD,
                                                 grant_select={'tables': ['%s.nope' % schema]})},
            {'name': 'missing schema', FQCN: dict(pg.login, name=name,
                                                  grant_select={'schemas': ['no_such_schema_x']})},
            {'name': 'owner', FQCN: dict(pg.login, name=owner, state='absent')},
            {'name': 'all without schemas', FQCN: dict(pg.login, name=name,
                                                       grant_select={'all_tables_in_schemas': True})},
        ])
        same, table, missing_schema, owns, no_schemas = [r['result'] for r in run.results]
        assert same['changed'] is False and same['password_compared'] is True and same['queries'] == [], same
        assert table.get('failed') and table['msg'] == (
            'Table(s) %s.nope do not exist in database postgres. Nothing was granted; create them or correct '
            'grant_select.tables.' % schema)
        assert missing_schema.get('failed') and missing_schema['msg'].startswith(
            'Schema(s) no_such_schema_x do not exist in database postgres.')
        assert owns.get('failed') and owns['msg'].startswith(
            'Role %s owns objects (in: postgres), so it cannot be dropped.' % owner)
        assert no_schemas.get('failed') and no_schemas['msg'] == (
            'grant_select.all_tables_in_schemas needs grant_select.schemas. Nothing was changed.')
        for result in (table, missing_schema, owns, no_schemas):
            assert result['changed'] is False and result['queries'] == []
        assert pg.value('SELECT rolpassword FROM pg_authid WHERE rolname = %s', (name,)) == stored
        assert pg.value('SELECT count(*) FROM pg_roles WHERE rolname = %s', (owner,)) == 1
    finally:
        pg.sql('DROP SCHEMA IF EXISTS %s CASCADE' % schema)
        for role in (name, owner):
            if pg.value('SELECT count(*) FROM pg_roles WHERE rolname = %s', (role,)):
                pg.sql('REVOKE ALL ON DATABASE postgres FROM %s; DROP ROLE %s' % (role, role))


def test_createrole_login_fails_before_changing_anything(ansible, pg):
    """A CREATEROLE non-superuser login that may not grant what is asked fails before anything changes (no role
    left behind, the same on a re-run); one that holds the grant options succeeds; a GRANT that PostgreSQL refuses
    mid-run (here: a lock timeout) rolls the role back with it."""
    schema = random_name('s')
    plain, granter = random_name('plain'), random_name('granter')
    refused, made, rolled_back = random_name('refused'), random_name('made'), random_name('rolled')
    try:
        pg.sql("CREATE ROLE {plain} LOGIN CREATEROLE PASSWORD 'plain-pw';"
               "CREATE ROLE {granter} LOGIN CREATEROLE PASSWORD 'granter-pw';"
               "ALTER ROLE {granter} SET lock_timeout = '1s';"
               "CREATE SCHEMA {s}; CREATE TABLE {s}.t1 (id int); CREATE TABLE {s}.t3 (id int);"
               # plain reads t3 but may not pass it on: PostgreSQL's GRANT then only warns
               "GRANT USAGE ON SCHEMA {s} TO {plain}; GRANT SELECT ON {s}.t3 TO {plain};"
               "GRANT CONNECT ON DATABASE postgres TO {granter} WITH GRANT OPTION;"
               "GRANT USAGE ON SCHEMA {s} TO {granter} WITH GRANT OPTION;"
               "GRANT SELECT ON {s}.t1, {s}.t3 TO {granter} WITH GRANT OPTION"
               .format(s=schema, plain=plain, granter=granter))
        as_plain = dict(pg.login, login_user=plain, login_password='plain-pw', replication=False)
        as_granter = dict(pg.login, login_user=granter, login_password='granter-pw', replication=False)
        only_t3 = dict(as_plain, name=refused, grant_select={'tables': ['%s.t3' % schema]})
        both = dict(as_plain, name=refused, grant_select={'tables': ['%s.t1' % schema, '%s.t3' % schema]})
        allowed = dict(as_granter, name=made, grant_select={'tables': ['%s.t1' % schema, '%s.t3' % schema]})
        run = ansible.tasks([{'name': 'only t3', FQCN: only_t3}, {'name': 'only t3 again', FQCN: only_t3},
                             {'name': 'both', FQCN: both},
                             {'name': 'allowed', FQCN: allowed}, {'name': 'allowed again', FQCN: allowed}])
        first, again, two, ok, ok_again = [r['result'] for r in run.results]
        expected = ('Role %s (login_user) may not grant CONNECT on database postgres; USAGE on schema(s) %s; the SELECT '
                    'privilege on table(s) %s.t3: granting needs ownership of the object, the privilege WITH GRANT OPTION, or a '
                    'superuser. Nothing was changed (role %s was not created).' % (plain, schema, schema, refused))
        for result in (first, again):
            assert result.get('failed') and result['msg'].startswith(expected), result.get('msg')
            assert result['changed'] is False and result['queries'] == [], result
        assert two.get('failed') and 'SELECT privilege on table(s) %s.t1, %s.t3:' % (schema, schema) in two['msg'], two['msg']
        assert pg.value('SELECT count(*) FROM pg_roles WHERE rolname = %s', (refused,)) == 0

        assert ok['changed'] is True and not ok.get('failed'), ok.get('msg')
        assert ok_again['changed'] is False and ok_again['queries'] == [], ok_again
        assert pg.sql("SELECT has_table_privilege(%s, '{s}.t1', 'SELECT'), has_table_privilege(%s, '{s}.t3', "
                      "'SELECT')".format(s=schema), (made, made)) == [(True, True)]

        # the role and its grants are one transaction: a GRANT refused after CREATE ROLE leaves no role
        locker = pg.connect()
        locker.autocommit = False
        try:
            with locker.cursor() as cur:   # holds t1's pg_class row: the module's GRANT waits, then times out
                cur.execute('GRANT SELECT ON %s.t1 TO PUBLIC' % schema)
            failed = ansible.module('replication_user', dict(allowed, name=rolled_back))
        finally:
            locker.rollback()
            locker.close()
        assert failed.get('failed') and failed['msg'].startswith(
            'PostgreSQL refused GRANT SELECT ON TABLE "%s"."t1", "%s"."t3" TO "%s": ' % (schema, schema, rolled_back)
        ) and failed['msg'].endswith('Nothing was changed: every statement of this run was rolled back.'), failed
        assert failed['queries'][0].startswith('CREATE ROLE "%s"' % rolled_back), failed['queries']
        assert failed['changed'] is False
        assert pg.value('SELECT count(*) FROM pg_roles WHERE rolname = %s', (rolled_back,)) == 0
    finally:
        pg.sql('DROP SCHEMA IF EXISTS %s CASCADE' % schema)
        if pg.value('SELECT count(*) FROM pg_roles WHERE rolname = %s', (made,)):   # what granter granted
            pg.sql('SET ROLE %s; REVOKE ALL ON DATABASE postgres FROM %s; RESET ROLE' % (granter, made))
        for role in (refused, made, rolled_back, plain, granter):
            if pg.value('SELECT count(*) FROM pg_roles WHERE rolname = %s', (role,)):
                pg.sql('DROP OWNED BY %s; DROP ROLE %s' % (role, role))


def test_publisher_role_hba_names_only_the_database_and_warns_about_physical(ansible, new_server, major, work_root):
    """The publisher role's pg_hba entries name the published database, never `replication`; the existing lines
    that let its replication user in for physical replication (initdb's `replication all`) are warned about.
    One major: the role's templating does not differ by version."""
    if major != MAJORS[0]:
        pytest.skip('playbook-level: first major only')
    pub = new_server(name='rhino', conf=LOGICAL)
    pub.sql('CREATE DATABASE zoo')
    pub.sql('CREATE TABLE abc (id int PRIMARY KEY)', dbname='zoo')
    user = random_name('logic')
    entries = [{'name': 'zoo', 'publisher': 'rhino', 'subscriber': 'hippo', 'database': 'zoo',
                'tables': ['public.abc'], 'user': user, 'password': PASSWORD}]
    inventory = write_inventory(work_root, {'rhino': pub, 'hippo': pub}, entries)
    play = [dict(name='publish', hosts='rhino', gather_facts=False,
                 roles=[dict(role='pgops.logical_replication.publisher')])]
    run = ansible.playbook(play, inventory=inventory)
    assert run.rc == 0, run.output[-6000:]
    rules = pub.sql('SELECT type, database, user_name, address, auth_method FROM pg_hba_file_rules '
                    'WHERE %s = ANY(user_name)', (user,))
    assert rules == [('host', ['zoo'], [user], '127.0.0.1', 'scram-sha-256')], rules
    users = [r for r in run.results if r['task'].endswith('Replication users')]
    warnings = users[0]['result'].get('warnings', [])   # a loop's warnings are the task's
    assert [w for w in warnings if 'lets role %s in for physical replication' % user in w
            and 'line ' in w and 'host replication all 127.0.0.1 scram-sha-256' in w], json.dumps(users)[:3000]
    assert PASSWORD not in run.output


def test_inheritance_children_and_partitions_are_granted_with_their_parent(ansible, pg):
    """A publication of a parent publishes its children (and a partitioned table's partitions) as tables of their
    own, and the subscriber's initial copy reads each one directly as the replication user."""
    schema = random_name('inh')
    name = random_name('logic')
    pg.sql('CREATE SCHEMA {s}; CREATE SCHEMA {s}_kids; CREATE TABLE {s}.parent (id int PRIMARY KEY);'
           'CREATE TABLE {s}.kid () INHERITS ({s}.parent); CREATE TABLE {s}_kids.grandkid () INHERITS ({s}.kid);'
           'CREATE TABLE {s}.parts (id int PRIMARY KEY) PARTITION BY RANGE (id);'
           'CREATE TABLE {s}_kids.p1 PARTITION OF {s}.parts FOR VALUES FROM (0) TO (10);'
           'INSERT INTO {s}_kids.grandkid VALUES (1); INSERT INTO {s}.parts VALUES (2);'
           'CREATE TABLE {s}.other (id int)'.format(s=schema))
    args = dict(pg.login, name=name, password=PASSWORD,
                grant_select={'tables': ['%s.parent' % schema, '%s.parts' % schema]})
    try:
        run = ansible.tasks(quartet_tasks('replication_user', args), diff=True)
        check, apply, check_again, apply_again = assert_quartet([r['result'] for r in run.results])
        assert 'GRANT USAGE ON SCHEMA "{s}_kids" TO "{n}"'.format(s=schema, n=name) in apply['queries']
        conn = connect_as(pg, name, PASSWORD)
        try:
            for table in ('kid', 'parent', 'parts'):
                assert can_select(conn, '%s.%s' % (schema, table)) in (0, 1)
            assert can_select(conn, '%s_kids.grandkid' % schema) == 1
            assert can_select(conn, '%s_kids.p1' % schema) == 1
            assert 'permission denied' in can_select(conn, '%s.other' % schema)
        finally:
            conn.close()
    finally:
        pg.sql('DROP SCHEMA {s}, {s}_kids CASCADE; DO $$BEGIN IF EXISTS (SELECT FROM pg_roles WHERE rolname = '
               '\'{n}\') THEN DROP OWNED BY "{n}"; DROP ROLE "{n}"; END IF; END$$'.format(s=schema, n=name))
