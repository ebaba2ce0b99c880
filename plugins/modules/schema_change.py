#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: pgops.logical_replication contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: schema_change
short_description: Run a list of DDL statements in one transaction on one database
version_added: 0.2.0
description:
  - Runs O(statements), in the order given, in B(one transaction) on the database O(db) - either every
    statement is committed or, when PostgreSQL refuses one, none is (the transaction is rolled back).
  - The building block of the C(pgops.logical_replication.schema_change) playbook, which runs the same
    statements on every host of the topology that holds the database, in the order that keeps logical
    replication running (subscribers first for additions, publishers first for removals).
  - Logical replication copies rows, not DDL; see the collection README for the safe order of a schema
    change and M(pgops.logical_replication.replication_info)'s C(schema_drift) to see what differs.
  - In check mode nothing runs; the module returns the statements it would run in RV(queries).
  - "Statements that cannot run inside a transaction block (C(CREATE INDEX CONCURRENTLY), C(VACUUM),
    C(CREATE DATABASE), C(ALTER SYSTEM)) are refused by PostgreSQL; run them on their own."
author:
  - pgops.logical_replication maintainers (@pgops)
extends_documentation_fragment:
  - pgops.logical_replication.connection
  - pgops.logical_replication.attributes
attributes:
  idempotent:
    support: none
    details:
      - The statements are run on every invocation and the module reports a change whenever it ran at least
        one. Write them so that a second run does no harm (C(ADD COLUMN IF NOT EXISTS),
        C(CREATE TABLE IF NOT EXISTS), C(DROP COLUMN IF EXISTS)).
  diff_mode:
    support: partial
    details:
      - The diff shows the statements (before empty, after the statements); the module does not read the
        schema before and after.
options:
  statements:
    description:
      - SQL statements, one per item, run in this order in one transaction. Each item is sent to the server
        as written (the module does not rewrite or quote it); use only statements you trust.
      - An empty list runs nothing and reports no change.
    type: list
    elements: str
    required: true
notes:
  - The login role needs the privileges the statements need (usually the owner of the tables).
  - A statement that waits for a lock held by a long transaction blocks the statements after it and the
    sessions queued behind it; begin the list with C(SET LOCAL lock_timeout = '5s') to give up instead.
seealso:
  - module: pgops.logical_replication.replication_info
  - name: Logical replication restrictions
    description: Why the schema is not replicated.
    link: https://www.postgresql.org/docs/current/logical-replication-restrictions.html
'''

EXAMPLES = r'''
- name: Add a column, with its default, in one transaction
  pgops.logical_replication.schema_change:
    db: zoo
    statements:
      - SET LOCAL lock_timeout = '5s'
      - ALTER TABLE public.abc ADD COLUMN IF NOT EXISTS weight numeric
      - ALTER TABLE public.abc ALTER COLUMN weight SET DEFAULT 0

- name: Or across the topology in the safe order (subscribers first)
  ansible.builtin.import_playbook: pgops.logical_replication.schema_change
  vars:
    schema_change_database: zoo
    schema_change_statements:
      - ALTER TABLE public.abc ADD COLUMN IF NOT EXISTS weight numeric
'''

RETURN = r'''
queries:
  description: The statements run (or, in check mode, that would run), in order.
  returned: always
  type: list
  elements: str
  sample: [ "ALTER TABLE public.abc ADD COLUMN IF NOT EXISTS weight numeric" ]
failed_statement:
  description: On failure, the position (1 for the first) of the statement PostgreSQL refused.
  returned: failure
  type: int
  sample: 2
sqlstate:
  description: On failure, PostgreSQL's error code.
  returned: failure
  type: str
  sample: 42P01
diff:
  description: The statements, as the after side (in diff mode).
  returned: when diff mode is on
  type: dict
  sample: {before: {statements: []}, after: {statements: ["ALTER TABLE public.abc ADD COLUMN weight numeric"]}}
'''

from ansible_collections.pgops.logical_replication.plugins.module_utils._connection import build_module, run_module
from ansible_collections.pgops.logical_replication.plugins.module_utils._changes import Manager
from ansible_collections.pgops.logical_replication.plugins.module_utils._errors import PgOpsError

FQCN = 'pgops.logical_replication.schema_change'

ARGUMENT_SPEC = dict(
    statements=dict(type='list', elements='str', required=True),
)


def checked(statements):
    """The statements to run, or a PgOpsError naming every empty one (before anything connects)."""
    empty = [str(number) for number, text in enumerate(statements, 1) if not (text or '').strip()]
    if empty:
        raise PgOpsError('%s %s empty; give one SQL statement per item. Nothing was run.'
                         % ('statement ' + empty[0] if len(empty) == 1 else 'statements ' + ', '.join(empty),
                            'is' if len(empty) == 1 else 'are'))
    return [text.strip() for text in statements]


class SchemaChange(Manager):
    def run(self, statements):
        self.changes.set_diff(dict(statements=[]), dict(statements=statements))
        sent = []
        try:
            with self.changes.transaction():
                for statement in statements:
                    sent.append(statement)
                    # The user's own SQL, as written: running it is this module's job (see DOCUMENTATION).
                    self.changes.execute(statement)
        except PgOpsError as exc:
            raise PgOpsError('Statement %d of %d: %s' % (len(sent), len(statements), exc.msg),
                             failed_statement=len(sent), **exc.extra)
        return {}


def main():
    module = build_module(ARGUMENT_SPEC)
    run_module(module, FQCN, lambda session, changes, statements: SchemaChange(module, session, changes).run(statements),
               prepare=lambda: checked(module.params['statements']))


if __name__ == '__main__':
    main()
