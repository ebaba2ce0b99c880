# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The conninfo option spec (module_utils/_remote.py) agrees with the modules' documentation."""

import importlib

import pytest
import yaml

from ansible_collections.pgops.logical_replication.plugins.module_utils import _conninfo, _remote

MODULES = [('sequence_sync', 'conninfo'), ('replication_info', 'publisher')]


def test_spec_covers_every_keyword_and_hides_secrets():
    assert sorted(_remote.CONNINFO_SPEC) == sorted(_conninfo.KEYWORDS)
    for key in _conninfo.SECRET_KEYS:
        assert _remote.CONNINFO_SPEC[key]['no_log'] is True


@pytest.mark.parametrize('module, option', MODULES)
def test_documented_suboptions_match_spec(module, option):
    mod = importlib.import_module('ansible_collections.pgops.logical_replication.plugins.modules.' + module)
    documented = yaml.safe_load(mod.DOCUMENTATION)['options'][option]['suboptions']
    assert dict((k, v['type']) for k, v in documented.items()) == dict(
        (k, v['type']) for k, v in _remote.CONNINFO_SPEC.items())
    assert mod.ARGUMENT_SPEC[option]['options'] is _remote.CONNINFO_SPEC
