#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: pgops.logical_replication contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: pg_hba
short_description: Manage entries of the server's pg_hba.conf, checked by PostgreSQL before reload
version_added: 0.1.0
description:
  - Adds, updates and removes lines of the client authentication file the server uses, the
    path read from C(SHOW hba_file). Existing lines, comments and include directives are kept
    byte for byte.
  - PostgreSQL uses the B(first) line that matches a connection. A new entry goes right before
    the first existing line that would match any of the connections it is meant for (same
    connection type family, overlapping database, user and address), so it takes effect; for
    example it goes above a C(host all all 127.0.0.1/32 trust) line, and a catch-all
    C(host all all 0.0.0.0/0 reject) at the end stays below it. Where an overlap cannot be ruled
    out (host names, V(samehost), V(samenet), C(+group), C(@file), regular expressions,
    C(include) directives) the entry goes above that line. Nothing overlapping means the entry
    is appended.
  - An entry whose type, database, user and address are already in the file is updated in place
    (method and options). If an earlier line would match its connections first, it is moved up
    to where it takes effect. Entries earlier in O(entries) win over later ones where they overlap.
  - The file is written atomically (temporary file and rename) keeping its owner, group and mode.
    Then C(pg_hba_file_rules) (which reads the file on disk) is checked; on any error the original
    text is put back, the module fails with the line and PostgreSQL's message, and the configuration
    is not reloaded. A bad entry never reaches the running server. Only when the file is clean is the
    configuration reloaded with C(pg_reload_conf()). Never restarts.
  - The module proves that the file it reads and writes is the file the server reads. The server's
    own reading of its C(hba_file) (C(pg_read_binary_file)) must have the same contents, before
    anything is planned and again after writing, and C(pg_hba_file_rules) must show the entries
    written at their lines. When the module runs on another host than the server (a wrong inventory
    host, a missing C(delegate_to)) or the server sees another file at that path (a container,
    another mount), it fails saying so; a file it wrote is put back and nothing is reloaded.
  - Runs on the same server are serialized. Each run takes an exclusive C(flock) on the directory of
    the file (nothing is created for it; a run as root and a run as the file's owner exclude each
    other alike) and holds it from reading the file to the reload, so concurrent runs adding
    different entries all keep theirs. A run waits at most 60 seconds for the lock, then fails
    naming the directory. Other programs editing the file do not take this lock. On a file system
    without C(flock) on directories the run goes on without the lock, with a warning.
  - Temporary files (the new text before the rename, a backup copy being written) are created next
    to the file with the owner and mode of the file and a name starting with C(pgsql_tmp.), which
    C(pg_basebackup) skips; a run killed before its rename therefore never breaks a base backup,
    and the next run that writes removes what it left.
  - Every field of O(entries) (database, user, address, method, option names and values) is refused
    when it holds a control character (U+0000 to U+001F, U+007F to U+009F, so tab, CR, LF, VT, FF,
    U+001C to U+001E and U+0085 too) or a Unicode line or paragraph separator (U+2028, U+2029).
    PostgreSQL ends a line at LF only, so such a field would be read differently by the server, by
    editors and by this module. Lines already in the file are split at LF only, as PostgreSQL
    reads them.
author:
  - pgops.logical_replication maintainers (@pgops)
extends_documentation_fragment:
  - pgops.logical_replication.connection
  - pgops.logical_replication.attributes
options:
  entries:
    description:
      - The lines to manage.
    type: list
    elements: dict
    required: true
    suboptions:
      type:
        description:
          - The connection type. V(local) is a Unix-domain socket and takes no O(entries[].address).
        type: str
        choices: [ local, host, hostssl, hostnossl, hostgssenc, hostnogssenc ]
        default: host
      database:
        description:
          - The database field as in pg_hba.conf. V(replication) matches physical replication
            connections (logical replication connections match the database name, or V(all)).
          - Several names separated by commas; a name that is a keyword or has spaces in double quotes.
        type: str
        required: true
      user:
        description:
          - The user field as in pg_hba.conf (V(all), a role name, C(+group), several separated by commas).
        type: str
        required: true
      address:
        description:
          - For the host types, the client address in CIDR notation (V(192.0.2.10/32), V(2001:db8::/64)),
            a host name, V(all), V(samehost) or V(samenet). A bare IP address means that one host
            (C(/32) or C(/128) is added).
        type: str
      method:
        description:
          - The authentication method. PostgreSQL checks it (an unknown method is refused and
            the file is put back).
        type: str
        default: scram-sha-256
      options:
        description:
          - Authentication options, name to value, for example C(clientcert) V(verify-full) or C(map) V(admins).
          - The values of C(ldapbindpasswd) and C(radiussecrets) are replaced by C(********) in every output.
        type: dict
        default: {}
  state:
    description:
      - V(present) adds or updates the entries, V(absent) removes every line with the type,
        database, user and address of an entry (its method and options do not matter).
    type: str
    choices: [ absent, present ]
    default: present
  backup:
    description:
      - Before writing, make a backup copy C(<hba_file>.<pid>.<timestamp>~) next to the file, with
        its owner and mode, and keep it after a successful change (it is removed when the
        original is put back).
      - With V(false) no copy is written at all (the original text is kept in memory to put it
        back), so a run leaves no file next to C(hba_file).
    type: bool
    default: true
