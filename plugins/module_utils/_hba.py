# -*- coding: utf-8 -*-
# Copyright: pgops.logical_replication contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""pg_hba.conf as data: parse lines, decide where an entry takes effect, plan the new text; and
the pg_hba manager that reads, writes, checks and reloads the file.

The functions are pure (no file or server access), so every placement rule is a unit-test table.
``PgHba`` (at the end) does the file and server work: back up, write atomically, let PostgreSQL
check the file through pg_hba_file_rules, put the original back on any error, reload.

PostgreSQL uses the FIRST line whose connection type, database, user and address match a
connection. An entry therefore takes effect only when no earlier line matches any of the
connections it is meant for. ``overlaps(a, b)`` answers "is there a connection both lines
match?"; where it cannot know (host names, ``samehost``/``samenet``, ``+group`` membership,
``@file`` lists, regular expressions, include directives) it answers yes, so an entry is
placed too early rather than never taking effect.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import errno
import fcntl
import hashlib
import ipaddress
import os
import re
import stat
import tempfile
import time
import unicodedata

from ansible_collections.pgops.logical_replication.plugins.module_utils import _catalog, _sql
from ansible_collections.pgops.logical_replication.plugins.module_utils._errors import PgOpsError, where
from ansible_collections.pgops.logical_replication.plugins.module_utils._changes import Manager

TYPES = ('local', 'host', 'hostssl', 'hostnossl', 'hostgssenc', 'hostnogssenc')
INCLUDES = ('include', 'include_if_exists', 'include_dir')
ADDRESS_KEYWORDS = ('all', 'samehost', 'samenet')
DATABASE_WILDCARDS = ('all', 'sameuser', 'samerole', 'samegroup')
DEFAULT_METHOD = 'scram-sha-256'

# The kinds of TCP connection each host* type accepts: SSL, GSSAPI-encrypted, neither.
_CONNECTION_KINDS = {
    'local': frozenset(['local']),
    'host': frozenset(['ssl', 'gss', 'plain']),
    'hostssl': frozenset(['ssl']),
    'hostnossl': frozenset(['gss', 'plain']),
    'hostgssenc': frozenset(['gss']),
    'hostnogssenc': frozenset(['ssl', 'plain']),
}
_HOSTNAME = re.compile(r'\.?[A-Za-z0-9_]([A-Za-z0-9_-]*)(\.[A-Za-z0-9_-]+)*\.?')
_METHOD = re.compile(r'[A-Za-z0-9_-]+')
_OPTION_NAME = re.compile(r'[A-Za-z_][A-Za-z0-9_]*')
# What PostgreSQL's pg_hba reader takes for white space between fields (hba.c pg_isblank); every
# other character, Unicode spaces included, is part of a field.
_BLANKS = ' \t\r'


class HbaError(PgOpsError, ValueError):
    """An entry (or a line) that is not valid pg_hba syntax."""


# -- tokens ------------------------------------------------------------------------------------
def tokenize(text):
    """The fields of one logical line: a list of fields, each a list of (text, quoted) tokens.

    As PostgreSQL reads it: fields are separated by white space, a comma joins tokens into one
    field (white space may follow the comma), double quotes quote, ``#`` starts a comment.
    """
    fields, current = [], []
    i, n = 0, len(text)
    while i < n:
        while i < n and text[i] in _BLANKS:
            i += 1
        if i >= n or text[i] == '#':
            break
        buf, quoted, in_quote = [], False, False
        while i < n:
            char = text[i]
            if in_quote:
                if char == '"':
                    in_quote = False
                else:
                    buf.append(char)
                i += 1
                continue
            if char == '"':
                in_quote = quoted = True
                i += 1
                continue
            if char in _BLANKS or char in ',#':
                break
            buf.append(char)
            i += 1
        if in_quote:
            raise HbaError('unterminated double quote in %r' % text.strip())
        current.append((''.join(buf), quoted))
        if i < n and text[i] == ',':
            i += 1
            continue
        fields.append(current)
        current = []
    if current:
        fields.append(current)
    return fields


