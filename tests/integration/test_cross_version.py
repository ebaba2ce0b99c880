# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""setup.yml between servers of different majors, as a major-version upgrade uses it.

Runs once per session (not once per major): one server of each of 15, 16, 17 and 18, wired by one
setup.yml run with three entries, two older -> newer (the upgrade direction, the subscriber role
copying the table definitions) and one newer -> older (logical replication allows both). Each pair
is its own test over the module's one setup run, so one broken pair does not hide the others.
"""

import pytest

from pgharness import (PLAYBOOKS, Servers, assert_nothing_changed, changed_tasks, random_name,
                       wait_for, write_inventory)

PASSWORD = 'Cross-version pw 7'
# (publisher major, subscriber major, database): each database is used by one pair only.
PAIRS = [('15', '17', 'up_a'), ('16', '18', 'up_b'), ('18', '15', 'down')]
# Newer -> older: the table is made on the subscriber beforehand (the pair as an operator who made it by hand
# has it); test_schema_copy_from_a_newer_publisher lets the subscriber role create it (schema_sync reads the
# publisher's catalog, no pg_dump of the subscriber's older major).
PRECREATED = ('down',)
TABLE = 'CREATE TABLE abc (id serial PRIMARY KEY, v text)'

SETUP = PLAYBOOKS + '/setup.yml'


def pair_id(pair):
    return '%s->%s' % pair[:2]


def seed(pub, sub, dbname, precreate=False):
    """A database on both, a table with 20 rows on the publisher; the topology entry for the pair."""
    pub.sql('CREATE DATABASE %s' % dbname)
    sub.sql('CREATE DATABASE %s' % dbname)
    pub.sql(TABLE + "; INSERT INTO abc (v) SELECT 'row ' || g FROM generate_series(1, 20) g", dbname=dbname)
    if precreate:
        sub.sql(TABLE, dbname=dbname)
    return {'name': dbname, 'publisher': 'pg%d' % (pub.version_num // 10000),
            'subscriber': 'pg%d' % (sub.version_num // 10000), 'database': dbname, 'tables': ['public.abc'],
            'user': 'logic', 'password': PASSWORD}


@pytest.fixture(scope='module')
def wired(ansible, work_root):
    """Four servers, one of each major, wired by setup.yml (the first run's result kept)."""
    with Servers(work_root) as make:
        servers = dict(('pg%s' % major, make(major, 'x%s' % major, conf={'wal_level': 'logical'}))
                       for major in ('15', '16', '17', '18'))
        entries = []
        for pub_major, sub_major, dbname in PAIRS:
            entries.append(seed(servers['pg' + pub_major], servers['pg' + sub_major], dbname,
                                precreate=dbname in PRECREATED))
        inventory = write_inventory(work_root, servers, entries)
        first = ansible.playbook(SETUP, inventory=inventory)
        yield dict(servers=servers, inventory=inventory, first=first)


@pytest.mark.parametrize('pair', PAIRS, ids=pair_id)
def test_initial_copy_then_a_row_arrives(wired, pair):
    # (the setup run's own success is test_second_setup_run_changes_nothing's first check: here only
    # this pair's wiring counts)
    pub_major, sub_major, dbname = pair
    pub, sub = wired['servers']['pg' + pub_major], wired['servers']['pg' + sub_major]
    assert (pub.version_num // 10000, sub.version_num // 10000) == (int(pub_major), int(sub_major))
    assert sub.value('SELECT count(*) FROM abc', dbname=dbname) == 20   # setup waited for the initial copy
    marker = random_name('row')
    pub.sql('INSERT INTO abc (v) VALUES (%s)', (marker,), dbname=dbname)
    assert wait_for(lambda: sub.value('SELECT count(*) FROM abc WHERE v = %s', (marker,), dbname=dbname) == 1,
                    'the row %s from PostgreSQL %s on PostgreSQL %s' % (marker, pub_major, sub_major))
    assert sub.value('SELECT subenabled FROM pg_subscription WHERE subname = %s', (dbname,)) is True


def test_second_setup_run_changes_nothing(ansible, wired):
    assert wired['first'].rc == 0, wired['first'].output[-6000:]
    assert changed_tasks(wired['first'])   # the first run did the wiring
    assert_nothing_changed(ansible.playbook(SETUP, inventory=wired['inventory']))


def test_schema_copy_from_a_newer_publisher(ansible, wired, work_root):
    """18 -> 15 with the table missing on the subscriber: setup.yml copies its definition (schema_sync)."""
    servers = wired['servers']
    entry = seed(servers['pg18'], servers['pg15'], 'down_copy')
    hosts = dict((name, servers[name]) for name in ('pg18', 'pg15'))
    run = ansible.playbook(SETUP, inventory=write_inventory(work_root, hosts, [entry]))
    assert run.rc == 0, run.output[-3000:]
    assert servers['pg15'].value('SELECT count(*) FROM abc', dbname='down_copy') == 20
