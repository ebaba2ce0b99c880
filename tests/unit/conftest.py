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


import pytest  # noqa: E402  (after the path set-up above)


@pytest.fixture
def mentions():
    """mentions(text, present, absent): every string of ``present`` is in ``text``, none of ``absent``."""
    def check(text, present, absent=()):
        missing = [part for part in present if part not in text]
        unwanted = [part for part in absent if part in text]
        assert not missing and not unwanted, 'missing %r, unwanted %r in:\n%s' % (missing, unwanted, text)
    return check


@pytest.fixture
def check_input():
    """check_input(error, function, text, returns, refused): function(text) returns ``returns`` (refused
    None), or raises ``error`` with a message that contains ``refused``. For tables of accepted and
    refused inputs."""
    def check(error, function, text, returns, refused):
        try:
            got = function(text)
        except error as err:
            assert refused is not None and refused in str(err), 'refused %r: %s' % (text, err)
            return
        assert refused is None, 'accepted %r as %r; wanted it refused with %r' % (text, got, refused)
        assert got == returns
    return check
