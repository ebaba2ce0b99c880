# -*- coding: utf-8 -*-
# Copyright: pgops.logical_replication contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Catalog reads shared by several modules.

Each read fetches everything a module needs about its object in one statement, so a run
that changes nothing stays at one connection and at most two statements.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import time

from ansible_collections.pgops.logical_replication.plugins.module_utils import _sql, _versions
from ansible_collections.pgops.logical_replication.plugins.module_utils._errors import PgOpsError

# The server's current WAL position (on a standby, the last one received).
CURRENT_LSN = "(CASE WHEN pg_is_in_recovery() THEN pg_last_wal_receive_lsn() ELSE pg_current_wal_lsn() END)"

# pg_subscription_rel.srsubstate as a word (what replication_info and postgresql_subscription return).
SYNC_STATES = {
    'i': 'init',
    'd': 'data_copy',
    'f': 'finished_copy',
    's': 'synchronized',
    'r': 'ready',
}

# The tables of the subscription whose oid is {oid}, with their sync state: one JSON list.
SUBSCRIPTION_TABLES = """COALESCE((SELECT json_agg(json_build_object('schema', n.nspname, 'table', c.relname,
         'state', r.srsubstate, 'lsn', r.srsublsn::text) ORDER BY n.nspname, c.relname)
       FROM pg_subscription_rel r JOIN pg_class c ON c.oid = r.srrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace WHERE r.srsubid = {oid}), '[]'::json)"""


class LsnError(PgOpsError, ValueError):
    """A text that is not a WAL position."""


def subscription_tables(rows):
    """The rows of SUBSCRIPTION_TABLES as returned to the user: display name, schema, table, the
    sync state as a word (SYNC_STATES) and as PostgreSQL's letter (state_code), lsn."""
    return [dict(name=_sql.display_name((t['schema'], t['table'])), schema=t['schema'], table=t['table'],
                 state=SYNC_STATES.get(t['state'], t['state']), state_code=t['state'], lsn=t.get('lsn'))
            for t in rows or []]


def not_ready(tables):
    """The tables of subscription_tables() that are not ready."""
    return [t for t in tables if t['state_code'] != 'r']


def parse_lsn(text, what='a WAL position (LSN)'):
    """'16/B374D848' -> the byte position as an int, for comparing LSNs whatever their zero
    padding; None for None or ''. Raises LsnError naming ``what`` otherwise."""
    if text in (None, ''):
        return None
    try:
        high, low = str(text).strip().split('/')
        return (int(high, 16) << 32) + int(low, 16)
    except ValueError:
        raise LsnError("%r is not %s; write it as PostgreSQL prints it, e.g. '0/14C0378'." % (text, what))


def lsn_diff(later, earlier):
    """Bytes from earlier to later (never negative), None when either is unknown."""
    a, b = parse_lsn(later), parse_lsn(earlier)
    if a is None or b is None:
        return None
    return max(0, a - b)


# Settings whose presence marks a managed service where ALTER SYSTEM is refused, with the
# advice to give. The value is what to tell the user to change instead.
MANAGED_SERVICE_MARKERS = {
    'rds.logical_replication': (
        'Amazon RDS / Aurora',
        'set rds.logical_replication = 1 (it sets wal_level = logical) and the other settings '
        'in the DB (cluster) parameter group, then reboot the instance'),
    'cloudsql.logical_decoding': (
        'Google Cloud SQL',
        'set the database flag cloudsql.logical_decoding = on and the other settings as '
        'database flags, then restart the instance'),
    'azure.extensions': (
        'Azure Database for PostgreSQL',
        'set wal_level = logical and the other settings as server parameters, then restart '
        'the server'),
}

# One statement: each requested setting with its metadata, the value that will be in force
# after a restart (the last line for it in the configuration files, postgresql.auto.conf
# included), whether this role may ALTER SYSTEM it, plus server-wide facts: the settings
# waiting for a restart and which managed-service marker settings exist (current_setting,
# because a provider's parameters may be placeholders that pg_settings does not list).
SETTINGS_QUERY = """
SELECT s.name, s.setting, s.unit, s.vartype, s.context, s.source, s.boot_val, s.min_val,
       s.max_val, s.enumvals, s.pending_restart,
       f.setting AS file_setting, f.sourcefile AS file_source, f.error AS file_error,
       r.rolsuper OR {may_alter_system} AS may_alter_system,
       r.rolsuper AS superuser,
       pg_conf_load_time() AS conf_load_time,
       ARRAY(SELECT p.name FROM pg_settings p WHERE p.pending_restart ORDER BY p.name)
         AS pending_restart_names,
       ARRAY(SELECT m FROM unnest(%(markers)s::text[]) m WHERE current_setting(m, true) IS NOT NULL)
         AS managed_markers
FROM pg_settings s
LEFT JOIN LATERAL (
    {file_settings}
) f ON true
CROSS JOIN pg_roles r
WHERE s.name = ANY(%(names)s) AND r.rolname = current_user
"""

