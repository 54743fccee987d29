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

    Throttling widens the spacing (slow_down), once per round of requests: the replies to requests sent before
    the last slow-down say nothing new, so a burst of them (every request in flight throttled at once) slows the
    pace once, not once each. Every success narrows it again a little (succeeded), back to `rate` at most: the run
    settles just under what the quota, shared with other clients, leaves it.
    """

    RECOVERY = 0.98  # each success takes back 2% of the spacing: about 20 successes undo one slow-down

    def __init__(self, rate, clock=time.monotonic, sleep=time.sleep):
        self.interval = self.base = 1.0 / rate if rate else 0.0
        self._next = 0.0
        self._sent = 0  # requests handed a start time so far
        self._slowed_at = -1  # _sent when the spacing was last widened
        self._lock = threading.Lock()
        self._clock = clock
        self._sleep = sleep

    def wait(self):
        """Wait for this request's start time; returns its ticket for slow_down."""
        if not self.interval:
            return 0
        with self._lock:
            now = self._clock()
            start = max(now, self._next)
            self._next = start + self.interval
            self._sent += 1
            ticket = self._sent
        if start > now:
            self._sleep(start - now)
        return ticket

    def slow_down(self, factor=1.5, floor_rate=1.0, ticket=None):
        """After a 429 the quota is evidently shared: widen the spacing, down to floor_rate (never below rate).

        ticket (what wait() gave the throttled request): a request sent before the last slow-down slows nothing."""
        with self._lock:
            if ticket is not None and ticket <= self._slowed_at:
                return
            self._slowed_at = self._sent
            self.interval = max(self.base, min(self.interval * factor, 1.0 / floor_rate))

    def succeeded(self):
        with self._lock:
            if self.interval > self.base:
                self.interval = max(self.base, self.interval * self.RECOVERY)
