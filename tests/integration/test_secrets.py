# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""No secret on a command line, in an environment or in -vvv output (issue 10 item 1), one major.

setup.yml (user, pg_hba, publication, the subscriber's schema copy, subscription) and switchover.yml
(sequence grants and session ends through psql) run at -vvv on two fresh servers while a sampler
reads every process's command line (``ps -eo args``) every 20 ms and the environment of every
process it sees for the first time (/proc/<pid>/environ, readable by root). Neither the replication
password nor server_login_password may appear in any of it. Both passwords are unique to this run,
so another process on the machine cannot match them by chance.
"""

import json
import os
import subprocess
import threading
import time
import uuid

import pytest

from conftest import LOGICAL, MAJORS
from pgharness import PLAYBOOKS, Servers, write_inventory

REPLICATION_PASSWORD = 'repl-%s' % uuid.uuid4().hex
LOGIN_PASSWORD = 'login-%s' % uuid.uuid4().hex
LOGIN_USER = 'ops_admin'
SECRETS = (REPLICATION_PASSWORD, LOGIN_PASSWORD)


class Sampler(object):
    """Every 20 ms: ``ps -ww -eo pid=,args=`` (full lines); the environment of each process seen for the first time."""

    def __init__(self):
        self.args, self.environs, self.seen, self.rounds = set(), [], set(), 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        while not self.stop.is_set():
            out = subprocess.run(['ps', '-ww', '-eo', 'pid=,args='], capture_output=True, text=True, check=False).stdout
            self.rounds += 1
            for line in out.splitlines():
                pid, _sep, args = line.strip().partition(' ')
                self.args.add(args)
                if pid not in self.seen:
                    self.seen.add(pid)
                    try:
                        with open('/proc/%s/environ' % pid, 'rb') as handle:
                            self.environs.append((args, handle.read().decode('utf-8', 'replace')))
                    except OSError:
                        pass  # gone already, or not ours to read
            time.sleep(0.02)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc_info):
        self.stop.set()
        self.thread.join(10)

    def leaks(self):
        found = ['ps: ' + args for args in self.args if any(s in args for s in SECRETS)]
        found += ['environ of %s' % args for args, env in self.environs if any(s in env for s in SECRETS)]
        return found


@pytest.fixture(scope='module')
def servers(work_root):
    with Servers(work_root) as make:
        pub, sub = make(MAJORS[0], 'rhino', conf=LOGICAL), make(MAJORS[0], 'hippo', conf=LOGICAL)
        for server in (pub, sub):
            server.sql("CREATE ROLE %s LOGIN SUPERUSER PASSWORD '%s'" % (LOGIN_USER, LOGIN_PASSWORD))
            server.sql('CREATE DATABASE zoo')
        # the subscriber has no table yet: setup copies the schema (the path that ran psql/pg_dump)
        pub.sql("CREATE TABLE abc (id serial PRIMARY KEY, animal text);"
                "INSERT INTO abc (animal) SELECT 'a' || g FROM generate_series(1, 100) g", dbname='zoo')
        yield pub, sub


def inventory_for(work_root, pub, sub):
    entries = [{'name': 'zoo', 'publisher': 'rhino', 'subscriber': 'hippo', 'database': 'zoo', 'tables': ['abc'],
                'user': 'logic', 'password': REPLICATION_PASSWORD}]
    path = write_inventory(work_root, {'rhino': pub, 'hippo': sub}, entries)
    with open(path) as handle:
        inventory = json.load(handle)
    inventory['all']['vars'].update(server_login_user=LOGIN_USER, server_login_password=LOGIN_PASSWORD)
    with open(path, 'w') as handle:
        json.dump(inventory, handle)
    return path


def test_no_secret_in_ps_environ_or_vvv(ansible, servers, work_root):
    pub, sub = servers
    inventory = inventory_for(work_root, pub, sub)
    runs = []
    with Sampler() as sampler:
        for name in ('setup.yml', 'switchover.yml'):
            runs.append(ansible.playbook(os.path.join(PLAYBOOKS, name), inventory=inventory, verbosity=3,
                                         timeout=600))
            assert runs[-1].rc == 0, runs[-1].output[-6000:]
    # the runs did what carries the secrets: the schema copied, the subscription made, then switched over
    assert sub.value('SELECT count(*) FROM abc', dbname='zoo') == 100
    assert pub.setting('default_transaction_read_only') == 'on'
    assert sub.value("SELECT nextval('abc_id_seq')", dbname='zoo') > 100
    # the sampler really watched them: it saw the modules and the playbooks running
    assert sampler.rounds > 50
    assert [a for a in sampler.args if 'AnsiballZ_postgresql_subscription' in a], len(sampler.args)
    assert [a for a in sampler.args if inventory in a]
    assert [env for args, env in sampler.environs if 'ANSIBLE_COLLECTIONS_PATH' in env]
    assert sampler.leaks() == []
    for run in runs:
        text = run.output + json.dumps(run.results)
        assert 'ESTABLISH LOCAL CONNECTION' in run.stdout  # -vvv really was on
        assert [s for s in SECRETS if s in text] == []
