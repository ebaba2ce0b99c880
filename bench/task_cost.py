#!/usr/bin/env python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What one Ansible task costs here, by kind: a controller-only action, ansible.builtin.ping (a module
with no imports of note), community.postgresql.postgresql_ping and our replication_info (a module
that imports psycopg2 and connects), each repeated --repeat times in one playbook on localhost
against one throwaway PostgreSQL 15 server. Prints the median seconds per task of each kind.

    .venv/bin/python bench/task_cost.py [--repeat 8]
"""

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile

BENCH = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, BENCH)
from setup_rerun import MAJOR, Runner, community_collections  # noqa: E402
from pgharness import PgServer  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--repeat', type=int, default=8)
    parser.add_argument('--community-collections')
    args = parser.parse_args()
    root = tempfile.mkdtemp(prefix='pgops-bench-')
    os.chmod(root, 0o755)
    server = PgServer(MAJOR, root, name='cost')
    try:
        login = server.login
        kinds = [
            ('controller-only (set_fact)', {'ansible.builtin.set_fact': {'x': 1}}),
            ('ansible.builtin.ping', {'ansible.builtin.ping': {}}),
            ('community.postgresql.postgresql_ping', {'community.postgresql.postgresql_ping': dict(
                login_host=login['login_host'], login_port=login['port'], login_user=login['login_user'],
                login_password=login['login_password'])}),
            ('pgops.logical_replication.replication_info', {'pgops.logical_replication.replication_info': login}),
        ]
        tasks = []
        for name, task in kinds:
            tasks += [dict(task, name='%s #%d' % (name, i)) for i in range(args.repeat)]
        play = [dict(name='cost', hosts='localhost', connection='local', gather_facts=False,
                     vars={'ansible_python_interpreter': sys.executable}, tasks=tasks)]
        path = os.path.join(root, 'cost.yml')
        with open(path, 'w') as handle:
            json.dump(play, handle)
        run = Runner(root, community_collections(args.community_collections)).run('cost', path, 'localhost,')
        per = {}
        for _play, label, _action, seconds, _ran in run.slots():
            per.setdefault(label.rsplit(' #', 1)[0], []).append(seconds)
        print('| task kind | first task (builds the payload) | median s per later task | min | max |')
        print('|---|---|---|---|---|')
        for name, _task in kinds:
            values = per[name][1:]  # the first of each kind also builds the AnsiballZ payload
            print('| %s | %.2f | %.2f | %.2f | %.2f |'
                  % (name, per[name][0], statistics.median(values), min(values), max(values)))
        print('\nstartup to first play: %.2f s; total %.2f s' % (run.startup, run.seconds))
    finally:
        server.destroy()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == '__main__':
    main()
