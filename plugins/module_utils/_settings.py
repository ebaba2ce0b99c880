# -*- coding: utf-8 -*-
# Copyright: pgops.logical_replication contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Server settings: value normalisation (units, booleans, enums) and replication sizing.

Pure functions, no server: tests/unit covers them with tables.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import re

MEMORY_UNITS = {'B': 1, 'kB': 1024, 'MB': 1024 ** 2, 'GB': 1024 ** 3, 'TB': 1024 ** 4}
TIME_UNITS = {'us': 0.001, 'ms': 1, 's': 1000, 'min': 60000, 'h': 3600000, 'd': 86400000}
_NUMBER_WITH_UNIT = re.compile(r'^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*([a-zA-Z]*)\s*$')
_TRUE = ('on', 'true', 'yes', '1')
_FALSE = ('off', 'false', 'no', '0')


class SettingValueError(ValueError):
    """A value PostgreSQL would not accept for a setting."""


def as_text(value):
    """The text form of a value as a user writes it in YAML (bools as on/off)."""
    if isinstance(value, bool):
        return 'on' if value else 'off'
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _base_unit(unit):
    """Split pg_settings.unit ('8kB', 'kB', 'ms', 'min', '') into (multiplier, family, bytes-or-ms)."""
    if not unit:
        return None
    match = re.match(r'^(\d*)(\w+)$', unit)
    count = int(match.group(1) or 1)
    name = match.group(2)
    if name in MEMORY_UNITS:
        return 'memory', count * MEMORY_UNITS[name]
    if name in TIME_UNITS:
        return 'time', count * TIME_UNITS[name]
    return None


def parse_bool(text):
    """PostgreSQL's boolean parsing: on/off/true/false/yes/no/1/0 and unique prefixes."""
    value = text.strip().lower()
    if value in ('on', '1'):
        return 'on'
    if value in ('off', 'of', '0'):
        return 'off'
    for word, result in (('true', 'on'), ('yes', 'on'), ('false', 'off'), ('no', 'off')):
        if value and word.startswith(value):
            return result
    raise SettingValueError('%r is not a boolean (use on or off)' % text)


def normalize(value, vartype, unit=None, name='setting'):
    """The canonical text of a setting's value, comparable across spellings.

    Integers and reals with units come out in the setting's base unit (pg_settings.unit),
    so '1GB', '1024MB' and '1048576kB' are equal; booleans come out on/off; enums lower case.
    """
    text = as_text(value)
    if vartype == 'bool':
        return parse_bool(text)
    if vartype == 'enum':
        return text.strip().lower()
    if vartype in ('integer', 'real'):
        match = _NUMBER_WITH_UNIT.match(text)
        if not match:
            raise SettingValueError('%s: %r is not a number' % (name, text))
        number = float(match.group(1))
        given_unit = match.group(2)
        if given_unit:
            base = _base_unit(unit)
            if base is None:
                raise SettingValueError('%s takes no unit, got %r' % (name, text))
            family, base_size = base
            table = MEMORY_UNITS if family == 'memory' else TIME_UNITS
            if given_unit not in table:
                raise SettingValueError(
                    '%s: unit %r is not valid; valid units are %s (case matters)'
                    % (name, given_unit, ', '.join(table)))
            number = number * table[given_unit] / base_size
        if vartype == 'integer':
            rounded = int(round(number))
            if not given_unit and number != rounded:
                raise SettingValueError('%s: %r is not an integer' % (name, text))
            return str(rounded)
        return '%.10g' % number
    return text


def validate(normalized, meta):
    """Raise SettingValueError when a normalised value is outside what pg_settings allows."""
    name = meta['name']
    if meta['vartype'] == 'enum':
        allowed = [v.lower() for v in (meta.get('enumvals') or [])]
        if allowed and normalized not in allowed:
            raise SettingValueError('%s: %r is not one of %s' % (name, normalized, ', '.join(allowed)))
    elif meta['vartype'] in ('integer', 'real'):
        number = float(normalized)
        low, high = meta.get('min_val'), meta.get('max_val')
        if low is not None and number < float(low) or high is not None and number > float(high):
            raise SettingValueError('%s: %s is outside the range %s..%s%s'
                                    % (name, normalized, low, high,
                                       (' (in units of %s)' % meta['unit']) if meta.get('unit') else ''))


def replication_minimums(subscriptions, physical_replicas, sync_workers, version_num):
    """The counts the manual requires for this many subscriptions and physical replicas.

    From the "Configuration Settings" section of the Logical Replication chapter:
    - publisher: max_replication_slots >= subscriptions + reserve for table synchronisation
      (each subscription runs up to max_sync_workers_per_subscription sync workers, each with
      a temporary slot); max_wal_senders >= max_replication_slots + physical replicas;
    - subscriber: max_logical_replication_workers >= subscriptions + sync reserve;
      max_worker_processes >= max_logical_replication_workers + 1;
      on 18+ max_active_replication_origins >= subscriptions + sync reserve.
    The same host may be both, so both sides are sized. Zero expected means no minimum.
    """
    subscriptions = int(subscriptions or 0)
    physical_replicas = int(physical_replicas or 0)
    out = {}
    if subscriptions:
        with_sync = subscriptions * (1 + int(sync_workers))
        out['max_replication_slots'] = with_sync + physical_replicas
        out['max_wal_senders'] = with_sync + physical_replicas
        out['max_logical_replication_workers'] = with_sync
        out['max_worker_processes'] = with_sync + 1
        if int(version_num) >= 180000:
            out['max_active_replication_origins'] = with_sync
    elif physical_replicas:
        out['max_replication_slots'] = physical_replicas
        out['max_wal_senders'] = physical_replicas
    return out
