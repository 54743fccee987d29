# -*- coding: utf-8 -*-
# Copyright (c) alicloud.kms contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to this collection; no compatibility promise (the public API is the modules, plugins, filters and role).
"""A per-region pacer that keeps every caller of one region under the service quota."""

from __future__ import annotations

import threading
import time


class RateLimiter(object):
    """Hands out evenly spaced start times: at most `rate` requests per second.

    Even spacing rather than a bursty bucket, because the quota (50/s per account
    and region) is shared with every other client of the account.
    """

    def __init__(self, rate, clock=time.monotonic, sleep=time.sleep):
        self.interval = 1.0 / rate if rate else 0.0
        self._next = 0.0
        self._lock = threading.Lock()
        self._clock = clock
        self._sleep = sleep

    def wait(self):
        if not self.interval:
            return
        with self._lock:
            now = self._clock()
            start = max(now, self._next)
            self._next = start + self.interval
        if start > now:
            self._sleep(start - now)

    def slow_down(self, factor=1.5, floor_rate=1.0):
        """After a 429 the quota is evidently shared: widen the spacing."""
        with self._lock:
            self.interval = min(self.interval * factor, 1.0 / floor_rate)