def refuse_control(text, what, show=True):
    """Refuse a control character (U+0000-U+001F, U+007F-U+009F: tab, CR, LF, VT, FF, the file,
    group and record separators, NEL) or a Unicode line or paragraph separator (U+2028, U+2029).

    PostgreSQL ends a pg_hba.conf line at LF only and takes CR and tab for blanks, while Python
    (and editors) split lines at CR, VT, FF, U+001C-U+001E, U+0085, U+2028 and U+2029: a field
    holding one is read differently by each, so the entry would never be found again (added on
    every run) or would mean something else to the server.
    """
    for char in text:
        if unicodedata.category(char) in ('Cc', 'Zl', 'Zp'):
            raise HbaError('%s %scontains the control or line separator character U+%04X; pg_hba.conf fields '
                           'may not contain control characters or line separators (PostgreSQL and this module '
                           'would split the line differently). Remove it'
                           % (what, '%r ' % text if show else '', ord(char)))


def field_tokens(text, what):
    """One field given by the user (``db1,db2`` or ``"my db"``) as a tuple of (text, quoted)."""
    if not isinstance(text, str) or not text.strip():
        raise HbaError('%s must be a non-empty string' % what)
    refuse_control(text, what)
    if '#' in text:
        raise HbaError('%s %r may not contain a newline or #' % (what, text))
    fields = tokenize(text)
    if len(fields) != 1 or any(t == '' and not q for t, q in fields[0]):
        raise HbaError('%s %r must be one pg_hba field: names separated by commas, a name with spaces '
                       'in double quotes' % (what, text))
    return tuple(fields[0])


def _token_key(token):
    text, quoted = token
    return ('"%s"' % text) if quoted else text


def _render_tokens(tokens):
    return ','.join(_token_key(t) for t in tokens)


# -- addresses ---------------------------------------------------------------------------------
def _prefix_from_mask(mask):
    packed = ipaddress.ip_address(mask).packed
    bits = ''.join(format(b, '08b') for b in packed)
    if '01' in bits:
        raise HbaError('netmask %s is not contiguous' % mask)
    return bits.count('1')


def _looks_numeric(text):
    return ':' in text or re.match(r'^[0-9.]+$', text) is not None


def parse_address(text, mask=None, bare_ip=False):
    """('kw', word) | ('net', ip_network) | ('name', host name) for an address field.

    ``bare_ip``: an IP without a mask is one host (/32 or /128), as the module accepts it.
    """
    if not isinstance(text, str) or not text:
        raise HbaError('address must be a non-empty string')
    refuse_control(text, 'address')
    low = text.lower()
    if low in ADDRESS_KEYWORDS and mask is None:
        return ('kw', low)
    if '/' in text or _looks_numeric(text):
        try:
            if mask is not None:
                return ('net', ipaddress.ip_network('%s/%d' % (text, _prefix_from_mask(mask)), strict=False))
            if '/' in text:
                return ('net', ipaddress.ip_network(text, strict=False))
            if bare_ip:
                return ('net', ipaddress.ip_network(text))
        except ValueError:
            pass
        raise HbaError('address %r is not an IP address in CIDR notation (for example 192.0.2.10/32 or '
                       '2001:db8::/64)' % text)
    if _HOSTNAME.fullmatch(text):
        return ('name', low)
    raise HbaError('address %r is neither an IP address in CIDR notation, a host name, nor one of %s'
                   % (text, ', '.join(ADDRESS_KEYWORDS)))


def address_key(address):
    if address is None:
        return None
    kind, value = address
    return '%s:%s' % (kind, value)


