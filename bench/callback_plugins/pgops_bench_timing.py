# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bench-only callback: one JSON line per play start, task start and host result, with time.time()."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
name: pgops_bench_timing
type: aggregate
short_description: Timestamps of plays, tasks and results for bench/setup_rerun.py
description: Bench-only. Appends one JSON object per event to the file named by PGOPS_BENCH_EVENTS.
requirements: [ enable in callbacks_enabled ]
'''

import json
import os
import time

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'aggregate'
    CALLBACK_NAME = 'pgops_bench_timing'
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super(CallbackModule, self).__init__(*args, **kwargs)
        self._path = os.environ.get('PGOPS_BENCH_EVENTS')

    def _emit(self, **record):
        if not self._path:
            return
        record['t'] = time.time()
        with open(self._path, 'a') as handle:
            handle.write(json.dumps(record, default=str) + '\n')

    def v2_playbook_on_start(self, playbook):
        self._emit(event='playbook')

    def v2_playbook_on_play_start(self, play):
        self._emit(event='play', name=play.get_name())

    def _task(self, task, kind):
        role = task._role.get_name() if getattr(task, '_role', None) else ''
        self._emit(event=kind, name=task.get_name(), action=task.action, role=role, path=task.get_path())

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._task(task, 'task')

    def v2_playbook_on_handler_task_start(self, task):
        self._task(task, 'handler')

    def v2_playbook_on_include(self, included_file):
        self._emit(event='include', name=included_file._filename)

    def _result(self, result, status):
        self._emit(event='result', status=status, host=result._host.get_name(), name=result._task.get_name(),
                   changed=bool(result._result.get('changed')))

    def v2_runner_on_ok(self, result):
        self._result(result, 'ok')

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._result(result, 'ignored' if ignore_errors else 'failed')

    def v2_runner_on_skipped(self, result):
        self._result(result, 'skipped')

    def v2_runner_on_unreachable(self, result):
        self._result(result, 'unreachable')

    def v2_playbook_on_stats(self, stats):
        self._emit(event='stats')
