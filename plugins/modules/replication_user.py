#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: pgops.logical_replication contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: replication_user
short_description: The login role a subscription connects as, and its grants
version_added: 0.1.0
description:
  - Creates, alters or drops the role a subscriber uses to connect to a publisher, with C(LOGIN),
    C(REPLICATION), a connection limit, a password, C(CONNECT) on the database, C(USAGE) on
    the schemas and C(SELECT) on the tables the publication needs. The grants are exactly those; the
    C(REPLICATION) attribute, which a subscription's connection needs, gives much more (next paragraph).
  - What C(REPLICATION) gives, whatever the grants (PostgreSQL manual, "Replication Management Functions"
    and "Streaming Replication Protocol") - with a plain SQL connection to any database it may
    C(CONNECT) to (C(PUBLIC) has C(CONNECT) on every database by default) and that C(pg_hba.conf) lets it
    into, it may create logical replication slots with any output plugin installed (C(pg_create_logical_replication_slot)
    with C(test_decoding), for example) and read every change to every table of that database through them
    (C(pg_logical_slot_get_changes)), tables it has no C(SELECT) on included;
    it may advance and drop any replication slot of the server, those of other subscriptions included, and
    a slot it leaves behind keeps WAL until the disk fills. Wherever C(pg_hba.conf) lets it in for the
    C(replication) database, it may also stream all WAL of the server or take a base backup of the whole
    cluster (C(pg_basebackup)), every database included. Treat its password as read access to every change of
    every table of the databases it can connect to.
  - The C(pgops.logical_replication.publisher) role writes C(pg_hba.conf) entries that name only the
    published database, never C(replication). Where an existing line does let the role in for physical
    replication (database C(replication), user C(all), the role, a C(+group) it is a member of, or a regular
    expression), the module warns, naming the lines, and returns them in RV(physical_replication_hba). It
    reads C(pg_hba_file_rules) for that, in the same statement as the role (superusers only).
  - Before anything changes, it checks that the login (O(login_user), or O(session_role)) may grant what is
    asked - C(CONNECT) on the database, C(USAGE) on the schemas, C(SELECT) on each table (by owning the
    object, holding the privilege C(WITH GRANT OPTION), or being a superuser) - and fails naming what it may
    not grant; a C(CREATEROLE) login that may not grant them creates nothing. The role and its grants are
    one transaction, and a C(GRANT) or C(REVOKE) that PostgreSQL answers with a warning (nothing, or not
    everything, granted or revoked) is a failure that rolls the whole run back.
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
          - Their inheritance children and partitions, at any depth, get C(SELECT) too, and their schemas
            C(USAGE). A publication of a parent publishes each of them as a table of its own, and the
            subscriber's initial copy reads each one directly. C(SELECT) on the parent reads their rows
            already, so this grants no data the parent's grant does not.
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
    needs a superuser before PostgreSQL 16, and on 16 and later a C(CREATEROLE) login that has
    C(REPLICATION) itself.
  - A non-superuser login may create the role with C(CREATEROLE) and grant only what it owns or holds
    C(WITH GRANT OPTION) (the database's C(CONNECT) included); anything else fails before changing anything.
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
physical_replication_hba:
  description:
    - The C(pg_hba.conf) lines, as the server read them (C(pg_hba_file_rules)), that let this role in for
      physical replication (database C(replication)); each is also named in a warning. Empty when none.
    - V(null) when C(pg_hba_file_rules) is not readable (the login is not a superuser) or O(state=absent).
  returned: always
  type: list
  elements: dict
  sample: [{line_number: 97, type: host, database: [replication], user_name: [all], address: 127.0.0.1,
            auth_method: scram-sha-256}]
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

from ansible_collections.pgops.logical_replication.plugins.module_utils._connection import build_module, run_module
from ansible_collections.pgops.logical_replication.plugins.module_utils._roles import ReplicationUser

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


def main():
    module = build_module(ARGUMENT_SPEC)
    run_module(module, FQCN, lambda session, changes: ReplicationUser(module, session, changes).run())


if __name__ == '__main__':
    main()
