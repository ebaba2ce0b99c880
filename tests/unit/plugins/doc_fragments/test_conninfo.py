# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The conninfo doc fragment and _conninfo.OPTION_SPEC say the same thing, in each of its uses."""
import pytest
import yaml

from ansible_collections.pgops.logical_replication.plugins.doc_fragments.conninfo import ModuleDocFragment
from ansible_collections.pgops.logical_replication.plugins.module_utils import _conninfo


@pytest.mark.parametrize('var, option', [('DOCUMENTATION', 'conninfo'), ('PUBLISHER', 'publisher')])
def test_fragment_matches_option_spec(var, option):
    documented = yaml.safe_load(getattr(ModuleDocFragment, var))['options']
    assert list(documented) == [option]
    suboptions = documented[option]['suboptions']
    assert list(suboptions) == list(_conninfo.KEYWORDS)
    for name, spec in _conninfo.OPTION_SPEC.items():
        assert suboptions[name]['type'] == spec['type'], name
        assert suboptions[name]['description'], name
    assert 'conninfo' not in str(suboptions) if option != 'conninfo' else True
    assert suboptions['password']['description'] == ['Password of O(%s.user). Never returned or logged.' % option]


def test_secrets_are_no_log_in_the_spec():
    assert [k for k, v in _conninfo.OPTION_SPEC.items() if v.get('no_log')] == list(_conninfo.SECRET_KEYS)
