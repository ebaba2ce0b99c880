#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: pgops.logical_replication contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: postgresql_publication
short_description: Create, alter and drop PostgreSQL publications
version_added: 0.1.0
description:
  - Creates, alters and drops a publication (C(CREATE/ALTER/DROP PUBLICATION)) in the database
    O(db) (the database the module connects to).
  - The session runs with C(standard_conforming_strings = on) (set when connecting), whatever the database's
    default, so row filters are read and written with that rule (see O(tables)).
  - Membership, row filters, column lists, the published operations, the owner and the comment are
    reconciled B(in place) with C(ALTER PUBLICATION ... ADD/DROP TABLE), C(ADD/DROP TABLES IN SCHEMA),
    C(SET) of options, C(OWNER TO) and C(COMMENT ON PUBLICATION). Only a switch between O(all_tables=true)
    and a table/schema list, for which PostgreSQL has no C(ALTER), drops and re-creates the publication
    (in one transaction, keeping owner and comment); the module then says so in a warning and RV(queries).
  - A table whose column list or row filter changes is dropped from the publication and added again with the
    new one (C(DROP TABLE) then C(ADD TABLE)); other members are not touched.
  - All statements of a run execute in B(one transaction), so nobody sees a table missing in between, and when
    PostgreSQL refuses one statement nothing is changed.
  - Reads the whole publication in one catalog query. A run that changes nothing uses one connection
    and one statement, or two when a requested row filter differs in text from the form PostgreSQL
    stored (see O(tables)).
  - Before changing anything it reports missing tables and schemas, relations that cannot be published
    (views, materialized views, foreign tables, unlogged tables), unknown columns, a missing owner role,
    options the server version does not have, and tables whose C(UPDATE)/C(DELETE) the publication would
    break (O(replica_identity_check)).
author:
  - pgops.logical_replication maintainers (@pgops)
extends_documentation_fragment:
  - pgops.logical_replication.connection
  - pgops.logical_replication.attributes
