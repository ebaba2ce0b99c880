# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The connection doc fragment and the connection argument spec say the same thing."""
import yaml

from ansible_collections.pgops.logical_replication.plugins.doc_fragments.connection import ModuleDocFragment
from ansible_collections.pgops.logical_replication.plugins.module_utils import _connection


def test_fragment_matches_spec():
    documented = yaml.safe_load(ModuleDocFragment.DOCUMENTATION)['options']
    spec = _connection.CONNECTION_ARGUMENT_SPEC
    assert sorted(documented) == sorted(spec)
    for name, option in spec.items():
        doc = documented[name]
        assert doc['type'] == option['type'], name
        assert doc.get('default') == option.get('default'), name
        assert sorted(doc.get('aliases', [])) == sorted(option.get('aliases', [])), name
        assert doc.get('choices') == option.get('choices'), name


def test_password_is_no_log():
    assert _connection.CONNECTION_ARGUMENT_SPEC['login_password']['no_log'] is True


def test_connect_params_drop_unset_and_name_the_application():
    params = dict((k, v.get('default')) for k, v in _connection.CONNECTION_ARGUMENT_SPEC.items())
    params.update(login_host='db1', login_password='pw')
    out = _connection.connect_params(params, 'pgops.logical_replication.wal_config')
    assert out == {'user': 'postgres', 'password': 'pw', 'host': 'db1', 'port': 5432, 'dbname': 'postgres',
                   'sslmode': 'prefer', 'connect_timeout': 10,
                   'application_name': 'pgops.logical_replication.wal_config',
                   'options': '-c default_transaction_read_only=off -c standard_conforming_strings=on'}


def test_unix_socket_wins_over_host():
    params = dict((k, v.get('default')) for k, v in _connection.CONNECTION_ARGUMENT_SPEC.items())
    params.update(login_host='db1', login_unix_socket='/run/postgresql')
    assert _connection.connect_params(params, 'x')['host'] == '/run/postgresql'


def test_statement_timeout_goes_into_the_startup_options():
    params = dict((k, v.get('default')) for k, v in _connection.CONNECTION_ARGUMENT_SPEC.items())
    out = _connection.connect_params(params, 'x', statement_timeout=45.0)
    assert out['options'].endswith(' -c statement_timeout=45000')
    assert _connection.connect_params(params, 'x', statement_timeout=0.0001)['options'].endswith('=1')
    assert 'statement_timeout' not in _connection.connect_params(params, 'x', statement_timeout=0)['options']


def test_server_warnings_are_the_warning_notices():
    notices = ['NOTICE:  created replication slot "s" on publisher\n',
               'WARNING:  subscription "s" requested copy_data with origin = NONE but might copy data that had a '
               'different origin\nDETAIL:  The subscription subscribes to a publication (p) that contains tables '
               'that are written to by other subscriptions.\n',
               'warning:  lower case\n', 'WARNING:  \n', 'no severity']
    assert _connection.server_warnings(notices) == [
        'subscription "s" requested copy_data with origin = NONE but might copy data that had a different origin\n'
        'DETAIL:  The subscription subscribes to a publication (p) that contains tables that are written to by '
        'other subscriptions.', 'lower case']
