# -*- coding: utf-8 -*-
# Copyright: pgops.logical_replication contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""replication_info: the read queries (one per server) and the pure functions that shape them.

Every section is a JSON sub-select of one statement, so the module reads the connected server
with one query. A section the role may not read (PostgreSQL refuses the whole statement) is
read again on its own and reported as null (unknown) instead of failing the run.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.pgops.logical_replication.plugins.module_utils import _catalog, _schema, _sql, _versions
from ansible_collections.pgops.logical_replication.plugins.module_utils._catalog import CURRENT_LSN, lsn_diff


def section_queries(version):
    """{section: SQL that returns one JSON value} for the connected server."""
    publications = """
SELECT coalesce(json_agg(p ORDER BY p.name), '[]'::json) FROM (
  SELECT p.pubname AS name, pg_get_userbyid(p.pubowner) AS owner, p.puballtables AS all_tables,
         array_remove(ARRAY[CASE WHEN p.pubinsert THEN 'insert' END, CASE WHEN p.pubupdate THEN 'update' END,
                            CASE WHEN p.pubdelete THEN 'delete' END, CASE WHEN p.pubtruncate THEN 'truncate' END],
                      NULL) AS publish,
         %s,
         (SELECT coalesce(json_agg(json_build_object('schema', t.schemaname, 'table', t.tablename)
                                   ORDER BY t.schemaname, t.tablename), '[]'::json)
            FROM pg_publication_tables t WHERE t.pubname = p.pubname) AS tables
  FROM pg_publication p) p""" % 'p.pubviaroot AS publish_via_partition_root'

    slots = """
SELECT coalesce(json_agg(s ORDER BY s.name), '[]'::json) FROM (
  SELECT s.slot_name AS name, s.slot_type, s.plugin, s.database, s.temporary, s.active, s.active_pid,
         s.wal_status, s.safe_wal_size,
         s.restart_lsn::text AS restart_lsn, s.confirmed_flush_lsn::text AS confirmed_flush_lsn,
         pg_wal_lsn_diff(%s, s.restart_lsn)::bigint AS retained_wal_bytes,
         r.application_name AS used_by
  FROM pg_replication_slots s
  LEFT JOIN pg_stat_replication r ON r.pid = s.active_pid) s""" % CURRENT_LSN

    replication = """
SELECT coalesce(json_agg(r ORDER BY r.application_name, r.pid), '[]'::json) FROM (
  SELECT r.pid, r.usename AS user, r.application_name, host(r.client_addr) AS client_addr, r.state,
         r.sync_state, s.slot_name, s.slot_type,
         r.sent_lsn::text AS sent_lsn, r.write_lsn::text AS write_lsn, r.flush_lsn::text AS flush_lsn,
         r.replay_lsn::text AS replay_lsn,
         pg_wal_lsn_diff(w.lsn, r.sent_lsn)::bigint AS sent_lag_bytes,
         pg_wal_lsn_diff(w.lsn, r.write_lsn)::bigint AS write_lag_bytes,
         pg_wal_lsn_diff(w.lsn, r.flush_lsn)::bigint AS flush_lag_bytes,
         pg_wal_lsn_diff(w.lsn, r.replay_lsn)::bigint AS replay_lag_bytes,
         extract(epoch FROM r.write_lag)::float8 AS write_lag_seconds,
         extract(epoch FROM r.flush_lag)::float8 AS flush_lag_seconds,
         extract(epoch FROM r.replay_lag)::float8 AS replay_lag_seconds,
         r.reply_time
  FROM pg_stat_replication r
  CROSS JOIN (SELECT %s AS lsn) w
  LEFT JOIN pg_replication_slots s ON s.active_pid = r.pid) r""" % CURRENT_LSN

    stats = _versions.supports('subscription_stats', version)
    subscriptions = """
SELECT coalesce(json_agg(s ORDER BY s.name), '[]'::json) FROM (
  SELECT s.subname AS name, pg_get_userbyid(s.subowner) AS owner, s.subenabled AS enabled,
         s.subpublications AS publications, s.subslotname AS slot_name,
         w.pid AS worker_pid, w.received_lsn::text AS received_lsn, w.latest_end_lsn::text AS latest_end_lsn,
         w.last_msg_send_time, w.last_msg_receipt_time, w.latest_end_time,
         %s, %s,
         %s AS tables
  FROM pg_subscription s
  LEFT JOIN pg_stat_subscription w ON w.subid = s.oid AND %s
  %s
  WHERE s.subdbid = (SELECT d.oid FROM pg_database d WHERE d.datname = current_database())) s""" % (
        _versions.column('subscription_stats', version, 'st.apply_error_count', 'bigint', 'apply_error_count'),
        _versions.column('subscription_stats', version, 'st.sync_error_count', 'bigint', 'sync_error_count'),
        _catalog.SUBSCRIPTION_TABLES.format(oid='s.oid'),
        _catalog.apply_worker(version),
        'LEFT JOIN pg_stat_subscription_stats st ON st.subid = s.oid' if stats else '')

    return dict(publications=publications, slots=slots, replication=replication, subscriptions=subscriptions)


