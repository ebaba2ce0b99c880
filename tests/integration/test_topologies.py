# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fan-in and cascade from the one `logical_replication` list, and role argument specs.

Four servers: rhino publishes abc to hippo (which republishes it to zebra: a cascade), and otter
publishes fish into the same database on hippo (fan-in). The middle host's abc table exists
before the first run: its publication is created in the publisher play, before its
subscription copies the schema.
"""

import os

from pgharness import PLAYBOOKS, assert_nothing_changed, random_name, wait_for, write_inventory
from test_playbooks import PASSWORD


def test_fan_in_and_cascade(ansible, new_server, work_root):
    rhino, hippo, zebra, otter = [new_server(name, conf={'wal_level': 'logical'})
                                  for name in ('rhino', 'hippo', 'zebra', 'otter')]
    for server in (rhino, hippo, zebra, otter):
        server.sql('CREATE DATABASE zoo')
    rhino.sql('CREATE TABLE abc (id int PRIMARY KEY, animal text);'
              'INSERT INTO abc SELECT g, \'a\' || g FROM generate_series(1, 100) g', dbname='zoo')
    hippo.sql('CREATE TABLE abc (id int PRIMARY KEY, animal text)', dbname='zoo')
    otter.sql('CREATE TABLE fish (id int PRIMARY KEY, kind text);'
              'INSERT INTO fish SELECT g, \'f\' || g FROM generate_series(1, 30) g', dbname='zoo')
    entries = [
        {'name': 'zoo', 'publisher': 'rhino', 'subscriber': 'hippo', 'database': 'zoo',
         'tables': ['public.abc'], 'user': 'logic', 'password': PASSWORD},
        {'name': 'zoo_next', 'publisher': 'hippo', 'subscriber': 'zebra', 'database': 'zoo',
         'tables': ['public.abc'], 'user': 'logic', 'password': PASSWORD},
        {'name': 'aqua', 'publisher': 'otter', 'subscriber': 'hippo', 'database': 'zoo',
         'tables': ['public.fish'], 'user': 'logic', 'password': PASSWORD},
    ]
    inventory = write_inventory(work_root, {'rhino': rhino, 'hippo': hippo, 'zebra': zebra, 'otter': otter},
                                entries)
    setup = os.path.join(PLAYBOOKS, 'setup.yml')

    first = ansible.playbook(setup, inventory=inventory)
    assert first.rc == 0, first.output[-6000:]
    assert hippo.value('SELECT count(*) FROM fish', dbname='zoo') == 30          # fan-in, schema copied
    assert hippo.value('SELECT count(*) FROM abc', dbname='zoo') == 100
    assert wait_for(lambda: zebra.value('SELECT count(*) FROM abc', dbname='zoo') == 100, 'the cascade copy')
    assert sorted(r[0] for r in hippo.sql('SELECT subname FROM pg_subscription')) == ['aqua', 'zoo']

    rhino.sql("INSERT INTO abc VALUES (101, 'late')", dbname='zoo')
    otter.sql("INSERT INTO fish VALUES (31, 'late')", dbname='zoo')
    assert wait_for(lambda: zebra.value('SELECT animal FROM abc WHERE id = 101', dbname='zoo') == 'late',
                    'a row through two hops')
    assert wait_for(lambda: hippo.value('SELECT kind FROM fish WHERE id = 31', dbname='zoo') == 'late',
                    'a row from the second publisher')

    assert_nothing_changed(ansible.playbook(setup, inventory=inventory))

    # A table added to an entry: its definition is copied and the subscription refreshed, so rows arrive.
    rhino.sql('CREATE TABLE keepers (id int PRIMARY KEY, name text);'
              "INSERT INTO keepers VALUES (1, 'ann'), (2, 'bob')", dbname='zoo')
    entries[0]['tables'].append('public.keepers')
    inventory = write_inventory(work_root, {'rhino': rhino, 'hippo': hippo, 'zebra': zebra, 'otter': otter},
                                entries)
    third = ansible.playbook(setup, inventory=inventory)
    assert third.rc == 0, third.output[-6000:]
    assert wait_for(lambda: hippo.value('SELECT count(*) FROM keepers', dbname='zoo') == 2, 'the added table')
    assert_nothing_changed(ansible.playbook(setup, inventory=inventory))


def test_argument_specs_reject_a_wrong_type_before_anything_runs(ansible, pg):
    name = random_name('never')
    play = dict(hosts='localhost', connection='local', gather_facts=False, tasks=[dict(
        name='publisher role', **{'ansible.builtin.include_role': {'name': 'pgops.logical_replication.publisher'}})],
        vars=dict(server_port='not-a-port', server_login_host='127.0.0.1',
                  logical_replication=[{'name': name, 'publisher': 'localhost', 'subscriber': 'elsewhere',
                                        'database': 'postgres', 'tables': 'public.abc', 'user': 'logic',
                                        'password': 'x'}]))
    run = ansible.playbook([play])
    assert run.rc != 0
    assert 'Validating arguments against arg spec' in run.output
    assert "server_port" in run.output and 'not-a-port' in run.output, run.output[-3000:]
    assert pg.value('SELECT count(*) FROM pg_publication WHERE pubname = %s', (name,)) == 0
