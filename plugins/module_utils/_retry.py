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
    func,
    max_retries,
    sleep=time.sleep,
    on_retry=None,
    deadline=None,
    clock=time.monotonic,
    retryable=is_retryable,
    unbounded=None,
):
    """Call func() until it succeeds, fails for good, max_retries extra attempts are spent,
    or the next wait would pass the deadline (a clock() value).

    func raises KmsError; the final error is the last one, with the number of attempts made. retryable(error) says
    which failures are worth another attempt (is_throttling alone for a request that must not run twice).
    unbounded(error), with a deadline, says which retryable failures do not spend max_retries: they are retried
    until the deadline (throttling: the service ran nothing, and the caller slows down instead of giving up).
    """
    attempt = counted = 0
    while True:
        try:
            return func()
        except KmsError as error:
            attempt += 1
            free = deadline is not None and unbounded is not None and unbounded(error)
            counted += 0 if free else 1
            delay = backoff(min(attempt, counted + 3) - 1, error.retry_after)
            late = deadline is not None and clock() + delay >= deadline
            if not retryable(error) or counted > max_retries or late:
                error.attempts = attempt
                if late and retryable(error) and counted <= max_retries:
                    error.note = "gave up at the deadline"
                raise
            if on_retry is not None:
                on_retry(error)
            sleep(delay)
