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


# feature -> (minimum server_version_num, what the user asked for, in words)
FEATURES = {
    # server settings
    'max_slot_wal_keep_size': (130000, 'the setting max_slot_wal_keep_size'),
    'max_active_replication_origins': (180000, 'the setting max_active_replication_origins'),
    # publications
    'publication_row_filter': (150000, 'a row filter (tables[].where)'),
    'publication_column_list': (150000, 'a column list (tables[].columns)'),
    'publication_schemas': (150000, 'FOR TABLES IN SCHEMA (schemas)'),
    'publication_truncate': (110000, "publish: truncate"),
    'publication_via_partition_root': (130000, 'publish_via_partition_root'),
    'publication_generated_columns': (180000, 'publish_generated_columns'),
    # subscriptions
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
    'subscription_stats': (150000, 'pg_stat_subscription_stats (apply/sync error counts)'),
    'subscription_alter_two_phase': (180000, 'changing two_phase of an existing subscription'),
    # slots
    'slot_two_phase': (140000, 'two_phase on a replication slot'),
    'slot_failover': (170000, 'failover on a replication slot'),
    'slot_wal_status': (130000, 'wal_status of a replication slot'),
    # catalog / privileges
    'grant_set_parameter': (150000, 'GRANT SET/ALTER SYSTEM on a parameter'),
}


class UnsupportedFeature(Exception):
    """A requested feature is newer than the server."""


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
            % (words, format_version(minimum).split('.')[0] if minimum >= 100000 else format_version(minimum),
               format_version(version_num)))
