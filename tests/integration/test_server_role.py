# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The server role's restart rule, through setup.yml, on one major (the first of PGOPS_TEST_MAJORS).

A host that only subscribes keeps its wal_level and is not restarted; a host that will publish (here:
switchover_reverse asks for the way back of its subscription) gets wal_level = logical and the restart.
"""

import os

from conftest import MAJORS
from pgharness import PLAYBOOKS, Servers, assert_nothing_changed, write_inventory

PASSWORD = 'server-role-pw'


def started_at(server):
    return server.value('SELECT pg_postmaster_start_time()')


def test_subscriber_only_host_keeps_wal_level_and_is_not_restarted(ansible, work_root):
    with Servers(work_root) as make:
        pub = make(MAJORS[0], 'rhino', conf={'wal_level': 'logical'})
        only_sub = make(MAJORS[0], 'hippo', conf={'wal_level': 'replica'})
        reverse_sub = make(MAJORS[0], 'zebra', conf={'wal_level': 'replica'})
        for server in (pub, only_sub, reverse_sub):
            server.sql('CREATE DATABASE zoo')
        pub.sql('CREATE TABLE abc (id int PRIMARY KEY, animal text);'
                "INSERT INTO abc SELECT g, 'animal ' || g FROM generate_series(1, 50) g", dbname='zoo')
        entries = [{'name': 'zoo', 'publisher': 'rhino', 'subscriber': 'hippo', 'database': 'zoo',
                    'tables': ['public.abc'], 'user': 'logic', 'password': PASSWORD},
                   {'name': 'zoo_z', 'publisher': 'rhino', 'subscriber': 'zebra', 'database': 'zoo',
                    'tables': ['public.abc'], 'user': 'logic', 'password': PASSWORD}]
        inventory = write_inventory(work_root, {'rhino': pub, 'hippo': only_sub, 'zebra': reverse_sub}, entries)
        before = dict((name, started_at(server)) for name, server in
                      (('rhino', pub), ('hippo', only_sub), ('zebra', reverse_sub)))
        extra = {'switchover_reverse': ['zoo_z']}  # zebra will publish the way back: it needs logical

        run = ansible.playbook(os.path.join(PLAYBOOKS, 'setup.yml'), inventory=inventory, extra_vars=extra)
        assert run.rc == 0, run.output[-6000:]

        # subscriber only: same postmaster, wal_level as it was, and its subscription copied the rows
        assert started_at(only_sub) == before['hippo']
        assert only_sub.setting('wal_level') == 'replica'
        assert 'wal_level' not in only_sub.auto_conf()
        assert only_sub.value('SELECT count(*) FROM abc', dbname='zoo') == 50
        # will publish (switchover_reverse): logical, restarted, and subscribed too
        assert reverse_sub.setting('wal_level') == 'logical'
        assert started_at(reverse_sub) != before['zebra']
        assert reverse_sub.value('SELECT count(*) FROM abc', dbname='zoo') == 50

        again = ansible.playbook(os.path.join(PLAYBOOKS, 'setup.yml'), inventory=inventory, extra_vars=extra)
        assert again.rc == 0, again.output[-6000:]
        assert_nothing_changed(again)
        assert started_at(only_sub) == before['hippo']
