# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Make this checkout importable as ansible_collections.pgops.logical_replication."""

import os
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_ROOT = tempfile.mkdtemp(prefix='pgops-unit-')
os.makedirs(os.path.join(_ROOT, 'ansible_collections', 'pgops'))
os.symlink(REPO, os.path.join(_ROOT, 'ansible_collections', 'pgops', 'logical_replication'))
sys.path.insert(0, _ROOT)