# -- records -----------------------------------------------------------------------------------
class Record(object):
    """One pg_hba rule."""

    def __init__(self, type_, database, user, address, method, options):
        self.type = type_
        self.database = tuple(database)
        self.user = tuple(user)
        self.address = address
        self.method = method
        self.options = tuple(options)

    @property
    def key(self):
        """What identifies a rule: type, database, user and address (not method or options)."""
        return (self.type, tuple(sorted(_token_key(t) for t in self.database)),
                tuple(sorted(_token_key(t) for t in self.user)), address_key(self.address))

    def same_rule(self, other):
        return self.key == other.key and self.method == other.method and \
            sorted(self.options) == sorted(other.options)

    def __repr__(self):
        return 'Record(%r)' % (self.key + (self.method, self.options),)


def parse_record(fields):
    """A Record from the fields of a line, or None when the line is not a rule we understand."""
    if not fields or len(fields[0]) != 1:
        return None
    type_ = fields[0][0][0]
    if type_ not in TYPES:
        return None
    try:
        if type_ == 'local':
            if len(fields) < 4:
                return None
            address, rest = None, fields[3:]
        else:
            if len(fields) < 5:
                return None
            text = fields[3][0][0]
            if len(fields) >= 6 and '/' not in text and _looks_numeric(text) and _looks_numeric(fields[4][0][0]):
                address, rest = parse_address(text, mask=fields[4][0][0]), fields[5:]
            else:
                address, rest = parse_address(text), fields[4:]
    except HbaError:
        return None
    method = rest[0][0][0]
    options = []
    for field in rest[1:]:
        text = ','.join(t for t, _q in field)
        name, _sep, value = text.partition('=')
        options.append((name, value))
    return Record(type_, fields[1], fields[2], address, method, options)


def entry_record(entry):
    """A Record from one item of the module's ``entries`` (validated; raises HbaError)."""
    type_ = entry.get('type') or 'host'
    if type_ not in TYPES:
        raise HbaError('type %r is not one of %s' % (type_, ', '.join(TYPES)))
    database = field_tokens(entry.get('database'), 'database')
    user = field_tokens(entry.get('user'), 'user')
    address = entry.get('address')
    if type_ == 'local':
        if address:
            raise HbaError('a local entry has no address (it is for Unix-domain socket connections); '
                           'remove address or use type host')
        parsed = None
    else:
        if not address:
            raise HbaError('a %s entry needs an address (CIDR such as 192.0.2.10/32, or a host name)' % type_)
        parsed = parse_address(address, bare_ip=True)
    method = entry.get('method') or DEFAULT_METHOD
    refuse_control(method, 'method')
    if not _METHOD.fullmatch(method):
        raise HbaError('method %r is not an authentication method name' % method)
    options = []
    for name, value in sorted((entry.get('options') or {}).items()):
        refuse_control(str(name), 'option name')
        if not _OPTION_NAME.fullmatch(str(name)):
            raise HbaError('option name %r is not valid' % name)
        value = _option_text(value)
        refuse_control(value, 'option %s' % name, show=False)   # the value may be a secret
        if '"' in value:
            raise HbaError('option %s may not contain a double quote or a newline' % name)
        options.append((str(name), value))
    return Record(type_, database, user, parsed, method, options)


def _option_text(value):
    if isinstance(value, bool):
        return '1' if value else '0'
    return str(value)


def address_text(entry_address, parsed):
    """How an entry's address is written: as given, a bare IP with /32 or /128."""
    if parsed and parsed[0] == 'net' and '/' not in entry_address:
        return '%s/%d' % (entry_address, parsed[1].prefixlen)
    return entry_address


def render(record, address):
    """One line of pg_hba.conf (with newline), aligned like the file initdb writes."""
    options = ' '.join('%s=%s' % (k, '"%s"' % v if (not v or re.search(r'[\s,#]', v)) else v)
                       for k, v in record.options)
    cols = [record.type.ljust(7), _render_tokens(record.database).ljust(15), _render_tokens(record.user).ljust(15),
            (address or '').ljust(23), record.method]
    line = ' '.join(cols)
    if options:
        line += ' ' + options
    return line.rstrip() + '\n'