SECTIONS = ('publications', 'slots', 'replication', 'subscriptions')


def server_query(version, superuser=False):
    """The one statement that reads the connected server: server facts plus every section, and for a
    superuser (only they may read pg_hba_file_rules) the pg_hba.conf lines that open physical replication."""
    queries = section_queries(version)
    parts = ['(%s) AS %s' % (queries[name].strip(), name) for name in SECTIONS]
    if superuser:
        parts.append('(%s) AS physical_replication_hba' % _catalog.PHYSICAL_HBA_ROLES)
    return ('SELECT current_database() AS database, pg_is_in_recovery() AS in_recovery, '
            '%s::text AS current_lsn,\n' % CURRENT_LSN + ',\n'.join(parts))


def fallback_query(version, section):
    """One section on its own (used when the whole statement was refused)."""
    return _sql.stmt('SELECT ({}) AS {}', _sql.fragment(section_queries(version)[section].strip()),
                     _sql.ident(section))


BASE_QUERY = ('SELECT current_database() AS database, pg_is_in_recovery() AS in_recovery, '
              '%s::text AS current_lsn' % CURRENT_LSN)

_PUBLISHER_QUERY = """
SELECT %s::text AS current_lsn,
       (SELECT coalesce(json_agg(json_build_object('name', s.slot_name, 'active', s.active,
                                                  'wal_status', s.wal_status,
                                                  'confirmed_flush_lsn', s.confirmed_flush_lsn::text)), '[]'::json)
          FROM pg_replication_slots s WHERE s.slot_name = ANY(%%(slots)s)) AS slots,
       ({published}) AS published
""" % CURRENT_LSN


def publisher_query(version):
    """The one statement on the publisher (server_version_num ``version``): its current WAL position,
    the subscriptions' slots (%(slots)s) and, for the schema drift, the tables of the subscriptions'
    publications (%(publications)s, see _schema.published_query)."""
    return _PUBLISHER_QUERY.format(published=_schema.published_query(version).strip())


def publication_entries(publications):
    for pub in publications or []:
        pub['tables'] = [_sql.display_name((t['schema'], t['table'])) for t in pub.get('tables') or []]
    return publications


# The health of a subscription (replication_info's subscriptions[].health).
HEALTH = ('ok', 'syncing', 'disabled', 'stalled', 'broken')


