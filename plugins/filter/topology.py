# -*- coding: utf-8 -*-
# Copyright: pgops.logical_replication contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The topology variable ``logical_replication``, read in one place.

Roles and playbooks ask these filters for a host's entries, an entry's password, a host's address,
an entry's conninfo, tables, schemas, grants and pg_hba entries, the problems of the whole list,
and whether a server version has a feature. Each filter is documented in the YAML file of its
name next to this one (``ansible-doc -t filter pgops.logical_replication.<name>``).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import ipaddress

from collections.abc import Mapping

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_text

from ansible_collections.pgops.logical_replication.plugins.module_utils import _versions
from ansible_collections.pgops.logical_replication.plugins.module_utils._sql import (
    IdentifierError, display_name, split_qualified)

SIDES = ('publisher', 'subscriber', 'any')
DEFAULT_PORT = 5432
DEFAULT_SSLMODE = 'prefer'
REQUIRED_KEYS = ('name', 'publisher', 'subscriber', 'database', 'user', 'password')
STRING_KEYS = ('name', 'publisher', 'subscriber', 'database', 'subscriber_database', 'user', 'password', 'slot_name',
               'sslmode')


def _entries(topology):
    """The mappings of the topology list (anything else is a problem topology_problems reports)."""
    if topology is None:
        return []
    if isinstance(topology, (str, bytes, Mapping)) or not hasattr(topology, '__iter__'):
        raise AnsibleFilterError('logical_replication must be a list of entries (dicts), got %s'
                                 % type(topology).__name__)
    return [entry for entry in topology if isinstance(entry, Mapping)]


def _unique(items):
    out = []
    for item in items:
        if item not in out:
            out.append(item)
    return out


def _without_password(entry):
    return dict((key, value) for key, value in entry.items() if key != 'password')


def _identity(entry):
    return (entry.get('name'), entry.get('publisher'), entry.get('subscriber'))


def _hostvar(hostvars, host, name):
    """hostvars[host][name], or None when the host or the variable is not there."""
    if hostvars is None or host is None or host not in hostvars:
        return None
    values = hostvars[host]
    return values[name] if name in values else None


def topology_entries(topology, host=None, side='any', names=None):
    """The entries of host on side (all entries without host), without their passwords."""
    if side not in SIDES:
        raise AnsibleFilterError('topology_entries: side must be one of %s, got %r' % (', '.join(SIDES), side))
    entries = _entries(topology)
    if names is not None:
        entries = [e for e in entries if e.get('name') in names]
    if host is not None:
        sides = ('publisher', 'subscriber') if side == 'any' else (side,)
        entries = [e for s in sides for e in entries if e.get(s) == host]
    return [_without_password(e) for e in entries]


def topology_password(entry, topology):
    """The password of the topology entry with the same name, publisher and subscriber ('' if none)."""
    if not isinstance(entry, Mapping):
        return ''
    for candidate in _entries(topology):
        if _identity(candidate) == _identity(entry):
            return candidate.get('password') or ''
    return ''


def host_address(host, hostvars):
    """The address other servers reach host at: server_address, else ansible_host, else the inventory name."""
    return to_text(_hostvar(hostvars, host, 'server_address') or _hostvar(hostvars, host, 'ansible_host') or host)


def host_cidr(host, hostvars):
    """host_address as a single-host CIDR (/32, or /128 for IPv6) for pg_hba.conf."""
    address = host_address(host, hostvars)
    return address + ('/128' if ':' in address else '/32')


def topology_conninfo(entry, topology, hostvars, sslmode=None, connect_timeout=None, application_name=None,
                      reverse=False):
    """libpq options to reach the entry's publisher as its user (reverse: its subscriber)."""
    peer = entry['subscriber'] if reverse else entry['publisher']
    port = _hostvar(hostvars, peer, 'server_port')
    conninfo = {
        'host': host_address(peer, hostvars),
        'port': int(port) if port not in (None, '') else DEFAULT_PORT,
        'dbname': (entry.get('subscriber_database') or entry['database']) if reverse else entry['database'],
        'user': entry['user'],
        'password': topology_password(entry, topology),
        'sslmode': entry.get('sslmode') or sslmode or DEFAULT_SSLMODE,
    }
    if connect_timeout is not None:
        conninfo['connect_timeout'] = int(connect_timeout)
    if application_name:
        conninfo['application_name'] = application_name
    return conninfo


