#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: pgops.logical_replication contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: schema_sync
short_description: Create on the subscriber the published tables, columns and extensions it lacks
version_added: 0.2.0
description:
  - Logical replication copies rows, not DDL. A published table missing on the subscriber, or a column
    added on the publisher and not on the subscriber, stops the apply worker at the next change
    (C(logical replication target relation ... is missing replicated column)) while the publisher's slot
    keeps WAL. This module brings the subscriber's schema up to the publisher's, B(additively) - it never
    drops, renames or changes a table or a column.
  - Runs on the subscriber (the connection options) and reads the publisher over O(conninfo), as the
    replication user (its catalogs are readable by every role). One catalog query on each side, whatever
    the number of tables; no client binary (C(pg_dump), C(psql)) and no password on a command line or in
    an environment variable.
  - With O(create_tables), each table of O(publications) missing on the subscriber is created with the
    published columns (same names, types, collations and NOT NULL), their defaults (see O(create_tables)),
    identity columns and the sequences of C(serial) columns, the primary key and unique constraints, the
    other indexes (the publisher's own definitions, C(pg_get_indexdef)) and the replica identity.
    Missing schemas are created.
  - With O(add_columns), each published column missing on an existing subscriber table is added with the
    publisher's type (nullable, without default; rows already there get NULL).
  - With O(create_extensions), each extension that the published column types (or the indexes of a table
    to create) come from is created on the subscriber when it is available there
    (C(pg_available_extensions)), in the schema it has on the publisher, with C(CASCADE). An extension
    that is not available fails the task before anything changes, naming it and its version on the
    publisher.
  - All statements run in one transaction on the subscriber; a failure leaves nothing behind. Every problem
    found before (an extension not available, a type the subscriber does not have) is reported at once.
  - Returns the drift that remains (RV(schema_drift)), for example a type that differs, which the module
    never changes.
author:
  - pgops.logical_replication maintainers (@pgops)
extends_documentation_fragment:
  - pgops.logical_replication.connection
  - pgops.logical_replication.conninfo
  - pgops.logical_replication.attributes
options:
  conninfo:
    description:
      - How to reach the publisher, as libpq connection keywords (V(host), V(port), V(dbname), V(user),
        V(password), V(sslmode), ...; unknown keys are an error), the same as the O(conninfo) of
        M(pgops.logical_replication.postgresql_subscription). The password is never logged or returned.
      - O(conninfo.dbname) must be the database of the publications. Any role that may connect will do (the
        replication user); it reads only catalogs.
      - The session on the publisher runs with C(search_path=pg_catalog) (added to O(conninfo.options)) so
        every name it renders is schema-qualified.
      - Files named by the keywords (C(passfile), C(sslcert), C(sslkey), C(sslrootcert), ...) are read on
        the managed node.
    type: dict
    required: true
  publications:
    description:
      - The publications on the publisher whose tables the subscriber must have (those of the subscription).
        Each must exist there.
    type: list
    elements: str
    required: true
  create_tables:
    description:
      - Create the published tables missing on the subscriber.
      - "A created table has the B(published) columns only (a column left out by a column list is not
        created). A default is kept when it uses built-in functions and operators only (C(now()),
        C(0), C('x'::text), ...), or is the C(nextval) of the column's own C(serial) sequence (the sequence
        is created too, with the same parameters; M(pgops.logical_replication.sequence_sync) moves it on).
        Other defaults (user or extension functions, other sequences) are left out. Identity columns keep
        their identity and sequence parameters. A generated column (which the publisher computes and, before
        PostgreSQL 18, never sends) is created as C(GENERATED ALWAYS AS (...) STORED) when its expression uses
        built-ins and created columns only."
      - Foreign keys, check and exclusion constraints, triggers, policies, grants, comments, partitioning and
        storage parameters are not created. A partition or partitioned table becomes a plain table. The
        tables are owned by the role the module connects as (or O(session_role)).
    type: bool
    default: true
  add_columns:
    description:
      - Add the published columns missing on existing subscriber tables (C(ALTER TABLE ... ADD COLUMN), the
        publisher's type, nullable, no default). Existing columns are never changed or dropped.
    type: bool
    default: true
  create_extensions:
    description:
      - Create the extensions that the tables and columns to create need, when the subscriber server has
        them (C(pg_available_extensions)); its default version is installed, not necessarily the
        publisher's.
      - V(false) fails instead, naming each missing extension.
    type: bool
    default: true
notes:
  - The subscriber role needs C(CREATE) on the database (schemas, extensions) and on the schemas, and what
    C(CREATE EXTENSION) asks for the extension (superuser for untrusted ones).
  - Run it before creating or refreshing the subscription, and before the first row with a new column is
    written on the publisher (the schema_change playbook orders this for you).
  - Types that do not come from an extension (enums, domains, composite types created by hand) must exist on
    the subscriber; the module fails naming any that does not.
  - Types are compared schema-qualified, so an extension installed in another schema on the subscriber than on the
    publisher shows as C(type_mismatch). Index and constraint names are the publisher's; a relation of the same name
    in that schema on the subscriber makes the run fail (and roll back).
seealso:
  - module: pgops.logical_replication.replication_info
    description: Reports the same drift (RV(pgops.logical_replication.replication_info#module:subscriptions))
      without changing anything.
  - module: pgops.logical_replication.postgresql_subscription
  - name: Logical replication restrictions
    description: The schema and DDL are not replicated.
    link: https://www.postgresql.org/docs/current/logical-replication-restrictions.html
'''

EXAMPLES = r'''
- name: Give the subscriber every table and column the zoo publication sends
  pgops.logical_replication.schema_sync:
    login_host: hippo
    db: zoo
    conninfo:
      host: rhino
      dbname: zoo
      user: logic
      password: "{{ vault_logic_password }}"
    publications: [zoo]
  register: schema

- name: Only report what is missing (check mode), never create extensions
  pgops.logical_replication.schema_sync:
    db: zoo
    conninfo: {host: rhino, dbname: zoo, user: logic, password: "{{ vault_logic_password }}"}
    publications: [zoo]
    create_extensions: false
  check_mode: true
  diff: true

- name: Fail when a difference the module does not fix remains (a type that differs)
  ansible.builtin.assert:
    that: schema.schema_drift | length == 0
    fail_msg: "{{ schema.schema_drift | map(attribute='message') | list }}"
'''

RETURN = r'''
created_tables:
  description: The tables created (or, in check mode, that would be).
  returned: always
  type: list
  elements: str
  sample: [public.orders]
added_columns:
  description: The columns added, as C(schema.table.column).
  returned: always
  type: list
  elements: str
  sample: [public.animals.weight]
created_extensions:
  description: The extensions created.
  returned: always
  type: list
  elements: str
  sample: [citext]
created_schemas:
  description: The schemas created.
  returned: always
  type: list
  elements: str
  sample: [billing]
missing_publications:
  description:
    - On failure only, the names in O(publications) that the publisher does not have (in check mode the subscriber
      role and preflight.yml treat this as "not published yet", since the publisher play creates them).
  returned: when a publication is missing on the publisher
  type: list
  elements: str
  sample: [zoo]
schema_drift:
  description:
    - What still differs once this run's changes are made (in check mode, would still differ), for the
      tables of O(publications); empty when the subscriber has everything the publications send.
    - The same entries as C(schema_drift) of M(pgops.logical_replication.replication_info), without
      C(subscription). C(problem) is one of V(missing_table), V(missing_column), V(type_mismatch),
      V(unpublished_not_null) (a subscriber column, NOT NULL without default, that no publication sends -
      every replicated insert fails), V(missing_extension).
    - C(column), C(publisher_type), C(subscriber_type), C(extension), C(publisher_version) are null where
      they do not apply. C(message) says in one sentence what is wrong and what will happen.
    - When the module fails because it cannot create what is missing (an extension not available, a type the
      subscriber lacks), the drift as it is now.
  returned: always, and on such a failure
  type: list
  elements: dict
  sample:
    - {table: public.animals, column: weight, problem: type_mismatch, publisher_type: numeric,
       subscriber_type: integer, extension: null, publisher_version: null,
       message: "Column public.animals.weight is numeric on the publisher but integer on the subscriber: ..."}
queries:
  description: The statements run on the subscriber (or, in check mode, that would run), in order, in one
    transaction.
  returned: always
  type: list
  elements: str
  sample: ['CREATE EXTENSION "citext" WITH SCHEMA "public" CASCADE',
           'CREATE TABLE "public"."tags" ("id" bigint NOT NULL, "name" public.citext, CONSTRAINT "tags_pkey" PRIMARY KEY (id))',
           'CREATE INDEX tags_name_idx ON public.tags USING btree (name)',
           'ALTER TABLE "public"."animals" ADD COLUMN "weight" numeric']
diff:
  description: The published tables present on the subscriber with their columns, before and after.
  returned: when diff mode is on
  type: dict
  sample: {before: {public.animals: [id, name]}, after: {public.animals: [id, name, weight], public.tags: [id, name]}}
'''

from ansible_collections.pgops.logical_replication.plugins.module_utils._connection import build_module, run_module
from ansible_collections.pgops.logical_replication.plugins.module_utils._changes import Manager
from ansible_collections.pgops.logical_replication.plugins.module_utils._conninfo import OPTION_SPEC
from ansible_collections.pgops.logical_replication.plugins.module_utils._errors import PgOpsError, where
from ansible_collections.pgops.logical_replication.plugins.module_utils._remote import RemoteServer
from ansible_collections.pgops.logical_replication.plugins.module_utils import _schema, _sql

FQCN = 'pgops.logical_replication.schema_sync'

ARGUMENT_SPEC = dict(
    conninfo=dict(type='dict', required=True, options=OPTION_SPEC),
    publications=dict(type='list', elements='str', required=True),
    create_tables=dict(type='bool', default=True),
    add_columns=dict(type='bool', default=True),
    create_extensions=dict(type='bool', default=True),
)


class SchemaSync(Manager):
    def run(self):
        publications = [_sql.check_name(p, 'publication') for p in self.params['publications']]
        if not publications:
            raise PgOpsError('publications must name at least one publication of the publisher.')
        published = self.read_publisher(publications)
        missing = [p for p in publications if p not in published['publications']]
        if missing:
            raise PgOpsError('Publication(s) %s do not exist in database %s of the publisher; check publications and '
                             'conninfo.dbname. Nothing was changed.'
                             % (', '.join(missing), self.params['conninfo'].get('dbname') or '(default)'),
                             missing_publications=missing)
        state = _schema.subscriber_state(self.session.row(_schema.SUBSCRIBER_QUERY,
                                                          _schema.subscriber_params(published)))
        # a plan that cannot be carried out fails with the drift as it is (what preflight reports)
        with where(schema_drift=_schema.drift(published, state)):
            planned = _schema.plan(published, state, self.params['create_tables'], self.params['add_columns'],
                                   self.params['create_extensions'])
        after = _schema.after_state(state, planned)
        self.changes.set_diff(_schema.columns_by_table(published, state), _schema.columns_by_table(published, after))
        statements = _schema.statements(planned)
        if statements:
            with self.changes.transaction():
                for statement in statements:
                    self.changes.execute(statement)
        return dict(
            created_tables=[_sql.display_name((t['schema'], t['table'])) for t in planned['tables']],
            added_columns=[_sql.display_name((t['schema'], t['table'], c['name'])) for t, c in planned['columns']],
            created_extensions=[e[0] for e in planned['extensions']],
            created_schemas=planned['schemas'],
            schema_drift=_schema.drift(published, after))

    def read_publisher(self, publications):
        remote = RemoteServer(self.session, _schema.publisher_params(self.params['conninfo']), FQCN)
        try:
            return remote.row(_schema.published_query(remote.version), {'publications': publications})['published']
        finally:
            remote.close()


def main():
    module = build_module(ARGUMENT_SPEC)
    run_module(module, FQCN, lambda session, changes: SchemaSync(module, session, changes).run())


if __name__ == '__main__':
    main()