# -- the file ----------------------------------------------------------------------------------
class Line(object):
    """A logical line of the file: its text exactly as read (continuations included)."""

    def __init__(self, text, record=None, kind='other'):
        self.text = text
        self.record = record
        self.kind = kind


def physical_lines(text):
    """The lines of a file as PostgreSQL reads them: ended by LF only (each with its LF).

    Not ``str.splitlines``: that also splits at CR, VT, FF, U+001C-U+001E, U+0085, U+2028 and
    U+2029, which PostgreSQL keeps inside a line.
    """
    parts = text.split('\n')
    lines = [part + '\n' for part in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


def parse_file(text):
    """The file as a list of Line objects; joining their ``text`` gives the file back unchanged."""
    lines = []
    physical = physical_lines(text)
    i = 0
    while i < len(physical):
        raw = physical[i]
        logical = raw.rstrip('\r\n')
        i += 1
        while logical.endswith('\\') and i < len(physical):
            raw += physical[i]
            logical = logical[:-1] + ' ' + physical[i].rstrip('\r\n')
            i += 1
        try:
            fields = tokenize(logical)
        except HbaError:
            lines.append(Line(raw))
            continue
        if not fields:
            lines.append(Line(raw, kind='blank'))
        elif len(fields[0]) == 1 and fields[0][0][0] in INCLUDES and not fields[0][0][1]:
            lines.append(Line(raw, kind='include'))
        else:
            record = parse_record(fields)
            lines.append(Line(raw, record, 'record' if record else 'other'))
    return lines


# -- matching ----------------------------------------------------------------------------------
def _classify_databases(tokens):
    physical, wildcard, names = False, False, set()
    for text, quoted in tokens:
        if quoted:
            names.add(text)
        elif text == 'replication':
            physical = True
        elif text in DATABASE_WILDCARDS or text.startswith('/'):
            wildcard = True
        elif text.startswith('@'):
            physical = wildcard = True
        else:
            names.add(text)
    return physical, wildcard, names


def _classify_users(tokens):
    wildcard, names = False, set()
    for text, quoted in tokens:
        if not quoted and (text == 'all' or text[:1] in ('+', '@', '/')):
            wildcard = True
        else:
            names.add(text)
    return wildcard, names


def _sets_overlap(a_wild, a_names, b_wild, b_names):
    if a_wild and (b_wild or b_names):
        return True
    if b_wild and a_names:
        return True
    return bool(a_names & b_names)


def databases_overlap(a, b):
    a_phys, a_wild, a_names = _classify_databases(a)
    b_phys, b_wild, b_names = _classify_databases(b)
    return (a_phys and b_phys) or _sets_overlap(a_wild, a_names, b_wild, b_names)


def users_overlap(a, b):
    a_wild, a_names = _classify_users(a)
    b_wild, b_names = _classify_users(b)
    return _sets_overlap(a_wild, a_names, b_wild, b_names)


def addresses_overlap(a, b):
    if a is None or b is None:
        return a is None and b is None
    if a[0] != 'net' or b[0] != 'net':
        return True  # all, samehost, samenet, host names: possibly the same clients
    return a[1].version == b[1].version and a[1].overlaps(b[1])


def overlaps(a, b):
    """True when some connection matches both records (or when that cannot be ruled out)."""
    return bool(_CONNECTION_KINDS[a.type] & _CONNECTION_KINDS[b.type]) and \
        databases_overlap(a.database, b.database) and users_overlap(a.user, b.user) and \
        addresses_overlap(a.address, b.address)


# -- planning ----------------------------------------------------------------------------------
def plan(lines, wanted, state):
    """The new list of lines and the changes, for ``wanted`` = [(Record, address text)].

    present: an entry whose rule (type, database, user, address) is in the file is updated in
    place (method, options) when nothing earlier matches its connections first; otherwise it is
    moved (or added) right before the first earlier line that would, or an include directive
    (its lines are unknown). Entries earlier in ``wanted`` win over later ones where they
    overlap, so the list order is the order of precedence. Nothing overlapping: appended.
    absent: every line with the rule is removed.
    Returns (lines, changes) where changes is a list of (action, Record, Line).
    """
    lines = list(lines)
    keys = [record.key for record, _address in wanted]
    for key in keys:
        if keys.count(key) > 1:
            raise HbaError('two entries have the same type, database, user and address (%s); give each once'
                           % ' '.join(str(k) for k in key if k))
    changes = []
    if state == 'absent':
        for record, _address in wanted:
            for line in [ln for ln in lines if ln.record is not None and ln.record.key == record.key]:
                lines.remove(line)
                changes.append(('removed', line.record, line))
        return lines, changes
    for index in reversed(range(len(wanted))):
        record, address = wanted[index]
        earlier = set(keys[:index])
        found = next((i for i, ln in enumerate(lines) if ln.record is not None and ln.record.key == record.key),
                     None)
        limit = len(lines) if found is None else found
        first = next((i for i in range(limit) if lines[i].kind == 'include' or (
            lines[i].record is not None and lines[i].record.key not in earlier and overlaps(lines[i].record, record))),
            None)
        new_line = Line(render(record, address), record, 'record')
        if found is None:
            if first is None:
                if lines and not lines[-1].text.endswith('\n'):
                    lines[-1] = Line(lines[-1].text + '\n', lines[-1].record, lines[-1].kind)
                lines.append(new_line)
            else:
                lines.insert(first, new_line)
            changes.append(('added', record, new_line))
        elif first is not None:
            del lines[found]
            lines.insert(first, new_line)
            changes.append(('moved', record, new_line))
        elif not lines[found].record.same_rule(record):
            lines[found] = new_line
            changes.append(('updated', record, new_line))
    changes.reverse()
    return lines, changes


def text_of(lines):
    return ''.join(line.text for line in lines)


def line_number(lines, line):
    """1-based number of the first physical line of ``line`` in the file made of ``lines``."""
    number = 1
    for candidate in lines:
        if candidate is line:
            return number
        number += len(physical_lines(candidate.text)) or 1
    return None


# -- the pg_hba manager ------------------------------------------------------------------------

RELOAD_WAIT_SECONDS = 5.0
# How long a run waits for another run (pg_hba on the same directory) to finish.
LOCK_WAIT_SECONDS = 60.0
# Temporary files (the new text before the rename, a backup copy being made) start with
# PostgreSQL's temporary file prefix: pg_basebackup skips such files, so one left behind by a
# killed run never breaks a base backup. The next run that writes removes it.
TEMP_PREFIX = 'pgsql_tmp.'
# Authentication options that carry a secret: masked in queries, entries and diff.
SECRET_OPTIONS = ('ldapbindpasswd', 'radiussecrets')

# One statement: where the file is, whether PostgreSQL already reports errors in it, and the
# digest of the file as the server reads it (to prove the module reads the same file).
READ_QUERY = """
SELECT current_setting('hba_file') AS hba_file,
       encode(sha256(pg_read_binary_file(current_setting('hba_file'))), 'hex') AS digest,
       ARRAY(SELECT {where} || 'line ' || r.line_number || ': ' || r.error
             FROM pg_hba_file_rules r WHERE r.error IS NOT NULL ORDER BY {order}) AS errors
"""
# After writing, before the reload: the file as the server reads it (its digest), PostgreSQL's
# errors in it, the rules it reads at the lines of the entries written, the configuration load
# time (to see the reload happen).
CHECK_QUERY = """
SELECT encode(sha256(pg_read_binary_file(current_setting('hba_file'))), 'hex') AS digest,
       pg_conf_load_time() AS loaded,
       (SELECT coalesce(json_agg(json_build_object('line_number', r.line_number, 'error', r.error,
                                                   'file_name', {file_name}) ORDER BY {order}), '[]')
        FROM pg_hba_file_rules r WHERE r.error IS NOT NULL) AS errors,
       (SELECT coalesce(json_agg(json_build_object('line_number', r.line_number, 'type', r.type,
                                                   'auth_method', r.auth_method)), '[]')
        FROM pg_hba_file_rules r
        WHERE r.error IS NULL AND r.line_number = ANY(%(lines)s::int[]){main_file}) AS rules
"""


def wanted_entries(entries):
    """[(Record, address text)] of the module's ``entries``, checked before anything connects."""
    wanted = []
    for number, item in enumerate(entries, 1):
        with where('entries[%d]: ' % number, '. Nothing was changed.'):
            record = entry_record(item)
        wanted.append((record, address_text(item['address'], record.address) if record.address else None))
    return wanted


def digest(data):
    return hashlib.sha256(data).hexdigest()


def locked(path, seconds=None):
    """Hold an exclusive flock on the directory of ``path`` for the whole read-check-write-reload.

    The directory, not the file: the file is replaced by a rename, so a lock on it would be
    on an inode that is gone once the first writer renames. Nothing is created, so a run as
    root and a run as postgres exclude each other alike and base backups see no lock file.
    """
    seconds = LOCK_WAIT_SECONDS if seconds is None else seconds
    directory = os.path.dirname(path) or '.'
    try:
        handle = os.open(directory, os.O_RDONLY)
    except OSError as exc:
        raise PgOpsError('Cannot open %s (the directory of the server\'s hba_file) to lock it: %s. The module must '
                         'run on the database host as a user that may read and write that directory (use '
                         'delegate_to and become). Nothing was changed.' % (directory, exc.strerror))
    deadline = time.time() + seconds
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.EACCES):
                # a file system without flock on directories (some network file systems): no lock
                os.close(handle)
                return _Unlock(None, 'Could not lock %s (%s): this run was not serialized with other pg_hba runs on '
                                     'that directory.' % (directory, exc.strerror))
            if time.time() > deadline:
                os.close(handle)
                raise PgOpsError('Another process has held the lock on %s (a flock, taken by every pg_hba run on '
                                 'that directory) for more than %.0f s. Let it finish (lslocks shows the holder) '
                                 'and run again. Nothing was changed.' % (directory, seconds))
            time.sleep(0.05)
    return _Unlock(handle)


