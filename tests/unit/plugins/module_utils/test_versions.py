# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
import pytest

from ansible_collections.pgops.logical_replication.plugins.module_utils import _versions


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
