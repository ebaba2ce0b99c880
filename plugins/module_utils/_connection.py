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

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.pgops.logical_replication.plugins.module_utils import _conninfo, _driver, _sql, _versions
from ansible_collections.pgops.logical_replication.plugins.module_utils._changes import Changes
from ansible_collections.pgops.logical_replication.plugins.module_utils._errors import PgOpsError

SSL_MODES = ['allow', 'disable', 'prefer', 'require', 'verify-ca', 'verify-full']

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


def connect_params(params, application_name):
    """Driver connect keyword arguments (libpq keywords) from the module's connection options."""
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
        # A server made read-only for its users (switchover sets default_transaction_read_only)
        # must stay manageable: the module's own session writes when it has to.
        options='-c default_transaction_read_only=off',
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
    secret masking."""

    def __init__(self, module, application_name):
        self.module = module
        self.secrets = sorted(set(v for v in module.no_log_values if v), key=len, reverse=True)
        params = connect_params(module.params, application_name)
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
        self.cursor.execute(query, params)

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
        """The NOTICE messages the server sent since the last call (``SEVERITY:  message`` strings)."""
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


def run_module(module, fqcn, work, prepare=None):
    """Open the one connection, run ``work(session, changes)`` and exit with its result.

    ``prepare()``, when given, checks the options before anything connects; what it returns is
    passed to ``work`` as a third argument.

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
        session = Session(module, fqcn)
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
    result.update(changes.result(module._diff))
    module.exit_json(**result)


def _fail(module, session, changes, msg, extra):
    secrets = session.secrets if session else sorted(v for v in module.no_log_values if v)
    result = dict(extra or {})
    result['queries'] = changes.queries if changes else []
    result['changed'] = bool(changes and changes.changed and not module.check_mode)
    module.fail_json(msg=_conninfo.mask_text(msg, secrets), **result)
