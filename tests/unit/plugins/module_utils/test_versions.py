# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
import os
import re

import pytest

from ansible_collections.pgops.logical_replication.plugins.module_utils import _versions

PLUGINS = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', '..', '..', 'plugins')


@pytest.mark.parametrize('num, text', [(150004, '15.4'), (180000, '18.0'), (130021, '13.21'), (90624, '9.6.24')])
def test_format_version(num, text):
    assert _versions.format_version(num) == text


@pytest.mark.parametrize('feature, version, ok', [
    ('publication_row_filter', 150000, True),
    ('publication_row_filter', 140010, False),
    ('subscription_failover', 170000, True),
    ('subscription_failover', 160004, False),
    ('subscription_origin', 160000, True),
])
def test_supports(feature, version, ok):
    assert _versions.supports(feature, version) is ok


@pytest.mark.parametrize('feature, version, message', [
    ('publication_row_filter', 140010,
     'a row filter (tables[].where) needs PostgreSQL 15 or later; this server runs PostgreSQL 14.10.'),
    ('subscription_failover', 160004, 'failover needs PostgreSQL 17 or later; this server runs PostgreSQL 16.4.'),
    ('subscription_streaming_parallel', 150007,
     'streaming: parallel needs PostgreSQL 16 or later; this server runs PostgreSQL 15.7.'),
])
def test_require_names_feature_needed_and_found(feature, version, message):
    with pytest.raises(_versions.UnsupportedFeature) as err:
        _versions.require(feature, version)
    assert str(err.value).startswith(message)


def test_require_passes_when_new_enough():
    assert _versions.require('subscription_two_phase', 180000) is None


def test_every_gate_is_well_formed():
    for feature, (minimum, words) in _versions.FEATURES.items():
        assert minimum >= 100000 and minimum % 10000 == 0, feature
        assert words, feature


@pytest.mark.parametrize('version, message', [
    (120017, 'The server at db1 port 5432 runs PostgreSQL 12.17; pgops.logical_replication needs PostgreSQL 13 or '
             'later (13 and 14 as the publisher of an upgrade, 15 to 18 for everything). Upgrade that server (for '
             'example with pg_upgrade) and run again.'),
    (90624, 'The server at db1 port 5432 runs PostgreSQL 9.6.24; pgops.logical_replication needs PostgreSQL 13'),
])
def test_check_server_refuses_an_older_server(version, message):
    with pytest.raises(_versions.UnsupportedServer) as err:
        _versions.check_server(version, 'The server at db1 port 5432')
    assert str(err.value).startswith(message)


@pytest.mark.parametrize('version', [130000, 130022, 150004, 180001])
def test_check_server_accepts_the_floor_and_later(version):
    assert _versions.check_server(version) is None


def test_every_gate_is_above_the_floor():
    for feature, (minimum, _words) in _versions.FEATURES.items():
        assert minimum > _versions.MINIMUM_SERVER_VERSION, feature


@pytest.mark.parametrize('version, text', [
    (160004, 'NULL::boolean AS failover'),
    (170000, 's.subfailover AS failover'),
])
def test_column_is_typed_null_before_its_version(version, text):
    assert _versions.column('subscription_failover', version, 's.subfailover', 'boolean', 'failover') == text


def test_no_version_number_outside_the_table():
    """Version gates live in _versions only: no server_version_num literal or comparison elsewhere."""
    pattern = re.compile(r'1[0-9]0000|version(_num)? *[<>]=? *[0-9]')
    found = []
    for folder, _dirs, files in os.walk(PLUGINS):
        for name in files:
            if name.endswith('.py') and name != '_versions.py':
                with open(os.path.join(folder, name)) as handle:
                    found += ['%s:%d' % (name, n) for n, line in enumerate(handle, 1) if pattern.search(line)]
    assert found == []
