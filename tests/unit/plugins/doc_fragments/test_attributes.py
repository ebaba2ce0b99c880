# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The attributes fragment, and the modules whose support differs from it."""
import importlib

import yaml

from ansible_collections.pgops.logical_replication.plugins.doc_fragments.attributes import ModuleDocFragment


def test_both_variants_share_the_descriptions():
    change = yaml.safe_load(ModuleDocFragment.DOCUMENTATION)['attributes']
    info = yaml.safe_load(ModuleDocFragment.INFO_MODULE)['attributes']
    assert sorted(change) == sorted(info) == ['check_mode', 'diff_mode', 'idempotent']
    for name in change:
        assert change[name]['description'] == info[name]['description']
    assert [change[n]['support'] for n in sorted(change)] == ['full', 'full', 'full']
    assert (info['diff_mode']['support'], info['check_mode']['details']) == ('none', 'This module never changes anything.')


def test_subscription_refresh_is_not_idempotent():
    mod = importlib.import_module('ansible_collections.pgops.logical_replication.plugins.modules.postgresql_subscription')
    idempotent = yaml.safe_load(mod.DOCUMENTATION)['attributes']['idempotent']
    assert idempotent['support'] == 'partial' and 'state=refreshed' in ' '.join(idempotent['details'])
