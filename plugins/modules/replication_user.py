#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: pgops.logical_replication contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: replication_user
short_description: The login role a subscription connects as, with only the privileges it needs
version_added: 0.1.0
description:
  - Creates, alters or drops the role a subscriber uses to connect to a publisher, with C(LOGIN),
    C(REPLICATION), a connection limit, a password, C(CONNECT) on the database, C(USAGE) on
    the schemas and C(SELECT) on the tables the publication needs, and nothing more.
  - The password is sent as a SCRAM-SHA-256 verifier computed on the managed node (RFC 5802 /
    RFC 7677, SASLprep as PostgreSQL does it), so the plain text never reaches the server or its
    log. Statement logging is also turned off for the statement that carries the verifier.
  - An unchanged password is recognised by recomputing the stored verifier with its own salt and
    iteration count (read from C(pg_authid)); it is not reset, so a second run reports no change.
  - Privileges are read from the catalog (direct grants to this role) in the same single query
    as the role and only what is missing is granted.
author:
  - pgops.logical_replication maintainers (@pgops)
extends_documentation_fragment:
  - pgops.logical_replication.connection
  - pgops.logical_replication.attributes
options:
  name:
    description:
      - The role name.
    type: str
    required: true
    aliases: [ user ]
  password:
    description:
      - The password. Stored as a SCRAM-SHA-256 verifier computed client-side; never returned or logged.
      - Left out, a new role has no password and an existing role keeps its own.
    type: str
  update_password:
    description:
      - V(always) sets the password when it differs from the stored one (and leaves it alone when it is
        the same). V(on_create) sets it only when the role is created.
      - When the stored password cannot be read (the login role is not a superuser, so C(pg_authid) is
        not readable), an existing role's password is never reset; a warning says it could not be compared.
    type: str
    choices: [ always, on_create ]
    default: always
  replication:
    description:
      - The C(REPLICATION) attribute, which a subscription's connection needs.
    type: bool
    default: true
  login:
    description:
      - The C(LOGIN) attribute (C(pg_roles.rolcanlogin)).
    type: bool
    default: true
  connection_limit:
    description:
      - C(CONNECTION LIMIT); V(-1) means no limit. Left out, it is not managed.
      - Each subscription uses one connection for its apply worker, plus one per table being
        synchronised at the time.
    type: int
  scram_iterations:
    description:
      - The iteration count of a new verifier. Defaults to the server's C(scram_iterations)
        (PostgreSQL 16+), else 4096. A stored verifier is always compared with its own count.
    type: int
  grant_select:
    description:
      - The tables this role may read, typically those of the publication it subscribes to.
        Left out, no table or schema privilege is managed.
      - Managed scope, precisely, in the database the module connects to (O(db)), is every schema named in
        O(grant_select.schemas) and every schema of a table in O(grant_select.tables). In those schemas the role
        ends with C(USAGE) on the schema and C(SELECT) on exactly the wanted tables; a C(SELECT) granted
        directly to this role on any other table (or view) of those schemas is revoked. Schemas not
        named are left alone.
    type: dict
    suboptions:
      tables:
        description:
          - Tables as V(schema.table) (or V(table) for C(public)); quote a name with a dot in double quotes.
        type: list
        elements: str
        default: []
      schemas:
        description:
          - Schemas to grant C(USAGE) on (schemas of O(grant_select.tables) get it anyway).
        type: list
        elements: str
        default: []
      all_tables_in_schemas:
        description:
          - Also C(SELECT) on every table, view and foreign table that exists now in O(grant_select.schemas)
            (C(GRANT SELECT ON ALL TABLES IN SCHEMA)), as a publication C(FOR TABLES IN SCHEMA) needs.
          - Tables created later are not covered until the module runs again (no default privileges are set).
        type: bool
        default: false
  state:
    description:
      - V(absent) revokes every privilege granted to this role in the database the module connects to
        (C(REVOKE ALL ON ALL TABLES IN SCHEMA) for each schema where it holds one on a table, C(REVOKE ALL ON SCHEMA),
        C(REVOKE ALL ON DATABASE)), then drops the role. O(grant_select) does not matter here.
      - If the role owns objects, or holds privileges in other databases, the module fails before changing
        anything; C(REASSIGN OWNED) / C(DROP OWNED) are the user's decision.
    type: str
    choices: [ absent, present ]
    default: present
