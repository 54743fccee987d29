# -*- coding: utf-8 -*-
# Copyright (c) alicloud.kms contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""alicloud.kms.key_events: an Event-Driven Ansible source that polls KMS keys and reports what changed."""

from __future__ import annotations

DOCUMENTATION = r"""
---
short_description: Poll Alibaba Cloud KMS keys and emit an event for each key created, deleted or changed.
description:
  - Lists the keys of one account or many, in one region or many, every O(interval) seconds, with the same core and
    the same options as the M(alicloud.kms.key_info) module, and compares each listing with the last one.
  - Emits one event per change, C(type) C(key_created), C(key_deleted) or C(key_changed), with C(key) (the record as
    key_info returns it), C(previous) (the old values of the changed fields), C(changes) (field -> [old, new]),
    C(account_id), C(region), C(identifiers) (C(key_id), C(account_id) and C(region) alone) and
    C(detected_at) (UTC, ISO 8601). Key events set no C(meta.hosts): a rule's actions run on the ruleset's hosts.
  - A key event is emitted only when the record's identifiers are in their documented forms (key ID, region, a
    16-digit account ID, the ARN C(acs:kms:<region>:<account>:key/<key_id>) agreeing with them, an account the
    poll read); a listing holding another record is a failed poll (C(poll_failed), code C(MalformedResponse)).
  - The scope of a snapshot includes the caller's account (STS GetCallerIdentity, one request per poll): a state
    file written with other credentials is not reused, and credentials that change account make a new baseline.
  - The first listing is the baseline; it emits one C(baseline) event with the C(count) of keys
    (or, with O(emit_existing), one C(key_created) event per key, with C(existing) true).
  - A poll that fails emits one C(poll_failed) event (C(code), C(request_id), C(message); never a secret) and the
    source polls again after O(interval): it never exits on a service error. A poll that skipped account-regions
    (O(strict_permissions) false) also emits one C(poll_failed) event, with C(partial) true and the C(skipped) list.
    Keys that could not be listed are never reported as deleted: a failed or partial listing is not a snapshot.
  - The SDK calls run in a worker thread; cancelling the source returns at once (a request already in flight
    finishes in its thread, within O(deadline)).
  - Delivery is at least once: O(state_file) is written after the events of a poll were queued.
notes:
  - The O(state_file) decides which keys are reported deleted or changed, so it is trusted no more than the service.
    The source refuses (at start, naming O(state_file)) a file that is a symbolic link, not owned by the user running
    the source, or writable by group or others, and a folder writable by other users without the sticky bit.
    A file that is not valid JSON, was written for other options or another account, or holds any record or
    value not in its documented form is ignored with a warning: the first poll is a new baseline, never events.
options:
  interval:
    description:
      - Seconds between the end of one poll and the start of the next; at least 30.
      - The environment variable E(ALICLOUD_KMS_EVENTS_MIN_INTERVAL) lowers that minimum (for tests against a local
        emulator); do not set it against the real service.
    type: float
    default: 300
  watch:
    description:
      - The key fields compared between polls. A change to any other field emits nothing.
      - Facets (V(key_state), V(key_spec), V(key_usage), V(protection_level), V(creator_type), V(dkms_instance_id))
        are learned by filtered listings; any other DescribeKey field (V(automatic_rotation),
        V(deletion_protection), V(description), V(rotation_interval), ...) turns O(details) on;
        V(aliases), V(tags) and V(key_policy) turn those options on.
    type: list
    elements: str
    default: [key_state, key_spec, key_usage, protection_level]
  emit_existing:
    description:
      - Emit one C(key_created) event (with C(existing) true) per key found by the first poll instead of one
        C(baseline) event.
    type: bool
    default: false
  state_file:
    description:
      - A JSON file holding the last snapshot, written atomically (mode 0600) after every complete poll. A restarted
        source reads it: it does not announce known keys again and reports what changed while it was down.
      - A bare file name (no folder) is kept in the private folder C($XDG_STATE_HOME/alicloud-kms/)
        (C(~/.local/state/alicloud-kms/) when E(XDG_STATE_HOME) is unset), created with mode 0700.
      - A file written for other listing options (regions, accounts, filters, watch) or another caller account is
        ignored, with a warning.
    type: path
  region:
    description: As in M(alicloud.kms.key_info); so are every other connection, filter and account option
      (O(regions), O(access_key_id), O(access_key_secret), O(accounts), O(strict_permissions), O(key_state), O(facets),
      O(details), O(aliases), O(tags), O(tag_filters), ...).
    type: str
"""

