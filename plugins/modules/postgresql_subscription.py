#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: pgops.logical_replication contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: postgresql_subscription
short_description: Create, alter, refresh and drop logical replication subscriptions
version_added: 0.1.0
description:
  - Manages a subscription (C(CREATE/ALTER/DROP SUBSCRIPTION)) in the database O(db) of the
    subscriber.
  - Reconciles in place everything PostgreSQL can change on an existing subscription, that is the
    publications (C(ADD), C(DROP) or C(SET PUBLICATION)), the connection, every C(WITH) option
    that C(ALTER SUBSCRIPTION ... SET) accepts on the server's version, the owner, the comment and
    whether it is enabled. An option that cannot change after creation is an error that names it
    and the way out; it is never silently ignored.
  - Only the options you give are compared; an option left out keeps its current value.
  - The connection is built from O(conninfo) with libpq quoting (any password works) and compared
    with the stored one by meaning (order and spelling of the keywords do not matter).
  - The password is never returned, shown in RV(queries), the diff, warnings or errors, and the
    module turns statement logging off for its own session (when allowed) before a statement that
    carries it, so it does not reach the server log either.
  - While a statement that carries the password runs (C(CREATE SUBSCRIPTION), C(ALTER SUBSCRIPTION ... CONNECTION)),
    the module turns activity tracking off for it (C(SET track_activities = off), then C(RESET)), so
    C(pg_stat_activity) shows no text for it, not even to C(pg_monitor) members. Only a superuser (or, on
    PostgreSQL 15 and later, a role granted C(SET) on C(track_activities)) may do that; for any other login
    a warning says that C(pg_stat_activity.query) shows the statement, password included, while it runs, to
    superusers, to that login and to members of C(pg_read_all_stats) (C(pg_monitor)).
  - What stays visible on the subscriber afterwards is the stored connection,
    C(pg_subscription.subconninfo), which only superusers may read (PostgreSQL revokes it from
    everyone else).
  - Every statement is bounded by O(statement_timeout), on the server and, a few seconds later, by
    the module cancelling it itself, so a publisher that accepts TCP connections and never answers
    (a half-dead host, a firewall that drops) fails the task with a message naming the publisher,
    and no backend is left waiting with a lock on C(pg_subscription), even when the module is killed.
  - A new subscription gets C(connect_timeout=10) in its connection when O(conninfo) has none (it is
    shown in the returned RV(conninfo)); on an existing one a missing C(connect_timeout) keeps the stored value and is not
    compared. libpq applies it where the subscriber's server connects with a blocking call; the
    apply and table sync workers and C(CREATE SUBSCRIPTION) of PostgreSQL 15 to 18 connect without
    it (a silent publisher keeps them waiting), which is why O(statement_timeout) exists.
  - With O(wait_for_sync) it waits, inside the module, until every table of the subscription is
    ready after the initial copy, and fails at once when they cannot get ready (see O(wait_for_sync)).
  - Warnings PostgreSQL raises on the module's session (for example C(requested copy_data with
    origin = NONE but might copy data that had a different origin) on C(CREATE SUBSCRIPTION)) are the
    task's warnings, passwords masked, as for every module of this collection.
author:
  - pgops.logical_replication maintainers (@pgops)
extends_documentation_fragment:
  - pgops.logical_replication.connection
  - pgops.logical_replication.conninfo
  - pgops.logical_replication.attributes
attributes:
  idempotent:
    support: partial
    details:
      - O(state=refreshed) runs C(ALTER SUBSCRIPTION ... REFRESH PUBLICATION) and reports a change on every run
        (PostgreSQL does not tell whether a refresh found anything new). Every other state is idempotent.
