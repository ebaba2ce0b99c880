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


LIMIT_OK = {'max_connections': '100', 'autovacuum_max_workers': '3', 'autovacuum_worker_slots': '16',
            'max_worker_processes': '8', 'max_wal_senders': '10'}


@pytest.mark.parametrize('version, changes, expected', [
    (150004, {}, []),
    # 15 and 16: the four settings plus the autovacuum launcher <= 262143 (262142 started, 262143 did not)
    (150004, {'max_worker_processes': str(262142 - 113)}, []),
    (160002, {'max_worker_processes': str(262143 - 113)},
     ['max_connections (100) + autovacuum_max_workers (3) + max_worker_processes (262030) + max_wal_senders (10) '
      'must add up to at most 262142 on PostgreSQL 16 (262143 server processes, MAX_BACKENDS, less 1 special one); '
      'here they add up to 262143']),
    # 17: the slot sync worker counts too (262141 started, 262142 did not)
    (170010, {'max_worker_processes': str(262141 - 113)}, []),
    (170010, {'max_worker_processes': str(262142 - 113)},
     ['max_connections (100) + autovacuum_max_workers (3) + max_worker_processes (262029) + max_wal_senders (10) '
      'must add up to at most 262141 on PostgreSQL 17 (262143 server processes, MAX_BACKENDS, less 2 special ones); '
      'here they add up to 262142']),
    # 18: autovacuum_worker_slots instead of autovacuum_max_workers
    (180006, {'max_worker_processes': str(262141 - 126)}, []),
    (180006, {'max_worker_processes': '150001', 'max_wal_senders': '150000'},
     ['max_connections (100) + autovacuum_worker_slots (16) + max_worker_processes (150001) + max_wal_senders '
      '(150000) must add up to at most 262141 on PostgreSQL 18 (262143 server processes, MAX_BACKENDS, less 2 '
      'special ones); here they add up to 300117']),
    (150004, {'wal_level': 'minimal', 'max_wal_senders': '0', 'archive_mode': 'off'}, []),
    (150004, {'wal_level': 'minimal', 'archive_mode': 'always'},
     ['wal_level = minimal needs max_wal_senders = 0 (it is 10): WAL streaming requires wal_level replica or logical',
      'wal_level = minimal needs archive_mode = off (it is always): WAL archival cannot be enabled when wal_level '
      'is minimal']),
    (150004, {'max_worker_processes': 'junk'}, []),
    (150004, {'superuser_reserved_connections': '99'}, []),
    (150004, {'superuser_reserved_connections': '100'},
     ['superuser_reserved_connections (100) must be less than max_connections (100)']),
    (160002, {'superuser_reserved_connections': '3', 'reserved_connections': '97'},
     ['superuser_reserved_connections (3) + reserved_connections (97) must be less than max_connections (100)']),
])
def test_start_refusals(version, changes, expected):
    future = dict(LIMIT_OK, wal_level='logical', archive_mode='off')
    future.update(changes)
    assert _settings.start_refusals(future, version) == expected