EXAMPLES = r"""
- name: React to KMS key changes
  hosts: localhost
  sources:
    - alicloud.kms.key_events:
        regions: [cn-hangzhou, cn-shanghai]
        interval: 300
        watch: [key_state, automatic_rotation]
        state_file: kms_keys.json  # in ~/.local/state/alicloud-kms/
  rules:
    - name: Key scheduled for deletion
      condition: event.type == "key_changed" and event.key.key_state == "PendingDeletion"
      action:
        debug:
          msg: "{{ event.key.key_arn }} will be deleted"
"""

import asyncio
import datetime
import difflib
import errno
import hashlib
import json
import logging
import os
import stat
import sys
import tempfile
from pathlib import Path

from ansible.module_utils.common.validation import (
    check_type_bool,
    check_type_dict,
    check_type_float,
    check_type_int,
    check_type_list,
    check_type_str,
)

# ansible-rulebook runs a source from its file without Ansible's collection loader: put the folder holding this
# collection's ansible_collections/ on sys.path, so the core imports as it does for the other plugins.
_HERE = Path(os.path.abspath(__file__))  # not resolved: the collection may be a link
if len(_HERE.parents) > 7 and _HERE.parents[6].name == "ansible_collections" and str(_HERE.parents[7]) not in sys.path:
    sys.path.append(str(_HERE.parents[7]))

from ansible_collections.alicloud.kms.plugins.module_utils._argspec import ARGUMENT_SPEC  # noqa: E402
from ansible_collections.alicloud.kms.plugins.module_utils._connection import SDK_IMPORT_ERROR, SDK_REQUIREMENT  # noqa: E402
from ansible_collections.alicloud.kms.plugins.module_utils._connection_options import check_region  # noqa: E402
from ansible_collections.alicloud.kms.plugins.module_utils._errors import KmsError, KmsOptionError  # noqa: E402
from ansible_collections.alicloud.kms.plugins.module_utils._keys import KeyRequest  # noqa: E402
from ansible_collections.alicloud.kms.plugins.module_utils._query import FILTER_OPTIONS  # noqa: E402
from ansible_collections.alicloud.kms.plugins.module_utils._records import (  # noqa: E402
    ACCOUNT_ID,
    KEY_ID,
    METADATA_FIELDS,
)

LOG = logging.getLogger(__name__)

DEFAULT_INTERVAL = 300
MIN_INTERVAL = 30
MIN_INTERVAL_ENV = "ALICLOUD_KMS_EVENTS_MIN_INTERVAL"
DEFAULT_WATCH = ["key_state", "key_spec", "key_usage", "protection_level"]
STATE_VERSION = 2  # 2: the scope includes the caller account
STATE_FOLDER = "alicloud-kms"  # under $XDG_STATE_HOME (~/.local/state): where a bare state_file name is kept
# what each watched field needs: a facet, DescribeKey, or an enrichment option
ENRICHED = ("aliases", "tags", "key_policy")
DETAIL_FIELDS = tuple(sorted(set(METADATA_FIELDS.values()) - set(FILTER_OPTIONS)))
WATCHABLE = tuple(FILTER_OPTIONS) + DETAIL_FIELDS + ENRICHED
IDENTIFIERS = ("key_id", "key_arn", "account_id", "region")
# an event's `identifiers`: what a rulebook may hand a playbook (var_root), each checked by the shipped rules
EVENT_IDENTIFIERS = ("key_id", "account_id", "region")
# the fields a record may carry and hold in state_file: identifiers, strings (facets, KeyMetadata, account_name),
# aliases (a list of names), tags (name -> value) and key_policy (a JSON document or null)
TEXT_FIELDS = frozenset(tuple(FILTER_OPTIONS) + tuple(METADATA_FIELDS.values()) + ("account_name",))
RECORD_FIELDS = frozenset(IDENTIFIERS) | TEXT_FIELDS | frozenset(ENRICHED)
SOURCE_OPTIONS = dict(
    interval=dict(type="float", default=DEFAULT_INTERVAL),
    watch=dict(type="list", default=DEFAULT_WATCH),
    emit_existing=dict(type="bool", default=False),
    state_file=dict(type="str"),
)
# listing options that decide which keys are in scope: a state file written for others is not comparable
SCOPE_OPTIONS = (
    "region",
    "regions",
    "endpoint",
    "accounts",
    "account_role_name",
    "exclude_accounts",
    "assume_role_arn",
    "tag_filters",
    "filters",
) + tuple(FILTER_OPTIONS)
_CHECKS = dict(
    str=check_type_str,
    list=check_type_list,
    dict=check_type_dict,
    bool=check_type_bool,
    int=check_type_int,
    float=check_type_float,
)


