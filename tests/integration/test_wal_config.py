# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""wal_config against real servers: each test gets a fresh one (it restarts and rewrites settings)."""

import psycopg2
import pytest

from pgharness import SUPERUSER_PASSWORD

pytestmark = pytest.mark.all_cores  # also run on ansible-core 2.16 (make integration)

FQCN = 'pgops.logical_replication.wal_config'


def file_value(server, name):
    """The value postgresql.auto.conf (or postgresql.conf) holds for a setting: the last line wins."""
    return server.value('SELECT setting FROM pg_file_settings WHERE name = %s ORDER BY seqno DESC LIMIT 1', (name,))


def test_wal_level_quartet_then_restart(ansible, new_server):
    server = new_server()
    auto_before = server.auto_conf()
    check, apply, check_again, apply_again = ansible.quartet('wal_config', server.login)

    assert check['diff'] == {'before': {'wal_level': 'replica'}, 'after': {'wal_level': 'logical'}}
    assert check['queries'] == ['ALTER SYSTEM SET "wal_level" = \'logical\'', 'SELECT pg_reload_conf()']
    assert check['restart_required'] is True and check['pending_restart'] == ['wal_level']

    assert apply['restart_required'] is True
    assert apply['pending_restart'] == ['wal_level']
    for later in (check_again, apply_again):
        assert later['restart_required'] is True and later['pending_restart'] == ['wal_level']
    assert auto_before != server.auto_conf()
    assert "wal_level = 'logical'" in server.auto_conf()
    assert server.setting('wal_level') == 'replica'
    assert server.value("SELECT pending_restart FROM pg_settings WHERE name = 'wal_level'") is True

    server.restart()
    after = ansible.module('wal_config', server.login)
    assert after['changed'] is False and after['restart_required'] is False and after['pending_restart'] == []
    assert server.setting('wal_level') == 'logical'


def test_check_mode_writes_nothing(ansible, new_server):
    server = new_server()
    auto_before = server.auto_conf()
    settings_before = server.sql('SELECT name, setting, pending_restart FROM pg_settings ORDER BY name')
    result = ansible.module('wal_config', dict(server.login, expected_subscriptions=4,
                                               max_slot_wal_keep_size='2GB'), check=True, diff=True)
    assert result['changed'] is True
    assert result['diff']['after']['max_slot_wal_keep_size'] == '2048'
    assert server.auto_conf() == auto_before
    assert server.sql('SELECT name, setting, pending_restart FROM pg_settings ORDER BY name') == settings_before


def test_asking_back_for_running_value_really_writes_it(ansible, new_server):
    server = new_server()
    run = ansible.tasks([
        {'name': 'logical', FQCN: server.login},
        {'name': 'back to replica', FQCN: dict(server.login, wal_level='replica')},
        {'name': 'replica again', FQCN: dict(server.login, wal_level='replica')},
    ])
    logical, replica, again = [r['result'] for r in run.results]
    assert logical['changed'] is True and logical['pending_restart'] == ['wal_level']
    assert replica['changed'] is True, 'the pending logical must be overwritten, not left in the file'
    assert replica['settings']['wal_level']['before'] == 'logical'
    assert replica['restart_required'] is False and replica['pending_restart'] == []
    assert again['changed'] is False
    assert file_value(server, 'wal_level') == 'replica'
    server.restart()
    assert server.setting('wal_level') == 'replica'


def test_sizing_raises_to_the_manual_minimums(ansible, new_server, major):
    server = new_server()
    first, second = [r['result'] for r in ansible.tasks([
        {'name': 'size', FQCN: dict(server.login, expected_subscriptions=10, expected_physical_replicas=2)},
        {'name': 'size again', FQCN: dict(server.login, expected_subscriptions=10, expected_physical_replicas=2)},
    ]).results]
    # 10 subscriptions, each with up to 2 table-sync workers (the default reserve), 2 standbys.
    expected = {'max_replication_slots': '32', 'max_wal_senders': '32',
                'max_logical_replication_workers': '30', 'max_worker_processes': '31'}
    if major == '18':
        expected['max_active_replication_origins'] = '30'
    assert first['changed'] is True
    for name, value in expected.items():
        assert file_value(server, name) == value, name
        assert first['settings'][name]['after'] == value
    assert second['changed'] is False


