# -*- coding: utf-8 -*-
# Copyright: pgops.logical_replication contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The replication_user manager: the login role a subscription connects as, and its grants.

One catalog statement reads the role, its password verifier (when readable), its privileges on
the database, the managed schemas and their tables, and what it owns elsewhere. The role and its
grants change in one transaction (``Changes.transaction``), so a refused GRANT leaves no role
behind; the password goes as a SCRAM-SHA-256 verifier computed here (``_scram``).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.pgops.logical_replication.plugins.module_utils import _scram, _sql
from ansible_collections.pgops.logical_replication.plugins.module_utils._errors import PgOpsError, where
from ansible_collections.pgops.logical_replication.plugins.module_utils._changes import Manager


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


class ReplicationUser(Manager):
    def __init__(self, module, session, changes):
        super(ReplicationUser, self).__init__(module, session, changes)
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
        with where('grant_select: ', '. Nothing was changed.'):
            tables = [_sql.split_qualified(t) for t in grant['tables']]
            schemas = [_sql.check_name(s, 'schema') for s in grant['schemas']]
        if grant['all_tables_in_schemas'] and not schemas:
            raise PgOpsError('grant_select.all_tables_in_schemas needs grant_select.schemas. Nothing was changed.')
        return dict(tables=tables, schemas=schemas, all=grant['all_tables_in_schemas'],
                    managed=set(schemas) | set(s for s, _t in tables))

    def run(self):
        _sql.check_name(self.name, 'role name')
        wanted = self.wanted_grants()
        absent = self.params['state'] == 'absent'
        row = self.read(wanted['managed'] if wanted else (), absent)
        before = self.shown_state(row) if row['exists'] else {}
        if absent:
            self.drop(row, wanted)
            after = {}
        else:
            after = self.ensure(row, wanted, before)
        self.changes.set_diff(before, after)
        return dict(role=after or None, password_compared=self.password_compared)

    # -- reading ------------------------------------------------------------------------------
    def shown_state(self, row):
        """The role as returned to the user (and shown in the diff)."""
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
            if not self.module.check_mode and not self.session.hide_statements_from_log():
                self.module.warn('Statement logging could not be turned off for this session; the password verifier '
                                 '(not the password) may appear in the server log.')
        with self.changes.transaction():   # the role and its grants: all or nothing
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
        self.changes.execute(_sql.stmt(verb, _sql.ident(self.name)) + _sql.join(attributes, ' '))

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
        with self.changes.transaction():   # privileges and role go together, or neither
            for schema in sorted(set(t['schema'] for t in row['tables'] if t['any'])):
                self.changes.execute(_sql.stmt('REVOKE ALL ON ALL TABLES IN SCHEMA {} FROM {}',
                                               _sql.ident(schema), role))
            for schema in sorted(p['schema'] for p in row['schema_privileges'] if p['any']):
                self.changes.execute(_sql.stmt('REVOKE ALL ON SCHEMA {} FROM {}', _sql.ident(schema), role))
            if row['database_privileges']:
                self.changes.execute(_sql.stmt('REVOKE ALL ON DATABASE {} FROM {}', _sql.ident(row['database']),
                                               role))
            self.changes.execute(_sql.stmt('DROP ROLE {}', role))
