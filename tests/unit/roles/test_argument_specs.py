# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Each role's meta/argument_specs.yml and defaults/main.yml declare the same variables (STYLE habit 10).

Every public variable in defaults/ is documented with the same default and a type; every documented
option has a default in defaults/ unless it is required (the topology `logical_replication`).
"""

import os

import pytest
import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
ROLES = sorted(d for d in os.listdir(os.path.join(REPO, 'roles'))
               if os.path.isdir(os.path.join(REPO, 'roles', d)))
TYPES = {'str': str, 'int': int, 'bool': bool, 'dict': dict, 'list': list}


def load(role, *path):
    with open(os.path.join(REPO, 'roles', role, *path)) as handle:
        return yaml.safe_load(handle)


def test_roles_found():
    assert ROLES == ['publisher', 'server', 'subscriber']


@pytest.mark.parametrize('role', ROLES)
def test_spec_names_match_defaults(role):
    defaults = load(role, 'defaults', 'main.yml') or {}
    options = load(role, 'meta', 'argument_specs.yml')['argument_specs']['main']['options']
    documented_with_default = set(n for n, o in options.items() if not o.get('required'))
    assert set(defaults) == documented_with_default


@pytest.mark.parametrize('role', ROLES)
def test_spec_defaults_equal_defaults(role):
    defaults = load(role, 'defaults', 'main.yml') or {}
    options = load(role, 'meta', 'argument_specs.yml')['argument_specs']['main']['options']
    for name, value in defaults.items():
        assert 'default' in options[name], name
        assert options[name]['default'] == value, name


@pytest.mark.parametrize('role', ROLES)
def test_spec_types_match_defaults(role):
    defaults = load(role, 'defaults', 'main.yml') or {}
    options = load(role, 'meta', 'argument_specs.yml')['argument_specs']['main']['options']
    for name, option in options.items():
        assert option.get('type') in TYPES, name
        assert option.get('description'), name
        if name in defaults:
            assert isinstance(defaults[name], TYPES[option['type']]) and not (
                isinstance(defaults[name], bool) and TYPES[option['type']] is int), name
            if 'choices' in option:
                assert defaults[name] in option['choices'], name


@pytest.mark.parametrize('role', ROLES)
def test_public_variables_are_prefixed(role):
    defaults = load(role, 'defaults', 'main.yml') or {}
    assert all(name.startswith(role + '_') for name in defaults)
    internals = load(role, 'vars', 'main.yml') or {}
    assert all(name.startswith('_%s_' % role) for name in internals)


@pytest.mark.parametrize('role', ROLES)
def test_secrets_are_no_log(role):
    options = load(role, 'meta', 'argument_specs.yml')['argument_specs']['main']['options']
    for name, option in options.items():
        if 'password' in name:
            assert option.get('no_log') is True, name


def topology_option(role):
    return load(role, 'meta', 'argument_specs.yml')['argument_specs']['main']['options']['logical_replication']


@pytest.mark.parametrize('role', [r for r in ROLES if r != 'server'])
def test_topology_schema_is_the_server_roles(role):
    """One source: the server role declares `logical_replication`; the other roles carry an exact copy
    (argument_specs cannot include a file). Copy the server role's option when this fails."""
    assert topology_option(role) == topology_option('server')


def test_topology_schema_knows_the_keys_the_filter_checks():
    from ansible_collections.pgops.logical_replication.plugins.filter import topology
    suboptions = topology_option('server')['options']
    assert set(topology.STRING_KEYS) <= set(suboptions)
    assert set(topology.REQUIRED_KEYS) == set(n for n, o in suboptions.items() if o.get('required'))
    assert suboptions['password'].get('no_log') is True
