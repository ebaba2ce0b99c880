# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Behaviour of the shared connection helper and statement choke point, seen through modules."""

import pytest

from pgharness import random_name

pytestmark = pytest.mark.all_cores  # also run on ansible-core 2.16 (make integration)


def test_a_server_read_only_for_its_users_stays_manageable(ansible, new_server):
    """switchover.yml sets default_transaction_read_only; teardown must still drop objects."""
    server = new_server(conf={'wal_level': 'logical', 'default_transaction_read_only': 'on'})
    name = random_name('pub')
    created = ansible.module('postgresql_publication', dict(server.login, name=name, all_tables=True))
    assert created['changed'] is True and not created['failed'], created.get('msg')
    assert server.value('SELECT count(*) FROM pg_publication WHERE pubname = %s', (name,)) == 1
    dropped = ansible.module('postgresql_publication', dict(server.login, name=name, state='absent'))
    assert dropped['changed'] is True and not dropped['failed'], dropped.get('msg')
    assert server.value('SELECT count(*) FROM pg_publication WHERE pubname = %s', (name,)) == 0


def test_a_statement_the_server_refuses_is_not_a_change(ansible, pg):
    name = random_name('slot')
    result = ansible.module('replication_slot', dict(pg.login, name=name, plugin='no_such_plugin'))
    assert result['failed'] is True
    assert 'no_such_plugin' in result['msg'], result['msg']
    assert result['changed'] is False
    assert len(result['queries']) == 1 and name in result['queries'][0]
    assert pg.value('SELECT count(*) FROM pg_replication_slots WHERE slot_name = %s', (name,)) == 0


def test_application_name_is_the_module_fqcn(ansible, new_server):
    server = new_server(conf={'log_connections': 'on', 'log_statement': "'all'"})
    offset = server.log_size()
    ansible.module('replication_info', server.login)
    sessions, statements = server.statements_of('pgops.logical_replication.replication_info', offset)
    assert len(sessions) == 1 and statements