options:
  name:
    description:
      - Name of the publication, exactly as in the catalog (any characters; no quoting needed).
      - At most 63 bytes; a longer name is an error (PostgreSQL would silently truncate it).
    type: str
    required: true
  state:
    description:
      - V(present) creates or alters the publication, V(absent) drops it.
    type: str
    choices: [ present, absent ]
    default: present
  all_tables:
    description:
      - V(true) makes it a C(FOR ALL TABLES) publication (needs a superuser). Cannot be combined with
        O(tables) or O(schemas).
      - V(false) on a C(FOR ALL TABLES) publication turns it into a list publication with the tables and
        schemas given (or none).
      - Left out, the publication keeps its kind, unless O(tables) or O(schemas) is given, which means a list.
    type: bool
  tables:
    description:
      - The tables of the publication, B(exactly) (tables not listed are dropped from it). Left out, the
        table list is not changed (V([]) removes every table).
      - Each element is a string V(schema.table) (a name without a schema means V(public)), or a dict
        with C(name), C(columns), C(where) and C(only).
      - >-
        Inheritance children follow their parent as in PostgreSQL, where C(FOR TABLE parent) (without
        C(ONLY)) publishes every table that inherits from it, at any depth, with the parent's column list and
        row filter: a regular table listed without C(only) stands for itself and all its inheritance
        children, which appear in RV(tables) as members of their own. A child created later is added on the
        next run. C(only=true) publishes the table alone (C(ONLY) in SQL) and drops its children from the
        publication. A child that is also listed itself, or that descends from two listed tables, must get the
        same column list and row filter from each, else the module stops before changing anything. The
        partitions of a partitioned table are not members in either case (see O(publish_via_partition_root)).
        The statements name each member with C(ONLY), so PostgreSQL adds or drops exactly the tables shown.
      - Names are taken as written, case included. Quote a part that contains a dot with double
        quotes, as in SQL (V("my.schema"."my table")).
      - C(columns) is the column list (PostgreSQL 15 or later); on PostgreSQL 15 to 18 it cannot be combined
        with O(schemas) in the same publication.
      - >-
        C(where) is the row filter, an SQL expression (PostgreSQL 15 or later), placed as written inside the
        parentheses of C(WHERE). It must be one expression; semicolons, comments and unbalanced parentheses
        are refused. The module's session always runs with C(standard_conforming_strings = on), whatever
        the database's default, and the filter is split into tokens by the same rules as the server then uses
        (C('...') in which a backslash is an ordinary character, C(E'...') with backslash escapes, dollar
        quotes, quoted identifiers, names that contain C($)); a backslash outside a string, a C($) that opens
        no dollar quote and a number directly followed by a quote are refused too, so a filter can never close
        its parentheses and name other tables. PostgreSQL stores filters in a normalised form (a filter V(status = 'x') on a varchar
        column is stored with casts added and wrapped in parentheses); the module compares the server's
        form of the requested filter with the stored one, so a filter is not changed again on the next run.
      - With O(publish) containing V(update) or V(delete), the columns of a row filter and of the replica
        identity must be in the column list; PostgreSQL checks the filter columns at C(UPDATE) time.
    type: list
    elements: raw
  schemas:
    description:
      - Schemas published with C(FOR TABLES IN SCHEMA) (PostgreSQL 15 or later; adding one needs a superuser),
        B(exactly). Left out, they are not changed; V([]) removes every schema.
      - Can be combined with O(tables) (tables of other schemas, or without a column list).
      - Schema names are taken as written, without quoting.
    type: list
    elements: str
  publish:
    description:
      - The operations to publish. Left out, a new publication publishes all four and an existing one keeps
        its setting. V([]) publishes nothing.
    type: list
    elements: str
    choices: [ insert, update, delete, truncate ]
  publish_via_partition_root:
    description:
      - Publish changes of partitions as changes of their partitioned root table (PostgreSQL 13 or later).
        Needed for a row filter or column list on a partitioned table. Left out, a new publication gets
        V(false) and an existing one keeps its setting.
    type: bool
  publish_generated_columns:
    description:
      - Whether stored generated columns are published (PostgreSQL 18 or later). Left out, it is not changed.
    type: str
    choices: [ none, stored ]
  owner:
    description:
      - The role that owns the publication. Left out, a new publication is owned by the connecting role
        (or O(session_role)) and an existing one keeps its owner.
    type: str
  comment:
    description:
      - The comment of the publication. V('') removes it; left out, it is not changed.
    type: str
  replica_identity_check:
    description:
      - What to do when the publication would publish V(update) or V(delete) of a table without a usable
        replica identity (no primary key and C(REPLICA IDENTITY DEFAULT), or C(REPLICA IDENTITY NOTHING)),
        or with a column list that leaves out replica identity columns. C(UPDATE) and C(DELETE) on such a
        table fail on the publisher once it is published.
      - V(fail) stops before changing anything and names the tables and the fix; V(warn) goes ahead and
        warns; V(ignore) goes ahead silently. The tables are returned in RV(replica_identity_problems).
      - Checked for every table the publication will contain (its partitions, the tables of O(schemas),
        every table for O(all_tables)), on every run.
    type: str
    choices: [ fail, warn, ignore ]
    default: fail