notes:
  - Runs on the database host itself (the file is local to the server); with a remote server
    use C(delegate_to) the server's host. The user running the module must be able to read the
    file and write its directory (the new file is written next to it and renamed over it); a
    directory that cannot be written (permissions, a read-only mount) fails with a message
    saying so, and nothing is changed.
  - Needs a superuser connection (C(pg_hba_file_rules) and C(pg_read_binary_file) of the
    C(hba_file) are for superusers only); without it the module refuses to change the file,
    since it could not prove the new file is valid and is the server's.
  - If PostgreSQL already reports errors in the file, the module refuses to change it until they are fixed.
  - Lines of included files (PostgreSQL 16+) are not read; an include directive counts as a line that
    may match first.
  - In check mode the new text is computed but not validated by PostgreSQL.
seealso:
  - name: The pg_hba.conf file
    description: PostgreSQL's manual on client authentication lines.
    link: https://www.postgresql.org/docs/current/auth-pg-hba-conf.html
  - module: pgops.logical_replication.replication_user
'''

EXAMPLES = r'''
- name: Let the subscriber connect as the replication user
  pgops.logical_replication.pg_hba:
    login_password: "{{ postgres_password }}"
    entries:
      - type: hostssl
        database: zoo
        user: logic
        address: 192.0.2.20/32
      - type: hostssl
        database: replication
        user: logic
        address: 192.0.2.20

- name: Remove the entries again
  pgops.logical_replication.pg_hba:
    state: absent
    entries:
      - {type: hostssl, database: zoo, user: logic, address: 192.0.2.20/32}
'''

RETURN = r'''
hba_file:
  description: The file managed (C(SHOW hba_file)).
  returned: always
  type: str
  sample: /etc/postgresql/15/main/pg_hba.conf
backup_file:
  description: The backup copy of the file before this run's change, when one was kept.
  returned: always
  type: str
  sample: /etc/postgresql/15/main/pg_hba.conf.4242.2026-01-31@10:00:00~
entries:
  description:
    - The entries changed (or, in check mode, that would change); C(line) is the line number in the
      new file (in the old file for V(removed)).
  returned: always
  type: list
  elements: dict
  sample:
    - {action: added, line: 98, text: "host    replication     logic           192.0.2.20/32           scram-sha-256"}
queries:
  description:
    - The statements run, or that would run; the file write is recorded as a comment line.
  returned: always
  type: list
  elements: str
  sample: [ "-- write /etc/postgresql/15/main/pg_hba.conf", "SELECT pg_reload_conf()" ]
diff:
  description: The file text before and after.
  returned: when diff mode is on
  type: dict
  sample: {before: "local all all peer\n", after: "local all all peer\nhost replication logic 192.0.2.20/32 scram-sha-256\n"}
'''

from ansible_collections.pgops.logical_replication.plugins.module_utils._connection import build_module, run_module
from ansible_collections.pgops.logical_replication.plugins.module_utils import _hba
from ansible_collections.pgops.logical_replication.plugins.module_utils._hba import PgHba

FQCN = 'pgops.logical_replication.pg_hba'

ARGUMENT_SPEC = dict(
    entries=dict(type='list', elements='dict', required=True, options=dict(
        type=dict(type='str', default='host', choices=list(_hba.TYPES)),
        database=dict(type='str', required=True),
        user=dict(type='str', required=True),
        address=dict(type='str'),
        method=dict(type='str', default=_hba.DEFAULT_METHOD),
        options=dict(type='dict', default={}),
    )),
    state=dict(type='str', default='present', choices=['absent', 'present']),
    backup=dict(type='bool', default=True),
)


def main():
    module = build_module(ARGUMENT_SPEC)
    run_module(module, FQCN, lambda session, changes, wanted: PgHba(module, session, changes).run(wanted),
               prepare=lambda: _hba.wanted_entries(module.params['entries']))


if __name__ == '__main__':
    main()
