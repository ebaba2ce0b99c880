# -*- coding: utf-8 -*-
# Copyright: pgops.logical_replication contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one connection helper: option spec, AnsibleModule factory, session, and module runner.

Every module is built by ``build_module`` (connection options documented once in the
``pgops.logical_replication.connection`` doc fragment) and runs its work through
``run_module``, which opens exactly one connection, reads ``server_version_num`` from the
connection handshake (no query), and turns every error into a masked, actionable message.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import contextlib
import threading

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.pgops.logical_replication.plugins.module_utils import _conninfo, _driver, _sql, _versions
from ansible_collections.pgops.logical_replication.plugins.module_utils._changes import Changes
from ansible_collections.pgops.logical_replication.plugins.module_utils._errors import PgOpsError

SSL_MODES = ['allow', 'disable', 'prefer', 'require', 'verify-ca', 'verify-full']

# Seconds the client waits past the server's statement_timeout before it cancels the statement itself
# (a server that does not act on its own timeout must not keep the module waiting for ever).
CANCEL_GRACE = 5.0

# The connection options every module takes; documented in doc_fragments/connection.py
# (tests/unit proves the two agree).
CONNECTION_ARGUMENT_SPEC = dict(
    login_user=dict(type='str', default='postgres'),
    login_password=dict(type='str', default='', no_log=True),
    login_host=dict(type='str', default='', aliases=['host']),
    login_unix_socket=dict(type='str', default='', aliases=['unix_socket']),
    port=dict(type='int', default=5432, aliases=['login_port']),
    db=dict(type='str', aliases=['login_db']),
    ssl_mode=dict(type='str', default='prefer', choices=SSL_MODES),
    ca_cert=dict(type='path', aliases=['ssl_rootcert']),
    ssl_cert=dict(type='path'),
    ssl_key=dict(type='path', no_log=False),
    connect_timeout=dict(type='int', default=10),
    session_role=dict(type='str'),
)


def build_module(argument_spec, **kwargs):
    """The AnsibleModule of every module: its own options plus the shared connection options."""
    spec = dict(CONNECTION_ARGUMENT_SPEC)
    spec.update(argument_spec)
    kwargs.setdefault('supports_check_mode', True)
    return AnsibleModule(argument_spec=spec, **kwargs)


def connect_params(params, application_name, statement_timeout=None):
    """Driver connect keyword arguments (libpq keywords) from the module's connection options.

    ``statement_timeout`` (seconds; None or 0 for none) goes into the startup packet, so it bounds
    every statement of the session without a statement of its own.
    """
    # A server made read-only for its users (switchover sets default_transaction_read_only)
    # must stay manageable: the module's own session writes when it has to. Literals and the
    # server's deparsed expressions (row filters) follow one rule whatever the database's
    # default: standard_conforming_strings on (a backslash in '...' is an ordinary character).
    options = '-c default_transaction_read_only=off -c standard_conforming_strings=on'
    if statement_timeout:
        options += ' -c statement_timeout=%d' % max(1, int(round(statement_timeout * 1000)))
    mapping = dict(
        user=params.get('login_user'),
        password=params.get('login_password'),
        host=params.get('login_unix_socket') or params.get('login_host'),
        port=params.get('port'),
        dbname=params.get('db') or 'postgres',
        sslmode=params.get('ssl_mode'),
        sslrootcert=params.get('ca_cert'),
        sslcert=params.get('ssl_cert'),
        sslkey=params.get('ssl_key'),
        connect_timeout=params.get('connect_timeout'),
        application_name=application_name,
        options=options,
    )
    return dict((k, v) for k, v in mapping.items() if v not in (None, ''))


def error_text(exc):
    """A driver error as PostgreSQL reports it: the primary message, then its DETAIL and HINT.

    Errors without diagnostics (a failed connection) give the driver's own text.
    """
    diag = getattr(exc, 'diag', None)
    primary = getattr(diag, 'message_primary', None)
    if not primary:
        return (getattr(exc, 'pgerror', None) or str(exc)).strip()
    parts = [primary.strip()]
    for label, field in (('DETAIL', 'message_detail'), ('HINT', 'message_hint')):
        value = getattr(diag, field, None)
        if value:
            parts.append('%s: %s' % (label, value.strip()))
    return ' '.join(parts)


def sqlstate(exc):
    """The SQLSTATE of a driver error (None for errors without one)."""
    return getattr(exc, 'pgcode', None) or getattr(getattr(exc, 'diag', None), 'sqlstate', None)


