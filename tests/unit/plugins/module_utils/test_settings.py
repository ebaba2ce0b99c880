# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
import pytest

from ansible_collections.pgops.logical_replication.plugins.module_utils import _settings


@pytest.mark.parametrize('value, vartype, unit, expected', [
    ('1GB', 'integer', 'MB', '1024'),
    ('1024MB', 'integer', 'MB', '1024'),
    ('1048576kB', 'integer', 'MB', '1024'),
    ('-1', 'integer', 'MB', '-1'),
    (-1, 'integer', 'MB', '-1'),
    ('128MB', 'integer', '8kB', '16384'),
    ('1 GB', 'integer', '8kB', '131072'),
    ('2min', 'integer', 'ms', '120000'),
    ('120s', 'integer', 'ms', '120000'),
    ('1h', 'integer', 's', '3600'),
    ('1d', 'integer', 'min', '1440'),
    ('10', 'integer', None, '10'),
    (10, 'integer', None, '10'),
    ('on', 'bool', None, 'on'),
    (True, 'bool', None, 'on'),
    ('yes', 'bool', None, 'on'),
    ('t', 'bool', None, 'on'),
    ('OFF', 'bool', None, 'off'),
    ('of', 'bool', None, 'off'),
    ('0', 'bool', None, 'off'),
    ('Logical', 'enum', None, 'logical'),
    ("x'; y", 'string', None, "x'; y"),
    ('0.5', 'real', None, '0.5'),
    ('2ms', 'real', 'ms', '2'),
])
def test_normalize(value, vartype, unit, expected):
    assert _settings.normalize(value, vartype, unit) == expected


@pytest.mark.parametrize('value, vartype, unit, message', [
    ('many', 'integer', None, "'many' is not a number"),
    ('1.5', 'integer', None, "'1.5' is not an integer"),
    ('1gb', 'integer', 'MB', "unit 'gb' is not valid"),
    ('10s', 'integer', 'MB', "unit 's' is not valid"),
    ('10MB', 'integer', None, 'takes no unit'),
    ('maybe', 'bool', None, "'maybe' is not a boolean"),
    ('o', 'bool', None, "'o' is not a boolean"),
])
def test_normalize_errors(value, vartype, unit, message):
    with pytest.raises(_settings.SettingValueError) as err:
        _settings.normalize(value, vartype, unit)
    assert message in str(err.value)


@pytest.mark.parametrize('normalized, meta, message', [
    ('sometimes', {'name': 'synchronous_commit', 'vartype': 'enum', 'enumvals': ['on', 'off', 'local']},
     "synchronous_commit: 'sometimes' is not one of on, off, local"),
    ('300000', {'name': 'max_wal_senders', 'vartype': 'integer', 'min_val': '0', 'max_val': '262143', 'unit': None},
     'max_wal_senders: 300000 is outside the range 0..262143'),
])
def test_validate_errors(normalized, meta, message):
    with pytest.raises(_settings.SettingValueError) as err:
        _settings.validate(normalized, meta)
    assert str(err.value) == message


def test_validate_accepts_in_range():
    assert _settings.validate('10', {'name': 'x', 'vartype': 'integer', 'min_val': '0', 'max_val': '20'}) is None


@pytest.mark.parametrize('subs, physical, sync, version, expected', [
    (0, 0, 2, 150000, {}),
    (0, 3, 2, 150000, {'max_replication_slots': 3, 'max_wal_senders': 3}),
    (10, 0, 2, 150000, {'max_replication_slots': 30, 'max_wal_senders': 30,
                        'max_logical_replication_workers': 30, 'max_worker_processes': 31}),
    (10, 2, 2, 150000, {'max_replication_slots': 32, 'max_wal_senders': 32,
                        'max_logical_replication_workers': 30, 'max_worker_processes': 31}),
    (1, 0, 4, 180000, {'max_replication_slots': 5, 'max_wal_senders': 5, 'max_logical_replication_workers': 5,
                       'max_worker_processes': 6, 'max_active_replication_origins': 5}),
])
def test_replication_minimums(subs, physical, sync, version, expected):
    assert _settings.replication_minimums(subs, physical, sync, version) == expected
