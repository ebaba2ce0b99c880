# -*- coding: utf-8 -*-
# Copyright: pgops.logical_replication contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

# The three attributes, each description written once; a module whose support differs for one
# of them says so in its own DOCUMENTATION (attributes: <name>: support, details), which Ansible
# merges into the fragment's entry.
_ATTRIBUTES = r'''
attributes:
  check_mode:
    description: Can run in check mode and return changed status prediction without modifying target.
    support: full
    @check_mode_details@
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check mode), when in diff mode.
    support: @diff_mode@
  idempotent:
    description: When run twice in a row outside check mode, with the same arguments, the second invocation indicates no change.
    support: full
'''


class ModuleDocFragment(object):
    # Attributes of a module that changes the server.
    DOCUMENTATION = _ATTRIBUTES.replace('    @check_mode_details@\n', '').replace('@diff_mode@', 'full')

    # Attributes of a read-only module.
    INFO_MODULE = (_ATTRIBUTES.replace('@check_mode_details@', 'details: This module never changes anything.')
                   .replace('@diff_mode@', 'none'))