notes:
  - Reading the stored password needs a superuser (C(pg_authid)); creating a role with C(REPLICATION)
    needs a superuser too.
  - The C(queries) return value shows the verifier as C(********).
seealso:
  - module: pgops.logical_replication.pg_hba
  - module: pgops.logical_replication.postgresql_subscription
  - name: Logical replication security
    description: The privileges a subscription's connection needs.
    link: https://www.postgresql.org/docs/current/logical-replication-security.html
'''

EXAMPLES = r'''
- name: The role the subscriber connects as, reading two tables
  pgops.logical_replication.replication_user:
    db: zoo
    name: logic
    password: "{{ vault_logic_password }}"
    connection_limit: 10
    grant_select:
      tables: [public.animals, public.keepers]

- name: For a publication FOR TABLES IN SCHEMA zoo
  pgops.logical_replication.replication_user:
    db: zoo
    name: logic
    password: "{{ vault_logic_password }}"
    grant_select:
      schemas: [zoo]
      all_tables_in_schemas: true

- name: Remove it again
  pgops.logical_replication.replication_user:
    db: zoo
    name: logic
    state: absent
    grant_select:
      schemas: [zoo]
'''

RETURN = r'''
role:
  description: The role as it is after this run (or would be, in check mode); V(null) when absent.
  returned: always
  type: dict
  sample:
    name: logic
    login: true
    replication: true
    connection_limit: -1
    password: set
    connect: true
    usage: [public]
    select: [public.animals]