RELOADED_QUERY = """
SELECT pg_conf_load_time() > %(before)s AS reloaded,
       ARRAY(SELECT p.name FROM pg_settings p WHERE p.pending_restart ORDER BY p.name)
         AS pending_restart_names
"""


FILE_SETTINGS = """SELECT fs.setting, fs.sourcefile, fs.error FROM pg_file_settings fs
    WHERE fs.name = s.name ORDER BY fs.seqno DESC LIMIT 1"""
NO_FILE_SETTINGS = "SELECT NULL::text AS setting, NULL::text AS sourcefile, NULL::text AS error"


def wait_for_reload(session, before, seconds):
    """Poll until this session has processed a pg_reload_conf() (its pg_conf_load_time moved past
    ``before``) or ``seconds`` pass; returns {'reloaded', 'pending_restart_names'}."""
    deadline = time.time() + seconds
    while True:
        state = session.row(RELOADED_QUERY, {'before': before})
        if state['reloaded'] or time.time() > deadline:
            return state
        time.sleep(0.05)


def settings(session, names):
    """{name: row} for the named settings that exist (see SETTINGS_QUERY).

    pg_file_settings is readable by superusers only (unless granted); a role that cannot
    read it gets the rows without the file values and ``files_readable`` False.
    """
    may_alter = ("has_parameter_privilege(s.name, 'ALTER SYSTEM')"
                 if session.supports('grant_set_parameter') else 'false')
    params = {'names': list(names), 'markers': sorted(MANAGED_SERVICE_MARKERS)}
    try:
        rows = session.rows(SETTINGS_QUERY.format(may_alter_system=may_alter, file_settings=FILE_SETTINGS),
                            params)
        readable = True
    except session.InsufficientPrivilege:
        rows = session.rows(SETTINGS_QUERY.format(may_alter_system=may_alter, file_settings=NO_FILE_SETTINGS),
                            params)
        readable = False
    for row in rows:
        row['files_readable'] = readable
    return dict((r['name'], r) for r in rows)


def apply_worker(version, alias='w'):
    """The condition on pg_stat_subscription (``alias``) that picks a subscription's apply worker
    (not its table sync or parallel apply workers)."""
    if _versions.supports('subscription_worker_type', version):
        return "%s.relid IS NULL AND %s.worker_type = 'apply'" % (alias, alias)
    if _versions.supports('subscription_worker_leader_pid', version):
        return '%s.relid IS NULL AND %s.leader_pid IS NULL' % (alias, alias)
    return '%s.relid IS NULL' % alias


# pg_hba.conf lines (pg_hba_file_rules, as the server read them: superusers only) that open physical
# replication: database `replication` (`all` does not match it), not `reject`.
_PHYSICAL_HBA_RULE = "h.error IS NULL AND 'replication' = ANY(h.database) AND h.auth_method <> 'reject'"
_HBA_LINE = ("'line_number', h.line_number, 'type', h.type, 'database', h.database, 'user_name', h.user_name, "
             "'address', h.address, 'auth_method', h.auth_method")


def _hba_admits(name, oid):
    """The line `h` names the role (SQL expressions ``name``, ``oid``): user `all`, the role, a +group it is a
    member of, or a regular expression (PostgreSQL 16+: counted without being evaluated)."""
    return ("EXISTS (SELECT 1 FROM unnest(h.user_name) u WHERE u IN ('all', {name}) OR left(u, 1) = '/' "
            "OR (left(u, 1) = '+' AND EXISTS (SELECT 1 FROM pg_roles g WHERE g.rolname = substr(u, 2) "
            "AND pg_has_role({oid}, g.oid, 'MEMBER'))))").format(name=name, oid=oid)


def physical_hba(name, oid):
    """A JSON list of the lines that let one role in for physical replication."""
    return ("(SELECT COALESCE(json_agg(json_build_object({line}) ORDER BY h.line_number), '[]') "
            "FROM pg_hba_file_rules h WHERE {rule} AND {admits})").format(
                line=_HBA_LINE, rule=_PHYSICAL_HBA_RULE, admits=_hba_admits(name, oid))


# Every such line with the REPLICATION roles (not superusers) it lets in.
PHYSICAL_HBA_ROLES = ("SELECT COALESCE(json_agg(json_build_object({line}, 'roles', ARRAY("
                      "SELECT r.rolname FROM pg_roles r WHERE r.rolreplication AND NOT r.rolsuper AND {admits} "
                      "ORDER BY 1)) ORDER BY h.line_number), '[]') FROM pg_hba_file_rules h WHERE {rule}").format(
                          line=_HBA_LINE, rule=_PHYSICAL_HBA_RULE, admits=_hba_admits('r.rolname', 'r.oid'))


def hba_text(line):
    """A pg_hba_file_rules row as its line reads: type, databases, users, address, method."""
    return ' '.join([line['type'], ','.join(line['database']), ','.join(line['user_name'])]
                    + ([line['address']] if line['address'] else []) + [line['auth_method']])
