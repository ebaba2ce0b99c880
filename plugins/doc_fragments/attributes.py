# -*- coding: utf-8 -*-
# Copyright: pgops.logical_replication contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type


class ModuleDocFragment(object):
    # Attributes of a module that changes the server. A module whose support differs for one of them
    # says so in its own DOCUMENTATION (attributes: <name>: support, details); Ansible merges that
    # into the entry here.
    DOCUMENTATION = r'''
attributes:
  check_mode:
    description: Can run in check mode and return changed status prediction without modifying target.
    support: full
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check mode), when in diff mode.
    support: full
  idempotent:
    description: When run twice in a row outside check mode, with the same arguments, the second invocation indicates no change.
    support: full
'''


# Attributes of a read-only module: the same descriptions, derived from the text above (each
# description is written once; ansible-test wants the class attributes to be plain strings).
ModuleDocFragment.INFO_MODULE = (
    ModuleDocFragment.DOCUMENTATION
    .replace('without modifying target.\n    support: full\n',
             'without modifying target.\n    support: full\n    details: This module never changes anything.\n', 1)
    .replace('when in diff mode.\n    support: full\n', 'when in diff mode.\n    support: none\n', 1))
