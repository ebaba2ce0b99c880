# -*- coding: utf-8 -*-
# Copyright: pgops.logical_replication contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one choke point for statements that change something, and the difference tracker.

Every statement a module would run to change the server goes through ``Changes.execute``:
it is rendered with secrets masked into ``queries`` and run only outside check mode. There
is no separate check-mode code path: the same differences drive ``changed``,
``diff.before/after`` and the statements.

``Changes.transaction()`` runs the statements inside it as one transaction (all or nothing);
in check mode nothing runs, so there is nothing to begin or commit.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import contextlib

from ansible_collections.pgops.logical_replication.plugins.module_utils._errors import PgOpsError


class Manager(object):
    """The base of every module's manager: the module (options, check mode, warnings), its one
    session and the Changes every statement passes through. ``run()`` returns the result."""

    def __init__(self, module, session, changes):
        self.module = module
        self.params = module.params
        self.check_mode = module.check_mode
        self.session = session
        self.changes = changes


def differences(before, after):
    """The keys whose values differ between two dicts, in the order of ``after``."""
    return [key for key in after if before.get(key) != after[key]]


class Changes(object):
    def __init__(self, session, check_mode):
        self.session = session
        self.check_mode = check_mode
        self.queries = []
        self.changed = False
        self.before = {}
        self.after = {}
        self.in_transaction = False

    @contextlib.contextmanager
    def transaction(self):
        """The statements executed inside run in one transaction: BEGIN before the first, COMMIT
        at the end, ROLLBACK on any error (then nothing of it is a change). A statement PostgreSQL
        refuses becomes a PgOpsError that names it. Check mode runs nothing, so it does nothing;
        a nested use joins the outer transaction."""
        if self.check_mode or self.in_transaction:
            yield self
            return
        changed = self.changed
        self.session.begin()
        self.in_transaction = True
        try:
            yield self
        except Exception as exc:
            self.session.rollback()
            self.changed = changed
            if self.session.Error is not None and isinstance(exc, self.session.Error):
                raise PgOpsError('PostgreSQL refused %s: %s. Nothing was changed: every statement of this run was '
                                 'rolled back.' % (self.queries[-1] if self.queries else 'the transaction',
                                                   self.session.mask(self.session.error_text(exc))),
                                 sqlstate=self.session.sqlstate(exc))
            raise
        else:
            self.session.commit()
        finally:
            self.in_transaction = False

    def execute(self, statement, params=None, shown_params=None, changes=True):
        """Record the statement (masked) and run it unless in check mode.

        ``shown_params`` replaces ``params`` in the recorded text (for a conninfo whose
        password is already masked); the session's secrets are masked in any case.
        """
        text = self.session.render(statement, shown_params if shown_params is not None else params)
        self.queries.append(self.session.mask(text))
        if not self.check_mode:
            self.session.execute(statement, params)
        # Only a statement that went through (or would, in check mode) is a change.
        if changes:
            self.changed = True

    def record(self, text):
        """Record a change that is not a SQL statement (a file written, a wait)."""
        self.queries.append(self.session.mask(text))
        self.changed = True

    def set_diff(self, before, after):
        self.before, self.after = before, after

    def result(self, diff_mode):
        out = dict(changed=self.changed, queries=self.queries)
        if diff_mode:
            out['diff'] = dict(before=self.before, after=self.after)
        return out
