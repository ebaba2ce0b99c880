# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""examples/awx is a project AWX can use as is: its surveys are the generator's output, its
wrapper playbooks import playbooks the collection has, and its inventory gives a valid topology
whose vaulted password opens with the documented example vault password."""

import importlib.util
import json
import os
import re
import subprocess
import sys

import pytest
import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
AWX = os.path.join(REPO, 'examples', 'awx')
BIN = os.path.dirname(sys.executable)
WRAPPERS = ['preflight', 'setup', 'status', 'switchover', 'teardown']
# Documented in examples/awx/README.md; the committed vault.yml is encrypted with it.
EXAMPLE_VAULT_PASSWORD = 'pgops-awx-example'


def _load_generator():
    spec = importlib.util.spec_from_file_location('make_surveys', os.path.join(AWX, 'make_surveys.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


make_surveys = _load_generator()


@pytest.fixture(scope='module')
def ansible_env(tmp_path_factory):
    """Environment where pgops.logical_replication is this checkout (as AWX has it installed)."""
    root = tmp_path_factory.mktemp('collections')
    (root / 'ansible_collections' / 'pgops').mkdir(parents=True)
    os.symlink(REPO, str(root / 'ansible_collections' / 'pgops' / 'logical_replication'))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(root), ANSIBLE_NOCOLOR='1',
               ANSIBLE_LOCAL_TEMP=str(tmp_path_factory.mktemp('ansible-tmp')))
    env.pop('ANSIBLE_CONFIG', None)
    return env


@pytest.mark.parametrize('name', sorted(make_surveys.SURVEYS))
def test_committed_survey_is_the_generated_one(name):
    path = os.path.join(AWX, 'surveys', name + '.json')
    with open(path) as handle:
        committed = handle.read()
    generated = make_surveys.render(make_surveys.survey(REPO, name, make_surveys.SURVEYS[name]))
    assert committed == generated, 'run: python3 examples/awx/make_surveys.py'


def test_check_mode_of_the_generator_reports_a_stale_survey(tmp_path):
    out = tmp_path / 'surveys'
    out.mkdir()
    (out / 'setup.json').write_text('{}\n')
    assert make_surveys.main(['--check', '--output', str(out)]) == 1
    assert make_surveys.main(['--output', str(out)]) == 0
    assert make_surveys.main(['--check', '--output', str(out)]) == 0


def test_setup_survey_asks_only_run_wide_scalar_options():
    spec = json.loads(make_surveys.render(make_surveys.survey(REPO, 'setup', make_surveys.SURVEYS['setup'])))
    by_var = {q['variable']: q for q in spec['spec']}
    # Per-host options, secrets and the topology list stay in the inventory and the vault.
    for name in ('server_port', 'server_address', 'server_login_password', 'logical_replication', 'server_connection'):
        assert name not in by_var
    assert by_var['server_allow_restart'] == dict(by_var['server_allow_restart'], type='multiplechoice',
                                                  choices='true\nfalse', default='true')
    assert by_var['subscriber_sslmode']['choices'].split('\n') == [
        'disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full']
    assert by_var['subscriber_sync_timeout']['type'] == 'integer'
    for item in spec['spec']:
        assert item['question_description']
        assert not re.search(r'\b[OVCIM]\(', item['question_description']), item  # doc markup made plain
        if item['type'] == 'multiplechoice':
            assert item['default'] in item['choices'].split('\n')


def test_a_bool_default_outside_the_choices_is_an_error():
    with pytest.raises(make_surveys.SurveyError, match='x: default'):
        make_surveys.question('x', {'type': 'str', 'choices': ['a', 'b'], 'default': 'c'})


@pytest.mark.parametrize('name', WRAPPERS)
def test_wrapper_imports_the_collection_playbook(name):
    with open(os.path.join(AWX, name + '.yml')) as handle:
        plays = yaml.safe_load(handle)
    assert plays == [{'name': 'Logical replication %s (pgops.logical_replication.%s)' % (name, name),
                      'ansible.builtin.import_playbook': 'pgops.logical_replication.%s' % name}]
    assert os.path.exists(os.path.join(REPO, 'playbooks', name + '.yml'))


@pytest.mark.parametrize('name', WRAPPERS)
def test_wrapper_passes_syntax_check(ansible_env, name):
    proc = subprocess.run(
        [os.path.join(BIN, 'ansible-playbook'), '--syntax-check', '-i', os.path.join(AWX, 'inventory', 'hosts.yml'),
         os.path.join(AWX, name + '.yml')],
        env=ansible_env, cwd=AWX, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert 'playbook: ' in proc.stdout


def test_inventory_topology_is_valid_and_its_password_opens_with_the_vault(ansible_env, tmp_path):
    password_file = tmp_path / 'vault-pass'
    password_file.write_text(EXAMPLE_VAULT_PASSWORD + '\n')
    msg = ("{{ {'problems': logical_replication | pgops.logical_replication.topology_problems(hostvars),"
           " 'password': logical_replication[0].password} | to_json }}")
    proc = subprocess.run(
        [os.path.join(BIN, 'ansible'), 'rhino', '-i', os.path.join(AWX, 'inventory', 'hosts.yml'),
         '--vault-password-file', str(password_file), '-m', 'ansible.builtin.debug', '-a', 'msg=' + msg],
        env=ansible_env, cwd=AWX, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result = json.loads(proc.stdout.split('=>', 1)[1])['msg']
    if isinstance(result, str):
        result = json.loads(result)
    assert result == {'problems': [], 'password': 'change-me-logic-password'}


def test_vaulted_file_needs_the_vault_password(ansible_env):
    proc = subprocess.run(
        [os.path.join(BIN, 'ansible'), 'rhino', '-i', os.path.join(AWX, 'inventory', 'hosts.yml'),
         '-m', 'ansible.builtin.debug', '-a', 'msg={{ vault_logic_password }}'],
        env=ansible_env, cwd=AWX, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode != 0
    assert 'vault' in (proc.stdout + proc.stderr).lower()
    assert 'change-me-logic-password' not in proc.stdout + proc.stderr


def test_requirements_install_this_collection():
    with open(os.path.join(AWX, 'collections', 'requirements.yml')) as handle:
        requirements = yaml.safe_load(handle)
    with open(os.path.join(REPO, 'galaxy.yml')) as handle:
        galaxy = yaml.safe_load(handle)
    (entry,) = requirements['collections']
    assert entry['type'] == 'git'
    assert entry['name'] == galaxy['repository'] + '.git'
