# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every version-gated module option fails clearly on each tested major below its gate.

The gates are plugins/module_utils/_versions.py FEATURES. Each one is either a module option (GATED
below: the task that asks for it, here on PostgreSQL 15 to 18, or in molecule/upgrade/gates.yml on
PostgreSQL 13 for the gates at 14 and 15) or something the modules only read or adapt to (NOT_OPTIONS,
with the reason). A new gate that is in neither table fails test_every_gate_is_covered.

On each major, one playbook runs every gated option that major is too old for (one task each,
ignore_errors), and each must fail, change nothing, and say what it needs, which PostgreSQL and which
PostgreSQL the server runs; the catalog (the object, the settings file) is read before and after.
Changing two_phase of an existing subscription before 18 is refused by the plan, with its own message
(OWN_MESSAGE), which says the same and the way out.
"""

import ast
import os

import pytest

from conftest import MAJORS, _shared
from pgharness import SUPERUSER_PASSWORD, random_name

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MOLECULE_GATES = os.path.join(REPO, 'molecule', 'upgrade', 'gates.yml')


def _features():
    """FEATURES of plugins/module_utils/_versions.py, read from the source (the modules run in Ansible, not here)."""
    with open(os.path.join(REPO, 'plugins', 'module_utils', '_versions.py')) as handle:
        tree = ast.parse(handle.read())
    for node in tree.body:
        if isinstance(node, ast.Assign) and [t.id for t in node.targets if isinstance(t, ast.Name)] == ['FEATURES']:
            return ast.literal_eval(node.value)
    raise AssertionError('no FEATURES in _versions.py')


FEATURES = _features()
PREFIX = 'pgops.logical_replication.'

# feature -> (module, the options that ask for it). The object each task would create is named by
# the placeholders filled in by options_for(); see catalog_state() for what is read.
GATED = {
    'subscription_binary': ('postgresql_subscription', dict(binary=True)),
    'subscription_streaming': ('postgresql_subscription', dict(streaming='on')),
    'subscription_streaming_parallel': ('postgresql_subscription', dict(streaming='parallel')),
    'subscription_two_phase': ('postgresql_subscription', dict(two_phase=True)),
    'subscription_disable_on_error': ('postgresql_subscription', dict(disable_on_error=True)),
    'subscription_skip_lsn': ('postgresql_subscription', dict(skip_lsn='0/1000000')),
    'subscription_origin': ('postgresql_subscription', dict(origin='none')),
    'subscription_password_required': ('postgresql_subscription', dict(password_required=False)),
    'subscription_run_as_owner': ('postgresql_subscription', dict(run_as_owner=True)),
    'subscription_failover': ('postgresql_subscription', dict(failover=True)),
    # on an existing subscription (made with two_phase = false before the run)
    'subscription_alter_two_phase': ('postgresql_subscription', dict(two_phase=True)),
    'slot_two_phase': ('replication_slot', dict(two_phase=True)),
    'slot_failover': ('replication_slot', dict(failover=True)),
    'publication_row_filter': ('postgresql_publication', dict(tables=[dict(name='{table}', where='id > 0')])),
    'publication_column_list': ('postgresql_publication', dict(tables=[dict(name='{table}', columns=['id'])])),
    'publication_schemas': ('postgresql_publication', dict(schemas=['public'])),
    'publication_generated_columns': ('postgresql_publication',
                                      dict(tables=['{table}'], publish_generated_columns='stored')),
    'max_active_replication_origins': ('wal_config', dict(settings=dict(max_active_replication_origins=20))),
}

# Gates no user option asks for: the modules read the newer catalog column (a typed NULL before) or
# adapt the statement. Below their gate nothing fails, so there is nothing to see failing.
NOT_OPTIONS = {
    'grant_set_parameter': 'read by replication_user/_catalog (privileges on parameters), false before 15',
    'subscription_stats': 'replication_info reads pg_stat_subscription_stats where it exists',
    'subscription_worker_leader_pid': 'replication_info reads pg_stat_subscription.leader_pid where it exists',
    'subscription_worker_type': 'replication_info reads pg_stat_subscription.worker_type where it exists',
    'slot_synced': 'replication_slot/replication_info read pg_replication_slots.synced where it exists',
    'slot_invalidation_reason': 'replication_info reads pg_replication_slots.invalidation_reason where it exists',
    'terminate_backend_timeout': 'replication_slot passes a timeout to pg_terminate_backend where it can',
    'hba_rules_file_name': 'pg_hba reads pg_hba_file_rules.file_name where it exists',
}

# The gate whose refusal does not come from _versions.require() (plan(): an existing subscription's
# two_phase before 18, with the way out): the fragments its message must hold.
OWN_MESSAGE = {
    'subscription_alter_two_phase': ['two_phase cannot be changed on an existing subscription before PostgreSQL 18; '
                                     'this server runs PostgreSQL {version} (it is false, you asked for true)',
                                     'drop and recreate'],
}


def gate_major(feature):
    return FEATURES[feature][0] // 10000  # every gate is 10+


def below_gate():
    """(major, feature) for every tested major below every gate: each one is a test id."""
    return [(major, feature) for major in MAJORS for feature in sorted(GATED) if int(major) < gate_major(feature)]


def test_every_gate_is_covered():
    """Each FEATURES entry is a gated option tested here (or on 13 in molecule) or listed as read-only."""
    assert set(GATED) | set(NOT_OPTIONS) == set(FEATURES), (
        'classify the new gate(s) in tests/integration/test_version_gates.py: %s'
        % sorted(set(FEATURES) ^ (set(GATED) | set(NOT_OPTIONS))))
    assert not set(GATED) & set(NOT_OPTIONS)
    # the gates at the oldest supported major (15) or below fail on 13, in the molecule step
    on_13 = sorted(f for f in GATED if gate_major(f) <= 15)
    with open(MOLECULE_GATES) as handle:
        cases = dict((case.split('\n', 1)[0], case) for case in handle.read().split('- gate: ')[1:])
    # each case there names its gate, the words and the major the message must hold (as in FEATURES)
    missing = [f for f in on_13 if 'needs: %d\n' % gate_major(f) not in cases.get(f, '')
               or 'words: %s\n' % FEATURES[f][1] not in cases.get(f, '')]
    assert not missing, 'not seen failing on PostgreSQL 13 in %s: %s' % (MOLECULE_GATES, missing)
    assert on_13 and all(gate_major(f) > 13 for f in on_13)


# -- one playbook per major --------------------------------------------------------------------------

def _fill(value, names):
    if isinstance(value, dict):
        return dict((k, _fill(v, names)) for k, v in value.items())
    if isinstance(value, list):
        return [_fill(v, names) for v in value]
    return value.format(**names) if isinstance(value, str) else value


def task_for(feature, pub, names):
    """The module task that asks for ``feature`` (the object named after the feature)."""
    module, options = GATED[feature]
    name = names['objects'][feature]
    args = dict(pub.login, **_fill(options, names))
    if module == 'postgresql_subscription':
        # connect: false, so that without the gate the subscription would simply be created (and seen)
        args.update(db='postgres', name=name, publications=['gates'], connect=False, enabled=False,
                    create_slot=False, slot_name='none',
                    conninfo=dict(host=pub.host, port=pub.port, dbname='postgres', user='postgres',
                                  password=SUPERUSER_PASSWORD))
    elif module == 'replication_slot':
        args.update(name=name, slot_type='logical', plugin='pgoutput')
    elif module == 'postgresql_publication':
        args.update(db='postgres', name=name)
    return {'name': feature, PREFIX + module: args}


def catalog_state(pg, names):
    """What the tasks could change: the objects by name, the subscription options, the settings file."""
    objects = list(names['objects'].values())
    return dict(
        subscriptions=pg.sql("SELECT subname, subenabled, subslotname, to_jsonb(s) - 'subconninfo' "
                             "FROM pg_subscription s WHERE subname = ANY(%s) ORDER BY 1", (objects,)),
        slots=pg.sql('SELECT slot_name FROM pg_replication_slots WHERE slot_name = ANY(%s)', (objects,)),
        publications=pg.sql('SELECT pubname FROM pg_publication WHERE pubname = ANY(%s)', (objects,)),
        auto_conf=pg.auto_conf(),
    )


def run_major(ansible, pg, major):
    """One playbook: every gated option ``major`` is too old for. Returns (before, after, results by feature)."""
    features = [f for m, f in below_gate() if m == major]
    names = dict(table=random_name('gates_t'), objects=dict((f, random_name('g')) for f in features))
    pg.sql('CREATE TABLE %s (id int PRIMARY KEY)' % names['table'])
    existing = names['objects'].get('subscription_alter_two_phase')
    try:
        if existing:
            pg.sql("CREATE SUBSCRIPTION %s CONNECTION 'host=%s port=%s dbname=postgres user=postgres' "
                   "PUBLICATION gates WITH (connect = false, slot_name = NONE, enabled = false, two_phase = false)"
                   % (existing, pg.host, pg.port))
        before = catalog_state(pg, names)
        run = ansible.tasks([task_for(f, pg, names) for f in features])
        return before, catalog_state(pg, names), dict((r['task'], r['result']) for r in run.results)
    finally:
        for name in names['objects'].values():
            pg.sql('DROP PUBLICATION IF EXISTS %s' % name)
            if pg.value('SELECT count(*) FROM pg_subscription WHERE subname = %s', (name,)):
                pg.sql('ALTER SUBSCRIPTION %s DISABLE' % name)
                pg.sql('ALTER SUBSCRIPTION %s SET (slot_name = NONE)' % name)
                pg.sql('DROP SUBSCRIPTION %s' % name)
            if pg.value('SELECT count(*) FROM pg_replication_slots WHERE slot_name = %s', (name,)):
                pg.sql('SELECT pg_drop_replication_slot(%s)', (name,))
        pg.sql('DROP TABLE IF EXISTS %s' % names['table'])


@pytest.fixture(scope='module')
def runs():
    """The run of each major, made by the first test of that major."""
    return {}


@pytest.mark.parametrize('major,feature', below_gate(), ids=['pg%s-%s' % mf for mf in below_gate()])
def test_gated_option_fails_clearly_below_its_gate(ansible, _shared_servers, work_root, runs, major, feature):
    """failed, changed false, the message says what, which PostgreSQL it needs and which one the server
    runs; the object is not created (or not altered), the settings file is the same."""
    pg = _shared(_shared_servers, work_root, major, 'publisher')
    if major not in runs:
        runs[major] = run_major(ansible, pg, major)
    before, after, results = runs[major]
    result = results[feature]
    words = FEATURES[feature][1]
    wanted = [fragment.format(version=pg.version_text) for fragment in OWN_MESSAGE.get(feature, [
        '%s needs PostgreSQL %d or later; this server runs PostgreSQL %s. Upgrade the server or leave the '
        'option out.' % (words, gate_major(feature), pg.version_text)])]
    assert result.get('failed') is True, result
    assert result.get('changed') is False, result
    for fragment in wanted:
        assert fragment in result['msg'], (fragment, result['msg'])
    assert after == before
