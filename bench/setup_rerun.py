#!/usr/bin/env python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""DESIGN section 5, first number: an idempotent re-run of playbooks/setup.yml on a pair of servers,
side by side with the same wiring done with community.postgresql modules (bench/baseline/wire.yml).

    .venv/bin/python bench/setup_rerun.py [--runs 3] [--json out.json] [--keep]

Starts four throwaway PostgreSQL 15 servers on 127.0.0.1 (tests/integration/pgharness.py): one pair
for ours, one for the baseline, so neither wiring sees the other's objects. Each pair gets the same
seed (database zoo, table public.abc with 1000 rows). Each wiring runs once to set up, then both are
re-run --runs times, alternating which goes first. Prints a report (markdown) with median seconds,
changed counts, tasks run, the ratio ours/baseline, and where ours spends its time per play and per
task (from a timing callback, bench/callback_plugins). The servers are destroyed at the end.

Needs: the collection's Python (ansible-core, psycopg2), server binaries of PostgreSQL 15, and
community.postgresql: found in .venv-molecule (PyPI ansible 12.x) or given with
--community-collections DIR (a directory holding ansible_collections/community/postgresql).
"""

import argparse
import glob
import json
import math
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import OrderedDict

BENCH = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(BENCH)
sys.path.insert(0, os.path.join(REPO, 'tests', 'integration'))

from pgharness import Ansible, PgServer, SUPERUSER_PASSWORD  # noqa: E402

MAJOR = '15'
ROWS = 1000
REPL_PASSWORD = 'bench-logic-pw'
# Actions that run in the controller only (no module shipped to the host).
CONTROLLER_ONLY = {'ansible.builtin.' + name for name in (
    'assert', 'set_fact', 'debug', 'fail', 'include_tasks', 'include_role', 'import_tasks', 'meta', 'set_stats',
    'validate_argument_spec')}
LABELS = OrderedDict([
    ('ours', 'ours: playbooks/setup.yml'),
    ('baseline', 'baseline: bench/baseline/wire.yml'),
    ('empty', 'floor: empty play, ours inventory'),
    ('ours-no-preflight', 'variant: setup.yml without the preflight play'),
    ('ours-pipelining', 'variant: ours, ANSIBLE_PIPELINING=true'),
    ('baseline-pipelining', 'variant: baseline, ANSIBLE_PIPELINING=true'),
])


def community_collections(explicit):
    """A directory that holds ansible_collections/community/postgresql."""
    candidates = [explicit] if explicit else []
    candidates += sorted(glob.glob(os.path.join(REPO, '.venv-molecule', 'lib', 'python*', 'site-packages')))
    candidates += sorted(glob.glob('/tmp/bench-venv/lib/python*/site-packages'))
    for path in candidates:
        if path and os.path.isdir(os.path.join(path, 'ansible_collections', 'community', 'postgresql')):
            return path
    sys.exit('bench: community.postgresql not found; run molecule/_shared/run once (it makes .venv-molecule) '
             'or pip install ansible==12.3.0 into a venv and pass --community-collections <its site-packages>')


def seed(pub, sub):
    for server in (pub, sub):
        server.sql('CREATE DATABASE zoo')
    pub.sql('CREATE TABLE public.abc (id serial PRIMARY KEY, animal text NOT NULL);'
            "INSERT INTO public.abc (animal) SELECT 'animal ' || g FROM generate_series(1, %d) g" % ROWS,
            dbname='zoo')


def host_vars(server):
    return dict(server_port=server.port, server_data_directory=server.data, server_bin_dir=server.bin,
                server_pg_ctl_log_file=server.logfile)


def common_vars():
    return {'ansible_connection': 'local', 'ansible_python_interpreter': sys.executable,
            'server_login_password': SUPERUSER_PASSWORD}


def ours_inventory(root, pub, sub):
    """As tests/integration/test_playbooks.py and demo/run build it."""
    variables = common_vars()
    variables.update({
        'ansible_become_method': 'su', 'server_become': False,
        'server_login_host': '127.0.0.1', 'server_address': '127.0.0.1', 'subscriber_sync_report_seconds': 5,
        'logical_replication': [{'name': 'zoo', 'publisher': 'rhino', 'subscriber': 'hippo', 'database': 'zoo',
                                 'tables': ['public.abc'], 'user': 'logic', 'password': REPL_PASSWORD}]})
    inventory = {'all': {'hosts': {'rhino': host_vars(pub), 'hippo': host_vars(sub)}, 'vars': variables}}
    path = os.path.join(root, 'inventory-ours.json')
    with open(path, 'w') as handle:
        json.dump(inventory, handle)
    return path


def baseline_inventory(root, pub, sub):
    variables = common_vars()
    variables.update({'bench_db': 'zoo', 'bench_tables': ['public.abc'], 'bench_name': 'zoo',
                      'bench_user': 'logic', 'bench_password': REPL_PASSWORD})
    inventory = {'all': {'vars': variables, 'children': {
        'publisher': {'hosts': {'rhino_b': host_vars(pub)}},
        'subscriber': {'hosts': {'hippo_b': host_vars(sub)}}}}}
    path = os.path.join(root, 'inventory-baseline.json')
    with open(path, 'w') as handle:
        json.dump(inventory, handle)
    return path


class Runner(object):
    """ansible-playbook with this checkout as the collection, community.postgresql on the path too
    (the same environment for both wirings), and the timing callback instead of the test one."""

    def __init__(self, root, community):
        self.root = root
        self.ansible = Ansible(root)
        self.community = community

    def run(self, label, playbook, inventory, env_extra=None):
        run_dir = tempfile.mkdtemp(prefix='run-%s-' % label, dir=self.root)
        events_file = os.path.join(run_dir, 'events.jsonl')
        env = self.ansible.env(os.path.join(run_dir, 'unused.jsonl'))
        env.update(
            ANSIBLE_COLLECTIONS_PATH=os.pathsep.join([self.ansible.collections, self.community]),
            ANSIBLE_CALLBACK_PLUGINS=os.path.join(BENCH, 'callback_plugins'),
            ANSIBLE_CALLBACKS_ENABLED='pgops_bench_timing',
            ANSIBLE_DEPRECATION_WARNINGS='false',
            PGOPS_BENCH_EVENTS=events_file,
        )
        env.update(env_extra or {})
        args = [self.ansible.playbook_bin, playbook, '-i', inventory]
        started = time.time()
        proc = subprocess.run(args, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL,
                              cwd=run_dir, check=False, timeout=900)
        seconds = time.time() - started
        events = []
        if os.path.exists(events_file):
            with open(events_file) as handle:
                events = [json.loads(line) for line in handle if line.strip()]
        if proc.returncode != 0:
            raise SystemExit('bench: %s failed (rc=%d)\n%s\n%s'
                             % (label, proc.returncode, proc.stdout[-6000:], proc.stderr[-3000:]))
        return Result(label, seconds, started, proc.stdout, events)


class Result(object):
    def __init__(self, label, seconds, started, stdout, events):
        self.label, self.seconds, self.started, self.stdout, self.events = label, seconds, started, stdout, events

    @property
    def recap(self):
        out = {}
        for host, counts in re.findall(r'^(\S+)\s+:\s+(ok=.*)$', self.stdout, re.M):
            out[host] = dict((k, int(v)) for k, v in re.findall(r'(\w+)=(\d+)', counts))
        return out

    @property
    def changed(self):
        return sum(counts.get('changed', 0) for counts in self.recap.values())

    @property
    def changed_tasks(self):
        return ['%s: %s' % (e['host'], e['name']) for e in self.events if e['event'] == 'result' and e['changed']]

    @property
    def task_starts(self):
        return [e for e in self.events if e['event'] in ('task', 'handler')]

    @property
    def host_results(self):
        return [e for e in self.events if e['event'] == 'result']

    @property
    def executed(self):
        """Host results that were not skipped: the task ran on a host (modules and actions alike)."""
        return [e for e in self.host_results if e['status'] != 'skipped']

    @property
    def startup(self):
        """Seconds from starting ansible-playbook to the first play (interpreter, parsing, inventory)."""
        plays = [e['t'] for e in self.events if e['event'] == 'play']
        return (plays[0] - self.started) if plays else None

    def slots(self):
        """[(play, task label, action, seconds, ran)]: each task from its start to the next event that
        starts something (task, play, stats), as profile_tasks counts it; ran: not skipped on some host."""
        marks = [e for e in self.events if e['event'] in ('play', 'task', 'handler', 'stats')]
        play, out = None, []
        ran_in = {}
        current = None
        for event in self.events:
            if event['event'] in ('task', 'handler'):
                current = id(event)
            elif event['event'] == 'result' and current is not None and event['status'] != 'skipped':
                ran_in[current] = True
        for here, after in zip(marks, marks[1:]):
            if here['event'] == 'play':
                play = here['name']
                continue
            if here['event'] == 'stats':
                continue
            label = here['name'] if not here.get('role') or here['name'].startswith(here['role'] + ' : ') \
                else '%s : %s' % (here['role'], here['name'])
            out.append((play, label, here['action'], after['t'] - here['t'], ran_in.get(id(here), False)))
        return out

    def split(self):
        """(module task slots that ran on a host, seconds, other task slots, seconds) of the run: the
        others are controller-only actions and module tasks skipped on every host."""
        module = [s for s in self.slots() if s[2] not in CONTROLLER_ONLY and s[4]]
        other = [s for s in self.slots() if s[2] in CONTROLLER_ONLY or not s[4]]
        return len(module), sum(s[3] for s in module), len(other), sum(s[3] for s in other)

    def per_play(self):
        plays = OrderedDict()
        for play, _label, _action, seconds, _ran in self.slots():
            count, total = plays.get(play, (0, 0.0))
            plays[play] = (count + 1, total + seconds)
        return plays

    @property
    def end_overhead(self):
        """Seconds from the stats event (end of the last task) to the process exit."""
        stats = [e['t'] for e in self.events if e['event'] == 'stats']
        return (self.started + self.seconds - stats[-1]) if stats else None


def median(values):
    return statistics.median(values) if values else float('nan')


def report(args, setup, runs, load_before, load_after):
    ours = [r for r in runs if r.label == 'ours']
    base = [r for r in runs if r.label == 'baseline']
    floor = [r for r in runs if r.label == 'empty']
    lines = []
    add = lines.append
    m_ours, m_base = median([r.seconds for r in ours]), median([r.seconds for r in base])
    add('# setup.yml idempotent re-run vs community.postgresql (DESIGN section 5)')
    add('')
    add('PostgreSQL %s, %d rows in zoo.public.abc, %d re-runs of each, alternating; %d CPUs.' % (
        MAJOR, ROWS, args.runs, os.cpu_count()))
    add('Load before: `%s`; after: `%s`.' % (load_before, load_after))
    add('')
    add('| wiring | first run (s) | re-runs (s) | median (s) | changed on re-run | task starts | host results (not skipped) |')
    add('|---|---|---|---|---|---|---|')
    for key, label in LABELS.items():
        group = [r for r in runs if r.label == key]
        if not group:
            continue
        first = setup.get(key)
        add('| %s | %s | %s | %.2f | %s | %d | %d |' % (
            label, '%.2f' % first.seconds if first else '-', ', '.join('%.2f' % r.seconds for r in group),
            median([r.seconds for r in group]), ', '.join(str(r.changed) for r in group),
            len(group[-1].task_starts), len(group[-1].executed)))
    add('')
    ratio = m_ours / m_base
    add('**Ratio ours/baseline (medians): %.2f** (target: at most 0.50). changed on re-run (ours): %s.' % (
        ratio, 'all 0' if all(r.changed == 0 for r in ours) else [r.changed_tasks for r in ours]))
    if floor:
        m_floor = median([r.seconds for r in floor])
        add('Above the floor (an empty play: interpreter, inventory, collection loading): ours %.2f s, '
            'baseline %.2f s.' % (m_ours - m_floor, m_base - m_floor))
    piped = [median([r.seconds for r in runs if r.label == k]) for k in ('ours-pipelining', 'baseline-pipelining')]
    if all(not math.isnan(v) for v in piped):
        add('With ANSIBLE_PIPELINING=true for both: ours %.2f s, baseline %.2f s, ratio %.2f.' % (
            piped[0], piped[1], piped[0] / piped[1]))
    add('')
    add('| wiring | module task slots (ran) | seconds in them | other task slots (controller-only, or skipped) '
        '| seconds in them |')
    add('|---|---|---|---|---|')
    for key, label in LABELS.items():
        group = [r for r in runs if r.label == key]
        if group and group[-1].slots():
            parts = [r.split() for r in group]
            add('| %s | %d | %.2f | %d | %.2f |'
                % (label, parts[-1][0], median([p[1] for p in parts]), parts[-1][2], median([p[3] for p in parts])))
    add('')
    for label, group in (('ours', ours), ('baseline', base),
                         ('ours without preflight', [r for r in runs if r.label == 'ours-no-preflight'])):
        if not group:
            continue
        add('## Where %s spends a re-run (median over runs)' % label)
        add('')
        add('startup to first play: %.2f s; after the last task to exit: %.2f s.' % (
            median([r.startup for r in group]), median([r.end_overhead for r in group])))
        add('')
        add('| play | task starts | seconds |')
        add('|---|---|---|')
        plays = OrderedDict()
        for r in group:
            for play, (count, total) in r.per_play().items():
                plays.setdefault(play, []).append((count, total))
        for play, values in plays.items():
            add('| %s | %d | %.2f |' % (play, values[-1][0], median([v[1] for v in values])))
        add('')
        add('| # | play | task | action | ran | seconds |')
        add('|---|---|---|---|---|---|')
        columns = [r.slots() for r in group]
        if len(set(len(c) for c in columns)) == 1:
            for index, rows in enumerate(zip(*columns)):
                play, task, action, ran = rows[0][0], rows[0][1], rows[0][2], rows[0][4]
                add('| %d | %s | %s | %s | %s | %.2f |'
                    % (index + 1, play, task.replace('|', '/'), action, 'yes' if ran else 'skipped',
                       median([row[3] for row in rows])))
        else:  # different task lists between runs: show the last one
            for index, (play, task, action, seconds, ran) in enumerate(columns[-1]):
                add('| %d | %s | %s | %s | %s | %.2f |'
                    % (index + 1, play, task.replace('|', '/'), action, 'yes' if ran else 'skipped', seconds))
        add('')
        by_action = OrderedDict()
        for play, task, action, seconds, _ran in group[-1].slots():
            count, total = by_action.get(action, (0, 0.0))
            by_action[action] = (count + 1, total + seconds)
        add('By action (last run): ' + ', '.join('%s x%d %.2f s' % (a, c, t) for a, (c, t) in
                                                 sorted(by_action.items(), key=lambda kv: -kv[1][1])))
        add('')
    return '\n'.join(lines), ratio


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n', maxsplit=1)[0])
    parser.add_argument('--runs', type=int, default=3, help='idempotent re-runs of each wiring (default 3)')
    parser.add_argument('--community-collections', help='directory holding ansible_collections/community/postgresql')
    parser.add_argument('--json', help='also write the raw timings here')
    parser.add_argument('--no-floor', action='store_true', help='skip the empty-play floor runs')
    parser.add_argument('--no-variants', action='store_true',
                        help='skip the counterfactual runs (setup.yml without preflight; pipelining for both)')
    parser.add_argument('--keep', action='store_true', help='keep the servers and files (for a look afterwards)')
    args = parser.parse_args()
    community = community_collections(args.community_collections)

    root = tempfile.mkdtemp(prefix='pgops-bench-')
    os.chmod(root, 0o755)
    servers = []
    try:
        def server(name):
            made = PgServer(MAJOR, root, name=name, conf={'wal_level': 'logical'})
            servers.append(made)
            return made

        pub, sub, bpub, bsub = server('rhino'), server('hippo'), server('rhino_b'), server('hippo_b')
        seed(pub, sub)
        seed(bpub, bsub)
        runner = Runner(root, community)
        plays = {
            'ours': (os.path.join(REPO, 'playbooks', 'setup.yml'), ours_inventory(root, pub, sub)),
            'baseline': (os.path.join(BENCH, 'baseline', 'wire.yml'), baseline_inventory(root, bpub, bsub)),
        }
        empty = os.path.join(root, 'empty.yml')
        with open(empty, 'w') as handle:
            handle.write('- name: Empty\n  hosts: all\n  gather_facts: false\n  tasks: []\n')
        plays['empty'] = (empty, plays['ours'][1])
        plays['ours-no-preflight'] = (os.path.join(BENCH, 'variants', 'setup_without_preflight.yml'), plays['ours'][1])
        plays['ours-pipelining'] = plays['ours'] + ({'ANSIBLE_PIPELINING': 'true'},)
        plays['baseline-pipelining'] = plays['baseline'] + ({'ANSIBLE_PIPELINING': 'true'},)

        setup = {}
        for label in ('ours', 'baseline'):
            print('setting up: %s' % label, file=sys.stderr)
            setup[label] = runner.run(label, *plays[label])
        for server_, db in ((sub, 'zoo'), (bsub, 'zoo')):
            rows = server_.value('SELECT count(*) FROM public.abc', dbname=db)
            if rows != ROWS:
                raise SystemExit('bench: subscriber %s has %s rows, expected %d' % (server_.dir, rows, ROWS))

        load_before = subprocess.run(['uptime'], capture_output=True, text=True, check=False).stdout.strip()
        runs = []
        order = ['ours', 'baseline'] + ([] if args.no_floor else ['empty'])
        if not args.no_variants:
            order += ['ours-no-preflight', 'ours-pipelining', 'baseline-pipelining']
        for index in range(args.runs):
            turn = order[index % len(order):] + order[:index % len(order)]
            for label in turn:
                result = runner.run(label, *plays[label])
                print('re-run %d %-8s %.2f s changed=%d' % (index + 1, label, result.seconds, result.changed),
                      file=sys.stderr)
                runs.append(result)
        load_after = subprocess.run(['uptime'], capture_output=True, text=True, check=False).stdout.strip()

        text, ratio = report(args, setup, runs, load_before, load_after)
        print(text)
        if args.json:
            with open(args.json, 'w') as handle:
                json.dump({'setup': {k: v.seconds for k, v in setup.items()},
                           'runs': [dict(label=r.label, seconds=r.seconds, changed=r.changed, events=r.events,
                                         started=r.started) for r in runs]}, handle, indent=1)
        ours_changed = [r.changed for r in runs if r.label == 'ours']
        return 0 if all(c == 0 for c in ours_changed) else 1
    finally:
        if args.keep:
            print('bench: kept %s (servers running)' % root, file=sys.stderr)
        else:
            for made in servers:
                made.destroy()
            shutil.rmtree(root, ignore_errors=True)


if __name__ == '__main__':
    sys.exit(main())
