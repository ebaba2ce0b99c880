# -*- coding: utf-8 -*-
# Copyright: pgops.logical_replication contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type


class ModuleDocFragment(object):
    # The connection options of every module (module_utils/_connection.py CONNECTION_ARGUMENT_SPEC).
    DOCUMENTATION = r'''
options:
  login_user:
    description:
      - The role to connect as.
    type: str
    default: postgres
  login_password:
    description:
      - The password of O(login_user). Never logged or returned.
    type: str
    default: ''
  login_host:
    description:
      - Host name or address of the server.
      - Empty means the default Unix-domain socket of libpq.
    type: str
    default: ''
    aliases: [ host ]
  login_unix_socket:
    description:
      - Directory of the server's Unix-domain socket. Takes precedence over O(login_host).
    type: str
    default: ''
    aliases: [ unix_socket ]
  port:
    description:
      - Server port.
    type: int
    default: 5432
    aliases: [ login_port ]
  db:
    description:
      - Database to connect to; the C(postgres) database when not set.
    type: str
    aliases: [ login_db ]
  ssl_mode:
    description:
      - libpq C(sslmode) of the connection.
    type: str
    default: prefer
    choices: [ allow, disable, prefer, require, verify-ca, verify-full ]
  ca_cert:
    description:
      - File of trusted certificate authorities (libpq C(sslrootcert)).
    type: path
    aliases: [ ssl_rootcert ]
  ssl_cert:
    description:
      - Client certificate file (libpq C(sslcert)).
    type: path
  ssl_key:
    description:
      - Client key file (libpq C(sslkey)).
    type: path
  connect_timeout:
    description:
      - Seconds to wait for the connection.
    type: int
    default: 10
  session_role:
    description:
      - Role to C(SET ROLE) to right after connecting; the work is done with its privileges.
    type: str
requirements:
  - psycopg (psycopg 3) >= 3.1 or psycopg2 >= 2.8 on the managed node. When both are installed, psycopg 3 is
    used (as community.postgresql does); set the environment variable C(PGOPS_PSYCOPG=2) on the task to use
    psycopg2 instead.
notes:
  - Every server a module connects to must run PostgreSQL 13 or later (13 and 14 as the publisher of an
    upgrade, 15 to 18 for everything); an older one is refused right after connecting, with the version
    found. Options that need a newer server than the one connected say which version they need.
  - The module opens exactly one connection and sets its C(application_name) to the module's
    fully qualified name, so DBAs can see it in C(pg_stat_activity).
  - Set the connection options once for all modules of this collection with
    C(module_defaults) and the action group C(group/pgops.logical_replication.logical_replication).
'''