class Reader(object):
    """An open autocommit connection that reads rows as dicts: the base of Session (the
    module's own server) and _remote.RemoteServer (the publisher, read only).

    A failed connection raises PgOpsError: ``failure`` says where to, the driver's message
    follows (masked), then ``advice``. A server older than _versions.MINIMUM_SERVER_VERSION
    is refused right away (``server`` names it in the message).
    """

    Error = _driver.Error
    InsufficientPrivilege = _driver.error_class('InsufficientPrivilege')
    ObjectInUse = _driver.error_class('ObjectInUse')

    def __init__(self, connect_kwargs, failure, advice, mask, server='The server'):
        try:
            self.conn = _driver.connect(connect_kwargs)
        except _driver.Error as exc:
            raise PgOpsError('%s: %s. %s' % (failure, mask(str(exc).strip()), advice))
        self.version = _driver.server_version(self.conn)
        try:
            _versions.check_server(self.version, server)
        except PgOpsError:
            self.close()
            raise
        self.cursor = _driver.dict_cursor(self.conn)

    def rows(self, query, params=None):
        """All rows of a read query, as dicts."""
        self.cursor.execute(query, params)
        return [dict(r) for r in self.cursor.fetchall()]

    def row(self, query, params=None):
        """The first row of a read query as a dict, or None."""
        found = self.rows(query, params)
        return found[0] if found else None

    def close(self):
        try:
            self.conn.close()
        except Exception:  # pragma: no cover - best effort
            pass


class Session(Reader):
    """The module's one connection, with the server version, version gates, transactions and
    secret masking.

    With ``statement_timeout`` (seconds) every statement is bounded twice: by the server (the
    setting, sent at connect time) and by the client, which cancels a statement still running
    CANCEL_GRACE seconds later (``cancelled`` is then True).
    """

    def __init__(self, module, application_name, statement_timeout=None):
        self.module = module
        self.secrets = sorted(set(v for v in module.no_log_values if v), key=len, reverse=True)
        self.statement_timeout = statement_timeout or None
        self.cancelled = False
        params = connect_params(module.params, application_name, self.statement_timeout)
        where = '%s port %s' % (params.get('host') or 'the default Unix socket', params.get('port'))
        super(Session, self).__init__(
            params,
            'Could not connect to PostgreSQL at %s as user %s (database %s)'
            % (where, params.get('user'), params.get('dbname')),
            'Check login_host/login_unix_socket, port, login_user, login_password and that '
            'pg_hba.conf lets this client in.',
            self.mask, 'The server at %s' % where)
        role = module.params.get('session_role')
        if role:
            self.execute(_sql.stmt('SET ROLE {}', _sql.ident(role)))

    # -- writing (only through Changes) ------------------------------------------------------
    def execute(self, query, params=None):
        if not self.statement_timeout:
            self.cursor.execute(query, params)
            return
        timer = threading.Timer(self.statement_timeout + CANCEL_GRACE, self.cancel)
        timer.daemon = True
        timer.start()
        try:
            self.cursor.execute(query, params)
        finally:
            timer.cancel()

    def cancel(self):
        """Cancel the running statement (from the client-side timer)."""
        self.cancelled = True
        try:
            _driver.cancel(self.conn)
        except Exception:  # pragma: no cover - the statement ended meanwhile, or the connection is gone
            pass

    def begin(self):
        """Leave autocommit: the next statements run in one transaction until commit/rollback."""
        self.conn.autocommit = False

    def commit(self):
        self.conn.commit()
        self.conn.autocommit = True

    def rollback(self):
        try:
            self.conn.rollback()
            self.conn.autocommit = True
        except Exception:  # pragma: no cover - the connection is gone: nothing was committed
            pass

    error_text = staticmethod(error_text)
    sqlstate = staticmethod(sqlstate)

    @property
    def superuser(self):
        """Whether the session's role is a superuser, from the handshake (no query)."""
        return _driver.parameter_status(self.conn, 'is_superuser') == 'on'

    def render(self, query, params=None):
        """The text of a statement as the server would receive it."""
        return _driver.mogrify(self.cursor, query, params)

    def take_notices(self):
        """The messages (NOTICE, WARNING, ...) the server sent since the last call, as
        ``SEVERITY:  message`` strings (DETAIL and HINT on further lines).

        What a module takes here is its own to report; the warnings left untaken when the module
        ends are passed on as the task's warnings (see run_module).
        """
        notices = _driver.notices(self.conn)
        taken = list(notices)
        del notices[:]
        return taken

    def mask(self, text):
        return _conninfo.mask_text(text, self.secrets)

    def add_secret(self, secret):
        if secret and secret not in self.secrets:
            self.secrets = sorted(self.secrets + [secret], key=len, reverse=True)

    # -- versions -----------------------------------------------------------------------------
    def require(self, feature):
        _versions.require(feature, self.version)

    def supports(self, feature):
        return _versions.supports(feature, self.version)

    def hide_statements_from_log(self):
        """Turn statement logging off for this session before a statement that carries a secret.

        Needs superuser (or, on 15+, GRANT SET on these parameters); returns False when the
        server refuses, so the caller can warn.
        """
        try:
            for name, value in (('log_statement', 'none'), ('log_min_duration_statement', '-1'),
                                ('log_min_error_statement', 'panic')):
                self.cursor.execute(_sql.stmt('SET {} = {}', _sql.ident(name), _sql.literal(value)))
            return True
        except self.Error:
            return False

    @contextlib.contextmanager
    def hidden_activity(self):
        """Run the statements inside with activity tracking off (``track_activities``), so the text
        of a statement that carries a secret is not shown in ``pg_stat_activity`` (to pg_monitor and
        pg_read_all_stats members) while it runs; tracking is back on afterwards.

        Needs superuser (or, on 15+, GRANT SET on track_activities). Yields False when the server
        refuses, so the caller can warn.
        """
        try:
            self.cursor.execute(_sql.stmt('SET track_activities = {}', _sql.literal('off')))
            hidden = True
        except self.Error:
            hidden = False
        try:
            yield hidden
        finally:
            if hidden:
                try:
                    self.cursor.execute(_sql.stmt('RESET track_activities'))
                except self.Error:  # pragma: no cover - the connection broke; the session ends with it
                    pass