def test_sizing_never_lowers(ansible, new_server, major):
    high = {'max_replication_slots': '100', 'max_wal_senders': '100',
            'max_logical_replication_workers': '64', 'max_worker_processes': '80'}
    if major == '18':
        high['max_active_replication_origins'] = '64'
    server = new_server(conf=high)
    auto_before = server.auto_conf()
    result = ansible.module('wal_config', dict(server.login, wal_level='replica', expected_subscriptions=10),
                            diff=True)
    assert result['changed'] is False, result['diff']
    assert server.auto_conf() == auto_before
    for name, value in high.items():
        assert result['settings'][name]['after'] == value


def test_units_are_normalised(ansible, new_server):
    server = new_server()
    results = [r['result'] for r in ansible.tasks([
        {'name': '1GB', FQCN: dict(server.login, max_slot_wal_keep_size='1GB',
                                   settings={'wal_sender_timeout': '2min', 'logical_decoding_work_mem': '64MB'})},
        {'name': '1024MB', FQCN: dict(server.login, max_slot_wal_keep_size='1024MB',
                                      settings={'wal_sender_timeout': '120s', 'logical_decoding_work_mem': 65536})},
        {'name': 'bool spellings', FQCN: dict(server.login, settings={'hot_standby_feedback': 'yes'})},
        {'name': 'bool again', FQCN: dict(server.login, settings={'hot_standby_feedback': True})},
    ]).results]
    assert results[0]['changed'] is True
    assert results[1]['changed'] is False, results[1]['diff'] if 'diff' in results[1] else results[1]
    assert file_value(server, 'max_slot_wal_keep_size') == '1GB'
    assert server.setting('max_slot_wal_keep_size') == '1024'
    assert results[3]['changed'] is False


def test_value_with_quote_and_semicolon_is_a_value(ansible, new_server):
    server = new_server()
    hostile = "x'; DROP TABLE pg_class; -- \"q\""
    first, second = [r['result'] for r in ansible.tasks([
        {'name': 'set', FQCN: dict(server.login, settings={'cluster_name': hostile})},
        {'name': 'set again', FQCN: dict(server.login, settings={'cluster_name': hostile})},
    ]).results]
    assert first['changed'] is True and not first.get('failed')
    assert file_value(server, 'cluster_name') == hostile
    assert second['changed'] is False
    assert server.value('SELECT count(*) FROM pg_class') > 0


def test_noop_run_is_one_connection_two_statements_at_most(ansible, new_server):
    server = new_server(conf={'wal_level': 'logical', 'log_statement': "'all'"})
    args = dict(server.login, expected_subscriptions=2, settings={'wal_sender_timeout': '30s'})
    ansible.module('wal_config', args)
    offset = server.log_size()
    result = ansible.module('wal_config', args)
    assert result['changed'] is False
    sessions, statements = server.statements_of(FQCN, offset)
    assert len(sessions) == 1, sessions
    assert 1 <= len(statements) <= 2, statements