class EventSourceError(ValueError):
    """A bad argument: the source fails at start, naming it."""


def _fail(option, message):
    raise EventSourceError("alicloud.kms.key_events: argument %s: %s" % (option, message))


def _now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def check_args(args):
    """(core options, source settings) from the rulebook's arguments, validated; EventSourceError names the argument."""
    args = dict(args or {})
    spec = dict(ARGUMENT_SPEC, **SOURCE_OPTIONS)
    unknown = sorted(set(args) - set(spec))
    if unknown:
        name = unknown[0]
        close = difflib.get_close_matches(name, list(spec), 1)
        _fail(name, "unknown argument%s" % (" (did you mean %s?)" % close[0] if close else ""))
    values = {}
    for name, option in spec.items():
        value = args.get(name)
        if value is None:
            values[name] = option.get("default")
            continue
        try:
            if option["type"] == "str" and isinstance(value, (dict, list)):
                raise TypeError("a %s is not a string" % type(value).__name__)
            value = _CHECKS[option["type"]](value)
        except (TypeError, ValueError) as error:
            # the checkers' text quotes the value: never shown for a secret
            secret = option.get("no_log")
            _fail(name, "must be a %s%s" % (option["type"], "" if secret else " (%s)" % error))
        if option["type"] == "list":
            value = [check_type_str(v) if option.get("elements") == "str" else v for v in value]
        if option.get("choices") and value not in option["choices"]:
            _fail(name, "must be one of %s, got %r" % (", ".join(option["choices"]), value))
        values[name] = value
    minimum = MIN_INTERVAL
    if os.environ.get(MIN_INTERVAL_ENV):
        try:
            minimum = float(os.environ[MIN_INTERVAL_ENV])
        except ValueError:
            _fail("interval", "%s must be a number of seconds" % MIN_INTERVAL_ENV)
    if not values["interval"] >= minimum:
        _fail("interval", "must be at least %s seconds, got %s" % (minimum, values["interval"]))
    watch = list(dict.fromkeys(values["watch"]))
    if not watch:
        _fail("watch", "must name at least one field; allowed: %s" % ", ".join(WATCHABLE))
    for field in watch:
        if field not in WATCHABLE:
            close = difflib.get_close_matches(field, WATCHABLE, 1)
            _fail(
                "watch",
                "unknown field %r%s; allowed: %s"
                % (field, " (did you mean %s?)" % close[0] if close else "", ", ".join(WATCHABLE)),
            )
    settings = dict(
        interval=values["interval"],
        watch=watch,
        emit_existing=values["emit_existing"],
        state_file=_state_path(values["state_file"]),
    )
    options = dict((name, values[name]) for name in ARGUMENT_SPEC)
    # gather what is watched: facets by filtered listings, the rest of KeyMetadata by DescribeKey
    options["details"] = options["details"] or any(f in DETAIL_FIELDS for f in watch)
    described = set(METADATA_FIELDS.values()) if options["details"] else set()
    facets = [f for f in watch if f in FILTER_OPTIONS and f not in described]  # creator_type: never in DescribeKey
    options["facets"] = list(dict.fromkeys((options["facets"] or []) + facets))
    for name in ENRICHED:
        options[name] = options[name] or name in watch
    return options, settings