def _login(conn, key):
    """A libpq keyword of a conninfo dict, or of a login dict (server_connection: login_user, ...)."""
    aliases = {'host': ('host', 'login_unix_socket', 'login_host'), 'user': ('user', 'login_user'),
               'password': ('password', 'login_password'), 'port': ('port',), 'dbname': ('dbname', 'db'),
               'sslmode': ('sslmode',), 'connect_timeout': ('connect_timeout',)}
    for name in aliases[key]:
        if conn.get(name) not in (None, ''):
            return to_text(conn[name])
    return None


def _pgpass_field(text):
    return to_text(text).replace('\\', '\\\\').replace(':', '\\:')


def pg_major(version_num):
    """The major version of a server_version_num as PostgreSQL names it: 150004 -> '15'."""
    return _versions.major(version_num)


def pgpass_line(conn):
    """One line of a libpq password file that gives conn's password to conn's user on conn's host and port."""
    if not isinstance(conn, Mapping):
        raise AnsibleFilterError('pgpass_line: expects a dict (server_connection or a conninfo)')
    password = _login(conn, 'password')
    if not password:
        return ''
    host = _login(conn, 'host')
    if not host or host.startswith('/'):
        host = 'localhost'  # what libpq matches a Unix-domain socket connection with
    fields = (host, _login(conn, 'port') or '*', '*', _login(conn, 'user') or '*', password)
    return ':'.join(field if field == '*' else _pgpass_field(field) for field in fields) + '\n'


def libpq_environment(conn, dbname=None, application_name=None, passfile=None):
    """PG* environment variables for psql/pg_dump from conn, WITHOUT the password (PGPASSFILE names a file)."""
    if not isinstance(conn, Mapping):
        raise AnsibleFilterError('libpq_environment: expects a dict (server_connection or a conninfo)')
    env = {}
    for key, var in (('host', 'PGHOST'), ('port', 'PGPORT'), ('user', 'PGUSER'), ('dbname', 'PGDATABASE'),
                     ('sslmode', 'PGSSLMODE'), ('connect_timeout', 'PGCONNECT_TIMEOUT')):
        value = _login(conn, key)
        if value is not None:
            env[var] = value
    if dbname:
        env['PGDATABASE'] = to_text(dbname)
    if application_name:
        env['PGAPPNAME'] = to_text(application_name)
    if passfile:
        env['PGPASSFILE'] = to_text(passfile)
    return env


def _table(item):
    """One tables[] item -> {'table': as written, 'schema', 'name'} (+ columns/where of the dict form)."""
    if isinstance(item, Mapping):
        text = item.get('name')
        extra = dict((key, item[key]) for key in ('columns', 'where') if key in item)
    else:
        text, extra = item, {}
    schema, name = split_qualified(text)
    out = {'table': text, 'schema': schema, 'name': name, 'qualified': display_name((schema, name))}
    out.update(extra)
    return out


def topology_tables(entry):
    """The entry's tables, each with its schema (unqualified: public), parsed like the modules parse them."""
    try:
        return [_table(item) for item in entry.get('tables') or []]
    except IdentifierError as exc:
        raise AnsibleFilterError('logical_replication entry %s: %s' % (entry.get('name'), exc))


def topology_schemas(entry):
    """Every schema the entry publishes from: its schemas, its tables' schemas, grant_schemas with all_tables."""
    schemas = list(entry.get('schemas') or [])
    schemas += [table['schema'] for table in topology_tables(entry)]
    if entry.get('all_tables'):
        schemas += list(entry.get('grant_schemas') or ['public'])
    return _unique(schemas)


