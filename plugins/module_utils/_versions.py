# -*- coding: utf-8 -*-
# Copyright: pgops.logical_replication contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Version gates: one table of feature -> minimum server_version_num.

Every feature newer than some server we support is listed here once. Modules call
``require(feature, server_version_num)``; the error names the feature, the version it needs
and the version found, so a user knows at once what to upgrade or which option to drop.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.pgops.logical_replication.plugins.module_utils._errors import PgOpsError


# The oldest server any module manages or reads: PostgreSQL 13 (the oldest major that still matters
# as the publisher of an upgrade; 15 to 18 are the supported majors). Below it the catalog reads
# themselves fail (pg_replication_slots.wal_status and safe_wal_size, pg_stat_replication.reply_time,
# publish_via_partition_root, pg_partition_tree), so it is checked once, right after connecting.
MINIMUM_SERVER_VERSION = 130000

# feature -> (minimum server_version_num, what the user asked for (or what is read), in words).
# Everything newer than MINIMUM_SERVER_VERSION that the code asks for or reads is here, so the
# server version is compared with a number in this file only. Optional catalog columns are read
# with ``column(feature, version, expression, type)``: the column where the server has it, a
# typed NULL before.
FEATURES = {
    # server settings
    'max_active_replication_origins': (180000, 'the setting max_active_replication_origins'),
    'grant_set_parameter': (150000, 'GRANT SET/ALTER SYSTEM on a parameter'),
    # publications (pg_publication_rel.prqual / prattrs, pg_publication_namespace, pubgencols)
    'publication_row_filter': (150000, 'a row filter (tables[].where)'),
    'publication_column_list': (150000, 'a column list (tables[].columns)'),
    'publication_schemas': (150000, 'FOR TABLES IN SCHEMA (schemas)'),
    'publication_generated_columns': (180000, 'publish_generated_columns'),
    # subscriptions: WITH options and their pg_subscription columns
    'subscription_binary': (140000, 'binary'),
    'subscription_streaming': (140000, 'streaming'),
    'subscription_streaming_parallel': (160000, 'streaming: parallel'),
    'subscription_two_phase': (150000, 'two_phase'),
    'subscription_disable_on_error': (150000, 'disable_on_error'),
    'subscription_skip_lsn': (150000, 'skip_lsn (ALTER SUBSCRIPTION ... SKIP)'),
    'subscription_origin': (160000, 'origin'),
    'subscription_password_required': (160000, 'password_required'),
    'subscription_run_as_owner': (160000, 'run_as_owner'),
    'subscription_failover': (170000, 'failover'),
    'subscription_alter_two_phase': (180000, 'changing two_phase of an existing subscription'),
    # subscription statistics (pg_stat_subscription_stats, pg_stat_subscription.leader_pid / worker_type)
    'subscription_stats': (150000, 'pg_stat_subscription_stats (apply/sync error counts)'),
    'subscription_worker_leader_pid': (160000, 'pg_stat_subscription.leader_pid'),
    'subscription_worker_type': (170000, 'pg_stat_subscription.worker_type'),
    # slots (pg_replication_slots columns, pg_create_logical_replication_slot arguments)
    'slot_two_phase': (140000, 'two_phase on a replication slot'),
    'slot_failover': (170000, 'failover on a replication slot'),
    'slot_synced': (170000, 'pg_replication_slots.synced'),
    'slot_invalidation_reason': (170000, 'pg_replication_slots.invalidation_reason'),
    'terminate_backend_timeout': (140000, 'pg_terminate_backend with a timeout'),
    # pg_hba_file_rules.file_name and rule_number (include directives)
    'hba_rules_file_name': (160000, 'pg_hba_file_rules.file_name'),
}


# Catalog columns newer than MINIMUM_SERVER_VERSION, by catalog: (name returned, expression on the
# catalog row, type, feature). Read with ``columns(catalog, version)``.
CATALOG_COLUMNS = {
    'pg_replication_slots': (
        ('two_phase', 's.two_phase', 'boolean', 'slot_two_phase'),
        ('failover', 's.failover', 'boolean', 'slot_failover'),
        ('synced', 's.synced', 'boolean', 'slot_synced'),
        ('invalidation_reason', 's.invalidation_reason', 'text', 'slot_invalidation_reason'),
    ),
    'pg_subscription': (
        ('binary', 's.subbinary', 'boolean', 'subscription_binary'),
        ('streaming', 's.substream', 'text', 'subscription_streaming'),
        ('two_phase', "s.subtwophasestate <> 'd'", 'boolean', 'subscription_two_phase'),
        ('disable_on_error', 's.subdisableonerr', 'boolean', 'subscription_disable_on_error'),
        ('skip_lsn', 's.subskiplsn::text', 'text', 'subscription_skip_lsn'),
        ('origin', 's.suborigin', 'text', 'subscription_origin'),
        ('password_required', 's.subpasswordrequired', 'boolean', 'subscription_password_required'),
        ('run_as_owner', 's.subrunasowner', 'boolean', 'subscription_run_as_owner'),
        ('failover', 's.subfailover', 'boolean', 'subscription_failover'),
    ),
}