def subscription_entries(subscriptions, publisher=None, state=None):
    """Shape subscriptions; with ``publisher`` ({current_lsn, slots: {name: row}, published}) add the
    lag, and with the subscriber's ``state`` (_schema.subscriber_state) the schema drift. Every
    subscription gets its ``health`` and ``problems``.

    lag_bytes: the publisher's current WAL position minus the confirmed_flush_lsn of the
    subscription's slot on the publisher (what the subscriber has applied and confirmed), read
    on the publisher. When that slot is not on the publisher, the subscriber's own view: the
    publisher's position minus the apply worker's latest_end_lsn. lag_source says which.
    """
    for sub in subscriptions or []:
        sub['tables'] = _catalog.subscription_tables(sub.get('tables'))
        sub['tables_not_ready'] = [t['name'] for t in _catalog.not_ready(sub['tables'])]
        if publisher is not None:
            slot = publisher['slots'].get(sub.get('slot_name'))
            sub['publisher_lsn'] = publisher['current_lsn']
            sub['slot_confirmed_flush_lsn'] = slot['confirmed_flush_lsn'] if slot else None
            sub['lag_bytes'] = None
            sub['lag_source'] = None
            if slot and slot['confirmed_flush_lsn']:
                sub['lag_bytes'] = lsn_diff(publisher['current_lsn'], slot['confirmed_flush_lsn'])
                sub['lag_source'] = 'slot'
            elif sub.get('latest_end_lsn'):
                sub['lag_bytes'] = lsn_diff(publisher['current_lsn'], sub['latest_end_lsn'])
                sub['lag_source'] = 'worker'
            sub['schema_drift'] = None
            if state is not None and is_its_publisher(sub, publisher):
                sub['schema_drift'] = _schema.drift(publisher['published'], state, sub.get('publications') or [],
                                                    subscription=sub['name'])
        sub['health'], sub['problems'] = health(sub, publisher)
    return subscriptions


def is_its_publisher(sub, publisher):
    """Whether ``publisher`` holds at least one of the subscription's publications (then it is taken
    to be the subscription's publisher: its slot and tables are judged there)."""
    existing = set((publisher.get('published') or {}).get('publications') or [])
    return bool(existing & set(sub.get('publications') or []))


def health(sub, publisher=None):
    """(health, problems) of a subscription; health is one of HEALTH.

    disabled: not enabled. broken: enabled, and its publisher (when given and it holds the
    subscription's publications) lacks the slot or a publication, or the slot is invalidated; or it
    has no slot. stalled: enabled, no apply worker runs, and no cause is known (it is starting, or
    keeps failing: see the error counts and the subscriber's log). syncing: tables not ready yet.
    """
    problems = []
    name = sub.get('name')
    if not sub.get('enabled'):
        return 'disabled', problems
    slot_name = sub.get('slot_name')
    if not slot_name:
        problems.append('Subscription %s has no slot (slot_name NONE): it cannot stream; set a slot_name.' % name)
    if publisher is not None and is_its_publisher(sub, publisher):
        existing = set(publisher['published'].get('publications') or [])
        missing = [p for p in sub.get('publications') or [] if p not in existing]
        if missing:
            problems.append('Publication(s) %s of subscription %s do not exist on the publisher: the apply worker '
                            'fails ("publication ... does not exist"); create them or drop them from the '
                            'subscription.' % (', '.join(missing), name))
        slot = publisher['slots'].get(slot_name) if slot_name else None
        if slot_name and slot is None:
            problems.append('Replication slot %s of subscription %s does not exist on the publisher: the apply worker '
                            'fails at every start ("replication slot ... does not exist") and nothing replicates; '
                            'create the slot on the publisher (pgoutput) and refresh, or recreate the subscription.'
                            % (slot_name, name))
        elif slot is not None and slot.get('wal_status') == 'lost':
            problems.append('Replication slot %s of subscription %s was invalidated on the publisher (wal_status '
                            'lost, max_slot_wal_keep_size): the WAL it needed is gone; recreate the subscription.'
                            % (slot_name, name))
    if problems:
        return 'broken', problems
    if sub.get('worker_pid') is None:
        return 'stalled', ['Subscription %s is enabled but no apply worker runs: it is starting, or keeps failing '
                           '(see apply_error_count and the subscriber\'s log; give replication_info the publisher '
                           'to check its slot).' % name]
    if sub.get('tables_not_ready'):
        return 'syncing', []
    return 'ok', []
