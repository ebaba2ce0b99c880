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

from ansible_collections.pgops.logical_replication.plugins.module_utils import _catalog, _scram, _sql
from ansible_collections.pgops.logical_replication.plugins.module_utils._errors import PgOpsError, where
from ansible_collections.pgops.logical_replication.plugins.module_utils._changes import Manager


# One statement: the role, its password verifier, its direct privileges on the database, the
# managed schemas and their tables, and what it owns or holds elsewhere (for DROP ROLE).
ROLE_QUERY = """
SELECT current_database() AS database, current_user AS login_role,
       current_setting('scram_iterations', true) AS scram_iterations,
       has_database_privilege(current_database(), 'CONNECT WITH GRANT OPTION') AS may_grant_connect,
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
                                  WHERE a.grantee = r.oid),
                   'grantable', has_schema_privilege(n.oid, 'USAGE WITH GRANT OPTION')) ORDER BY n.nspname), '[]')
        FROM pg_namespace n
        WHERE n.nspname = ANY(%(schemas)s) OR (%(every_schema)s AND EXISTS (
              SELECT 1 FROM aclexplode(n.nspacl) a WHERE a.grantee = r.oid))
           OR n.oid IN (SELECT c.relnamespace FROM pg_class c WHERE c.oid IN {descendants})) AS schema_privileges,
       (SELECT COALESCE(json_agg(json_build_object(
                   'schema', t.nspname, 'name', t.relname, 'select', 'SELECT' = ANY(t.privileges),
                   'any', cardinality(t.privileges) > 0, 'grantable', t.grantable) ORDER BY t.nspname, t.relname), '[]')
        FROM (SELECT n.nspname, c.relname, has_table_privilege(c.oid, 'SELECT WITH GRANT OPTION') AS grantable,
                     ARRAY(SELECT a.privilege_type FROM aclexplode(COALESCE(c.relacl, acldefault('r', c.relowner))) a
                           WHERE a.grantee = r.oid) AS privileges
              FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')
                AND (n.nspname = ANY(%(schemas)s) OR c.oid IN {descendants} OR (%(every_schema)s AND EXISTS (
                     SELECT 1 FROM aclexplode(c.relacl) a WHERE a.grantee = r.oid)))) t) AS tables,
       (SELECT COALESCE(json_agg(json_build_object('schema', n.nspname, 'name', c.relname)
                                 ORDER BY n.nspname, c.relname), '[]')
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid IN {descendants}) AS descendants,
       ARRAY(SELECT DISTINCT COALESCE(d.datname, 'shared objects') FROM pg_shdepend s
             LEFT JOIN pg_database d ON d.oid = s.dbid
             WHERE s.refclassid = 'pg_authid'::regclass AND s.refobjid = r.oid AND s.deptype = 'o'
             ORDER BY 1) AS owns_in,
       ARRAY(SELECT DISTINCT d.datname FROM pg_shdepend s JOIN pg_database d ON d.oid = s.dbid
             WHERE s.refclassid = 'pg_authid'::regclass AND s.refobjid = r.oid AND s.deptype = 'a'
               AND d.datname <> current_database() ORDER BY 1) AS privileges_in,
       {hba} AS physical_hba
FROM (SELECT 1) AS one LEFT JOIN {roles} r ON r.rolname = %(name)s
"""

# The inheritance children and partitions, at any depth, of the tables asked for (%(table_schemas)s and
# %(table_names)s, two arrays of the same length).
DESCENDANTS = """(WITH RECURSIVE d(oid) AS (
            SELECT i.inhrelid FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhparent
              JOIN pg_namespace pn ON pn.oid = p.relnamespace
              JOIN unnest(%(table_schemas)s::text[], %(table_names)s::text[]) AS w(s, t)
                ON pn.nspname = w.s AND p.relname = w.t
            UNION SELECT i.inhrelid FROM pg_inherits i JOIN d ON i.inhparent = d.oid)
          SELECT d.oid FROM d)"""

# The pg_hba.conf lines that let the role in for physical replication (superusers only may read them).
PHYSICAL_HBA = _catalog.physical_hba(name='%(name)s', oid='r.oid')


def qualified(schema, name):
    return _sql.display_name((schema, name))