# PostgreSQL's limit on server processes, checked when the server starts (InitializeMaxBackends, and
# before 18 the check hooks of the settings): max_connections + the autovacuum worker slots +
# max_worker_processes + max_wal_senders + the special worker processes must stay <= MAX_BACKENDS
# (2^18 - 1, storage/procnumber.h; postmaster.h before 17). Otherwise the server does not start ("too many
# backends configured", "too many server processes configured", or "invalid value for parameter").
# Per major, newest first: (minimum server_version_num, the setting that sizes the autovacuum slots, the
# special processes counted). The autovacuum launcher is one; 17 adds the slot sync worker; 18 counts
# autovacuum_worker_slots instead of autovacuum_max_workers. Found by starting 15, 16, 17 and 18 at the
# limit and one past it (postgres -C shared_memory_size).
MAX_BACKENDS = 0x3FFFF
BACKEND_LIMIT = (
    (180000, 'autovacuum_worker_slots', 2),
    (170000, 'autovacuum_max_workers', 2),
    (MINIMUM_SERVER_VERSION, 'autovacuum_max_workers', 1),
)


def backend_limit(version_num):
    """(the settings that count toward MAX_BACKENDS on this server, the special processes added to them)."""
    for minimum, autovacuum, special in BACKEND_LIMIT:
        if int(version_num) >= minimum:
            return ('max_connections', autovacuum, 'max_worker_processes', 'max_wal_senders'), special
    raise UnsupportedServer('PostgreSQL %s is older than any server this collection manages.'
                            % format_version(version_num))


class UnsupportedFeature(PgOpsError, ValueError):
    """A requested feature is newer than the server."""


class UnsupportedServer(PgOpsError, ValueError):
    """The server is older than MINIMUM_SERVER_VERSION."""


def format_version(version_num):
    """Render server_version_num as PostgreSQL prints it: 150004 -> '15.4', 90624 -> '9.6.24'."""
    version_num = int(version_num)
    if version_num >= 100000:
        return '%d.%d' % (version_num // 10000, version_num % 10000)
    return '%d.%d.%d' % (version_num // 10000, (version_num // 100) % 100, version_num % 100)


def supports(feature, version_num):
    """True when the server (server_version_num) has the feature."""
    return int(version_num) >= FEATURES[feature][0]


def require(feature, version_num):
    """Raise UnsupportedFeature naming the feature, the version it needs and the version found."""
    minimum, words = FEATURES[feature]
    if int(version_num) < minimum:
        raise UnsupportedFeature(
            '%s needs PostgreSQL %s or later; this server runs PostgreSQL %s. '
            'Upgrade the server or leave the option out.'
            % (words, major(minimum), format_version(version_num)))


def major(version_num):
    """The major version as PostgreSQL names it: 150004 -> '15', 90624 -> '9.6'."""
    version_num = int(version_num)
    parts = format_version(version_num).split('.')
    return parts[0] if version_num >= 100000 else '.'.join(parts[:2])


def check_server(version_num, server='the server'):
    """Raise UnsupportedServer when the server is older than MINIMUM_SERVER_VERSION: what, needed, found, what to do."""
    if int(version_num) < MINIMUM_SERVER_VERSION:
        raise UnsupportedServer(
            '%s runs PostgreSQL %s; pgops.logical_replication needs PostgreSQL %s or later (%s and 14 as the '
            'publisher of an upgrade, 15 to 18 for everything). Upgrade that server (for example with pg_upgrade) '
            'and run again.' % (server, format_version(version_num), major(MINIMUM_SERVER_VERSION),
                                major(MINIMUM_SERVER_VERSION)))


def column(feature, version_num, expression, kind, alias=None):
    """An optional catalog column: ``expression`` where the server has ``feature``, else NULL::kind
    (``AS alias`` when given)."""
    text = expression if supports(feature, version_num) else 'NULL::%s' % kind
    return '%s AS %s' % (text, alias) if alias else text


def columns(catalog, version_num, missing=True):
    """The select-list items of CATALOG_COLUMNS[catalog] for this server: a column the server lacks is
    a typed NULL (``missing`` true) or left out (``missing`` false)."""
    return [column(feature, version_num, expression, kind, name)
            for name, expression, kind, feature in CATALOG_COLUMNS[catalog]
            if missing or supports(feature, version_num)]
