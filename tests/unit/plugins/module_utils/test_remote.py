# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every conninfo dict option takes _conninfo.OPTION_SPEC and documents it with the conninfo fragment."""

import importlib

import pytest
import yaml

from ansible_collections.pgops.logical_replication.plugins.module_utils import _conninfo

MODULES = [('postgresql_subscription', 'conninfo', 'pgops.logical_replication.conninfo'),
           ('sequence_sync', 'conninfo', 'pgops.logical_replication.conninfo'),
           ('schema_sync', 'conninfo', 'pgops.logical_replication.conninfo'),
           ('replication_info', 'publisher', 'pgops.logical_replication.conninfo.PUBLISHER')]


def test_spec_covers_every_keyword_and_hides_secrets():
    assert sorted(_conninfo.OPTION_SPEC) == sorted(_conninfo.KEYWORDS)
    for key in _conninfo.SECRET_KEYS:
        assert _conninfo.OPTION_SPEC[key]['no_log'] is True


@pytest.mark.parametrize('module, option, fragment', MODULES)
def test_conninfo_options_share_spec_and_fragment(module, option, fragment):
    mod = importlib.import_module('ansible_collections.pgops.logical_replication.plugins.modules.' + module)
    doc = yaml.safe_load(mod.DOCUMENTATION)
    assert fragment in doc['extends_documentation_fragment']
    assert doc['options'][option]['type'] == 'dict' and 'suboptions' not in doc['options'][option]
    assert mod.ARGUMENT_SPEC[option]['options'] is _conninfo.OPTION_SPEC
