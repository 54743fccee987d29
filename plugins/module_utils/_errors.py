# -*- coding: utf-8 -*-
# Copyright (c) alicloud.kms contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to this collection; no compatibility promise (the public API is the modules, plugins, filters and role).
"""The two error types every face turns into a task failure."""

from __future__ import annotations


class KmsOptionError(ValueError):
    """Bad input, found before any request is sent. The text names the option."""

    def __init__(self, option, message):
        self.option = option
        super().__init__("%s: %s" % (option, message))


class KmsError(Exception):
    """A failure from the service or the network, carrying what support asks for.

    Built only from the service's Code, Message and RequestId, the region and the
    action; never from a request object, so no credential can reach the text.
    """

    def __init__(
        self, code, message, request_id=None, region=None, action=None, attempts=1, status=None, retry_after=None
    ):
        self.code = code
        self.message = message
        self.request_id = request_id
        self.region = region
        self.action = action
        self.attempts = attempts
        self.status = status
        self.retry_after = retry_after  # seconds the service asked to wait (x-acs-retry-after)
        self.note = None  # set by the retry loop, like attempts
        self.account = None  # set when the run reads several accounts: the one this failure belongs to
        super().__init__(code, message)

    def __str__(self):
        who = " for account %s" % self.account if self.account else ""
        where = " in region %s" % self.region if self.region else ""
        text = "%s%s failed%s: %s: %s" % (self.action or "KMS request", who, where, self.code, self.message)
        if self.request_id:
            text += " (RequestId: %s)" % self.request_id
        if self.attempts > 1:
            text += " after %d attempts" % self.attempts
        if self.note:
            text += " (%s)" % self.note
        return text

    def to_dict(self):
        return {
            "code": self.code,
            "message": self.message,
            "request_id": self.request_id,
            "region": self.region,
            "action": self.action,
            "attempts": self.attempts,
            "account_id": self.account,
        }