options:
  name:
    description:
      - Name of the subscription, taken as written (case and any character are kept; no quoting needed).
    type: str
    required: true
  state:
    description:
      - V(present) creates the subscription or brings it to the given options.
      - V(absent) drops it (see O(keep_slot_on_drop)).
      - V(enabled) and V(disabled) are V(present) plus C(ENABLE) or C(DISABLE).
      - V(refreshed) is V(present) plus C(REFRESH PUBLICATION), to pick up tables added to the
        publications. It always reports a change on an existing subscription, except that a
        subscription created or whose publications changed in the same run is not refreshed twice.
    type: str
    choices: [ present, absent, refreshed, enabled, disabled ]
    default: present
  publications:
    description:
      - Names of the publications on the publisher. Required to create.
      - On an existing subscription, publications not listed are dropped and new ones added.
    type: list
    elements: str
  refresh:
    description:
      - When O(publications) change, refresh the table list at the same time (C(refresh = true)).
      - PostgreSQL refuses a refresh on a disabled subscription, so a disabled one is changed
        without refresh; run O(state=refreshed) after enabling it.
    type: bool
    default: true
  conninfo:
    description:
      - How the subscriber connects to the publisher, as libpq keywords. Required to create.
      - An unknown keyword is an error that names it.
      - Values are quoted by libpq rules, so a password with spaces, quotes or backslashes works.
      - Files named by the keywords (C(passfile), C(sslcert), C(sslkey), C(sslrootcert), ...) are read by
        the subscriber's server, on its host, as its operating system user.
      - C(user) needs the C(REPLICATION) attribute (see M(pgops.logical_replication.replication_user)).
    type: dict
  enabled:
    description:
      - Whether the subscription replicates. Changed in place (C(ENABLE)/C(DISABLE)).
      - Contradicting O(state=enabled) or O(state=disabled) is an error.
    type: bool
  connect:
    description:
      - Creation only. V(false) creates the subscription without contacting the publisher (no
        slot, no copy, disabled); create the slot later, then O(state=enabled) and O(state=refreshed).
    type: bool
  create_slot:
    description:
      - Creation only. Whether CREATE SUBSCRIPTION creates the replication slot on the publisher.
    type: bool
  slot_name:
    description:
      - Name of the replication slot on the publisher; V(none) for no slot (C(slot_name = NONE), only
        with O(enabled=false) and O(create_slot=false), or on a disabled subscription).
      - Changed in place, e.g. to attach a slot created later.
    type: str
  copy_data:
    description:
      - Whether the existing rows are copied, at creation and at every refresh this run makes
        (O(state=refreshed), or O(publications) changed with O(refresh)). Never compared.
    type: bool
  synchronous_commit:
    description:
      - C(synchronous_commit) of the apply worker. Changed in place.
    type: str
    choices: [ 'on', 'off', local, remote_write, remote_apply ]
  binary:
    description:
      - Binary transfer of the data. Changed in place.
    type: bool
  streaming:
    description:
      - Streaming of large in-progress transactions. V(parallel) needs PostgreSQL 16. Changed in place.
    type: str
    choices: [ 'off', 'on', parallel ]
  two_phase:
    description:
      - Two-phase commit decoding. PostgreSQL 15 or later.
      - Fixed at creation before PostgreSQL 18 (a different value is an error); on 18 it is changed
        while the subscription is disabled.
    type: bool
  disable_on_error:
    description:
      - Disable the subscription when the apply worker hits an error. PostgreSQL 15 or later. Changed in place.
    type: bool
  origin:
    description:
      - V(none) replicates only changes that originated on the publisher (no loops in two-way
        setups). PostgreSQL 16 or later. Changed in place.
    type: str
    choices: [ any, none ]
  password_required:
    description:
      - Whether the connection must use a password. PostgreSQL 16 or later; only a superuser may set V(false).
    type: bool
  run_as_owner:
    description:
      - Apply changes as the subscription owner rather than the table owners. PostgreSQL 16 or later.
    type: bool
  failover:
    description:
      - Synchronise the slot to physical standbys of the publisher. PostgreSQL 17 or later; changed
        only while the subscription is disabled.
    type: bool
  owner:
    description:
      - Owner of the subscription. Changed in place (C(ALTER SUBSCRIPTION ... OWNER TO)).
    type: str
  comment:
    description:
      - Comment on the subscription. V('') removes it.
    type: str
  wait_for_sync:
    description:
      - After the run, wait until every table of the subscription is ready (state C(r) in
        C(pg_subscription_rel)), polling every 0.1 s on the same connection.
      - Fails after O(sync_timeout) seconds naming the tables not ready and their states
        (RV(sync_timed_out) is true, waiting longer may help). Not done in check mode.
      - Fails at once, with RV(sync_timed_out) false, when the tables cannot get ready - the subscription
        is disabled, or (PostgreSQL 15 and later) a table copy keeps failing, seen as
        C(pg_stat_subscription_stats.sync_error_count) growing while the apply worker stays connected to
        the publisher (a duplicate key on the subscriber, a missing column, permissions). The message
        names the subscription, the tables, the error counts and what to do. A publisher that goes away
        during the copy ends the apply worker too, so the copy's retries are waited for, not failed.
    type: bool
    default: false
  sync_timeout:
    description:
      - Seconds O(wait_for_sync) waits.
    type: float
    default: 300.0
  statement_timeout:
    description:
      - Seconds any statement of the module may run (the session's C(statement_timeout), sent when it
        connects); V(0) for no limit. C(CREATE SUBSCRIPTION), C(ALTER SUBSCRIPTION) with C(CONNECTION),
        C(REFRESH PUBLICATION) or a publication change with refresh, and C(DROP SUBSCRIPTION) wait on the
        publisher; one cancelled by this limit fails naming the publisher. The module also cancels a
        statement itself 5 s after this limit.
      - Raise it when the publisher is slow rather than silent, for example when creating the slot
        waits for long transactions on the publisher to end.
    type: float
    default: 45.0
  keep_slot_on_drop:
    description:
      - With O(state=absent), detach the slot before dropping (C(DISABLE), C(SET (slot_name = NONE)),
        C(DROP)), so a dead or moved publisher never blocks the drop. The slot left on the
        publisher is returned in RV(kept_slot); drop it there, or it keeps WAL.
    type: bool
    default: false
  skip_lsn:
    description:
      - Skip the remote transaction that finishes at this LSN (C(ALTER SUBSCRIPTION ... SKIP)), to step
        over a conflicting transaction; the LSN is in the subscriber's server log ("finished at ...").
        V(none) clears a pending skip. PostgreSQL 15 or later.
      - Not changed again once the subscription has replicated past that LSN.
    type: str
