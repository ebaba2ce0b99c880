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

import ipaddress
import os
import re
import tempfile

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
_HOSTNAME = re.compile(r'^\.?[A-Za-z0-9_]([A-Za-z0-9_-]*)(\.[A-Za-z0-9_-]+)*\.?$')
_METHOD = re.compile(r'^[A-Za-z0-9_-]+$')
_OPTION_NAME = re.compile(r'^[A-Za-z_][A-Za-z0-9_]*$')


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
        while i < n and text[i].isspace():
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
            if char.isspace() or char in ',#':
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


def field_tokens(text, what):
    """One field given by the user (``db1,db2`` or ``"my db"``) as a tuple of (text, quoted)."""
    if not isinstance(text, str) or not text.strip():
        raise HbaError('%s must be a non-empty string' % what)
    if '\n' in text or '#' in text:
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
    if _HOSTNAME.match(text):
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
    if not _METHOD.match(method):
        raise HbaError('method %r is not an authentication method name' % method)
    options = []
    for name, value in sorted((entry.get('options') or {}).items()):
        if not _OPTION_NAME.match(str(name)):
            raise HbaError('option name %r is not valid' % name)
        value = _option_text(value)
        if '"' in value or '\n' in value:
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


def parse_file(text):
    """The file as a list of Line objects; joining their ``text`` gives the file back unchanged."""
    lines = []
    physical = text.splitlines(True)
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
        number += len(candidate.text.splitlines()) or 1
    return None


# -- the pg_hba manager ------------------------------------------------------------------------

RELOAD_WAIT_SECONDS = 5.0
# Authentication options that carry a secret: masked in queries, entries and diff.
SECRET_OPTIONS = ('ldapbindpasswd', 'radiussecrets')

# One statement: where the file is, whether PostgreSQL already reports errors in it, and the
# configuration load time (to see the reload happen).
READ_QUERY = """
SELECT current_setting('hba_file') AS hba_file, pg_conf_load_time() AS loaded,
       ARRAY(SELECT {where} || 'line ' || r.line_number || ': ' || r.error
             FROM pg_hba_file_rules r WHERE r.error IS NOT NULL ORDER BY {order}) AS errors
"""
ERRORS_QUERY = """
SELECT r.line_number, r.error, {file_name} AS file_name
FROM pg_hba_file_rules r WHERE r.error IS NOT NULL ORDER BY {order}
"""


class PgHba(Manager):
    def __init__(self, module, session, changes):
        super(PgHba, self).__init__(module, session, changes)
        self.has_file_name = session.supports('hba_rules_file_name')

    def query(self, template):
        return template.format(
            where="r.file_name || ' '" if self.has_file_name else "''",
            file_name='r.file_name' if self.has_file_name else 'NULL::text',
            order='r.rule_number NULLS LAST, r.line_number' if self.has_file_name else 'r.line_number')

    def run(self):
        wanted = []
        for number, item in enumerate(self.params['entries'], 1):
            with where('entries[%d]: ' % number, '. Nothing was changed.'):
                record = entry_record(item)
            address = address_text(item['address'], record.address) if record.address else None
            wanted.append((record, address))
            for name, value in record.options:
                if name.lower() in SECRET_OPTIONS:
                    self.module.no_log_values.add(value)   # masks the echoed module arguments too
                    self.session.add_secret(value)
        try:
            state = self.session.row(self.query(READ_QUERY))
        except self.session.InsufficientPrivilege:
            raise PgOpsError('Role %s cannot read pg_hba_file_rules, so a new pg_hba.conf could not be checked '
                             'before the reload. Connect as a superuser. Nothing was changed.'
                             % self.params['login_user'])
        path = state['hba_file']
        original = self.read_file(path)
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
        if not self.module.check_mode:
            result['backup_file'] = self.write_checked(path, original, new_text.encode('utf-8', 'surrogateescape'))
        self.changes.record('-- write %s' % path)
        self.changes.execute(_sql.stmt('SELECT pg_reload_conf()'))
        if not self.module.check_mode:
            self.wait_for_reload(state['loaded'])
        return result

    def read_file(self, path):
        try:
            with open(path, 'rb') as handle:
                return handle.read()
        except (IOError, OSError) as exc:
            raise PgOpsError('Cannot read %s (the server\'s hba_file): %s. The module must run on the database '
                             'host (use delegate_to) as a user that may read and write that file.' % (path, exc))

    def write(self, path, data):
        """Write data to path atomically, keeping the file's owner, group and mode."""
        handle, tmp = tempfile.mkstemp(prefix='.pg_hba.', dir=os.path.dirname(path))
        try:
            with os.fdopen(handle, 'wb') as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            self.module.atomic_move(tmp, path, unsafe_writes=False)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)

    def write_checked(self, path, original, data):
        """Back up, write, let PostgreSQL check the file on disk; put the original back on any error."""
        backup = self.module.backup_local(path)
        try:
            self.write(path, data)
        except Exception as exc:
            raise PgOpsError('Could not write %s: %s. The file was not changed (backup: %s).' % (path, exc, backup))
        try:
            errors = self.session.rows(self.query(ERRORS_QUERY))
        except BaseException:
            # The check itself failed (connection lost, timeout): the unchecked file must not stay.
            self.write(path, original)
            os.unlink(backup)
            raise
        if errors:
            self.write(path, original)
            os.unlink(backup)
            new_lines = data.decode('utf-8', 'surrogateescape').splitlines()
            details = []
            for err in errors:
                where = err['file_name'] or path
                shown = ''
                if where == path and err['line_number'] and err['line_number'] <= len(new_lines):
                    shown = ' (%s)' % new_lines[err['line_number'] - 1].strip()
                details.append('%s line %s%s: %s' % (where, err['line_number'], shown, err['error']))
            raise PgOpsError('PostgreSQL refused the new pg_hba.conf: %s. The original file was put back and the '
                             'configuration was not reloaded.' % '; '.join(details), errors=details)
        if not self.params['backup']:
            os.unlink(backup)
            return None
        return backup

    def wait_for_reload(self, before):
        if not _catalog.wait_for_reload(self.session, before, RELOAD_WAIT_SECONDS)['reloaded']:
            self.module.warn('The server did not report a configuration reload within %.0f s.' % RELOAD_WAIT_SECONDS)
