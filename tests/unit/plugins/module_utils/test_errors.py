# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one error base (module_utils/_errors.py): every error for the user derives from it."""
import pytest

from ansible_collections.pgops.logical_replication.plugins.module_utils import (
    _catalog, _conninfo, _hba, _scram, _sequences, _settings, _slots, _sql, _subscription, _versions)
from ansible_collections.pgops.logical_replication.plugins.module_utils._errors import PgOpsError, where

ERRORS = [_sql.IdentifierError, _conninfo.ConninfoError, _settings.SettingValueError, _hba.HbaError,
          _slots.SlotError, _sequences.SequenceError, _subscription.PlanError, _subscription.SyncTimeout,
          _scram.VerifierError, _versions.UnsupportedFeature, _versions.UnsupportedServer, _catalog.LsnError]


@pytest.mark.parametrize('error', ERRORS)
def test_every_module_utils_error_is_a_pgops_error(error):
    assert issubclass(error, PgOpsError) and issubclass(error, ValueError)


def test_where_adds_context_and_extra_and_keeps_the_class():
    with pytest.raises(_hba.HbaError) as err:
        with where('entries[2]: ', '. Nothing was changed.', line=7):
            raise _hba.HbaError('method %r is not an authentication method name' % 'x y', hint='h')
    assert str(err.value) == "entries[2]: method 'x y' is not an authentication method name. Nothing was changed."
    assert err.value.extra == dict(hint='h', line=7)


def test_where_leaves_other_errors_alone():
    with pytest.raises(KeyError):
        with where('entries[1]: '):
            raise KeyError('x')


def test_sync_timeout_returns_the_tables():
    exc = _subscription.SyncTimeout('1 of 1 table(s) not ready', [dict(name='public.a')], 1.5)
    assert exc.extra == dict(tables=[dict(name='public.a')], waited=1.5, sync_timed_out=True)
    assert str(exc) == '1 of 1 table(s) not ready'
    failed = _subscription.SyncFailed('disabled', [], 0.2, dict(sync_error_count=3, apply_error_count=0))
    assert failed.extra == dict(tables=[], waited=0.2, sync_timed_out=False, sync_error_count=3, apply_error_count=0)
