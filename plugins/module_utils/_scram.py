# -*- coding: utf-8 -*-
# Copyright: pgops.logical_replication contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""SCRAM-SHA-256 verifiers computed on the client (RFC 5802 / RFC 7677), as PostgreSQL stores them.

``CREATE ROLE ... PASSWORD 'SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>'`` stores
the verifier as is, so the plain-text password never reaches the server (nor its log).
``matches`` recomputes a stored verifier with its own salt and iteration count, which is how an
unchanged password is recognised without resetting it.

The password is prepared with SASLprep exactly as PostgreSQL's ``pg_saslprep`` does: plain
ASCII is used as is; text that is not valid UTF-8, or that SASLprep prohibits, is used as is too
(PostgreSQL falls back to the raw bytes in both cases).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import base64
import hashlib
import hmac
import os
import stringprep
import unicodedata

from ansible_collections.pgops.logical_replication.plugins.module_utils._errors import PgOpsError

PREFIX = 'SCRAM-SHA-256'
DEFAULT_ITERATIONS = 4096
SALT_BYTES = 16


class VerifierError(PgOpsError, ValueError):
    """A stored password that is not a SCRAM-SHA-256 verifier."""


def saslprep(password):
    """The bytes PostgreSQL feeds to PBKDF2 for this password (str or bytes)."""
    raw = password if isinstance(password, bytes) else password.encode('utf-8', 'surrogateescape')
    try:
        text = raw.decode('utf-8')
    except UnicodeDecodeError:
        return raw
    if all(ord(c) < 128 for c in text):
        return raw
    mapped = []
    for char in text:
        if stringprep.in_table_c12(char):
            mapped.append(' ')
        elif stringprep.in_table_b1(char):
            continue
        else:
            mapped.append(char)
    if not mapped:
        return raw
    prepared = unicodedata.normalize('NFKC', ''.join(mapped))
    for char in prepared:
        if _prohibited(char) or stringprep.in_table_a1(char):
            return raw
    if any(stringprep.in_table_d1(c) for c in prepared):
        if any(stringprep.in_table_d2(c) for c in prepared):
            return raw
        if not (stringprep.in_table_d1(prepared[0]) and stringprep.in_table_d1(prepared[-1])):
            return raw
    return prepared.encode('utf-8')


def _prohibited(char):
    """RFC 4013 section 2.3: C.1.2, C.2.1, C.2.2, C.3 to C.9 (ASCII space, C.1.1, is allowed)."""
    return (stringprep.in_table_c12(char) or stringprep.in_table_c21_c22(char) or stringprep.in_table_c3(char)
            or stringprep.in_table_c4(char) or stringprep.in_table_c5(char) or stringprep.in_table_c6(char)
            or stringprep.in_table_c7(char) or stringprep.in_table_c8(char) or stringprep.in_table_c9(char))


def _b64(data):
    return base64.b64encode(data).decode('ascii')


def build(password, salt=None, iterations=DEFAULT_ITERATIONS):
    """The verifier text for a password; a random 16-byte salt unless one is given (bytes)."""
    if salt is None:
        salt = os.urandom(SALT_BYTES)
    iterations = int(iterations)
    if iterations < 1:
        raise ValueError('SCRAM iteration count must be at least 1, got %d' % iterations)
    salted = hashlib.pbkdf2_hmac('sha256', saslprep(password), salt, iterations)
    client_key = hmac.new(salted, b'Client Key', hashlib.sha256).digest()
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.new(salted, b'Server Key', hashlib.sha256).digest()
    return '%s$%d:%s$%s:%s' % (PREFIX, iterations, _b64(salt), _b64(stored_key), _b64(server_key))


def parse(verifier):
    """(iterations, salt bytes, stored key bytes, server key bytes) of a stored verifier."""
    try:
        method, rest = verifier.split('$', 1)
        params, keys = rest.split('$', 1)
        iterations, salt = params.split(':', 1)
        stored_key, server_key = keys.split(':', 1)
        if method != PREFIX:
            raise ValueError(method)
        return (int(iterations), base64.b64decode(salt, validate=True),
                base64.b64decode(stored_key, validate=True), base64.b64decode(server_key, validate=True))
    except (AttributeError, ValueError, TypeError):
        raise VerifierError('not a SCRAM-SHA-256 verifier')


def is_verifier(text):
    try:
        parse(text)
        return True
    except VerifierError:
        return False


def matches(password, stored):
    """True when ``stored`` (rolpassword) is a SCRAM-SHA-256 verifier of ``password``.

    An MD5 hash, a NULL or anything else is "does not match" (the password is then set).
    """
    if not stored:
        return False
    try:
        iterations, salt, stored_key, server_key = parse(stored)
    except VerifierError:
        return False
    expected = build(password, salt, iterations)
    canonical = '%s$%d:%s$%s:%s' % (PREFIX, iterations, _b64(salt), _b64(stored_key), _b64(server_key))
    return hmac.compare_digest(expected, canonical)