notes:
  - C(CREATE SUBSCRIPTION) with a slot and C(DROP SUBSCRIPTION) cannot run in a transaction; the
    module's session is in autocommit.
  - Reading the stored connection needs a superuser; for other roles (managed services) the
    connection is not compared and a warning says so.
  - O(name) and O(publications) are identifiers taken as written, e.g. V(Sales) is C("Sales").
seealso:
  - name: CREATE SUBSCRIPTION
    description: The options and what they do.
    link: https://www.postgresql.org/docs/current/sql-createsubscription.html
  - name: ALTER SUBSCRIPTION
    description: What can be changed in place.
    link: https://www.postgresql.org/docs/current/sql-altersubscription.html
  - module: pgops.logical_replication.postgresql_publication
  - module: pgops.logical_replication.replication_slot
'''

EXAMPLES = r'''
- name: Subscribe to the publication zoo and wait for the initial copy
  pgops.logical_replication.postgresql_subscription:
    db: zoo
    name: zoo
    publications: [zoo]
    conninfo:
      host: rhino.example.com
      dbname: zoo
      user: logic
      password: "{{ vault_logic_password }}"
    wait_for_sync: true
    sync_timeout: 3600

- name: Create without touching the publisher; the slot is made later
  pgops.logical_replication.postgresql_subscription:
    db: zoo
    name: zoo
    publications: [zoo]
    conninfo: {host: rhino.example.com, dbname: zoo, user: logic, password: "{{ vault_logic_password }}"}
    connect: false

- name: Then enable it and fetch the table list
  pgops.logical_replication.postgresql_subscription:
    db: zoo
    name: zoo
    state: refreshed
    enabled: true

- name: Step over a conflicting transaction
  pgops.logical_replication.postgresql_subscription:
    db: zoo
    name: zoo
    skip_lsn: 0/14C0378

- name: Drop even when the publisher is gone, keeping its slot
  pgops.logical_replication.postgresql_subscription:
    db: zoo
    name: zoo
    state: absent
    keep_slot_on_drop: true
  register: dropped

- name: Report the slot left behind
  ansible.builtin.debug:
    msg: "Drop slot {{ dropped.kept_slot }} on the publisher"
  when: dropped.kept_slot
'''

RETURN = r'''
exists:
  description: Whether the subscription exists after the run (in check mode, would exist).
  returned: always
  type: bool
  sample: true
name:
  description: Name of the subscription.
  returned: always
  type: str
  sample: zoo
publications:
  description: Publications of the subscription.
  returned: when the subscription exists
  type: list
  elements: str
  sample: [ zoo ]
enabled:
  description: Whether the subscription is enabled.
  returned: when the subscription exists
  type: bool
  sample: true
slot_name:
  description: Replication slot on the publisher, null for NONE.
  returned: when the subscription exists
  type: str
  sample: zoo
options:
  description: The stored WITH options this server version has.
  returned: when the subscription exists
  type: dict
  sample: {synchronous_commit: 'off', binary: false, streaming: 'on', two_phase: false, disable_on_error: false}
owner:
  description: Owner of the subscription.
  returned: when the subscription exists
  type: str
  sample: postgres
comment:
  description: Comment on the subscription, null when none.
  returned: when the subscription exists
  type: str
  sample: replicated from rhino
conninfo:
  description: The stored connection as libpq keywords, secrets replaced by C(********); null when this role cannot read it.
  returned: when the subscription exists
  type: dict
  sample: {host: rhino.example.com, dbname: zoo, user: logic, password: '********'}