def _state_folder():
    base = os.environ.get("XDG_STATE_HOME")
    if not base or not os.path.isabs(base):  # the XDG rule: a relative value is ignored
        base = os.path.join(os.path.expanduser("~"), ".local", "state")
    return os.path.join(base, STATE_FOLDER)


def _state_path(value):
    """state_file as a path: a bare name lives in the private state folder, never in a shared one like /var/tmp."""
    if not value:
        return None
    value = os.path.expanduser(value)
    return value if os.path.dirname(value) else os.path.join(_state_folder(), value)


def _is_region(value):
    try:
        check_region(value)
    except KmsOptionError:
        return False
    return "\n" not in value  # the form's `$` would let a trailing newline through


def _documented(value, form):
    return isinstance(value, str) and form.fullmatch(value) is not None


def _bad_identifier(record, accounts):
    """What is wrong with a record's identifiers (naming the field, never quoting it), or None. accounts: the account
    IDs the poll may read (None: any). These values reach rule conditions, run_playbook extra vars and file names."""
    if not isinstance(record, dict) or not _documented(record.get("key_id"), KEY_ID):
        return "a key_id not in its documented form"
    if not _is_region(record.get("region")):
        return "a region not in its documented form"
    account = record.get("account_id")
    if not _documented(account, ACCOUNT_ID):
        return "an account_id that is not 16 digits"
    if accounts is not None and account not in accounts:
        return "an account_id of an account not read"
    if record.get("key_arn") != "acs:kms:%s:%s:key/%s" % (record["region"], account, record["key_id"]):
        return "a key_arn that is not acs:kms:<region>:<account_id>:key/<key_id>"
    return None


def _bad_field(record):
    """What is wrong with a state_file record's other fields (one no listing could have produced), or None."""
    for field, value in record.items():
        if field not in RECORD_FIELDS:
            return "a field that is not a key record's"
        if field in TEXT_FIELDS:
            good = value is None or isinstance(value, str)
        elif field == "aliases":
            good = isinstance(value, list) and all(isinstance(v, str) for v in value)
        elif field == "tags":
            good = isinstance(value, dict) and all(isinstance(v, str) for v in value.values())
        elif field == "key_policy":
            good = value is None or isinstance(value, dict)
        else:
            good = True  # an identifier: checked by _bad_identifier
        if not good:
            return "a %s of another type than a listing gives" % field
    return None


def _area(value, accounts):
    """A skipped (account or None, region or None) pair read from state_file, checked, or None."""
    if not isinstance(value, list) or len(value) != 2:
        return None
    account, region = value
    if account is not None and (
        not _documented(account, ACCOUNT_ID) or accounts is not None and account not in accounts
    ):
        return None
    if region is not None and not _is_region(region):
        return None
    return (account, region)


def _scope(options, settings, caller):
    """A fingerprint of what a snapshot covers (no credential in it): the listing options and the caller account."""
    data = dict((name, options.get(name)) for name in SCOPE_OPTIONS)
    data["watch"] = sorted(settings["watch"])
    data["caller_account"] = caller
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode("utf-8")).hexdigest()


def _identity(record):
    return "%s/%s/%s" % (record.get("account_id") or "", record.get("region") or "", record["key_id"])


def _covers(area, record):
    """True when a skipped area (account_id or None, region or None) may hold the record's key."""
    account, region = area
    return (account is None or account == record.get("account_id")) and (
        region is None or region == record.get("region")
    )


def _overlap(first, second):
    return all(a is None or b is None or a == b for a, b in zip(first, second))


def _comparable(value):
    return sorted(value, key=str) if isinstance(value, list) else value


class Snapshot(object):
    """The keys of the last complete poll, by identity, and the areas never listed completely yet."""

    def __init__(self, keys=None, unknown=None):
        self.keys = keys or {}
        self.unknown = unknown or []


