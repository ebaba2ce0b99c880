# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure functions of replication_slot (module_utils/_slots.py)."""

import pytest

from ansible_collections.pgops.logical_replication.plugins.module_utils import _slots


def params(**kw):
    base = dict(state='present', slot_type='logical', plugin=None, two_phase=None, failover=None,
                immediately_reserve=None, force=False)
    base.update(kw)
    return base


LOGICAL = dict(slot_type='logical', plugin='pgoutput', database='app', two_phase=False, failover=False)
LOGICAL_15 = dict(LOGICAL, failover=None)      # PostgreSQL 15 has no failover column
PHYSICAL = dict(slot_type='physical', plugin=None, database=None, two_phase=False, failover=None)


@pytest.mark.parametrize('existing, request_, state, expected', [
    (None, params(), 'present', ['create']),
    (None, params(), 'absent', []),
    (LOGICAL, params(), 'absent', ['drop']),
    (LOGICAL, params(), 'present', []),
    (LOGICAL_15, params(failover=False), 'present', []),
    (LOGICAL, params(plugin='pgoutput', two_phase=False), 'present', []),
    (PHYSICAL, params(slot_type='physical'), 'present', []),
    (PHYSICAL, params(slot_type='physical', immediately_reserve=True), 'present', []),
])
def test_plan(existing, request_, state, expected):
    wanted = _slots.wanted_state(request_, 'app')
    assert _slots.plan('s', existing, wanted, state) == expected


@pytest.mark.parametrize('existing, request_, message', [
    (LOGICAL, params(plugin='test_decoding'), 'plugin is pgoutput, not test_decoding'),
    (dict(LOGICAL, plugin='test_decoding'), params(), 'plugin is test_decoding, not pgoutput'),
    (LOGICAL, params(slot_type='physical'), 'slot_type is logical, not physical'),
    (PHYSICAL, params(), 'slot_type is physical, not logical; plugin is unset, not pgoutput; '
                         'database is unset, not app'),
    (dict(LOGICAL, database='other'), params(), 'database is other, not app'),
    (LOGICAL, params(two_phase=True), 'two_phase is false, not true'),
    (LOGICAL_15, params(failover=True), 'failover is false, not true'),
    (dict(LOGICAL, failover=True), params(failover=False), 'failover is true, not false'),
])
def test_plan_mismatch(existing, request_, message):
    wanted = _slots.wanted_state(request_, 'app')
    with pytest.raises(_slots.SlotError) as exc:
        _slots.plan('s', existing, wanted, 'present')
    assert str(exc.value).startswith('Replication slot s already exists and differs from the request: %s.'
                                     % message)


def test_database_only_mismatch_advice():
    with pytest.raises(_slots.SlotError, match='belongs to the database it was created in'):
        _slots.plan('s', dict(LOGICAL, database='other'), _slots.wanted_state(params(), 'app'), 'present')


@pytest.mark.parametrize('request_, features', [
    (params(), []),
    (params(two_phase=True), ['slot_two_phase']),
    (params(two_phase=False, failover=False), []),
    (params(failover=True), ['slot_failover']),
    (params(two_phase=True, failover=True), ['slot_two_phase', 'slot_failover']),
    (params(state='absent', plugin='x', slot_type='physical'), []),
    (params(slot_type='physical', immediately_reserve=False), []),
])
def test_check_request(request_, features):
    assert _slots.check_request(request_) == features


@pytest.mark.parametrize('request_, message', [
    (params(slot_type='physical', plugin='pgoutput'),
     'plugin applies to logical slots only; leave it out for slot_type: physical.'),
    (params(slot_type='physical', two_phase=True),
     'two_phase applies to logical slots only; leave it out for slot_type: physical.'),
    (params(slot_type='physical', failover=True),
     'failover applies to logical slots only (a physical slot cannot be synchronised to a standby); '
     'leave it out for slot_type: physical.'),
    (params(immediately_reserve=True),
     'immediately_reserve applies to physical slots only; a logical slot always reserves WAL when it is '
     'created. Leave it out for slot_type: logical.'),
])
def test_check_request_errors(request_, message):
    with pytest.raises(_slots.SlotError) as exc:
        _slots.check_request(request_)
    assert str(exc.value) == message


@pytest.mark.parametrize('version, present, absent', [
    (130000, ['s.wal_status', 's.safe_wal_size'], ['s.two_phase', 's.failover']),
    (150004, ['s.wal_status', 's.two_phase'], ['s.failover', 's.synced']),
    (180001, ['s.wal_status', 's.two_phase', 's.failover', 's.synced', 's.invalidation_reason'], []),
])
def test_slot_query_columns(mentions, version, present, absent):
    query = _slots.slot_query(version)
    # a column the server lacks is still returned, as a typed NULL
    mentions(query, present + ['AS %s' % column.split('.')[1] for column in absent], absent)


def test_shown_state_of_missing_slot():
    out = _slots.shown_state({'exists': False})
    assert out['exists'] is False and out['active'] is False and out['retained_wal_bytes'] is None
