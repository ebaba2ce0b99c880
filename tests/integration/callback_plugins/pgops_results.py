# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Test-only callback: writes every task result as a JSON line to $PGOPS_RESULTS_FILE."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
name: pgops_results
type: notification
short_description: Write task results to a file for the test harness
description: Test-only. Appends one JSON object per task result to the file named by PGOPS_RESULTS_FILE.
requirements: [ enable in callbacks_enabled ]
'''

import json
import os

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'notification'
    CALLBACK_NAME = 'pgops_results'
    CALLBACK_NEEDS_ENABLED = True

    def _write(self, result, status):
        path = os.environ.get('PGOPS_RESULTS_FILE')
        if not path:
            return
        data = dict(result._result)
        data.pop('_ansible_no_log', None)
        data['failed'] = status == 'failed'
        record = dict(task=result._task.get_name(), host=result._host.get_name(), status=status, result=data)
        with open(path, 'a') as handle:
            handle.write(json.dumps(record, default=str) + '\n')

    def v2_runner_on_ok(self, result):
        self._write(result, 'ok')

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._write(result, 'failed')

    def v2_runner_on_skipped(self, result):
        self._write(result, 'skipped')

    def v2_runner_on_unreachable(self, result):
        self._write(result, 'unreachable')