def publisher_grants(entries):
    """One replication_user call per (database, user): the union of what its entries publish."""
    out = []
    for database, user in _unique([(e.get('database'), e.get('user')) for e in entries]):
        same = [e for e in entries if (e.get('database'), e.get('user')) == (database, user)]
        tables, schemas = [], []
        for entry in same:
            tables += [table['table'] for table in topology_tables(entry)]
            schemas += list(entry.get('schemas') or [])
        if any(entry.get('all_tables') for entry in same):
            for entry in same:
                schemas += list(entry.get('grant_schemas') or ['public'])
        out.append({'database': database, 'name': user, 'tables': _unique(tables), 'schemas': _unique(schemas),
                    'entry': dict((key, same[0].get(key)) for key in ('name', 'publisher', 'subscriber'))})
    return out


def topology_hba(entries, hostvars, types=('host',), method=None, reverse=False):
    """pg_hba entries letting each entry's subscriber (reverse: publisher) in, as its user, to its database."""
    if isinstance(types, str):
        types = [types]
    out = []
    for entry in entries:
        peer = entry['publisher'] if reverse else entry['subscriber']
        database = (entry.get('subscriber_database') or entry['database']) if reverse else entry['database']
        for kind in types:
            line = {'type': kind, 'database': database, 'user': entry['user'], 'address': host_cidr(peer, hostvars)}
            if method:
                line['method'] = method
            out.append(line)
    return _unique(out)


def _is_ip(text):
    try:
        ipaddress.ip_address(to_text(text))
    except ValueError:
        return False
    return True


def _entry_problems(index, entry, hostvars):
    label = 'entry %d (%s)' % (index, entry.get('name') or 'no name')
    out = []
    for key in REQUIRED_KEYS:
        if not entry.get(key):
            out.append('%s: %s is missing' % (label, key))
    for key in STRING_KEYS:
        if entry.get(key) and not isinstance(entry[key], str):
            out.append('%s: %s must be a string' % (label, key))
    for key in ('publisher', 'subscriber'):
        if isinstance(entry.get(key), str) and entry[key] and hostvars is not None and entry[key] not in hostvars:
            out.append('%s: %s %s is not in the inventory' % (label, key, entry[key]))
    all_tables = bool(entry.get('all_tables'))
    kinds = len([k for k in (entry.get('tables') is not None, entry.get('schemas') is not None, all_tables) if k])
    if kinds == 0:
        out.append('%s: give tables, schemas or all_tables: true' % label)
    elif all_tables and kinds > 1:
        out.append('%s: all_tables cannot be combined with tables or schemas' % label)
    tables = entry.get('tables')
    if tables is not None and (isinstance(tables, (str, Mapping)) or not hasattr(tables, '__iter__')):
        out.append('%s: tables must be a list' % label)
    elif tables:
        for item in tables:
            try:
                _table(item)
            except IdentifierError as exc:
                out.append('%s: %s' % (label, exc))
    publisher, subscriber = entry.get('publisher'), entry.get('subscriber')
    if publisher and publisher == subscriber and (entry.get('subscriber_database') or entry.get('database')) == \
            entry.get('database'):
        out.append('%s: publisher and subscriber are the same database' % label)
    if isinstance(subscriber, str) and hostvars is not None and subscriber in hostvars:
        address = host_address(subscriber, hostvars)
        if not _is_ip(address):
            out.append('%s: the address of subscriber %s (%s) is not an IP address; set server_address (or '
                       'ansible_host) to its IP address in the inventory: the pg_hba entry needs one'
                       % (label, subscriber, address))
    return label, out


