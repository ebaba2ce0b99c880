# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from ansible_collections.pgops.logical_replication.plugins.module_utils import _roles


def test_physical_hba_is_one_subquery_of_the_role_statement():
    """The pg_hba check adds no statement: it is a subquery of ROLE_QUERY, matching `replication` only."""
    query = _roles.ROLE_QUERY.format(roles='pg_authid', password='r.rolpassword', hba=_roles.PHYSICAL_HBA,
                                     descendants=_roles.DESCENDANTS)
    assert query.count('pg_hba_file_rules') == 1
    assert "'replication' = ANY(h.database)" in query
    assert 'NULL::json AS physical_hba' in _roles.ROLE_QUERY.format(roles='pg_roles', password='NULL::text',
                                                                    hba='NULL::json', descendants='(NULL)')


def test_descendants_of_the_tables_asked_for_are_granted_with_them():
    row = dict(schemas=['public'], descendants=[dict(schema='public', name='kid'), dict(schema='other', name='leaf')])
    wanted = dict(tables=[('public', 'parent'), ('public', 'kid')], schemas=[], all=False, managed={'public'})
    _roles.ReplicationUser.with_descendants(row, wanted)
    assert wanted['tables'] == [('public', 'parent'), ('public', 'kid'), ('other', 'leaf')]
    assert wanted['managed'] == {'public', 'other'} and row['schemas'] == ['other', 'public']