def server_warnings(notices):
    """The WARNING messages among notices (``SEVERITY:  message`` strings), stripped."""
    out = []
    for notice in notices:
        severity, _sep, text = notice.partition(':')
        if severity.strip().upper() == 'WARNING' and text.strip():
            out.append(text.strip())
    return out


def pass_on_warnings(module, session):
    """The server's warnings to this run's statements, as the task's warnings (masked)."""
    if session is None:
        return
    try:
        notices = session.take_notices()
    except Exception:  # pragma: no cover - no notices to read from a broken connection
        return
    for text in server_warnings(notices):
        module.warn('PostgreSQL: %s' % session.mask(text))


def run_module(module, fqcn, work, prepare=None, statement_timeout=None):
    """Open the one connection, run ``work(session, changes)`` and exit with its result.

    ``prepare()``, when given, checks the options before anything connects; what it returns is
    passed to ``work`` as a third argument. ``statement_timeout`` (seconds) bounds every statement
    of the session (see Session).

    Warnings the server raises on the session (``WARNING`` messages a module did not take itself)
    become the task's warnings, masked, whether the module succeeds or fails.

    ``work`` returns a dict of return values; ``changed``, ``queries`` and (in diff mode)
    ``diff`` come from the Changes tracker. Every error for the user is a PgOpsError (caught
    here, once, for every module) or a driver error (reported with PostgreSQL's message, DETAIL
    and HINT). Every message leaving here is masked.
    """
    if _driver.NAME is None:
        module.fail_json(msg=missing_required_lib(_driver.REQUIREMENT), exception=_driver.IMPORT_ERROR)
    session = changes = None
    try:
        args = (prepare(),) if prepare else ()
        session = Session(module, fqcn, statement_timeout)
        changes = Changes(session, module.check_mode)
        result = work(session, changes, *args) or {}
    except PgOpsError as exc:
        _fail(module, session, changes, str(exc), exc.extra)
    except _driver.Error as exc:
        _fail(module, session, changes, 'PostgreSQL refused the request: %s' % error_text(exc),
              dict(sqlstate=sqlstate(exc)))
    finally:
        if session is not None:
            session.close()
    pass_on_warnings(module, session)
    result.update(changes.result(module._diff))
    module.exit_json(**result)


def _fail(module, session, changes, msg, extra):
    pass_on_warnings(module, session)
    secrets = session.secrets if session else sorted(v for v in module.no_log_values if v)
    result = dict(extra or {})
    result['queries'] = changes.queries if changes else []
    result['changed'] = bool(changes and changes.changed and not module.check_mode)
    module.fail_json(msg=_conninfo.mask_text(msg, secrets), **result)
