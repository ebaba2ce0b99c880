# -*- coding: utf-8 -*-
# Copyright: pgops.logical_replication contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A second, read-only connection to another server (the publisher), from a conninfo dict.

Used by replication_info (``publisher``) and sequence_sync (``conninfo``). The dict takes libpq
keywords (``_conninfo.KEYWORDS``); the password is ``no_log`` in the option spec, so Ansible
and the session mask it everywhere. The connection string is built with the driver's builder.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.pgops.logical_replication.plugins.module_utils import _conninfo
from ansible_collections.pgops.logical_replication.plugins.module_utils._connection import Reader
from ansible_collections.pgops.logical_replication.plugins.module_utils._errors import where


class RemoteServer(Reader):
    """One autocommit connection to another server (the publisher), read queries only."""

    def __init__(self, session, params, application_name, what='publisher'):
        clean = dict((k, v) for k, v in (params or {}).items() if v not in (None, ''))
        clean.setdefault('application_name', application_name)
        # libpq waits forever by default: a publisher that is gone must not hang the run.
        clean.setdefault('connect_timeout', session.module.params['connect_timeout'])
        for key in _conninfo.SECRET_KEYS:
            session.add_secret(clean.get(key))
        with where('The %s connection is not valid: ' % what, '.'):
            dsn = _conninfo.build(clean)
        where_to = 'host %s, port %s, dbname %s, user %s' % (
            clean.get('host') or clean.get('hostaddr') or 'default socket', clean.get('port', 5432),
            clean.get('dbname', 'default'), clean.get('user', 'default'))
        super(RemoteServer, self).__init__(
            dict(dsn=dsn),
            'Could not connect to the %s (%s)' % (what, where_to),
            'Check the connection keywords and that its pg_hba.conf lets this host in.',
            session.mask, 'The %s (%s)' % (what, where_to))
        self.what = what
