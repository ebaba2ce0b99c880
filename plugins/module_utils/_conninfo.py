# -*- coding: utf-8 -*-
# Copyright: pgops.logical_replication contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""libpq connection strings: build, parse, compare and mask.

Built with the driver's own builder (``make_dsn``/``make_conninfo``, see _driver) so every value is
quoted the way libpq reads it; parsed with libpq itself (``parse_dsn``); compared as dicts
so key order and spelling never cause a change; masked before anything is shown.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.pgops.logical_replication.plugins.module_utils._errors import PgOpsError

from ansible_collections.pgops.logical_replication.plugins.module_utils._driver import make_dsn, parse_dsn

MASK = '********'
SECRET_KEYS = ('password', 'sslpassword')

# libpq connection keywords a subscription (or sequence_sync) may use.
# https://www.postgresql.org/docs/current/libpq-connect.html#LIBPQ-PARAMKEYWORDS
KEYWORDS = (
    'host', 'hostaddr', 'port', 'dbname', 'user', 'password', 'passfile', 'require_auth',
    'channel_binding', 'connect_timeout', 'client_encoding', 'options', 'application_name',
    'fallback_application_name', 'keepalives', 'keepalives_idle', 'keepalives_interval',
    'keepalives_count', 'tcp_user_timeout', 'sslmode', 'sslnegotiation', 'sslcompression',
    'sslcert', 'sslkey', 'sslpassword', 'sslcertmode', 'sslrootcert', 'sslcrl', 'sslcrldir',
    'sslsni', 'requirepeer', 'ssl_min_protocol_version', 'ssl_max_protocol_version',
    'gssencmode', 'krbsrvname', 'gsslib', 'gssdelegation', 'service', 'target_session_attrs',
    'load_balance_hosts',
)


# Keywords whose values are integers (typed as int in the option spec).
INT_KEYWORDS = ('port', 'connect_timeout', 'keepalives', 'keepalives_idle', 'keepalives_interval',
                'keepalives_count', 'tcp_user_timeout')


def _keyword_spec(key):
    spec = dict(type='int' if key in INT_KEYWORDS else 'str')
    if key in SECRET_KEYS:
        spec['no_log'] = True
    elif 'pass' in key or 'key' in key:
        spec['no_log'] = False  # passfile, sslkey: paths, not secrets
    return spec


# The suboptions of every conninfo dict option (postgresql_subscription conninfo,
# sequence_sync conninfo, replication_info publisher): each libpq keyword, secrets no_log.
OPTION_SPEC = dict((key, _keyword_spec(key)) for key in KEYWORDS)


class ConninfoError(PgOpsError, ValueError):
    """A connection description that libpq would not accept."""


def normalize(params):
    """Drop unset values and render every value as libpq text (ints and bools too)."""
    out = {}
    for key, value in (params or {}).items():
        if value is None or value == '':
            continue
        if key not in KEYWORDS:
            raise ConninfoError(
                'unknown libpq connection keyword %r; known keywords: %s' % (key, ', '.join(KEYWORDS)))
        if isinstance(value, bool):
            value = '1' if value else '0'
        out[key] = str(value)
    return out


def build(params):
    """A libpq conninfo string from a dict, values quoted by libpq rules, keys sorted."""
    clean = normalize(params)
    if not clean:
        raise ConninfoError('a connection needs at least one libpq keyword (host, dbname, user, ...)')
    # make_dsn keeps the order it is given; sort for a stable text.
    return make_dsn(**dict(sorted(clean.items())))


def parse(text):
    """A dict from a libpq conninfo string (keyword=value form or URI), parsed by libpq."""
    if not text:
        return {}
    try:
        return dict(parse_dsn(text))
    except Exception as exc:  # the driver's ProgrammingError
        raise ConninfoError('could not parse the connection string: %s' % mask_text(str(exc), [text]))


def same(a, b):
    """True when two conninfos (strings or dicts) mean the same connection."""
    return _as_dict(a) == _as_dict(b)


def _as_dict(value):
    if isinstance(value, dict):
        return normalize(value)
    return normalize(parse(value))


def mask(value):
    """A copy of a conninfo (dict or string) with secrets replaced by ********.

    A string comes back as a string built the same way, so it can stand in `queries`.
    """
    if isinstance(value, dict):
        return dict((k, MASK if k in SECRET_KEYS and v not in (None, '') else v) for k, v in value.items())
    parsed = parse(value)
    for key in SECRET_KEYS:
        if parsed.get(key):
            parsed[key] = MASK
    return make_dsn(**dict(sorted(parsed.items())))


def secret_forms(secret):
    """Every spelling under which a secret could appear in text we produce or relay.

    The raw value, its libpq-quoted form, its SQL-literal form, and the SQL literal of the
    libpq-quoted form (conninfo inside a SQL string), so masking catches all of them.
    """
    if not secret:
        return []
    libpq = secret.replace('\\', '\\\\').replace("'", "\\'")
    forms = set()
    for base in (secret, libpq):
        sql_literal = base.replace("'", "''")
        forms.update((base, sql_literal, sql_literal.replace('\\', '\\\\'),
                      base.replace('\\', '\\\\'), base.replace('"', '\\"')))
    return sorted(forms, key=len, reverse=True)


def mask_text(text, secrets):
    """Replace every spelling of every secret in text by ********."""
    if text is None:
        return text
    text = str(text)
    for secret in secrets or ():
        for form in secret_forms(secret):
            if form:
                text = text.replace(form, MASK)
    return text
