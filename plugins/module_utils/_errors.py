# -*- coding: utf-8 -*-
# Copyright: pgops.logical_replication contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one error base of the collection (no dependencies, so every module_utils file can use it).

Every error meant for the user derives from ``PgOpsError``: its message says what happened,
why, and what to do; ``extra`` holds return values that go with the failure (for example the
tables that are not ready). ``_connection.run_module`` catches it once for every module, masks
the message and fails the task with it.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import contextlib


class PgOpsError(Exception):
    """An error to report to the user: what happened, why, and what to do.

    ``extra`` is merged into the failure result (for example the tables that are not ready).
    """

    def __init__(self, msg, **extra):
        super(PgOpsError, self).__init__(msg)
        self.msg = msg
        self.extra = extra

    def __str__(self):
        return self.msg


@contextlib.contextmanager
def where(prefix='', suffix='', **extra):
    """Say where an error happened: a PgOpsError raised inside gets ``prefix`` and ``suffix``
    around its message (for example ``entries[2]: `` and ``. Nothing was changed.``) and ``extra``
    among its return values, its class kept. One mechanism instead of catching and re-raising at
    every call site."""
    try:
        yield
    except PgOpsError as exc:
        exc.msg = '%s%s%s' % (prefix, exc.msg, suffix)
        exc.args = (exc.msg,)
        for key, value in extra.items():
            exc.extra.setdefault(key, value)
        raise
