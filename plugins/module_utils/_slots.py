# -*- coding: utf-8 -*-
# Copyright: pgops.logical_replication contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Replication slots: the one catalog read, and the plan that compares a slot with the request.

``slot_query`` reads everything about one slot (and the server facts the module needs) in
one statement; ``plan`` is pure (tests/unit covers it with tables): it turns the existing row
and the request into a list of actions, or raises SlotError when the existing slot cannot be
made what was asked without dropping it (which would lose its position).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.pgops.logical_replication.plugins.module_utils import _catalog, _versions
from ansible_collections.pgops.logical_replication.plugins.module_utils._errors import PgOpsError

_SLOT_QUERY = """
SELECT current_database() AS current_database,
       (s.slot_name IS NOT NULL) AS exists,
       s.slot_name::text AS name, s.slot_type, s.plugin::text AS plugin, s.database::text AS database,
       s.temporary, s.active, s.active_pid, s.restart_lsn::text AS restart_lsn,
       s.confirmed_flush_lsn::text AS confirmed_flush_lsn, s.wal_status, s.safe_wal_size, {optional},
       pg_wal_lsn_diff(w.lsn, s.restart_lsn)::bigint AS retained_wal_bytes
FROM (SELECT {current_lsn} AS lsn) w
LEFT JOIN pg_replication_slots s ON s.slot_name = %(name)s
"""

# The properties compared with the request (None in the request: not compared).
COMPARED = ('slot_type', 'plugin', 'database', 'two_phase', 'failover')


class SlotError(PgOpsError, ValueError):
    """The existing slot differs in a way that cannot be changed in place, or the request is not valid."""


def valid_slot_name(name):
    """Whether PostgreSQL accepts name as a replication slot name (lower-case letters, digits, _; 1 to 63)."""
    return bool(name) and len(name) <= 63 and all(c in 'abcdefghijklmnopqrstuvwxyz0123456789_' for c in name)


def check_slot_name(name):
    """Raise SlotError unless PostgreSQL accepts name as a replication slot name."""
    if not valid_slot_name(name):
        raise SlotError('Slot name %r is not valid: PostgreSQL allows only lower-case letters, digits and '
                        'underscores, at most 63 characters.' % (name,))


def slot_query(version):
    """The one read: the slot row (all NULL when it does not exist) plus the current database."""
    return _SLOT_QUERY.format(optional=', '.join(_versions.columns('pg_replication_slots', version)),
                              current_lsn=_catalog.CURRENT_LSN)


def state_of(row):
    """The comparable state of an existing slot (None when it does not exist)."""
    if not row or not row.get('exists'):
        return None
    return dict((key, row.get(key)) for key in COMPARED)


def wanted_state(params, current_database):
    """The state the request asks for; None values mean "not asked, keep what is there"."""
    logical = params['slot_type'] == 'logical'
    return dict(
        slot_type=params['slot_type'],
        plugin=(params.get('plugin') or 'pgoutput') if logical else None,
        database=current_database if logical else None,
        two_phase=params.get('two_phase'),
        failover=params.get('failover'),
    )


def check_request(params):
    """Errors in the request itself, before anything is read. Returns the features it needs."""
    features = []
    if params['state'] == 'absent':
        return features
    physical = params['slot_type'] == 'physical'
    if physical:
        for option in ('plugin', 'two_phase'):
            if params.get(option) is not None:
                raise SlotError('%s applies to logical slots only; leave it out for slot_type: physical.' % option)
        if params.get('failover'):
            raise SlotError('failover applies to logical slots only (a physical slot cannot be synchronised to '
                            'a standby); leave it out for slot_type: physical.')
    elif params.get('immediately_reserve') is not None:
        raise SlotError('immediately_reserve applies to physical slots only; a logical slot always reserves WAL '
                        'when it is created. Leave it out for slot_type: logical.')
    if params.get('two_phase'):
        features.append('slot_two_phase')
    if params.get('failover'):
        features.append('slot_failover')
    return features


def plan(name, existing, wanted, state):
    """Actions to reach the request: [] / ['create'] / ['drop'], or SlotError for a mismatch.

    ``existing`` is ``state_of(row)``; ``wanted`` is ``wanted_state(...)``.
    """
    if state == 'absent':
        return ['drop'] if existing else []
    if not existing:
        return ['create']
    mismatches = []
    for key in COMPARED:
        asked = wanted.get(key)
        if asked is None:
            continue
        have = existing.get(key)
        if key in ('two_phase', 'failover') and have is None:
            have = False
        if have != asked:
            mismatches.append((key, have, asked))
    if mismatches:
        raise SlotError(mismatch_message(name, mismatches))
    return []


def mismatch_message(name, mismatches):
    parts = ['%s is %s, not %s' % (key, _show(have), _show(asked)) for key, have, asked in mismatches]
    keys = [key for key, _have, _asked in mismatches]
    advice = ('A slot cannot change these in place. Use another slot name, or drop this slot first '
              '(state: absent) and create it again: a new slot starts at the current WAL position, so '
              'whoever reads this slot (a subscription) loses the changes in between and must resync.')
    if keys == ['database']:
        advice = ('A logical slot belongs to the database it was created in; connect to that database (db) '
                  'to manage it, or use another slot name.')
    return ('Replication slot %s already exists and differs from the request: %s. %s'
            % (name, '; '.join(parts), advice))


def _show(value):
    if value is None:
        return 'unset'
    if isinstance(value, bool):
        return 'true' if value else 'false'
    return str(value)


def shown_state(row):
    """The slot as returned to the user: the return values of a slot row."""
    if not row or not row.get('exists'):
        return dict(exists=False, name=None, slot_type=None, plugin=None, database=None, active=False,
                    active_pid=None, wal_status=None, retained_wal_bytes=None, restart_lsn=None,
                    confirmed_flush_lsn=None, two_phase=None, failover=None, temporary=None)
    keys = ('name', 'slot_type', 'plugin', 'database', 'active', 'active_pid', 'wal_status',
            'retained_wal_bytes', 'restart_lsn', 'confirmed_flush_lsn', 'two_phase', 'failover', 'temporary',
            'safe_wal_size', 'invalidation_reason')
    out = dict((key, row.get(key)) for key in keys)
    out['exists'] = True
    if out['retained_wal_bytes'] is not None:
        out['retained_wal_bytes'] = int(out['retained_wal_bytes'])
    return out
