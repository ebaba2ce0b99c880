# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which driver the adapter picks (module_utils/_driver.py): psycopg 3 when usable, else psycopg2."""
import types

import pytest

from ansible_collections.pgops.logical_replication.plugins.module_utils import _driver


def importer(**installed):
    """An import function for a node where ``installed`` maps driver name -> its __version__."""
    def do_import(name):
        if name not in installed:
            raise ImportError('No module named %r' % name)
        return types.SimpleNamespace(__name__=name, __version__=installed[name])
    return do_import


@pytest.mark.parametrize('installed, forced, chosen', [
    (dict(psycopg='3.2.3', psycopg2='2.9.10 (dt dec pq3 ext lo64)'), None, 'psycopg'),
    (dict(psycopg='3.2.3'), None, 'psycopg'),
    (dict(psycopg2='2.9.10 (dt dec pq3 ext lo64)'), None, 'psycopg2'),
    (dict(psycopg='3.0.18', psycopg2='2.9.10'), None, 'psycopg2'),      # 3.0 has no ClientCursor
    (dict(psycopg='3.2.3', psycopg2='2.9.10'), '2', 'psycopg2'),        # PGOPS_PSYCOPG=2
    (dict(psycopg='3.2.3', psycopg2='2.9.10'), '3', 'psycopg'),
    (dict(psycopg='3.2.3', psycopg2='2.9.10'), 'x', 'psycopg'),         # anything else: the default order
])
def test_select(installed, forced, chosen):
    name, module = _driver.select(importer(**installed), forced)
    assert name == chosen and module.__name__ == chosen


@pytest.mark.parametrize('installed, forced, message', [
    (dict(), None, "psycopg: No module named 'psycopg'; psycopg2: No module named 'psycopg2'"),
    (dict(psycopg2='2.7.7'), None, "psycopg: No module named 'psycopg'; psycopg2 2.7.7 is older than 2.8"),
    (dict(psycopg2='2.9.10'), '3', "psycopg: No module named 'psycopg'"),
])
def test_select_says_why_nothing_fits(installed, forced, message):
    assert _driver.select(importer(**installed), forced) == (None, message)


def test_the_loaded_driver_has_what_the_collection_uses():
    assert _driver.NAME in ('psycopg', 'psycopg2'), _driver.IMPORT_ERROR
    for name in ('SQL', 'Identifier', 'Literal', 'Placeholder', 'Composed'):
        assert hasattr(_driver.sql, name)
    for name in ('InsufficientPrivilege', 'ObjectInUse'):
        assert issubclass(_driver.error_class(name), _driver.Error)


@pytest.mark.parametrize('params', [
    dict(host='db1', dbname='zoo', password="it's a 'secret' \\ with spaces"),
    dict(host='db1', port='5433', user='logic', password=''),
])
def test_conninfo_round_trip(params):
    text = _driver.make_dsn(**params)
    parsed = _driver.parse_dsn(text)
    assert dict((k, v) for k, v in parsed.items() if v) == dict((k, v) for k, v in params.items() if v)


def test_psycopg3_notices_read_like_libpq_ones():
    diag = types.SimpleNamespace(severity='WARNUNG', severity_nonlocalized='WARNING', message_primary='copy might mix',
                                 message_detail='tables written by others', message_hint=None)
    assert _driver._notice_text(diag) == 'WARNING:  copy might mix\nDETAIL:  tables written by others'
    diag = types.SimpleNamespace(severity='NOTICE', severity_nonlocalized=None, message_primary='hello',
                                 message_detail=None, message_hint='do this')
    assert _driver._notice_text(diag) == 'NOTICE:  hello\nHINT:  do this'