tables:
  description:
    - Tables of the subscription, in the same shape as the C(tables) of each subscription that
      M(pgops.logical_replication.replication_info) returns.
    - C(name) is the qualified name as written in SQL (parts quoted only when needed), C(schema) and
      C(table) its parts, C(state) the synchronisation state as a word (C(init), C(data_copy),
      C(finished_copy), C(synchronized), C(ready)), C(state_code) PostgreSQL's letter (C(srsubstate)),
      C(lsn) the remote LSN of the state change (C(srsublsn)).
  returned: when the subscription exists
  type: list
  elements: dict
  sample: [ {name: public.abc, schema: public, table: abc, state: ready, state_code: r, lsn: 0/1570F58} ]
waited:
  description: Seconds spent waiting for the tables to be ready.
  returned: when O(wait_for_sync) waited
  type: float
  sample: 1.6
sync_timed_out:
  description:
    - When O(wait_for_sync) failed, whether it was because O(sync_timeout) ran out (V(true), the copy may
      still be running) or because the tables cannot get ready (V(false), disabled, or a copy that keeps failing).
  returned: when O(wait_for_sync) failed
  type: bool
  sample: false
sync_error_count:
  description:
    - C(pg_stat_subscription_stats.sync_error_count) when O(wait_for_sync) failed because the tables
      cannot get ready (PostgreSQL 15 and later, else null).
  returned: when O(wait_for_sync) failed with RV(sync_timed_out) false
  type: int
  sample: 3
apply_error_count:
  description: C(pg_stat_subscription_stats.apply_error_count), with RV(sync_error_count).
  returned: when O(wait_for_sync) failed with RV(sync_timed_out) false
  type: int
  sample: 0
kept_slot:
  description: With O(keep_slot_on_drop), the replication slot left on the publisher (null if none).
  returned: when O(state=absent)
  type: str
  sample: zoo
queries:
  description: The statements run (or, in check mode, that would run), passwords replaced by C(********).
  returned: always
  type: list
  elements: str
  sample: [ "ALTER SUBSCRIPTION \"zoo\" SET (binary = true)" ]
diff:
  description: The subscription before and after (connection masked).
  returned: when diff mode is on
  type: dict
  sample: {before: {binary: false}, after: {binary: true}}
'''

from ansible_collections.pgops.logical_replication.plugins.module_utils._connection import build_module, run_module
from ansible_collections.pgops.logical_replication.plugins.module_utils import _conninfo
from ansible_collections.pgops.logical_replication.plugins.module_utils._subscription import (
    DEFAULT_STATEMENT_TIMEOUT, Subscription)

FQCN = 'pgops.logical_replication.postgresql_subscription'

ARGUMENT_SPEC = dict(
    name=dict(type='str', required=True),
    state=dict(type='str', default='present', choices=['present', 'absent', 'refreshed', 'enabled', 'disabled']),
    publications=dict(type='list', elements='str'),
    refresh=dict(type='bool', default=True),
    conninfo=dict(type='dict', options=_conninfo.OPTION_SPEC),
    enabled=dict(type='bool'),
    connect=dict(type='bool'),
    create_slot=dict(type='bool'),
    slot_name=dict(type='str'),
    copy_data=dict(type='bool'),
    synchronous_commit=dict(type='str', choices=['on', 'off', 'local', 'remote_write', 'remote_apply']),
    binary=dict(type='bool'),
    streaming=dict(type='str', choices=['off', 'on', 'parallel']),
    two_phase=dict(type='bool'),
    disable_on_error=dict(type='bool'),
    origin=dict(type='str', choices=['any', 'none']),
    password_required=dict(type='bool', no_log=False),
    run_as_owner=dict(type='bool'),
    failover=dict(type='bool'),
    owner=dict(type='str'),
    comment=dict(type='str'),
    wait_for_sync=dict(type='bool', default=False),
    sync_timeout=dict(type='float', default=300.0),
    statement_timeout=dict(type='float', default=DEFAULT_STATEMENT_TIMEOUT),
    keep_slot_on_drop=dict(type='bool', default=False),
    skip_lsn=dict(type='str'),
)


def main():
    module = build_module(ARGUMENT_SPEC)
    if module.params['statement_timeout'] < 0:
        module.fail_json(msg='statement_timeout must be 0 (no limit) or more seconds, not %s.'
                         % module.params['statement_timeout'])
    run_module(module, FQCN, lambda session, changes: Subscription(module, session, changes).run(),
               statement_timeout=module.params['statement_timeout'])


if __name__ == '__main__':
    main()