BAD_INPUT = [
    ({'settings': {'no_such_setting': 1}}, 'Unknown setting(s): no_such_setting'),
    ({'settings': {'synchronous_commit': 'sometimes'}}, "Invalid value for synchronous_commit"),
    ({'settings': {'max_connections': 'many'}}, "Invalid value for max_connections: max_connections: 'many' is not a number"),
    ({'max_wal_senders': 1000000}, 'Invalid value for max_wal_senders'),
    ({'settings': {'block_size': 16384}}, 'block_size cannot be set with ALTER SYSTEM'),
    ({'settings': {'data_directory': '/tmp'}}, 'data_directory cannot be set with ALTER SYSTEM'),
    ({'settings': {'wal_level': 'logical'}}, 'wal_level is given both as its own option and in settings'),
    ({'max_slot_wal_keep_size': '10 parsecs'}, "unit 'parsecs' is not valid"),
    # each value within its own range, but together past MAX_BACKENDS: the server would not start again
    ({'expected_subscriptions': 50000}, 'The server would not start again with these settings (expected_subscriptions '
                                        '50000 and expected_physical_replicas 0 raised max_replication_slots to 150000, '
                                        'max_wal_senders to 150000, max_logical_replication_workers to 150000, '
                                        'max_worker_processes to 150001'),
    ({'settings': {'max_connections': 262140}}, '+ max_worker_processes (8) + max_wal_senders (10) must add up to at most'),
    ({'expected_subscriptions': 100000}, 'need max_replication_slots = 300000, which this server refuses: '
                                         'max_replication_slots: 300000 is outside the range 0..262143'),
    ({'wal_level': 'minimal'}, 'wal_level = minimal needs max_wal_senders = 0 (it is 10)'),
    ({'settings': {'max_connections': 3}}, 'must be less than max_connections (3)'),
]


def test_bad_input_is_a_clear_error_and_changes_nothing(ansible, new_server):
    """Every bad input in one playbook on one fresh server (wal_level = replica, so each task would also
    change wal_level: an error in any setting must stop all of them)."""
    server = new_server()
    auto_before = server.auto_conf()
    run = ansible.tasks([{'name': message, FQCN: dict(server.login, **args)} for args, message in BAD_INPUT])
    for result in run.results:
        message = result['task']
        assert result['result'].get('failed') is True, (message, result['result'])
        assert result['result']['changed'] is False, message
        assert message in result['result']['msg'], (message, result['result']['msg'])
    assert server.auto_conf() == auto_before
    assert server.setting('wal_level') == 'replica' and not server.value(
        'SELECT count(*) FROM pg_settings WHERE pending_restart')
    server.restart()   # nothing was written that keeps it from starting again
    assert server.setting('max_worker_processes') == '8'


def test_managed_service_refusal_names_the_parameter_group_setting(ansible, new_server):
    server = new_server(conf={'rds.logical_replication': "'0'"})
    server.sql("CREATE ROLE rds_admin LOGIN PASSWORD 'rds-pass'")
    auto_before = server.auto_conf()
    result = ansible.module('wal_config', dict(server.login, login_user='rds_admin', login_password='rds-pass'))
    assert result.get('failed') is True
    assert 'rds.logical_replication = 1' in result['msg'] and 'parameter group' in result['msg'], result['msg']
    assert server.auto_conf() == auto_before


def test_non_superuser_is_told_what_privilege_is_missing(ansible, new_server):
    server = new_server()
    server.sql("CREATE ROLE app LOGIN PASSWORD 'app-pass'")
    result = ansible.module('wal_config', dict(server.login, login_user='app', login_password='app-pass'))
    assert result.get('failed') is True
    assert 'may not ALTER SYSTEM wal_level' in result['msg'] and 'superuser' in result['msg'], result['msg']


def test_setting_from_the_command_line_is_reported(ansible, new_server):
    server = new_server()
    server.stop()
    server.pg_ctl('start', '-o', '-c max_wal_senders=7')
    result = ansible.module('wal_config', dict(server.login, max_wal_senders=12))
    assert result.get('failed') is True
    assert "max_wal_senders is set on the server's command line" in result['msg'], result['msg']
    server.restart()


def test_connection_failure_is_clear_and_masks_the_password(ansible, new_server):
    server = new_server()
    secret = 'wrong pass\'word'
    result = ansible.module('wal_config', dict(server.login, login_password=secret), verbosity=3)
    assert result.get('failed') is True
    assert result['msg'].startswith('Could not connect to PostgreSQL at 127.0.0.1 port %d as user postgres'
                                    % server.port), result['msg']
    assert secret not in str(result)
    with pytest.raises(psycopg2.OperationalError):
        server.connect(password=secret)
    assert server.connect(password=SUPERUSER_PASSWORD)
