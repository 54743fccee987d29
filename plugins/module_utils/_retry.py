# -*- coding: utf-8 -*-
# Copyright (c) alicloud.kms contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to this collection; no compatibility promise (the public API is the modules, plugins, filters and role).
"""Which failures are worth another attempt, and how long to wait before it."""

from __future__ import annotations

import random
import time

from ansible_collections.alicloud.kms.plugins.module_utils._errors import KmsError

RETRYABLE_CODES = frozenset(
    (
        "Rejected.Throttling",
        "ServiceUnavailableTemporary",
        "ServiceUnavailable",
        "InternalFailure",
        "InternalError",
        "ConnectionError",
        "MalformedResponse",
    )
)
BASE_DELAY = 0.2  # seconds; doubles per attempt
MAX_DELAY = 10.0


def is_retryable(error):
    """Throttling, 5xx, dropped connections and garbled bodies; never another 4xx."""
    code = error.code or ""
    return (
        code in RETRYABLE_CODES
        or code.startswith("Throttling")
        or (error.status is not None and (error.status == 429 or error.status >= 500))
    )


def is_throttling(error):
    return error.status == 429 or (error.code or "").startswith(("Throttling", "Rejected.Throttling"))


def backoff(attempt, retry_after=None, rand=random.random):
    """Full-jitter exponential backoff; the service's own x-acs-retry-after wins when given."""
    if retry_after:
        return min(retry_after, MAX_DELAY)
    return rand() * min(MAX_DELAY, BASE_DELAY * (2**attempt))


def call_with_retries(
    func, max_retries, sleep=time.sleep, on_retry=None, deadline=None, clock=time.monotonic, retryable=is_retryable
):
    """Call func() until it succeeds, fails for good, max_retries extra attempts are spent,
    or the next wait would pass the deadline (a clock() value).

    func raises KmsError; the final error is the last one, with the number of attempts made. retryable(error) says
    which failures are worth another attempt (is_throttling alone for a request that must not run twice).
    """
    attempt = 0
    while True:
        try:
            return func()
        except KmsError as error:
            attempt += 1
            delay = backoff(attempt - 1, error.retry_after)
            late = deadline is not None and clock() + delay >= deadline
            if not retryable(error) or attempt > max_retries or late:
                error.attempts = attempt
                if late and retryable(error) and attempt <= max_retries:
                    error.note = "gave up at the deadline"
                raise
            if on_retry is not None:
                on_retry(error)
            sleep(delay)