class PgHba(Manager):
    def __init__(self, module, session, changes):
        super(PgHba, self).__init__(module, session, changes)
        self.has_file_name = session.supports('hba_rules_file_name')
        self.serialized = False

    def query(self, template):
        return template.format(
            where="r.file_name || ' '" if self.has_file_name else "''",
            file_name='r.file_name' if self.has_file_name else 'NULL::text',
            main_file=" AND r.file_name = current_setting('hba_file')" if self.has_file_name else '',
            order='r.rule_number NULLS LAST, r.line_number' if self.has_file_name else 'r.line_number')

    def run(self, wanted):
        for record, _address in wanted:
            for name, value in record.options:
                if name.lower() in SECRET_OPTIONS:
                    self.module.no_log_values.add(value)   # masks the echoed module arguments too
                    self.session.add_secret(value)
        state = self.read_state()
        path = state['hba_file']
        with locked(path) as lock:
            if lock.warning:
                self.module.warn(lock.warning)
            self.serialized = lock.handle is not None
            # Read under the lock: another run may have written the file since the query.
            original = self.read_file(path)
            if digest(original) != state['digest']:
                state = self.read_state()   # changed between the query and the lock? ask again
                if digest(original) != state['digest']:
                    raise PgOpsError(self.not_the_servers_file(path) + ' Nothing was changed.')
            return self.change(path, original, wanted, state)

    def read_state(self):
        try:
            return self.session.row(self.query(READ_QUERY))
        except self.session.InsufficientPrivilege:
            raise PgOpsError('Role %s cannot read pg_hba_file_rules and the server\'s pg_hba.conf, so a new file '
                             'could not be checked before the reload. Connect as a superuser. Nothing was changed.'
                             % self.params['login_user'])

    def not_the_servers_file(self, path):
        return ('%s on this host is not the file the server reads: the server reads other contents at that path. '
                'The module is running on another host than the server (check the inventory host, or use '
                'delegate_to the database host), or the server sees another file there (a container, another '
                'mount).' % path)

    def change(self, path, original, wanted, state):
        text = original.decode('utf-8', 'surrogateescape')
        lines = parse_file(text)
        with where('', '. Nothing was changed.'):
            new_lines, done = plan(lines, wanted, self.params['state'])
        new_text = text_of(new_lines)
        entries = [dict(action=action, line=line_number(new_lines if action != 'removed' else lines, line),
                        text=self.session.mask(line.text.rstrip('\r\n'))) for action, _record, line in done]
        result = dict(hba_file=path, backup_file=None, entries=entries)
        if new_text == text:
            return result
        if state['errors']:
            raise PgOpsError('PostgreSQL already reports errors in its pg_hba configuration: %s. Fix them first; '
                             'nothing was changed.' % '; '.join(state['errors']))
        self.changes.set_diff(self.session.mask(text), self.session.mask(new_text))
        loaded = None
        if not self.module.check_mode:
            written = [(record, line_number(new_lines, line)) for action, record, line in done if action != 'removed']
            result['backup_file'], loaded = self.write_checked(
                path, original, new_text.encode('utf-8', 'surrogateescape'), written)
        self.changes.record('-- write %s' % path)
        self.changes.execute(_sql.stmt('SELECT pg_reload_conf()'))
        if not self.module.check_mode:
            self.wait_for_reload(loaded)
        return result

    # -- files -------------------------------------------------------------------------------
    def read_file(self, path):
        try:
            with open(path, 'rb') as handle:
                return handle.read()
        except (IOError, OSError) as exc:
            raise PgOpsError('Cannot read %s (the server\'s hba_file): %s. The module must run on the database '
                             'host (use delegate_to) as a user that may read and write that file.' % (path, exc))

    def replace(self, target, data, like):
        """Write ``data`` to ``target`` atomically: a temporary file in the same directory (named so
        that pg_basebackup skips it, with the owner and mode of ``like``, a stat result), then a rename."""
        directory = os.path.dirname(target) or '.'
        try:
            handle, tmp = tempfile.mkstemp(prefix='%s%s.' % (TEMP_PREFIX, os.path.basename(target)), dir=directory)
        except OSError as exc:
            raise PgOpsError('cannot create a file in %s (%s). The module writes the new file next to the old one and '
                             'renames it over it, so it needs write access to that directory: run it as the owner '
                             'of the directory or as root (become: true, with become_user if needed).'
                             % (directory, exc.strerror))
        try:
            try:
                if (like.st_uid, like.st_gid) != (os.geteuid(), os.getegid()):
                    os.fchown(handle, like.st_uid, like.st_gid)
            except OSError:
                pass   # not root: the file is the running user's, as the directory allows
            os.fchmod(handle, stat.S_IMODE(like.st_mode))
            with os.fdopen(handle, 'wb') as out:
                handle = None
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            if self.module.selinux_enabled():
                self.module.set_context_if_different(tmp, self.module.selinux_context(target), False)
            os.rename(tmp, target)
            tmp = None
            self.sync_directory(directory)
        finally:
            if handle is not None:
                os.close(handle)
            if tmp is not None and os.path.exists(tmp):
                os.unlink(tmp)

    @staticmethod
    def sync_directory(directory):
        try:
            handle = os.open(directory, os.O_RDONLY)
        except OSError:
            return
        try:
            os.fsync(handle)
        except OSError:
            pass
        finally:
            os.close(handle)

    def remove_stale_temporaries(self, path):
        """Temporary files of killed runs: none of a live run exists while this run holds the lock."""
        directory, name = os.path.split(path)
        prefix = '%s%s.' % (TEMP_PREFIX, name)
        for entry in os.listdir(directory or '.'):
            if entry.startswith(prefix):
                try:
                    os.unlink(os.path.join(directory, entry))
                except OSError:
                    pass

    def write_checked(self, path, original, data, written):
        """Write, let PostgreSQL check the file it reads; put the original back on any error.

        Returns (backup file or None, the configuration load time before the reload)."""
        like = os.stat(path)
        if self.serialized:   # without the lock a temporary file may be another live run's
            self.remove_stale_temporaries(path)
        backup = None
        if self.params['backup']:
            backup = '%s.%d.%s~' % (path, os.getpid(), time.strftime('%Y-%m-%d@%H:%M:%S'))
        for target, text in ((backup, original), (path, data)):
            if target is None:
                continue
            try:
                self.replace(target, text, like)
            except (PgOpsError, IOError, OSError) as exc:
                if target == path:
                    self.remove(backup)
                raise PgOpsError('Could not write %s: %s Nothing was changed.'
                                 % (target, exc if isinstance(exc, PgOpsError) else '%s.' % exc))
        try:
            check = self.session.row(self.query(CHECK_QUERY), {'lines': [number for _r, number in written]})
        except BaseException:
            # The check itself failed (connection lost, timeout): the unchecked file must not stay.
            self.put_back(path, original, like, backup)
            raise
        if check['errors']:
            self.put_back(path, original, like, backup)
            new_lines = physical_lines(data.decode('utf-8', 'surrogateescape'))
            details = []
            for err in check['errors']:
                where = err['file_name'] or path
                shown = ''
                if where == path and err['line_number'] and err['line_number'] <= len(new_lines):
                    shown = ' (%s)' % new_lines[err['line_number'] - 1].strip()
                details.append('%s line %s%s: %s' % (where, err['line_number'], shown, err['error']))
            raise PgOpsError('PostgreSQL refused the new pg_hba.conf: %s. The original file was put back and the '
                             'configuration was not reloaded.' % '; '.join(details), errors=details)
        if check['digest'] != digest(data):
            self.put_back(path, original, like, backup)
            raise PgOpsError('After writing, %s The file written was put back and the configuration was not '
                             'reloaded.' % self.not_the_servers_file(path))
        seen = dict((rule['line_number'], rule) for rule in check['rules'])
        missing = ['line %d (%s %s)' % (number, record.type, record.method) for record, number in written
                   if (seen.get(number) or {}).get('type') != record.type
                   or seen[number].get('auth_method') != record.method]
        if missing:
            self.put_back(path, original, like, backup)
            raise PgOpsError('PostgreSQL\'s pg_hba_file_rules does not show the entries written to %s at %s. The '
                             'original file was put back and the configuration was not reloaded.'
                             % (path, ', '.join(missing)))
        return backup, check['loaded']

    def put_back(self, path, original, like, backup):
        try:
            self.replace(path, original, like)
        except (PgOpsError, IOError, OSError) as exc:
            raise PgOpsError('Could not put the original %s back after a failed check: %s The unchecked new file '
                             'is in place and was not reloaded; restore %s by hand before the next reload.'
                             % (path, exc, backup or 'it (the diff shows the original text)'))
        self.remove(backup)

    @staticmethod
    def remove(path):
        if path and os.path.exists(path):
            os.unlink(path)

    def wait_for_reload(self, before):
        if not _catalog.wait_for_reload(self.session, before, RELOAD_WAIT_SECONDS)['reloaded']:
            self.module.warn('The server did not report a configuration reload within %.0f s.' % RELOAD_WAIT_SECONDS)


class _Unlock(object):
    """The lock taken by PgHba.locked, released (its descriptor closed) at the end of the with block."""

    def __init__(self, handle, warning=None):
        self.handle = handle
        self.warning = warning

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        if self.handle is not None:
            os.close(self.handle)
        return False
