#!/usr/bin/env python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The whole comparison of issue 13 / DESIGN section 5 in one command: this collection against the same
wiring written with community.postgresql (bench/baseline/wire.yml), side by side on throwaway PostgreSQL 15
servers, and a dated results file bench/results/<UTC date>.md (appended to when it exists).

    .venv/bin/python bench/compare.py                          # everything, sizes 10,100,500, 2 rounds
    .venv/bin/python bench/compare.py --only rerun --sizes 10 --rounds 1 --out /tmp/quick.md
    .venv/bin/python bench/compare.py --only copy --rows 200000

Parts (--only, comma separated; default all):
  cold        setup.yml vs wire.yml on fresh pairs (wal_level = replica, N tables seeded on both sides,
              100 rows each on the publisher): seconds, changed, which servers restarted;
  rerun       the idempotent re-run right after each cold run: seconds, changed;
  sync        from the cold runs: the playbook's sync phase (subscription task start -> end of the run)
              against the server's own copy time (subscriber log: apply worker start -> last table
              synchronization worker finished);
  statements  from the re-runs (log_statement = all on every bench server): statements and sessions per
              application_name, per module run of ours;
  copy        --rows rows over 4 tables: subscription start -> all tables ready (subscriber log), ours
              and the baseline, against `pg_dump --data-only | psql` (PostgreSQL 15 binaries, as postgres);
  switchover  switchover.yml under a writer of >= 200 commits/s: write-unavailable window (first refused
              write on the old primary -> first write on the new one, which the writer sends once the
              subscription is gone there), rows lost, the playbook's seconds.