notes:
  - C(FOR ALL TABLES) and C(FOR TABLES IN SCHEMA) need a superuser; the module says so before changing anything.
  - Subscribers see added or dropped tables only after C(ALTER SUBSCRIPTION ... REFRESH PUBLICATION)
    (M(pgops.logical_replication.postgresql_subscription) with O(pgops.logical_replication.postgresql_subscription#module:state=refreshed)).
  - Supports PostgreSQL 13 and later; tested on 15 and 18.
seealso:
  - name: CREATE PUBLICATION
    description: The PostgreSQL manual.
    link: https://www.postgresql.org/docs/current/sql-createpublication.html
  - name: ALTER PUBLICATION
    description: The PostgreSQL manual.
    link: https://www.postgresql.org/docs/current/sql-alterpublication.html
  - module: pgops.logical_replication.postgresql_subscription
'''

EXAMPLES = r'''
- name: Publish every table of the database (needs a superuser)
  pgops.logical_replication.postgresql_publication:
    db: shop
    name: shop_all
    all_tables: true

- name: Publish a list of tables (unqualified names are in public)
  pgops.logical_replication.postgresql_publication:
    db: shop
    name: shop_orders
    tables:
      - orders
      - billing.invoices
      - '"Sales"."Q1 results"'

- name: Per-table column lists and row filters (PostgreSQL 15+)
  pgops.logical_replication.postgresql_publication:
    db: shop
    name: shop_eu
    tables:
      - name: public.customers
        columns: [id, name, country]
        where: "country IN ('DE', 'FR')"
      - name: public.orders
        where: "status = 'paid'"

- name: Publish whole schemas, plus one table of another schema (PostgreSQL 15+, superuser)
  pgops.logical_replication.postgresql_publication:
    db: shop
    name: shop_schemas
    schemas: [billing, inventory]
    tables: [public.customers]

- name: Publish only inserts (an append-only feed; no replica identity needed)
  pgops.logical_replication.postgresql_publication:
    db: shop
    name: shop_events
    tables: [public.events]
    publish: [insert]

- name: An inheritance parent with its children, and another parent alone (ONLY)
  pgops.logical_replication.postgresql_publication:
    db: shop
    name: shop_history
    tables:
      - public.events          # and every table that inherits from it
      - name: public.archive
        only: true             # this table alone, not its children

- name: Publish a partitioned table as its root, with a filter
  pgops.logical_replication.postgresql_publication:
    db: shop
    name: shop_measurements
    tables:
      - name: public.measurements
        where: "sensor_id > 100"
    publish_via_partition_root: true

- name: Create even though some tables have no primary key, and warn about them
  pgops.logical_replication.postgresql_publication:
    db: shop
    name: shop_legacy
    tables: [public.legacy_log]
    replica_identity_check: warn

- name: Owner and comment
  pgops.logical_replication.postgresql_publication:
    db: shop
    name: shop_orders
    owner: replication_admin
    comment: Orders for the reporting cluster

- name: Drop a publication
  pgops.logical_replication.postgresql_publication:
    db: shop
    name: shop_orders
    state: absent
'''

RETURN = r'''
exists:
  description: Whether the publication exists after the run (in check mode, would exist).
  returned: always
  type: bool
  sample: true
all_tables:
  description: Whether it is a C(FOR ALL TABLES) publication.
  returned: when the publication exists
  type: bool
  sample: false
tables:
  description:
    - The tables listed in the publication (not those published through O(schemas) or O(all_tables)),
      with their column list and row filter as PostgreSQL stores them. The inheritance children of a table
      listed without C(only) are members of their own and appear here.
  returned: when the publication exists
  type: list
  elements: dict
  sample:
    - {name: public.orders, schema: public, table: orders, columns: null, where: "((status)::text = 'paid'::text)"}
    - {name: '"Sales"."Q1 results"', schema: Sales, table: Q1 results, columns: [id, total], where: null}
schemas:
  description: The schemas published with C(FOR TABLES IN SCHEMA).
  returned: when the publication exists
  type: list
  elements: str
  sample: [ billing ]
publish:
  description: The published operations.
  returned: when the publication exists
  type: list
  elements: str
  sample: [ insert, update, delete, truncate ]
publish_via_partition_root:
  description: Whether partitions are published as their root table.
  returned: when the publication exists
  type: bool
  sample: false
publish_generated_columns:
  description: Whether stored generated columns are published (V(none) or V(stored)).
  returned: when the publication exists on PostgreSQL 18 or later
  type: str
  sample: none
owner:
  description: The owner of the publication.
  returned: when the publication exists
  type: str
  sample: postgres
comment:
  description: The comment of the publication (null when none).
  returned: when the publication exists
  type: str
  sample: Orders for the reporting cluster
replica_identity_problems:
  description: Tables whose C(UPDATE)/C(DELETE) the publication breaks, with the reason (see O(replica_identity_check)).
  returned: when O(state=present)
  type: list
  elements: str
  sample: [ "public.legacy_log (no primary key and REPLICA IDENTITY DEFAULT)" ]
queries:
  description: The statements run (or, in check mode, that would run).
  returned: always
  type: list
  elements: str
  sample: [ "ALTER PUBLICATION \"shop_eu\" ADD TABLE ONLY \"public\".\"orders\" WHERE (status = 'paid')" ]
diff:
  description: The publication before and after (same keys as the return values).
  returned: when diff mode is on
  type: dict
  sample: {before: {exists: false}, after: {exists: true, all_tables: true, tables: [], schemas: []}}
'''

from ansible_collections.pgops.logical_replication.plugins.module_utils._connection import build_module, run_module
from ansible_collections.pgops.logical_replication.plugins.module_utils._errors import PgOpsError
from ansible_collections.pgops.logical_replication.plugins.module_utils import _publication as P
from ansible_collections.pgops.logical_replication.plugins.module_utils import _sql
from ansible_collections.pgops.logical_replication.plugins.module_utils._changes import Manager

FQCN = 'pgops.logical_replication.postgresql_publication'

ARGUMENT_SPEC = dict(
    name=dict(type='str', required=True),
    state=dict(type='str', default='present', choices=['present', 'absent']),
    all_tables=dict(type='bool'),
    tables=dict(type='list', elements='raw'),
    schemas=dict(type='list', elements='str'),
    publish=dict(type='list', elements='str', choices=list(P.PUBLISH_OPERATIONS)),
    publish_via_partition_root=dict(type='bool'),
    publish_generated_columns=dict(type='str', choices=['none', 'stored']),
    owner=dict(type='str'),
    comment=dict(type='str'),
    replica_identity_check=dict(type='str', default='fail', choices=['fail', 'warn', 'ignore']),
)


class Publication(Manager):
    def __init__(self, module, spec, session, changes):
        super(Publication, self).__init__(module, session, changes)
        self.spec = spec
        self.version = session.version

    def read(self):
        row = self.session.row(P.read_query(self.version), P.read_params(self.spec))
        return row, P.current_state(row)

    def run(self):
        spec = self.spec
        for feature in P.features(spec):
            self.session.require(feature)
        row, current = self.read()
        if spec['state'] == 'absent':
            if current['exists']:
                self.changes.execute(_sql.stmt('DROP PUBLICATION {}', _sql.ident(spec['name'])))
            self.changes.set_diff(P.shown_state(current, self.version), dict(exists=False))
            return dict(exists=False)

        spec = self.spec = P.with_children(spec, row)
        P.validate_request(spec, row)
        desired = P.desired_state(spec, current, row['current_user'])
        recreate = current['exists'] and current['all_tables'] != desired['all_tables']
        statements, needs_superuser = self.plan(row, current, desired, recreate)

        problems = P.identity_problems(spec, row, desired, self.filter_columns)
        if problems and spec['replica_identity_check'] == 'fail':
            raise PgOpsError(P.identity_message(spec['name'], problems, desired['publish']),
                             replica_identity_problems=problems)
        if problems and spec['replica_identity_check'] == 'warn':
            self.module.warn(P.identity_message(spec['name'], problems, desired['publish'])
                             .replace(' Nothing was changed.', ''))
        if statements and needs_superuser and not row['superuser']:
            raise PgOpsError('Publication %s needs %s, which only a superuser may create; role %s is not a '
                             'superuser. Connect as a superuser (or list the tables instead). Nothing was changed.'
                             % (spec['name'], needs_superuser, row['current_user']))
        if recreate:
            self.module.warn('Publication %s switches %s FOR ALL TABLES. PostgreSQL has no ALTER for that, so it '
                             'is dropped and re-created in one transaction (owner and comment kept). Run ALTER '
                             'SUBSCRIPTION ... REFRESH PUBLICATION on its subscribers.'
                             % (spec['name'], 'to' if desired['all_tables'] else 'from'))

        self.apply(statements)
        if not statements:
            final = current
        elif self.module.check_mode:
            final = desired
        else:
            final = self.read()[1]
        self.changes.set_diff(P.shown_state(current, self.version), P.shown_state(final, self.version))
        result = P.shown_state(final, self.version)
        result['replica_identity_problems'] = problems
        return result

    def plan(self, row, current, desired, recreate):
        """The statements, and what in them needs a superuser (None when nothing does)."""
        name = self.spec['name']
        fresh = not current['exists'] or recreate
        normalised = self.probe(dict(current, tables={}) if fresh else current, desired)
        if fresh:
            statements = []
            if recreate:
                statements.append(_sql.stmt('DROP PUBLICATION {}', _sql.ident(name)))
            statements += P.create_statements(name, desired, row['current_user'], self.version)
            needs = ('FOR ALL TABLES' if desired['all_tables'] else
                     'FOR TABLES IN SCHEMA' if desired['schemas'] else None)
            return statements, needs
        membership, differences = P.membership_statements(name, current, desired, normalised)
        schemas_added = differences[3]
        options = P.option_statement(name, current, desired, self.version)
        statements = []
        if options is not None and desired['publish_via_partition_root']:
            statements.append(options)   # a filtered partitioned table added below may need it first
            options = None
        statements += membership
        if options is not None:
            statements.append(options)
        statements += P.owner_comment_statements(name, current, desired)
        return statements, ('FOR TABLES IN SCHEMA' if schemas_added else None)

    def probe(self, current, desired):
        """{table: the server's stored form of its requested filter}, for the filters that differ in text
        from the stored ones, and (when the replica identity check matters) for new filters, whose
        columns it needs. Sets self.filter_columns: {table: columns its desired filter uses}."""
        identity_matters = (self.spec['replica_identity_check'] != 'ignore'
                            and bool({'update', 'delete'} & set(desired['publish'])))
        keys = P.filters_to_probe(current, desired, new_filters=identity_matters)
        found = {}
        if keys:
            statement = P.probe_statement(self.session, keys, desired)
            self.session.take_notices()
            try:
                self.session.execute(statement)
            except self.session.Error as exc:
                raise PgOpsError('PostgreSQL does not accept the row filter(s) of %s: %s. Nothing was changed.'
                                 % (', '.join(_sql.display_name(k) for k in keys), self.session.error_text(exc)),
                                 sqlstate=self.session.sqlstate(exc))
            found = P.parse_probe_notices(self.session.take_notices())
            if found is None:
                raise PgOpsError('Could not read the normalised row filters back from the server (no NOTICE '
                                 'arrived). Nothing was changed.')
        self.filter_columns = {}
        for key, want in desired['tables'].items():
            if key in found:
                self.filter_columns[key] = found[key]['filter_columns']
            elif want['where'] is not None and key in current['tables']:
                self.filter_columns[key] = current['tables'][key].get('filter_columns')
        return dict((k, v['where']) for k, v in found.items())

    def apply(self, statements):
        """Every statement in one transaction; all or nothing."""
        if not statements:
            return
        with self.changes.transaction():
            for statement in statements:
                self.changes.execute(statement)


def main():
    module = build_module(ARGUMENT_SPEC)
    run_module(module, FQCN, lambda session, changes, spec: Publication(module, spec, session, changes).run(),
               prepare=lambda: P.parse_params(module.params))


if __name__ == '__main__':
    main()
