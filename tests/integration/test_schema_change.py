# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Schema changes without breaking replication: the schema_change module (every major, one playbook run on the
shared server) and the schema_change / status / setup playbooks on a pair and a cascade (one major)."""

import pytest

from pgharness import random_name

FQCN = 'pgops.logical_replication.schema_change'


def columns(server, table):
    return server.value("SELECT coalesce(json_agg(attname ORDER BY attnum), '[]') FROM pg_attribute "
                        "WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped", (table,))


@pytest.mark.all_cores
def test_schema_change_module(ansible, pg):
    """Check mode runs nothing; the statements commit together; a refused one rolls every one back and is named."""
    table = random_name('sc')
    pg.sql('CREATE TABLE %s (id int PRIMARY KEY)' % table)
    add = ['ALTER TABLE %s ADD COLUMN a text' % table, 'ALTER TABLE %s ADD COLUMN b int DEFAULT 7' % table]
    broken = ['ALTER TABLE %s ADD COLUMN c text' % table, 'ALTER TABLE %s ADD COLUMN a text' % table,
              'ALTER TABLE %s ADD COLUMN d text' % table]
    try:
        run = ansible.tasks([
            {'name': 'check', FQCN: dict(pg.login, statements=add), 'check_mode': True},
            {'name': 'apply', FQCN: dict(pg.login, statements=add)},
            {'name': 'refused', FQCN: dict(pg.login, statements=broken)},
            {'name': 'empty', FQCN: dict(pg.login, statements=[])},
            {'name': 'blank item', FQCN: dict(pg.login, statements=['SELECT 1', ' '])},
        ], diff=True)
        check, apply, refused, empty, blank = [r['result'] for r in run.results]
        assert check['changed'] is True and check['queries'] == add, check
        assert check['diff']['after'] == {'statements': add}
        assert apply['changed'] is True and apply['queries'] == add, apply
        assert columns(pg, table) == ['id', 'a', 'b']
        assert refused['failed'] and refused['changed'] is False, refused
        assert refused['failed_statement'] == 2 and refused['sqlstate'] == '42701'
        assert refused['msg'].startswith('Statement 2 of 3: PostgreSQL refused %s: ' % broken[1]), refused['msg']
        assert 'already exists' in refused['msg'] and 'rolled back' in refused['msg']
        assert columns(pg, table) == ['id', 'a', 'b']   # c (statement 1) was rolled back too
        assert empty['changed'] is False and empty['queries'] == [] and not empty.get('failed'), empty
        assert blank['failed'] and blank['msg'].startswith('statement 2 is empty'), blank
    finally:
        pg.sql('DROP TABLE IF EXISTS %s' % table)