The order of the two wirings alternates between rounds. Not part of `make test`. Needs what
bench/setup_rerun.py needs (community.postgresql: .venv-molecule or /tmp/bench-venv, or
--community-collections).
"""

import argparse
import datetime
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import OrderedDict

BENCH = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(BENCH)
sys.path.insert(0, BENCH)
sys.path.insert(0, os.path.join(REPO, 'tests', 'integration'))

from pgharness import PgServer, SUPERUSER_PASSWORD, as_postgres  # noqa: E402
from setup_rerun import Runner, community_collections  # noqa: E402

MAJOR = '15'
PASSWORD = 'bench-logic-pw'
PARTS = ('cold', 'rerun', 'sync', 'statements', 'copy', 'switchover')
LOG_CONF = {'log_statement': "'all'", 'log_min_messages': 'info'}
TS = r'^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+)'


def log(message):
    print('[%s] %s' % (time.strftime('%H:%M:%S'), message), file=sys.stderr, flush=True)


def uptime():
    return '%.2f %.2f %.2f' % os.getloadavg()


def cpu_model():
    try:
        with open('/proc/cpuinfo') as handle:
            for line in handle:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or 'unknown'


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def fmt(value, digits=2):
    return '-' if value is None else ('%.*f' % (digits, value))


def log_times(server, pattern, since=0):
    """Timestamps (seconds, the log's own clock: only differences are used) of the log lines matching pattern."""
    out = []
    for line in server.log_text(since).splitlines():
        stamp = re.match(TS, line)
        if stamp and re.search(pattern, line):
            out.append(datetime.datetime.strptime(stamp.group(1), '%Y-%m-%d %H:%M:%S.%f').timestamp())
    return out


def server_copy(sub, name, since=0):
    """(apply worker start, last table sync finished, tables finished) of subscription `name` from the log."""
    started = log_times(sub, r'apply worker for subscription "%s" has started' % re.escape(name), since)
    finished = log_times(sub, r'table synchronization worker for subscription "%s", table ".*" has finished'
                         % re.escape(name), since)
    if not started or not finished:
        return None, None, len(finished)
    return started[0], max(finished), len(finished)


class Bench(object):
    def __init__(self, args):
        self.args = args
        self.root = tempfile.mkdtemp(prefix='pgops-compare-')
        os.chmod(self.root, 0o755)
        self.runner = Runner(self.root, community_collections(args.community_collections))
        self.servers = []
        self.sections = []
        self.failures = []

    # -- servers and inventories -----------------------------------------------------------------
    def server(self, name, conf=None):
        settings = dict(LOG_CONF)
        settings.update(conf or {})
        made = PgServer(MAJOR, self.root, name=name, conf=settings)
        self.servers.append(made)
        return made

    def drop(self, *servers):
        for made in servers:
            made.destroy()
            self.servers.remove(made)

    @staticmethod
    def host_vars(server):
        return dict(server_port=server.port, server_data_directory=server.data, server_bin_dir=server.bin,
                    server_pg_ctl_log_file=server.logfile)

    def inventory(self, kind, pub, sub, tables, extra=None):
        variables = {'ansible_connection': 'local', 'ansible_python_interpreter': sys.executable,
                     'ansible_become_method': 'su', 'server_login_password': SUPERUSER_PASSWORD}
        if kind == 'ours':
            variables.update({
                'server_become': False, 'server_login_host': '127.0.0.1', 'server_address': '127.0.0.1',
                'subscriber_sync_report_seconds': 5,
                'logical_replication': [{'name': 'zoo', 'publisher': 'rhino', 'subscriber': 'hippo',
                                         'database': 'zoo', 'tables': tables, 'user': 'logic',
                                         'password': PASSWORD}]})
            inv = {'all': {'hosts': {'rhino': self.host_vars(pub), 'hippo': self.host_vars(sub)},
                           'vars': variables}}
        else:
            variables.update({'bench_db': 'zoo', 'bench_tables': tables, 'bench_name': 'zoo',
                              'bench_user': 'logic', 'bench_password': PASSWORD, 'bench_make_table': False})
            inv = {'all': {'vars': variables, 'children': {
                'publisher': {'hosts': {'rhino_b': self.host_vars(pub)}},
                'subscriber': {'hosts': {'hippo_b': self.host_vars(sub)}}}}}
        inv['all']['vars'].update(extra or {})
        path = os.path.join(self.root, 'inventory-%s-%d.json' % (kind, time.time_ns()))
        with open(path, 'w') as handle:
            json.dump(inv, handle)
        return path

    @staticmethod
    def playbook(kind, name='setup.yml'):
        return os.path.join(REPO, 'playbooks', name) if kind == 'ours' else os.path.join(BENCH, 'baseline',
                                                                                         'wire.yml')

    # -- cold, re-run, sync, statements ----------------------------------------------------------
    @staticmethod
    def seed_tables(pub, sub, count, rows=100):
        ddl = ''.join('CREATE TABLE public.t%d (id int PRIMARY KEY, v text NOT NULL);' % i
                      for i in range(1, count + 1))
        for server in (pub, sub):
            server.sql('CREATE DATABASE zoo')
            server.sql(ddl, dbname='zoo')
        pub.sql('DO $$ BEGIN FOR i IN 1..%d LOOP EXECUTE format('
                '\'INSERT INTO public.t%%s SELECT g, md5(g::text) FROM generate_series(1, %d) g\', i); '
                'END LOOP; END $$' % (count, rows), dbname='zoo')
        return ['public.t%d' % i for i in range(1, count + 1)]

    def sizes_part(self):
        rows = []
        for size in self.args.sizes:
            for round_ in range(self.args.rounds):
                order = ('ours', 'baseline') if (round_ + self.args.sizes.index(size)) % 2 == 0 \
                    else ('baseline', 'ours')
                made = {}
                for kind in ('ours', 'baseline'):
                    suffix = '' if kind == 'ours' else '_b'
                    pub, sub = self.server('rhino' + suffix), self.server('hippo' + suffix)
                    tables = self.seed_tables(pub, sub, size)
                    made[kind] = (pub, sub, self.inventory(kind, pub, sub, tables))
                for phase in ('cold', 'rerun'):
                    for kind in order:
                        pub, sub, inv = made[kind]
                        marks = dict(pub=pub.log_size(), sub=sub.log_size(),
                                     pub_start=self.postmaster_start(pub), sub_start=self.postmaster_start(sub))
                        try:
                            result = self.runner.run(kind, self.playbook(kind), inv)
                        except SystemExit as failed:  # recorded, and the comparison goes on
                            self.failures.append('%s %d tables round %d %s: %s' % (
                                phase, size, round_ + 1, kind, str(failed)[-1500:]))
                            log(self.failures[-1])
                            continue
                        row = dict(size=size, round=round_ + 1, kind=kind, phase=phase, seconds=result.seconds,
                                   changed=result.changed, tasks=len(result.task_starts),
                                   modules=result.split()[0], order='/'.join(order))
                        row['restarted'] = [name for name, server in (('publisher', pub), ('subscriber', sub))
                                            if self.postmaster_start(server) != marks[name[:3] + '_start']]
                        if phase == 'cold':
                            row.update(self.sync_figures(result, sub, marks['sub']))
                        else:
                            row['statements'] = self.statements(
                                (('publisher', pub, marks['pub']), ('subscriber', sub, marks['sub'])))
                        row['slots'] = result.slots()
                        rows.append(row)
                        log('%s %d tables round %d %-8s %.2f s changed=%d restarted=%s' % (
                            phase, size, round_ + 1, kind, result.seconds, result.changed, row['restarted']))
                for kind in ('ours', 'baseline'):
                    self.drop(made[kind][0], made[kind][1])
        return rows

    @staticmethod
    def postmaster_start(server):
        return server.value('SELECT pg_postmaster_start_time()::text')

    @staticmethod
    def sync_figures(result, sub, since):
        subs = [e for e in result.events if e['event'] == 'task' and e['action'].endswith('postgresql_subscription')]
        stats = [e['t'] for e in result.events if e['event'] == 'stats']
        phase = (stats[-1] - subs[0]['t']) if subs and stats else None
        start, end, tables = server_copy(sub, 'zoo', since)
        return dict(sync_phase=phase, server_copy=(end - start) if start else None, synced_tables=tables)

    @staticmethod
    def statements(logs):
        """{application_name: [sessions, statements]} from log_statement = all lines since the marks."""
        out = OrderedDict()
        for _side, server, since in logs:
            for line in server.log_text(since).splitlines():
                found = re.search(r' app=(.*?) sess=(\S+) .*LOG:  statement: ', line)
                if not found or found.group(1) in ('pgops-tests', ''):
                    continue
                app = found.group(1)
                entry = out.setdefault(app, [set(), 0])
                entry[0].add(found.group(2))
                entry[1] += 1
        return OrderedDict((app, (len(sessions), count)) for app, (sessions, count) in out.items())

    def report_sizes(self, rows, parts):
        add = self.sections.append
        kinds = ('baseline', 'ours')
        for phase in ('cold', 'rerun'):
            if phase not in parts:
                continue
            add('## %s run (setup.yml vs wire.yml), seconds, median of %d round(s)\n' % (
                'Cold' if phase == 'cold' else 'Idempotent re-run', self.args.rounds))
            add('| tables | community.postgresql (runs) | changed | this collection (runs) | changed '
                '| restarted (ours) | restarted (baseline) | ratio | target |')
            add('|---|---|---|---|---|---|---|---|---|')
            for size in self.args.sizes:
                pick = dict((k, [r for r in rows if r['size'] == size and r['phase'] == phase and r['kind'] == k])
                            for k in kinds)
                med = dict((k, median([r['seconds'] for r in pick[k]])) for k in kinds)
                ratio = med['ours'] / med['baseline'] if med['ours'] and med['baseline'] else None
                target = 0.5 if phase == 'rerun' else 0.8
                add('| %d | %s (%s) | %s | %s (%s) | %s | %s | %s | %s | <= %.1f %s |' % (
                    size, fmt(med['baseline']), ', '.join(fmt(r['seconds']) for r in pick['baseline']),
                    ','.join(str(r['changed']) for r in pick['baseline']),
                    fmt(med['ours']), ', '.join(fmt(r['seconds']) for r in pick['ours']),
                    ','.join(str(r['changed']) for r in pick['ours']),
                    '+'.join(pick['ours'][-1]['restarted']) or 'none' if pick['ours'] else '-',
                    '+'.join(pick['baseline'][-1]['restarted']) or 'none' if pick['baseline'] else '-',
                    fmt(ratio), target, 'met' if ratio is not None and ratio <= target else 'MISSED'))
            if phase == 'rerun':
                ours = [median([r['seconds'] for r in rows if r['size'] == s and r['phase'] == 'rerun'
                                and r['kind'] == 'ours']) for s in self.args.sizes]
                if len(ours) > 1 and ours[0]:
                    add('\nOurs, largest vs smallest size re-run: %.2f (target: within 10 %%, 1.10).' % (
                        ours[-1] / ours[0]))
            add('\nOrders (first/second) per size and round: %s.\n' % '; '.join(
                '%d r%d %s' % (r['size'], r['round'], r['order']) for r in rows
                if r['phase'] == phase and r['kind'] == 'ours'))
        if 'sync' in parts and 'cold' in [r['phase'] for r in rows]:
            add('## Sync phase of the cold run vs the server\'s own copy time (subscriber log), seconds\n')
            add('Playbook sync phase: subscription task start -> end of the run. Server: apply worker '
                'started -> last table synchronization worker finished.\n')
            add('| tables | wiring | playbook sync phase | server copy | tables synced (log) | overhead |')
            add('|---|---|---|---|---|---|')
            for size in self.args.sizes:
                for kind in kinds:
                    pick = [r for r in rows if r['size'] == size and r['phase'] == 'cold' and r['kind'] == kind]
                    phase, copy = median([r['sync_phase'] for r in pick]), median([r['server_copy'] for r in pick])
                    add('| %d | %s | %s | %s | %s | %s |' % (
                        size, kind, fmt(phase), fmt(copy), ','.join(str(r['synced_tables']) for r in pick),
                        '%+.0f %%' % (100.0 * (phase - copy) / copy) if phase and copy else '-'))
            add('')
        if 'statements' in parts:
            add('## Statements on a no-op re-run (log_statement = all), per application_name\n')
            add('sessions / statements, summed over both servers of the pair (last round).\n')
            add('| tables | wiring | application_name | sessions | statements | per session |')
            add('|---|---|---|---|---|---|')
            for size in self.args.sizes:
                for kind in kinds:
                    pick = [r for r in rows if r['size'] == size and r['phase'] == 'rerun' and r['kind'] == kind]
                    if not pick:
                        continue
                    for app, (sessions, count) in pick[-1]['statements'].items():
                        per_session = float(count) / max(sessions, 1)
                        add('| %d | %s | %s | %d | %d | %.1f |' % (size, kind, app, sessions, count, per_session))
            add('')
        if 'rerun' in parts:
            add('## Where ours spends a re-run (largest size, last round)\n')
            pick = [r for r in rows if r['phase'] == 'rerun' and r['kind'] == 'ours']
            if pick:
                last = pick[-1]
                add('%d task starts, %d module task slots that ran (%d tables, round %d).\n' % (
                    last['tasks'], last['modules'], last['size'], last['round']))
                plays = OrderedDict()
                for play, _task, action, seconds, ran in last['slots']:
                    entry = plays.setdefault(play, [0, 0, 0.0])
                    entry[0] += 1
                    entry[1] += 1 if ran and action.startswith('pgops') else 0
                    entry[2] += seconds
                add('| play | task starts | module tasks that ran | seconds |')
                add('|---|---|---|---|')
                for play, (count, modules, seconds) in plays.items():
                    add('| %s | %d | %d | %.2f |' % (play, count, modules, seconds))
                add('')
                add('| play | task | action | ran | seconds |')
                add('|---|---|---|---|---|')
                for play, task, action, seconds, ran in last['slots']:
                    if seconds >= 0.05 or ran and action.startswith('pgops'):
                        add('| %s | %s | %s | %s | %.2f |' % (play, task.replace('|', '/'), action,
                                                              'yes' if ran else 'skipped', seconds))
                add('')

    # -- copy ------------------------------------------------------------------------------------
    def copy_part(self):
        rows_total = self.args.rows
        per = rows_total // 4
        sync_conf = {'wal_level': 'logical', 'log_statement': "'none'"}
        if not self.args.copy_defaults:  # one sync worker per table
            sync_conf.update(max_sync_workers_per_subscription='4', max_logical_replication_workers='8',
                             max_worker_processes='16')
        pub = self.server('copy_pub', sync_conf)
        subs = dict((kind, self.server('copy_sub_' + kind, sync_conf)) for kind in ('ours', 'baseline'))
        ddl = ''.join('CREATE TABLE public.big%d (id bigint PRIMARY KEY, n int NOT NULL, v text NOT NULL);' % i
                      for i in range(1, 5))
        for server in [pub] + list(subs.values()):
            server.sql('CREATE DATABASE zoo')
            server.sql(ddl, dbname='zoo')
        subs['ours'].sql('CREATE DATABASE dumped')
        subs['ours'].sql(ddl, dbname='dumped')
        log('copy: loading %d rows' % rows_total)
        for i in range(1, 5):
            pub.sql('INSERT INTO public.big%d SELECT g, g %% 1000, md5(g::text) FROM generate_series(1, %d) g'
                    % (i, per), dbname='zoo')
        pub.sql('VACUUM ANALYZE', dbname='zoo')
        tables = ['public.big%d' % i for i in range(1, 5)]
        out = []
        for kind in ('ours', 'baseline'):
            sub = subs[kind]
            since = sub.log_size()
            inv = self.inventory(kind, pub, sub, tables)
            if kind == 'baseline':  # the baseline's own name and user on the shared publisher
                with open(inv) as handle:
                    data = json.load(handle)
                data['all']['vars'].update(bench_name='zoob', bench_user='logicb')
                with open(inv, 'w') as handle:
                    json.dump(data, handle)
            result = self.runner.run(kind, self.playbook(kind), inv)
            start, end, done = server_copy(sub, 'zoo' if kind == 'ours' else 'zoob', since)
            figures = self.sync_figures(result, sub, since)
            count = sub.value('SELECT sum(c) FROM (%s) x' % ' UNION ALL '.join(
                'SELECT count(*) c FROM %s' % t for t in tables), dbname='zoo')
            out.append(dict(kind=kind, server=(end - start) if start else None, tables=done, rows=count,
                            phase=figures['sync_phase'], playbook=result.seconds))
            log('copy %s: server %s s, playbook sync phase %s s, %s rows' % (
                kind, fmt(out[-1]['server']), fmt(figures['sync_phase']), count))
        bin_dir = pub.bin
        command = ('PGPASSWORD=%s %s/pg_dump --data-only -h 127.0.0.1 -p %d -U postgres %s zoo | '
                   'PGPASSWORD=%s %s/psql -q -X -h 127.0.0.1 -p %d -U postgres -d dumped -v ON_ERROR_STOP=1'
                   % (SUPERUSER_PASSWORD, bin_dir, pub.port, ' '.join('-t ' + t for t in tables),
                      SUPERUSER_PASSWORD, bin_dir, subs['ours'].port))
        started = time.time()
        as_postgres(['bash', '-o', 'pipefail', '-c', command])
        dump_seconds = time.time() - started
        count = subs['ours'].value('SELECT sum(c) FROM (%s) x' % ' UNION ALL '.join(
            'SELECT count(*) c FROM %s' % t for t in tables), dbname='dumped')
        log('copy pg_dump|psql: %.2f s, %s rows' % (dump_seconds, count))
        self.drop(pub, *subs.values())
        add = self.sections.append
        add('## Initial copy: %d rows over 4 tables\n' % rows_total)
        add('Subscriber settings for both wirings: %s. Server: apply worker started -> last table synchronization '
            'worker finished (subscriber log).\n' % (
                "PostgreSQL's defaults (max_sync_workers_per_subscription = 2, max_logical_replication_workers = 4; "
                '--copy-defaults)' if self.args.copy_defaults else
                'max_sync_workers_per_subscription = 4, max_logical_replication_workers = 8 (one sync worker per '
                'table)'))
        add('| method | subscription start -> all ready (s) | playbook sync phase (s) | rows | ratio to pg_dump\\|psql '
            '| target |')
        add('|---|---|---|---|---|---|')
        for row in out:
            ratio = row['server'] / dump_seconds if row['server'] else None
            add('| %s | %s | %s | %s | %s | %s |' % (
                row['kind'], fmt(row['server']), fmt(row['phase']), row['rows'], fmt(ratio),
                ('<= 0.9 ' + ('met' if ratio is not None and ratio <= 0.9 else 'MISSED')) if row['kind'] == 'ours'
                else ''))
        add('| pg_dump --data-only \\| psql | %.2f | | %s | 1.00 | |' % (dump_seconds, count))
        add('')

    # -- switchover ------------------------------------------------------------------------------
    def switchover_part(self):
        results = []
        for round_ in range(self.args.switchovers):
            pub = self.server('so_pub', {'wal_level': 'logical', 'log_statement': "'none'"})
            sub = self.server('so_sub', {'log_statement': "'none'"})
            for server in (pub, sub):
                server.sql('CREATE DATABASE zoo')
            pub.sql('CREATE TABLE public.abc (id serial PRIMARY KEY, animal text NOT NULL);'
                    "INSERT INTO public.abc (animal) SELECT 'animal ' || g FROM generate_series(1, 1000) g",
                    dbname='zoo')
            inv = self.inventory('ours', pub, sub, ['public.abc'])
            self.runner.run('ours', self.playbook('ours'), inv)
            writer = Writer(pub, sub, self.args.writer_rate)
            writer.start()
            time.sleep(2.0)
            result = self.runner.run('switchover', self.playbook('ours', 'switchover.yml'), inv)
            writer.wait_new(timeout=30)
            time.sleep(0.5)
            writer.stop()
            new_rows = set(r[0] for r in sub.sql('SELECT animal FROM public.abc', dbname='zoo'))
            lost = [tag for tag in writer.committed_old if tag not in new_rows]
            window = (writer.first_new - writer.first_refused) if writer.first_new and writer.first_refused \
                else None
            rate = writer.rate()
            results.append(dict(window=window, lost=len(lost), committed=len(writer.committed_old),
                                new=len(writer.committed_new), errors_new=writer.errors_new, rate=rate,
                                playbook=result.seconds))
            log('switchover %d: window %s s, lost %d of %d, writer %.0f commits/s, playbook %.2f s' % (
                round_ + 1, fmt(window), len(lost), len(writer.committed_old), rate, result.seconds))
            self.drop(pub, sub)
        add = self.sections.append
        add('## Switchover under a writer\n')
        add('Writer: one session, autocommit INSERTs into zoo.public.abc on the publisher, paced at %d/s; after '
            'its first refused write it polls the subscriber and writes there once the subscription is gone '
            '(the switchover\'s last step). Window: first refused write on the old primary -> first committed '
            'write on the new one. Lost: rows committed on the old primary missing on the new one.\n'
            % self.args.writer_rate)
        add('| run | window (s) | rows lost | committed on old | writer commits/s | written on new (errors) '
            '| playbook (s) |')
        add('|---|---|---|---|---|---|---|')
        for index, row in enumerate(results):
            add('| %d | %s | %d | %d | %.0f | %d (%d) | %.2f |' % (
                index + 1, fmt(row['window']), row['lost'], row['committed'], row['rate'], row['new'],
                row['errors_new'], row['playbook']))
        windows = [r['window'] for r in results]
        ok = all(w is not None and w <= 1.0 for w in windows) and all(r['lost'] == 0 for r in results) \
            and all(r['rate'] >= 200 for r in results)
        add('\nTarget (0 lost, window <= 1.0 s, writer >= 200 commits/s): %s.\n' % ('met' if ok else 'MISSED'))

    def close(self):
        for made in list(self.servers):
            made.destroy()
        shutil.rmtree(self.root, ignore_errors=True)


class Writer(threading.Thread):
    """Autocommit INSERTs at a steady rate on the old primary, then on the new one (see switchover_part)."""

    def __init__(self, old, new, rate):
        super(Writer, self).__init__(daemon=True)
        self.old, self.new, self.interval = old, new, 1.0 / rate
        self.committed_old, self.committed_new = [], []
        self.first_refused = self.first_new = None
        self.errors_new = 0
        self.started = self.last_old = None
        self._halt = threading.Event()
        self._new_seen = threading.Event()

    def _insert(self, conn, tag):
        with conn.cursor() as cur:
            cur.execute('INSERT INTO public.abc (animal) VALUES (%s)', (tag,))

    def run(self):
        conn = self.old.connect('zoo')
        new_conn = None
        n = 0
        self.started = time.time()
        next_at = time.time()
        while not self._halt.is_set():
            n += 1
            tag = 'w%d' % n
            if self.first_refused is None:
                try:
                    if conn is None:
                        conn = self.old.connect('zoo')
                    self._insert(conn, tag)
                    self.committed_old.append(tag)
                    self.last_old = time.time()
                except Exception:  # pylint: disable=broad-except
                    self.first_refused = time.time()
                    conn = None
            else:
                try:
                    if new_conn is None:
                        new_conn = self.new.connect('zoo')
                    if self.first_new is None:
                        with new_conn.cursor() as cur:
                            cur.execute("SELECT count(*) FROM pg_catalog.pg_subscription WHERE subname = 'zoo'")
                            if cur.fetchone()[0]:
                                time.sleep(0.005)
                                continue
                    self._insert(new_conn, tag)
                    if self.first_new is None:
                        self.first_new = time.time()
                        self._new_seen.set()
                    self.committed_new.append(tag)
                except Exception:  # pylint: disable=broad-except
                    self.errors_new += 1
                    new_conn = None
                    time.sleep(0.01)
            next_at += self.interval
            delay = next_at - time.time()
            if delay > 0:
                time.sleep(delay)
            else:
                next_at = time.time()

    def rate(self):
        if not self.committed_old or not self.last_old:
            return 0.0
        return len(self.committed_old) / max(self.last_old - self.started, 1e-6)

    def wait_new(self, timeout):
        self._new_seen.wait(timeout)

    def stop(self):
        self._halt.set()
        self.join(10)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n', maxsplit=1)[0])
    parser.add_argument('--only', default=','.join(PARTS), help='parts, comma separated: ' + ', '.join(PARTS))
    parser.add_argument('--sizes', default='10,100,500', help='table counts (default 10,100,500)')
    parser.add_argument('--rounds', type=int, default=2, help='rounds per size, the order alternating (default 2)')
    parser.add_argument('--rows', type=int, default=2000000, help='rows of the copy part (default 2000000)')
    parser.add_argument('--copy-defaults', action='store_true',
                        help="copy part with PostgreSQL's default sync worker settings instead of one worker per table")
    parser.add_argument('--switchovers', type=int, default=2, help='switchover runs (default 2)')
    parser.add_argument('--writer-rate', type=int, default=250, help='writer commits per second (default 250)')
    parser.add_argument('--community-collections', help='directory holding ansible_collections/community/postgresql')
    parser.add_argument('--out', help='results file (default bench/results/<UTC date>.md, appended to)')
    args = parser.parse_args()
    parts = [p.strip() for p in args.only.split(',') if p.strip()]
    unknown = [p for p in parts if p not in PARTS]
    if unknown:
        parser.error('unknown part(s) %s; choose from %s' % (', '.join(unknown), ', '.join(PARTS)))
    args.sizes = [int(s) for s in args.sizes.split(',') if s.strip()]
    now = datetime.datetime.now(datetime.timezone.utc)
    out = args.out or os.path.join(BENCH, 'results', now.strftime('%Y-%m-%d') + '.md')

    bench = Bench(args)
    load_before = uptime()
    started = time.time()
    try:
        if set(parts) & {'cold', 'rerun', 'sync', 'statements'}:
            bench.report_sizes(bench.sizes_part(), parts)
        for part, run in (('copy', bench.copy_part), ('switchover', bench.switchover_part)):
            if part in parts:
                try:
                    run()
                except (SystemExit, Exception) as failed:  # pylint: disable=broad-except
                    bench.failures.append('%s: %s' % (part, str(failed)[-1500:]))
                    log(bench.failures[-1])
    finally:
        bench.close()
    load_after = uptime()
    core = bench.runner.ansible.core_version
    head = ['# bench/compare.py, %s UTC' % now.strftime('%Y-%m-%d %H:%M'), '',
            'Machine: %s, %d CPUs, %s; PostgreSQL %s; ansible-core %s; commit %s.' % (
                cpu_model(), os.cpu_count(), platform.platform(), MAJOR, core, git_head()),
            'Load average (1/5/15 min) before: %s; after: %s. Shared machine: other jobs ran at the same time.'
            % (load_before, load_after),
            'Parts: %s; sizes %s; %d round(s), order alternating; %.0f s in all.' % (
                ', '.join(parts), '/'.join(str(s) for s in args.sizes), args.rounds, time.time() - started), '']
    if bench.failures:
        bench.sections.append('## Failed runs\n')
        bench.sections.extend('```\n%s\n```\n' % failure for failure in bench.failures)
    text = '\n'.join(head + bench.sections) + '\n'
    print(text)
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    with open(out, 'a') as handle:
        if handle.tell():
            handle.write('\n')
        handle.write(text)
    log('written to %s' % out)
    return 0


def git_head():
    proc = subprocess.run(['git', '-C', REPO, 'rev-parse', '--short', 'HEAD'], capture_output=True, text=True,
                          check=False)
    return proc.stdout.strip() or 'unknown'


if __name__ == '__main__':
    sys.exit(main())