def topology_problems(topology, hostvars=None, host=None):
    """Every problem of the topology list, as readable sentences (empty: none)."""
    if topology is None:
        return ['logical_replication is not defined as a list (see the README)']
    if isinstance(topology, (str, bytes, Mapping)) or not hasattr(topology, '__iter__'):
        return ['logical_replication is not defined as a list (see the README)']
    out = []
    slots, users = {}, {}
    for index, entry in enumerate(topology, 1):
        if not isinstance(entry, Mapping):
            if host is None:
                out.append('entry %d: is not a dict (name, publisher, subscriber, ...)' % index)
            continue
        label, problems = _entry_problems(index, entry, hostvars)
        slot = (entry.get('publisher'), entry.get('slot_name') or entry.get('name'))
        if slot in slots:
            problems.append('%s: another entry of publisher %s uses the same name (the replication slot name); give '
                            'each subscriber its own name or slot_name' % (label, entry.get('publisher')))
        slots.setdefault(slot, label)
        user = (entry.get('publisher'), entry.get('database'), entry.get('user'))
        if user in users and users[user][1] != entry.get('password'):
            problems.append('%s: user %s on publisher %s, database %s, has another password in %s; the user has one '
                            'password, so give every entry of the same publisher, database and user the same one'
                            % (label, entry.get('user'), entry.get('publisher'), entry.get('database'), users[user][0]))
        users.setdefault(user, (label, entry.get('password')))
        if host is None or host in (entry.get('publisher'), entry.get('subscriber')):
            out += problems
    return out


def pg_supports(version_num, feature):
    """True when a server of server_version_num has the feature of the collection's version table."""
    if feature not in _versions.FEATURES:
        raise AnsibleFilterError('pg_supports: unknown feature %r (known: %s)'
                                 % (feature, ', '.join(sorted(_versions.FEATURES))))
    return _versions.supports(feature, version_num)


def pg_version_problem(version_num, feature=None):
    """'' when the server has the feature (no feature: is new enough for the collection), else why not."""
    try:
        if feature is None:
            _versions.check_server(version_num)
        else:
            pg_supports(version_num, feature)
            _versions.require(feature, version_num)
    except (_versions.UnsupportedFeature, _versions.UnsupportedServer) as exc:
        return to_text(exc)
    return ''


ORDERS = ('subscribers_first', 'publishers_first')


def topology_order(topology, database, order='subscribers_first'):
    """The hosts holding database as publisher or subscriber database, in the order a schema change takes.

    subscribers_first: every host after all the hosts that subscribe to it (leaf to root);
    publishers_first: every host after all the hosts it subscribes to (root to leaf). Ties by name.
    """
    if order not in ORDERS:
        raise AnsibleFilterError('topology_order: order must be one of %s, got %r' % (', '.join(ORDERS), order))
    hosts, edges = [], []
    for entry in _entries(topology):
        ends = [(entry.get('publisher'), entry.get('database')),
                (entry.get('subscriber'), entry.get('subscriber_database') or entry.get('database'))]
        held = [host for host, name in ends if host and name == database]
        hosts += held
        if len(held) == 2:
            edges.append(tuple(held))
    hosts = sorted(_unique(hosts))
    # Longest path from a root (publishers_first) or to a leaf (subscribers_first); a cycle has neither.
    if order == 'publishers_first':
        step = dict((host, [pub for pub, sub in edges if sub == host]) for host in hosts)
    else:
        step = dict((host, [sub for pub, sub in edges if pub == host]) for host in hosts)
    rank = {}
    for _round in range(len(hosts) + 1):
        for host in hosts:
            before = [rank.get(h) for h in step[host]]
            if None not in before:
                rank[host] = max(before) + 1 if before else 0
        if len(rank) == len(hosts):
            return sorted(hosts, key=lambda host: (rank[host], host))
    raise AnsibleFilterError('topology_order: hosts %s replicate database %s to each other in a cycle, so no order '
                             'puts every subscriber before (or after) its publisher; apply the change host by host '
                             '(module pgops.logical_replication.schema_change) in the order your change needs'
                             % (', '.join(h for h in hosts if h not in rank), database))


class FilterModule(object):
    """The topology filters of pgops.logical_replication."""

    def filters(self):
        return {
            'topology_entries': topology_entries,
            'topology_password': topology_password,
            'host_address': host_address,
            'host_cidr': host_cidr,
            'topology_conninfo': topology_conninfo,
            'topology_tables': topology_tables,
            'topology_schemas': topology_schemas,
            'publisher_grants': publisher_grants,
            'topology_hba': topology_hba,
            'topology_problems': topology_problems,
            'pg_supports': pg_supports,
            'pg_version_problem': pg_version_problem,
            'pg_major': pg_major,
            'pgpass_line': pgpass_line,
            'libpq_environment': libpq_environment,
            'topology_order': topology_order,
        }
