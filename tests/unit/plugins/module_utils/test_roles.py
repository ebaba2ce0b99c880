# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
import pytest

from ansible_collections.pgops.logical_replication.plugins.module_utils import _roles


@pytest.mark.parametrize('line, text', [
    (dict(type='local', database=['replication'], user_name=['all'], address=None, auth_method='trust'),
     'local replication all trust'),
    (dict(type='host', database=['replication', 'zoo'], user_name=['+repl', 'logic'], address='10.0.0.0',
          auth_method='scram-sha-256'), 'host replication,zoo +repl,logic 10.0.0.0 scram-sha-256'),
])
def test_hba_text(line, text):
    assert _roles.hba_text(line) == text


def test_physical_hba_is_one_subquery_of_the_role_statement():
    """The pg_hba check adds no statement: it is a subquery of ROLE_QUERY, matching `replication` only."""
    query = _roles.ROLE_QUERY.format(roles='pg_authid', password='r.rolpassword', hba=_roles.PHYSICAL_HBA)
    assert query.count('pg_hba_file_rules') == 1
    assert "'replication' = ANY(h.database)" in query
    assert 'NULL::json AS physical_hba' in _roles.ROLE_QUERY.format(roles='pg_roles', password='NULL::text',
                                                                    hba='NULL::json')