class KeyEvents(object):
    """Validated arguments and the last snapshot; poll() compares a new listing with it."""

    def __init__(self, args, environ=None):
        self.options, self.settings = check_args(args)
        if SDK_IMPORT_ERROR:
            raise EventSourceError(
                "alicloud.kms.key_events needs %s: pip install %s"
                % (SDK_REQUIREMENT, SDK_REQUIREMENT.replace(" and ", " "))
            )
        self.environ = environ
        try:
            request = self._request()
        except KmsOptionError as error:
            raise EventSourceError("alicloud.kms.key_events: argument %s" % error) from None
        if not request.regions and not request.connection.region:
            _fail("region", "no region given; set region (or ALICLOUD_REGION) or regions")
        self.caller = None  # the caller account: known from the first poll on (GetCallerIdentity)
        self.scope = None
        self.snapshot = None
        self.failures = 0
        self._saved = None  # state_file's content, adopted by the first poll once the caller account is known
        if self.settings["state_file"]:
            self._saved = self._open_state()

    def _request(self):
        # one per poll: a KeyRequest's deadline and request counts are one run's
        return KeyRequest(self.options, environ=self.environ, log=LOG.debug, warn=LOG.warning)

    # --- state file ------------------------------------------------------------------------------------------------
    def _open_state(self):
        """state_file's JSON (None: none yet, or unreadable), after refusing a file or folder others could write.

        The snapshot decides what is reported deleted or changed: a file another local user planted or can edit
        would make the source announce whatever that user wants, so it fails the source at start.
        """
        path = self.settings["state_file"]
        folder = os.path.dirname(os.path.abspath(path))
        if folder == _state_folder():
            try:
                os.makedirs(folder, mode=0o700, exist_ok=True)
            except OSError as error:
                _fail("state_file", "the folder %s cannot be created (%s)" % (folder, type(error).__name__))
        if not os.path.isdir(folder) or not os.access(folder, os.W_OK):
            _fail("state_file", "the folder %s does not exist or is not writable" % folder)
        mode = os.stat(folder).st_mode
        if mode & (stat.S_IWGRP | stat.S_IWOTH) and not mode & stat.S_ISVTX:
            _fail(
                "state_file",
                "the folder %s is writable by other users, who could replace %s; use a private folder (a bare file "
                "name is kept in %s)" % (folder, os.path.basename(path), _state_folder()),
            )
        try:
            descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except FileNotFoundError:
            return None
        except OSError as error:
            if error.errno == errno.ELOOP:
                _fail("state_file", "%s is a symbolic link; give the file itself" % path)
            _fail("state_file", "%s cannot be read (%s)" % (path, type(error).__name__))
        with os.fdopen(descriptor, encoding="utf-8") as handle:
            info = os.fstat(handle.fileno())  # of the file opened, not of a name that may change meanwhile
            if not stat.S_ISREG(info.st_mode):
                _fail("state_file", "%s is not a regular file" % path)
            if info.st_uid != os.geteuid():
                _fail(
                    "state_file",
                    "%s is owned by another user (uid %d), not by the user running the source; remove it or give "
                    "another state_file" % (path, info.st_uid),
                )
            if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
                _fail("state_file", "%s is writable by group or others; chmod 600 it" % path)
            try:
                return json.load(handle)
            except (ValueError, RecursionError) as error:  # RecursionError: nesting deeper than any snapshot
                LOG.warning(
                    "state_file %s cannot be read (%s); the first poll is a new baseline", path, type(error).__name__
                )
                return None

    def _adopt(self, data, accounts):
        """The Snapshot in state_file's content, checked as strictly as a service answer, or None (a new baseline)."""
        path = self.settings["state_file"]
        if not isinstance(data, dict) or data.get("version") != STATE_VERSION or data.get("scope") != self.scope:
            LOG.warning(
                "state_file %s was written for other listing options, another caller account or another version; "
                "the first poll is a new baseline",
                path,
            )
            return None
        records, areas = data.get("keys"), data.get("unknown")
        problem = None if isinstance(records, list) and isinstance(areas, list) else "no keys or unknown list"
        keys = {}
        for record in records if problem is None else []:
            problem = _bad_identifier(record, accounts) or _bad_field(record)
            if problem is None and _identity(record) in keys:
                problem = "a key twice"
            if problem:
                problem = "a record with %s" % problem
                break
            keys[_identity(record)] = record
        unknown = [_area(a, accounts) for a in areas] if problem is None else []
        if problem is None and None in unknown:
            problem = "an unknown area not in its documented form"
        if problem:
            # never quoted: the value may be anything a local user wrote
            LOG.warning(
                "state_file %s is not a snapshot this source wrote (%s); the first poll is a new baseline",
                path,
                problem,
            )
            return None
        return Snapshot(keys, unknown)

    def write_state(self):
        """The snapshot to state_file, atomically: a temporary file in the same folder, then a rename."""
        path = self.settings["state_file"]
        if not path or self.snapshot is None:
            return
        data = dict(
            version=STATE_VERSION,
            scope=self.scope,
            caller_account=self.caller,
            written_at=_now(),
            keys=[
                dict((f, v) for f, v in self.snapshot.keys[k].items() if f in RECORD_FIELDS)
                for k in sorted(self.snapshot.keys)
            ],
            unknown=[list(a) for a in self.snapshot.unknown],
        )
        folder = os.path.dirname(os.path.abspath(path))
        handle, temporary = tempfile.mkstemp(prefix=".key_events-", suffix=".tmp", dir=folder)
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                json.dump(data, stream, sort_keys=True)
                stream.flush()
                os.fsync(stream.fileno())
            os.replace(temporary, path)
        except BaseException:
            if os.path.exists(temporary):
                os.unlink(temporary)
            raise

    # --- one poll --------------------------------------------------------------------------------------------------
    def poll(self):
        """(events, new snapshot or None): blocking; run it in a worker thread. Never raises for a service error."""
        detected = _now()
        try:
            request = self._request()
            accounts = self._begin(request)
            result = request.run()
        except (KmsError, KmsOptionError) as error:
            self.failures += 1
            return [self._failed(error, detected)], None
        except Exception as error:  # pylint: disable=broad-except
            # anything else (a bug, a library surprise) must not end the source; its text may quote a request,
            # so only the type is shown
            LOG.debug("poll failed with %s", type(error).__name__, exc_info=True)
            self.failures += 1
            failure = KmsError("UnexpectedError", "the poll failed with %s" % type(error).__name__)
            return [self._failed(failure, detected)], None
        for record in result.records:
            problem = _bad_identifier(record, accounts)
            if problem:
                # exact or loud: a listing with one record that is not a key of the accounts read is no snapshot
                self.failures += 1
                key_id = _documented(record.get("key_id"), KEY_ID) and record["key_id"]
                failure = KmsError(
                    "MalformedResponse",
                    "the listing returned a key%s with %s" % (" (%s)" % key_id if key_id else "", problem),
                    region=record.get("region") if _is_region(record.get("region")) else None,
                )
                return [self._failed(failure, detected)], None
        self.failures = 0
        return self.compare(result, detected)

    def _begin(self, request):
        """The account IDs this poll may read (None: any), after learning the caller account.

        The caller account is part of the snapshot's scope: keys listed with one account's credentials say nothing
        of another's, so a state file or a snapshot of another caller is never compared (it would report every key
        of the first account deleted).
        """
        caller = request.connection.caller_account()
        if not _documented(caller, ACCOUNT_ID):
            raise KmsError(
                "MalformedResponse",
                "GetCallerIdentity returned an AccountId that is not 16 digits",
                action="GetCallerIdentity",
            )
        spec = request.accounts
        accounts = None if spec.all else set(a for a, _role in spec.explicit) if spec.enabled else {caller}
        if caller != self.caller:
            if self.caller is not None:
                LOG.warning(
                    "the credentials now belong to account %s, not %s; this poll is a new baseline", caller, self.caller
                )
                self.snapshot = None
            self.caller = caller
            self.scope = _scope(self.options, self.settings, caller)
            if self._saved is not None:
                self.snapshot = self._adopt(self._saved, accounts)
                self._saved = None
        return accounts

    def _failed(self, error, detected):
        code = getattr(error, "code", None) or "InvalidOption"
        return dict(
            type="poll_failed",
            code=code,
            request_id=getattr(error, "request_id", None),
            message=str(error),
            account_id=getattr(error, "account", None),
            region=getattr(error, "region", None),
            partial=False,
            skipped=[],
            consecutive_failures=self.failures,
            detected_at=detected,
        )

    def compare(self, result, detected):
        """Events from a listing against the snapshot, and the snapshot that replaces it."""
        skipped = [(s.get("account_id"), s.get("region")) for s in result.skipped]
        current = dict((_identity(r), r) for r in result.records)
        events = []
        if result.skipped:
            first = result.skipped[0]
            events.append(
                dict(
                    type="poll_failed",
                    code=first.get("code"),
                    request_id=first.get("request_id"),
                    message="%d account-region(s) skipped; their keys are left as they were" % len(skipped),
                    account_id=first.get("account_id"),
                    region=first.get("region"),
                    partial=True,
                    skipped=[dict(s) for s in result.skipped],
                    consecutive_failures=0,
                    detected_at=detected,
                )
            )
        previous = self.snapshot
        if previous is None:
            if self.settings["emit_existing"]:
                events += [self._key_event("key_created", r, detected, existing=True) for r in result.records]
            else:
                events.append(
                    dict(
                        type="baseline",
                        count=len(current),
                        regions=sorted(set(r["region"] for r in result.records)),
                        skipped=[dict(s) for s in result.skipped],
                        summary=dict(result.summary),
                        detected_at=detected,
                    )
                )
            return events, Snapshot(current, skipped)
        keys = {}
        for name, record in current.items():
            old = previous.keys.get(name)
            if old is None:
                # a key in an area never listed before is part of that area's baseline, not new
                existing = any(_covers(area, record) for area in previous.unknown)
                if not existing or self.settings["emit_existing"]:
                    events.append(self._key_event("key_created", record, detected, existing=existing))
            else:
                changes = dict(
                    (field, [old.get(field), record.get(field)])
                    for field in self.settings["watch"]
                    if _comparable(old.get(field)) != _comparable(record.get(field))
                )
                if changes:
                    events.append(self._key_event("key_changed", record, detected, changes=changes))
            keys[name] = record
        for name, old in previous.keys.items():
            if name in current:
                continue
            if any(_covers(area, old) for area in skipped):
                keys[name] = old  # not listed this time: unknown, never deleted
            else:
                events.append(self._key_event("key_deleted", old, detected))
        unknown = [area for area in skipped if any(_overlap(area, u) for u in previous.unknown)]
        return events, Snapshot(keys, unknown)

    def _key_event(self, kind, record, detected, changes=None, existing=False):
        changes = changes or {}
        event = dict(
            type=kind,
            key=record,
            previous=dict((field, values[0]) for field, values in changes.items()),
            changes=changes,
            key_id=record["key_id"],
            account_id=record.get("account_id"),
            region=record.get("region"),
            identifiers=dict((field, record[field]) for field in EVENT_IDENTIFIERS),
            detected_at=detected,
        )
        if kind == "key_created":
            event["existing"] = existing
        return event

    # --- the loop --------------------------------------------------------------------------------------------------
    async def run(self, queue, sleep=asyncio.sleep):
        """Poll until cancelled; sleep is injectable so tests can step polls without waiting."""
        while True:
            events, snapshot = await asyncio.to_thread(self.poll)
            for event in events:
                await queue.put(event)
            if snapshot is not None:
                self.snapshot = snapshot
                if self.settings["state_file"]:
                    try:
                        await asyncio.to_thread(self.write_state)
                    except OSError as error:
                        LOG.warning("state_file %s not written: %s", self.settings["state_file"], error)
            await sleep(self.settings["interval"])


async def main(queue, args):
    """ansible-rulebook's entry point: validate the arguments (failing at start), then poll until cancelled."""
    await KeyEvents(args).run(queue)


if __name__ == "__main__":
    # a quick look without ansible-rulebook: python key_events.py '{"region": "cn-hangzhou", "interval": 60}'
    import sys

    class Printer(object):
        async def put(self, event):
            print(json.dumps(event, sort_keys=True), flush=True)

    asyncio.run(main(Printer(), json.loads(sys.argv[1] if len(sys.argv) > 1 else "{}")))