password_compared:
  description:
    - Whether a given password could be compared with the stored one. V(false) when C(pg_authid) is not
      readable (then an existing role's password is left alone).
  returned: always
  type: bool
  sample: true
queries:
  description: The statements run (or, in check mode, that would run), the verifier replaced by C(********).
  returned: always
  type: list
  elements: str
  sample: [ "CREATE ROLE \"logic\" WITH LOGIN REPLICATION PASSWORD '********'", "GRANT CONNECT ON DATABASE \"zoo\" TO \"logic\"" ]
diff:
  description: The role before and after (in diff mode).
  returned: when diff mode is on
  type: dict
  sample: {before: {}, after: {name: logic, login: true, replication: true}}
'''

from ansible_collections.pgops.logical_replication.plugins.module_utils._connection import (
    PgOpsError, build_module, run_module)
from ansible_collections.pgops.logical_replication.plugins.module_utils import _scram, _sql

FQCN = 'pgops.logical_replication.replication_user'

ARGUMENT_SPEC = dict(
    name=dict(type='str', required=True, aliases=['user']),
    password=dict(type='str', no_log=True),
    update_password=dict(type='str', default='always', choices=['always', 'on_create'], no_log=False),
    replication=dict(type='bool', default=True),
    login=dict(type='bool', default=True),
    connection_limit=dict(type='int'),
    scram_iterations=dict(type='int'),
    grant_select=dict(type='dict', options=dict(
        tables=dict(type='list', elements='str', default=[]),
        schemas=dict(type='list', elements='str', default=[]),
        all_tables_in_schemas=dict(type='bool', default=False),
    )),
    state=dict(type='str', default='present', choices=['absent', 'present']),
)

# One statement: the role, its password verifier, its direct privileges on the database, the
# managed schemas and their tables, and what it owns or holds elsewhere (for DROP ROLE).
ROLE_QUERY = """
SELECT current_database() AS database,
       current_setting('scram_iterations', true) AS scram_iterations,
       r.oid IS NOT NULL AS exists, r.rolcanlogin AS login, r.rolreplication AS replication,
       r.rolconnlimit AS connection_limit, {password} AS password,
       ARRAY(SELECT DISTINCT a.privilege_type FROM pg_database d,
                    aclexplode(COALESCE(d.datacl, acldefault('d', d.datdba))) a
             WHERE d.datname = current_database() AND a.grantee = r.oid) AS database_privileges,
       ARRAY(SELECT n.nspname FROM pg_namespace n WHERE n.nspname = ANY(%(schemas)s) ORDER BY 1) AS schemas,
       (SELECT COALESCE(json_agg(json_build_object(
                   'schema', n.nspname,
                   'usage', EXISTS (SELECT 1 FROM aclexplode(COALESCE(n.nspacl, acldefault('n', n.nspowner))) a
                                    WHERE a.grantee = r.oid AND a.privilege_type = 'USAGE'),
                   'any', EXISTS (SELECT 1 FROM aclexplode(COALESCE(n.nspacl, acldefault('n', n.nspowner))) a
                                  WHERE a.grantee = r.oid)) ORDER BY n.nspname), '[]')
        FROM pg_namespace n
        WHERE n.nspname = ANY(%(schemas)s) OR (%(every_schema)s AND EXISTS (
              SELECT 1 FROM aclexplode(n.nspacl) a WHERE a.grantee = r.oid))) AS schema_privileges,
       (SELECT COALESCE(json_agg(json_build_object(
                   'schema', t.nspname, 'name', t.relname, 'select', 'SELECT' = ANY(t.privileges),
                   'any', cardinality(t.privileges) > 0) ORDER BY t.nspname, t.relname), '[]')
        FROM (SELECT n.nspname, c.relname,
                     ARRAY(SELECT a.privilege_type FROM aclexplode(COALESCE(c.relacl, acldefault('r', c.relowner))) a
                           WHERE a.grantee = r.oid) AS privileges
              FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')
                AND (n.nspname = ANY(%(schemas)s) OR (%(every_schema)s AND EXISTS (
                     SELECT 1 FROM aclexplode(c.relacl) a WHERE a.grantee = r.oid)))) t) AS tables,
       ARRAY(SELECT DISTINCT COALESCE(d.datname, 'shared objects') FROM pg_shdepend s
             LEFT JOIN pg_database d ON d.oid = s.dbid
             WHERE s.refclassid = 'pg_authid'::regclass AND s.refobjid = r.oid AND s.deptype = 'o'
             ORDER BY 1) AS owns_in,
       ARRAY(SELECT DISTINCT d.datname FROM pg_shdepend s JOIN pg_database d ON d.oid = s.dbid
             WHERE s.refclassid = 'pg_authid'::regclass AND s.refobjid = r.oid AND s.deptype = 'a'
               AND d.datname <> current_database() ORDER BY 1) AS privileges_in
FROM (SELECT 1) AS one LEFT JOIN {roles} r ON r.rolname = %(name)s
"""


def qualified(schema, name):
    return _sql.display_name((schema, name))


class ReplicationUser(object):
    def __init__(self, module, session, changes):
        self.module = module
        self.session = session
        self.changes = changes
        self.params = module.params
        self.name = module.params['name']

    def read(self, schemas, every_schema):
        params = dict(name=self.name, schemas=sorted(schemas), every_schema=every_schema)
        if self.session.superuser:  # pg_authid is for superusers: others read pg_roles straight away
            row = self.session.row(ROLE_QUERY.format(roles='pg_authid', password='r.rolpassword'), params)
            row['password_readable'] = True
        else:
            row = self.session.row(ROLE_QUERY.format(roles='pg_roles', password='NULL::text'), params)
            row['password_readable'] = False
        return row

    def wanted_grants(self):
        grant = self.params['grant_select']
        if grant is None:
            return None
        try:
            tables = [_sql.split_qualified(t) for t in grant['tables']]
            schemas = [_sql.check_name(s, 'schema') for s in grant['schemas']]
        except _sql.IdentifierError as exc:
            raise PgOpsError('grant_select: %s. Nothing was changed.' % exc)
        if grant['all_tables_in_schemas'] and not schemas:
            raise PgOpsError('grant_select.all_tables_in_schemas needs grant_select.schemas. Nothing was changed.')
        return dict(tables=tables, schemas=schemas, all=grant['all_tables_in_schemas'],
                    managed=set(schemas) | set(s for s, _t in tables))

    def run(self):
        _sql.check_name(self.name, 'role name')
        wanted = self.wanted_grants()
        absent = self.params['state'] == 'absent'
        row = self.read(wanted['managed'] if wanted else (), absent)
        before = self.describe(row) if row['exists'] else {}
        if absent:
            self.drop(row, wanted)
            after = {}
        else:
            after = self.ensure(row, wanted, before)
        self.changes.set_diff(before, after)
        return dict(role=after or None, password_compared=self.password_compared)

    # -- reading ------------------------------------------------------------------------------
    def describe(self, row):
        return dict(
            name=self.name, login=row['login'], replication=row['replication'],
            connection_limit=row['connection_limit'],
            password='set' if row['password'] else ('unknown' if not row['password_readable'] else 'not set'),
            connect='CONNECT' in row['database_privileges'],
            usage=sorted(p['schema'] for p in row['schema_privileges'] if p['usage']),
            select=sorted(qualified(t['schema'], t['name']) for t in row['tables'] if t['select']))

    # -- present --------------------------------------------------------------------------------
    def ensure(self, row, wanted, before):
        after = dict(before) if before else dict(name=self.name, password='not set', connect=False, usage=[],
                                                 select=[], connection_limit=-1)
        if wanted is not None:
            self.check_grants(row, wanted)
        verifier = self.password_change(row)
        if verifier:
            after['password'] = 'changed' if row['exists'] else 'set'
        self.ensure_role(row, verifier, after)
        database = row['database']
        if 'CONNECT' not in row['database_privileges']:
            self.changes.execute(_sql.stmt('GRANT CONNECT ON DATABASE {} TO {}', _sql.ident(database),
                                           _sql.ident(self.name)))
            after['connect'] = True
        if wanted is not None:
            self.ensure_grants(row, wanted, after)
        return after

    def password_change(self, row):
        """The verifier to set, or None when the password is not given, unchanged or not comparable."""
        self.password_compared = False
        password = self.params['password']
        if password is None:
            return None
        if row['exists']:
            if self.params['update_password'] == 'on_create':
                return None
            if not row['password_readable']:
                self.module.warn('The stored password of role %s cannot be read (pg_authid needs a superuser), so '
                                 'the password cannot be compared and was left alone.' % self.name)
                return None
            self.password_compared = True
            if _scram.matches(password, row['password']):
                return None
        iterations = self.params['scram_iterations'] or int(row['scram_iterations'] or _scram.DEFAULT_ITERATIONS)
        verifier = _scram.build(password, iterations=iterations)
        self.session.add_secret(verifier)
        return verifier

    def ensure_role(self, row, verifier, after):
        attributes = []
        for option, column, yes, no in (('login', 'login', 'LOGIN', 'NOLOGIN'),
                                        ('replication', 'replication', 'REPLICATION', 'NOREPLICATION')):
            if not row['exists'] or row[column] != self.params[option]:
                attributes.append(_sql.stmt(yes if self.params[option] else no))
            after[option] = self.params[option]
        limit = self.params['connection_limit']
        if limit is not None and (not row['exists'] or row['connection_limit'] != limit):
            # an int from the argument spec, written as text (a Literal renders -1 as ' -1')
            attributes.append(_sql.stmt('CONNECTION LIMIT %d' % int(limit)))
            after['connection_limit'] = limit
        if verifier:
            attributes.append(_sql.stmt('PASSWORD {}', _sql.literal(verifier)))
        if row['exists'] and not attributes:
            return
        verb = 'ALTER ROLE {} WITH ' if row['exists'] else 'CREATE ROLE {} WITH '
        statement = _sql.stmt(verb, _sql.ident(self.name)) + _sql.join(attributes, ' ')
        if verifier and not self.module.check_mode and not self.session.hide_statements_from_log():
            self.module.warn('Statement logging could not be turned off for this session; the password verifier '
                             '(not the password) may appear in the server log.')
        self.changes.execute(statement)

    def check_grants(self, row, wanted):
        """Every schema and table asked for exists (before anything changes)."""
        missing = sorted(set(wanted['managed']) - set(row['schemas']))
        if missing:
            raise PgOpsError('Schema(s) %s do not exist in database %s. Nothing was granted; create them or '
                             'correct grant_select.' % (', '.join(missing), row['database']))
        tables = dict(((t['schema'], t['name']), t) for t in row['tables'])
        unknown = [qualified(*t) for t in wanted['tables'] if t not in tables]
        if unknown:
            raise PgOpsError('Table(s) %s do not exist in database %s. Nothing was granted; create them or correct '
                             'grant_select.tables.' % (', '.join(unknown), row['database']))

    def ensure_grants(self, row, wanted, after):
        tables = dict(((t['schema'], t['name']), t) for t in row['tables'])
        role = _sql.ident(self.name)
        usage = dict((p['schema'], p['usage']) for p in row['schema_privileges'])
        for schema in sorted(wanted['managed']):
            if not usage.get(schema):
                self.changes.execute(_sql.stmt('GRANT USAGE ON SCHEMA {} TO {}', _sql.ident(schema), role))
        want = set(wanted['tables'])
        if wanted['all']:
            for schema in sorted(wanted['schemas']):
                in_schema = [key for key in tables if key[0] == schema]
                want.update(in_schema)
                if any(not tables[key]['select'] for key in in_schema):
                    self.changes.execute(_sql.stmt('GRANT SELECT ON ALL TABLES IN SCHEMA {} TO {}',
                                                   _sql.ident(schema), role))
                    for key in in_schema:
                        tables[key] = dict(tables[key], select=True)
        grant = sorted(key for key in want if not tables[key]['select'])
        revoke = sorted(key for key, t in tables.items() if t['select'] and key not in want)
        if grant:
            self.changes.execute(_sql.stmt('GRANT SELECT ON TABLE {} TO {}',
                                           _sql.join([_sql.ident(*key) for key in grant]), role))
        if revoke:
            self.changes.execute(_sql.stmt('REVOKE SELECT ON TABLE {} FROM {}',
                                           _sql.join([_sql.ident(*key) for key in revoke]), role))
        after['usage'] = sorted(set(after.get('usage', [])) | set(wanted['managed']))
        outside = [s for s in after.get('select', []) if _sql.split_qualified(s)[0] not in wanted['managed']]
        after['select'] = sorted(outside + [qualified(*key) for key in want])

    # -- absent ---------------------------------------------------------------------------------
    def drop(self, row, wanted):
        self.password_compared = False
        if not row['exists']:
            return
        if row['owns_in']:
            raise PgOpsError('Role %s owns objects (in: %s), so it cannot be dropped. Whether to reassign them '
                             '(REASSIGN OWNED BY %s TO ...) or drop them (DROP OWNED BY %s) is your decision; do '
                             'that in each database first. Nothing was changed.'
                             % (self.name, ', '.join(row['owns_in']), self.name, self.name))
        if row['privileges_in']:
            raise PgOpsError('Role %s holds privileges in other database(s): %s. Revoke them there first (for '
                             'example DROP OWNED BY %s in each), then run this again. Nothing was changed.'
                             % (self.name, ', '.join(row['privileges_in']), self.name))
        role = _sql.ident(self.name)
        for schema in sorted(set(t['schema'] for t in row['tables'] if t['any'])):
            self.changes.execute(_sql.stmt('REVOKE ALL ON ALL TABLES IN SCHEMA {} FROM {}', _sql.ident(schema), role))
        for schema in sorted(p['schema'] for p in row['schema_privileges'] if p['any']):
            self.changes.execute(_sql.stmt('REVOKE ALL ON SCHEMA {} FROM {}', _sql.ident(schema), role))
        if row['database_privileges']:
            self.changes.execute(_sql.stmt('REVOKE ALL ON DATABASE {} FROM {}', _sql.ident(row['database']), role))
        self.changes.execute(_sql.stmt('DROP ROLE {}', role))


def main():
    module = build_module(ARGUMENT_SPEC)
    run_module(module, FQCN, lambda session, changes: ReplicationUser(module, session, changes).run())


if __name__ == '__main__':
    main()