class ReplicationUser(Manager):
    def __init__(self, module, session, changes):
        super(ReplicationUser, self).__init__(module, session, changes)
        self.name = module.params['name']

    def read(self, wanted, every_schema):
        tables = wanted['tables'] if wanted else []
        params = dict(name=self.name, schemas=sorted(wanted['managed']) if wanted else [], every_schema=every_schema,
                      table_schemas=[t[0] for t in tables], table_names=[t[1] for t in tables])
        if self.session.superuser:  # pg_authid is for superusers: others read pg_roles straight away
            row = self.session.row(ROLE_QUERY.format(roles='pg_authid', password='r.rolpassword', hba=PHYSICAL_HBA,
                                                     descendants=DESCENDANTS), params)
            row['password_readable'] = True
        else:
            row = self.session.row(ROLE_QUERY.format(roles='pg_roles', password='NULL::text', hba='NULL::json',
                                                     descendants=DESCENDANTS), params)
            row['password_readable'] = False
        return row

    @staticmethod
    def with_descendants(row, wanted):
        """The inheritance children and partitions of the tables asked for are granted with them (and USAGE on
        their schemas): a publication of a parent publishes each of them as a table of its own, and the
        subscriber's initial copy reads each one directly. SELECT on the parent already reads their rows."""
        if not wanted:
            return
        extra = [(d['schema'], d['name']) for d in row['descendants'] if (d['schema'], d['name']) not in wanted['tables']]
        wanted['tables'] = list(wanted['tables']) + extra
        wanted['managed'] = set(wanted['managed']) | set(schema for schema, _name in extra)
        row['schemas'] = sorted(set(row['schemas']) | set(schema for schema, _name in extra))

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
        row = self.read(wanted, absent)
        self.with_descendants(row, wanted)
        before = self.shown_state(row) if row['exists'] else {}
        if absent:
            self.drop(row, wanted)
            after = {}
        else:
            after = self.ensure(row, wanted, before)
            self.warn_physical(row)
        self.changes.set_diff(before, after)
        return dict(role=after or None, password_compared=self.password_compared,
                    physical_replication_hba=row['physical_hba'] if not absent else None)

    def warn_physical(self, row):
        """REPLICATION also opens physical replication wherever pg_hba.conf lets the role in for `replication`."""
        lines = row['physical_hba']
        if not lines or not self.params['replication']:
            return
        self.module.warn(
            'pg_hba.conf lets role %s in for physical replication (database "replication") at %s. With REPLICATION '
            'it can stream all WAL of the server or take a base backup of the whole cluster (pg_basebackup), every '
            'database included, from there. Logical replication needs none of these lines; if that access is not '
            'intended, remove them or narrow their user column.'
            % (self.name, '; '.join('line %s (%s)' % (line['line_number'], _catalog.hba_text(line)) for line in lines)))

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
        grants = None
        if wanted is not None:
            self.check_grants(row, wanted)
            grants = self.grant_plan(row, wanted)
        self.check_grantable(row, grants)
        verifier = self.password_change(row)
        if verifier:
            after['password'] = 'changed' if row['exists'] else 'set'
            if not self.module.check_mode and not self.session.hide_statements_from_log():
                self.module.warn('Statement logging could not be turned off for this session; the password verifier '
                                 '(not the password) may appear in the server log.')
        self.session.take_notices()   # from here on, a warning comes from a statement of this run
        with self.changes.transaction():   # the role and its grants: all or nothing
            self.ensure_role(row, verifier, after)
            database = row['database']
            if 'CONNECT' not in row['database_privileges']:
                self.grant(_sql.stmt('GRANT CONNECT ON DATABASE {} TO {}', _sql.ident(database),
                                     _sql.ident(self.name)))
                after['connect'] = True
            if wanted is not None:
                self.ensure_grants(grants, wanted, after)
        return after

    def grant(self, statement):
        """A GRANT or REVOKE through Changes. PostgreSQL answers one that grants (revokes) nothing, or not
        everything, with a warning, not an error: here that is a failure, and the transaction rolls back."""
        self.changes.execute(statement)
        warnings = [w.strip() for w in self.session.take_notices()]
        if warnings:
            raise PgOpsError('PostgreSQL did not do all of %s: %s. Nothing was changed: every statement of this run '
                             'was rolled back. Connect (login_user) as the owner of the objects or a superuser.'
                             % (self.changes.queries[-1], ' '.join(warnings)))

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

    def grant_plan(self, row, wanted):
        """What grant_select changes: USAGE on schemas, SELECT ON ALL TABLES IN SCHEMA (with the tables
        it covers), SELECT granted and revoked table by table, and the tables wanted in the end."""
        tables = dict(((t['schema'], t['name']), t) for t in row['tables'])
        usage = dict((p['schema'], p['usage']) for p in row['schema_privileges'])
        selected = dict((key, t['select']) for key, t in tables.items())
        plan = dict(usage=[s for s in sorted(wanted['managed']) if not usage.get(s)], all_schemas=[],
                    all_tables=[], want=set(wanted['tables']))
        if wanted['all']:
            for schema in sorted(wanted['schemas']):
                in_schema = sorted(key for key in tables if key[0] == schema)
                plan['want'].update(in_schema)
                if any(not selected[key] for key in in_schema):
                    plan['all_schemas'].append(schema)
                    plan['all_tables'] += in_schema
                    selected.update((key, True) for key in in_schema)
        plan['grant'] = sorted(key for key in plan['want'] if not selected[key])
        plan['revoke'] = sorted(key for key, t in tables.items() if t['select'] and key not in plan['want'])
        return plan

    def check_grantable(self, row, plan):
        """The login may grant (and revoke) everything this run would, before anything changes: it owns the
        object or holds the privilege WITH GRANT OPTION (a superuser may everything)."""
        refused = []
        if 'CONNECT' not in row['database_privileges'] and not row['may_grant_connect']:
            refused.append('CONNECT on database %s' % row['database'])
        if plan is not None:
            schemas = dict((p['schema'], p['grantable']) for p in row['schema_privileges'])
            no_usage = [s for s in plan['usage'] if not schemas.get(s)]
            if no_usage:
                refused.append('USAGE on schema(s) %s' % ', '.join(no_usage))
            tables = dict(((t['schema'], t['name']), t['grantable']) for t in row['tables'])
            keys = set(plan['all_tables']) | set(plan['grant']) | set(plan['revoke'])
            no_select = sorted(key for key in keys if not tables.get(key))
            if no_select:
                refused.append('the SELECT privilege on table(s) %s' % ', '.join(qualified(*key) for key in no_select))
        if refused:
            raise PgOpsError(
                'Role %s (login_user) may not grant %s: granting needs ownership of the object, the privilege '
                'WITH GRANT OPTION, or a superuser. Nothing was changed%s. Connect as the owner or a superuser, '
                'or have the owner GRANT these privileges WITH GRANT OPTION TO %s.'
                % (row['login_role'], '; '.join(refused),
                   '' if row['exists'] else ' (role %s was not created)' % self.name, row['login_role']))

    def ensure_grants(self, plan, wanted, after):
        role = _sql.ident(self.name)
        for schema in plan['usage']:
            self.grant(_sql.stmt('GRANT USAGE ON SCHEMA {} TO {}', _sql.ident(schema), role))
        for schema in plan['all_schemas']:
            self.grant(_sql.stmt('GRANT SELECT ON ALL TABLES IN SCHEMA {} TO {}', _sql.ident(schema), role))
        if plan['grant']:
            self.grant(_sql.stmt('GRANT SELECT ON TABLE {} TO {}',
                                 _sql.join([_sql.ident(*key) for key in plan['grant']]), role))
        if plan['revoke']:
            self.grant(_sql.stmt('REVOKE SELECT ON TABLE {} FROM {}',
                                 _sql.join([_sql.ident(*key) for key in plan['revoke']]), role))
        after['usage'] = sorted(set(after.get('usage', [])) | set(wanted['managed']))
        outside = [s for s in after.get('select', []) if _sql.split_qualified(s)[0] not in wanted['managed']]
        after['select'] = sorted(outside + [qualified(*key) for key in plan['want']])

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
        self.session.take_notices()
        with self.changes.transaction():   # privileges and role go together, or neither
            for schema in sorted(set(t['schema'] for t in row['tables'] if t['any'])):
                self.grant(_sql.stmt('REVOKE ALL ON ALL TABLES IN SCHEMA {} FROM {}', _sql.ident(schema), role))
            for schema in sorted(p['schema'] for p in row['schema_privileges'] if p['any']):
                self.grant(_sql.stmt('REVOKE ALL ON SCHEMA {} FROM {}', _sql.ident(schema), role))
            if row['database_privileges']:
                self.grant(_sql.stmt('REVOKE ALL ON DATABASE {} FROM {}', _sql.ident(row['database']), role))
            self.changes.execute(_sql.stmt('DROP ROLE {}', role))
