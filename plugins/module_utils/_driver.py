# -*- coding: utf-8 -*-
# Copyright: pgops.logical_replication contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one driver adapter: psycopg (3) or psycopg2, whichever the managed node has.

psycopg 3 (3.1 or later) is used when it is installed, else psycopg2 (2.8 or later), as
community.postgresql does; the environment variable ``PGOPS_PSYCOPG`` (``2`` or ``3``) forces
one when both are installed. Everything driver-specific is here: connecting (autocommit, rows
as dicts, statements rendered on the client so ``queries`` shows what ran), the server version
and parameter status from the handshake, notices, the libpq conninfo builder and parser, the
``sql`` composition module, and the error classes. The rest of the collection uses these names
and never imports a driver itself.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import traceback

ENVIRONMENT = 'PGOPS_PSYCOPG'
REQUIREMENT = 'psycopg (>= 3.1) or psycopg2 (>= 2.8)'


def _version_tuple(text):
    out = []
    for part in str(text).split(' ', 1)[0].split('.'):
        digits = ''.join(c for c in part if c.isdigit())
        if not digits:
            break
        out.append(int(digits))
    return tuple(out)


def select(importer, forced=None):
    """(name, module) of the driver to use, or (None, error text).

    ``importer(name)`` imports a module by name (raises ImportError when it is missing);
    ``forced`` is '2' or '3' (from PGOPS_PSYCOPG) to pick one. psycopg 3 needs 3.1 (for
    ClientCursor), psycopg2 needs 2.8 (for errors and diagnostics by class).
    """
    candidates = [('psycopg', (3, 1)), ('psycopg2', (2, 8))]
    if forced in ('2', '3'):
        candidates = [c for c in candidates if c[0] == ('psycopg' if forced == '3' else 'psycopg2')]
    problems = []
    for name, minimum in candidates:
        try:
            module = importer(name)
        except ImportError as exc:
            problems.append('%s: %s' % (name, exc))
            continue
        version = _version_tuple(getattr(module, '__version__', '0'))
        if version < minimum:
            problems.append('%s %s is older than %s' % (name, getattr(module, '__version__', '?'),
                                                        '.'.join(str(v) for v in minimum)))
            continue
        return name, module
    return None, '; '.join(problems)


def _import(name):
    module = __import__(name)
    if name == 'psycopg':
        __import__('psycopg.sql')
        __import__('psycopg.rows')
        __import__('psycopg.errors')
        __import__('psycopg.conninfo')
    else:
        __import__('psycopg2.sql')
        __import__('psycopg2.extras')
        __import__('psycopg2.errors')
        __import__('psycopg2.extensions')
    return module


IMPORT_ERROR = None
try:
    NAME, driver = select(_import, os.environ.get(ENVIRONMENT))
except Exception:  # pragma: no cover - a broken installation
    NAME, driver = None, traceback.format_exc()
if NAME is None:
    IMPORT_ERROR, driver = driver, None
    sql = errors = Error = None
else:
    sql = driver.sql
    errors = driver.errors
    Error = driver.Error

VERSION = getattr(driver, '__version__', None)


def connect(kwargs):
    """An autocommit connection from libpq keywords (or ``dsn``: a conninfo string)."""
    kwargs = dict(kwargs)
    dsn = kwargs.pop('dsn', '')
    if NAME == 'psycopg':
        conn = driver.connect(dsn, autocommit=True, cursor_factory=driver.ClientCursor, **kwargs)
        notices = []
        conn.add_notice_handler(lambda diag: notices.append(_notice_text(diag)))
        conn.pgops_notices = notices
        return conn
    conn = driver.connect(dsn, **kwargs) if dsn else driver.connect(**kwargs)
    conn.autocommit = True
    return conn


def _notice_text(diag):
    """A psycopg 3 notice as libpq prints it (and psycopg2 keeps it): ``SEVERITY:  message``, then
    its DETAIL and HINT lines."""
    lines = ['%s:  %s' % (diag.severity_nonlocalized or diag.severity, diag.message_primary)]
    for label, value in (('DETAIL', diag.message_detail), ('HINT', diag.message_hint)):
        if value:
            lines.append('%s:  %s' % (label, value))
    return '\n'.join(lines)


def dict_cursor(conn):
    """A cursor whose rows are dicts (rendered on the client, like psycopg2's)."""
    if NAME == 'psycopg':
        return conn.cursor(row_factory=driver.rows.dict_row)
    return conn.cursor(cursor_factory=driver.extras.RealDictCursor)


def server_version(conn):
    """server_version_num from the connection handshake (no query)."""
    return conn.info.server_version if NAME == 'psycopg' else conn.server_version


def parameter_status(conn, name):
    """A parameter the server reported at connect time (for example is_superuser)."""
    if NAME == 'psycopg':
        return conn.info.parameter_status(name)
    return conn.get_parameter_status(name)


def notices(conn):
    """The list the server's NOTICE messages are appended to (``SEVERITY:  message`` strings)."""
    return conn.pgops_notices if NAME == 'psycopg' else conn.notices


def cancel(conn):
    """Ask the server to cancel the statement the connection runs (a protocol cancel request on a
    second connection, like pg_cancel_backend; safe from another thread)."""
    conn.cancel()


def mogrify(cursor, query, params=None):
    """The text of a statement as the server receives it."""
    text = cursor.mogrify(query, params)
    return text.decode('utf-8') if isinstance(text, bytes) else text


def make_dsn(**kwargs):
    """A libpq conninfo string from keywords, values quoted by libpq rules (in the order given)."""
    if NAME == 'psycopg':
        return driver.conninfo.make_conninfo('', **kwargs)
    return driver.extensions.make_dsn(**kwargs)


def parse_dsn(text):
    """A dict from a libpq conninfo string (keyword=value form or URI), parsed by libpq."""
    if NAME == 'psycopg':
        return driver.conninfo.conninfo_to_dict(text)
    return driver.extensions.parse_dsn(text)


def error_class(name):
    """The driver's class for an SQLSTATE condition name (InsufficientPrivilege, ObjectInUse...)."""
    return getattr(errors, name) if errors is not None else None
