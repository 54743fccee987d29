# Copyright (c) alicloud.kms contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# ruff: noqa: CPY001 -- the header above is the one every file of the collection has: no year
"""alicloud.kms.key_events: an Event-Driven Ansible source.

It polls KMS keys and reports what changed.
"""

from __future__ import annotations

import asyncio
import datetime as dt
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
from typing import TYPE_CHECKING, Any

from ansible.module_utils.common.validation import (
    check_type_bool,
    check_type_dict,
    check_type_float,
    check_type_int,
    check_type_list,
    check_type_str,
)

# ansible-rulebook runs a source from its file without Ansible's collection loader: put the folder
# holding this collection's ansible_collections/ on sys.path (parents[6] of this file is
# ansible_collections/), so the core imports as it does for the other plugins. The path is made
# absolute, not resolved: the collection may be a link.
sys.path.extend(
    [
        str(folder.parent)
        for folder in list(Path(os.path.abspath(__file__)).parents)[6:7]  # noqa: PTH100 -- see above
        if folder.name == "ansible_collections" and str(folder.parent) not in sys.path
    ],
)

# these imports need the sys.path entry above
# pylint: disable=wrong-import-position
from ansible_collections.alicloud.kms.plugins.module_utils._argspec import ARGUMENT_SPEC
from ansible_collections.alicloud.kms.plugins.module_utils._connection import (
    SDK_IMPORT_ERROR,
    SDK_REQUIREMENT,
    CredentialCache,
)
from ansible_collections.alicloud.kms.plugins.module_utils._connection_options import check_region
from ansible_collections.alicloud.kms.plugins.module_utils._errors import KmsError, KmsOptionError
from ansible_collections.alicloud.kms.plugins.module_utils._keys import KeyRequest
from ansible_collections.alicloud.kms.plugins.module_utils._query import FILTER_OPTIONS
from ansible_collections.alicloud.kms.plugins.module_utils._records import (
    ACCOUNT_ID,
    KEY_ID,
    METADATA_FIELDS,
)

# pylint: enable=wrong-import-position

if TYPE_CHECKING:
    import re
    from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
    from typing import NoReturn

    from ansible_collections.alicloud.kms.plugins.module_utils._keys import Result

    Record = dict[str, Any]  # a key record, as key_info returns it
    Event = dict[str, Any]
    Area = tuple[str | None, str | None]  # a skipped area: (account ID or None, region or None)


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
  - Roles (O(assume_role_arn), the member roles of O(accounts)) are assumed once and kept in memory across polls:
    a role is assumed again only when its credentials have less than 5 minutes left, when the caller's account
    changes, or when the service refuses a token; not every poll, which would spend the STS quota (100 C(AssumeRole)
    per second per calling account).
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


LOG = logging.getLogger(__name__)

DEFAULT_INTERVAL = 300
MIN_INTERVAL = 30
MIN_INTERVAL_ENV = "ALICLOUD_KMS_EVENTS_MIN_INTERVAL"
DEFAULT_WATCH = ["key_state", "key_spec", "key_usage", "protection_level"]
STATE_VERSION = 2  # 2: the scope includes the caller account
# under $XDG_STATE_HOME (~/.local/state): where a bare state_file name is kept
STATE_FOLDER = "alicloud-kms"
# what each watched field needs: a facet, DescribeKey, or an enrichment option
ENRICHED = ("aliases", "tags", "key_policy")
DETAIL_FIELDS = tuple(sorted(set(METADATA_FIELDS.values()) - set(FILTER_OPTIONS)))
WATCHABLE = tuple(FILTER_OPTIONS) + DETAIL_FIELDS + ENRICHED
IDENTIFIERS = ("key_id", "key_arn", "account_id", "region")
# an event's `identifiers`: what a rulebook may hand a playbook (var_root), each checked by the
# shipped rules
EVENT_IDENTIFIERS = ("key_id", "account_id", "region")
# the fields a record may carry and hold in state_file: identifiers, strings (facets, KeyMetadata,
# account_name), aliases (a list of names), tags (name -> value) and key_policy (a JSON document or
# null)
TEXT_FIELDS = frozenset(tuple(FILTER_OPTIONS) + tuple(METADATA_FIELDS.values()) + ("account_name",))
RECORD_FIELDS = frozenset(IDENTIFIERS) | TEXT_FIELDS | frozenset(ENRICHED)
HTTP_UNAUTHORIZED = 401
# a skipped area in state_file: [account ID or None, region or None]
AREA_SIZE = 2
SOURCE_OPTIONS = {
    "interval": {"type": "float", "default": DEFAULT_INTERVAL},
    "watch": {"type": "list", "default": DEFAULT_WATCH},
    "emit_existing": {"type": "bool", "default": False},
    "state_file": {"type": "str"},
}
# listing options that decide which keys are in scope: a state file written for others is not
# comparable
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
    *FILTER_OPTIONS,
)
_CHECKS = {
    "str": check_type_str,
    "list": check_type_list,
    "dict": check_type_dict,
    "bool": check_type_bool,
    "int": check_type_int,
    "float": check_type_float,
}


class EventSourceError(ValueError):
    """A bad argument: the source fails at start, naming it."""


def _fail(option: str, message: str) -> NoReturn:
    text = f"alicloud.kms.key_events: argument {option}: {message}"
    raise EventSourceError(text)


def _refused_credentials(error: Exception) -> bool:
    """Whether the service refused the credentials themselves.

    An STS token expired or revoked, or an access key it does not know.
    """
    code = getattr(error, "code", None) or ""
    refused = ("InvalidSecurityToken", "InvalidAccessKeyId", "InvalidAccessKeySecret")
    return getattr(error, "status", None) == HTTP_UNAUTHORIZED or code.startswith(refused)


def _now() -> str:
    # not datetime.UTC: it is new in Python 3.11, and the source runs on older ones too
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")  # noqa: UP017


def _did_you_mean(name: str, known: Sequence[str]) -> str:
    close = difflib.get_close_matches(name, known, 1)
    return f" (did you mean {close[0]}?)" if close else ""


def check_args(args: Mapping[str, Any] | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """Validate the rulebook's arguments: return (core options, source settings).

    EventSourceError names the argument that is wrong.
    """
    args = dict(args or {})
    spec = dict(ARGUMENT_SPEC, **SOURCE_OPTIONS)
    unknown = sorted(set(args) - set(spec))
    if unknown:
        _fail(unknown[0], f"unknown argument{_did_you_mean(unknown[0], list(spec))}")
    values = {}
    for name, option in spec.items():
        value = args.get(name)
        values[name] = option.get("default") if value is None else _check_value(name, option, value)
    _check_interval(values["interval"])
    watch = _check_watch(values["watch"])
    settings = {
        "interval": values["interval"],
        "watch": watch,
        "emit_existing": values["emit_existing"],
        "state_file": _state_path(values["state_file"]),
    }
    return _core_options(values, watch), settings


def _convert(option: Mapping[str, Any], value: object) -> object:
    """Return the value as the option's type; raise TypeError or ValueError (quoting it) if not."""
    if option["type"] == "str" and isinstance(value, (dict, list)):
        message = f"a {type(value).__name__} is not a string"
        raise TypeError(message)
    return _CHECKS[option["type"]](value)


def _check_value(name: str, option: Mapping[str, Any], value: object) -> object:
    """Return an argument's value as its option's type, or fail naming the argument."""
    try:
        value = _convert(option, value)
    except (TypeError, ValueError) as error:
        # the checkers' text quotes the value: never shown for a secret
        detail = "" if option.get("no_log") else f" ({error})"
        _fail(name, f"must be a {option['type']}{detail}")
    if option["type"] == "list":
        value = [check_type_str(v) if option.get("elements") == "str" else v for v in value]
    if option.get("choices") and value not in option["choices"]:
        _fail(name, f"must be one of {', '.join(option['choices'])}, got {value!r}")
    return value


def _check_interval(interval: float) -> None:
    """Fail unless interval is at least MIN_INTERVAL (or what its environment variable sets)."""
    minimum = MIN_INTERVAL
    if os.environ.get(MIN_INTERVAL_ENV):
        try:
            minimum = float(os.environ[MIN_INTERVAL_ENV])
        except ValueError:
            _fail("interval", f"{MIN_INTERVAL_ENV} must be a number of seconds")
    if not interval >= minimum:
        _fail("interval", f"must be at least {minimum} seconds, got {interval}")


def _check_watch(fields: list[str]) -> list[str]:
    """Return the watched fields without repetitions, or fail naming one that cannot be watched."""
    watch = list(dict.fromkeys(fields))
    allowed = ", ".join(WATCHABLE)
    if not watch:
        _fail("watch", f"must name at least one field; allowed: {allowed}")
    for field in watch:
        if field not in WATCHABLE:
            hint = _did_you_mean(field, WATCHABLE)
            _fail("watch", f"unknown field {field!r}{hint}; allowed: {allowed}")
    return watch


def _core_options(values: Mapping[str, Any], watch: list[str]) -> dict[str, Any]:
    """Return the core's options, with what the watched fields need turned on."""
    options = {name: values[name] for name in ARGUMENT_SPEC}
    # gather what is watched: facets by filtered listings, the rest of KeyMetadata by DescribeKey
    options["details"] = options["details"] or any(f in DETAIL_FIELDS for f in watch)
    described = set(METADATA_FIELDS.values()) if options["details"] else set()
    # a field DescribeKey does not give (creator_type) stays a facet, even with details
    facets = [f for f in watch if f in FILTER_OPTIONS and f not in described]
    options["facets"] = list(dict.fromkeys((options["facets"] or []) + facets))
    for name in ENRICHED:
        options[name] = options[name] or name in watch
    return options


# The state file's path and folder are strings as os.path builds them, not pathlib's: they are shown
# in messages and compared as written; pathlib would turn ./x.json into a bare name and Path.home()
# raises where ~ cannot be expanded (a container user without a home).
def _state_folder() -> str:
    base = os.environ.get("XDG_STATE_HOME")
    if not base or not Path(base).is_absolute():  # the XDG rule: a relative value is ignored
        base = os.path.join(os.path.expanduser("~"), ".local", "state")  # noqa: PTH111, PTH118
    return os.path.join(base, STATE_FOLDER)  # noqa: PTH118


def _state_path(value: str | None) -> str | None:
    """Return state_file as a path; a bare name goes in the private state folder (not /var/tmp)."""
    if not value:
        return None
    value = os.path.expanduser(value)  # noqa: PTH111
    return value if os.path.dirname(value) else os.path.join(_state_folder(), value)  # noqa: PTH118, PTH120


def _folder_of(path: str) -> Path:
    """Return the folder of path, made absolute as os.path does: ../x.json is in the one above."""
    # Path.resolve() would follow links, Path.absolute() would keep the ..
    return Path(os.path.abspath(path)).parent  # noqa: PTH100


def _is_region(value: object) -> bool:
    try:
        check_region(value)
    except KmsOptionError:
        return False
    return "\n" not in value  # the form's `$` would let a trailing newline through


def _documented(value: object, form: re.Pattern[str]) -> bool:
    return isinstance(value, str) and form.fullmatch(value) is not None


def _bad_identifier(record: object, accounts: Collection[str] | None) -> str | None:
    """Tell what is wrong with a record's identifiers (naming the field, never quoting it), or None.

    accounts: the account IDs the poll may read (None: any). These values reach rule conditions,
    run_playbook extra vars and file names.
    """
    if not isinstance(record, dict) or not _documented(record.get("key_id"), KEY_ID):
        return "a key_id not in its documented form"
    if not _is_region(record.get("region")):
        return "a region not in its documented form"
    account = record.get("account_id")
    if not _documented(account, ACCOUNT_ID):
        return "an account_id that is not 16 digits"
    if accounts is not None and account not in accounts:
        return "an account_id of an account not read"
    if record.get("key_arn") != f"acs:kms:{record['region']}:{account}:key/{record['key_id']}":
        return "a key_arn that is not acs:kms:<region>:<account_id>:key/<key_id>"
    return None


def _bad_field(record: Record) -> str | None:
    """Tell what is wrong with a state_file record's other fields, or None.

    Wrong: a field or a value no listing could have produced.
    """
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
            return f"a {field} of another type than a listing gives"
    return None


def _area(value: object, accounts: Collection[str] | None) -> Area | None:
    """Return a skipped (account or None, region or None) pair read from state_file, or None."""
    if not isinstance(value, list) or len(value) != AREA_SIZE:
        return None
    account, region = value
    if account is not None and (
        not _documented(account, ACCOUNT_ID) or (accounts is not None and account not in accounts)
    ):
        return None
    if region is not None and not _is_region(region):
        return None
    return (account, region)


def _scope(options: Mapping[str, Any], settings: Mapping[str, Any], caller: str) -> str:
    """Return a fingerprint of what a snapshot covers: the listing options and the caller account.

    No credential is in it.
    """
    data = {name: options.get(name) for name in SCOPE_OPTIONS}
    data["watch"] = sorted(settings["watch"])
    data["caller_account"] = caller
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode("utf-8")).hexdigest()


def _identity(record: Record) -> str:
    return f"{record.get('account_id') or ''}/{record.get('region') or ''}/{record['key_id']}"


def _covers(area: Area, record: Record) -> bool:
    """Tell whether a skipped area (account_id or None, region or None) may hold the record."""
    account, region = area
    return (account is None or account == record.get("account_id")) and (
        region is None or region == record.get("region")
    )


def _agree(first: str | None, second: str | None) -> bool:
    return first is None or second is None or first == second


def _overlap(first: Area, second: Area) -> bool:
    (first_account, first_region), (second_account, second_region) = first, second
    return _agree(first_account, second_account) and _agree(first_region, second_region)


def _comparable(value: object) -> object:
    return sorted(value, key=str) if isinstance(value, list) else value


def _not_a_snapshot(path: str, problem: str) -> None:
    """Warn that state_file is not a snapshot this source wrote, so the first poll is a baseline."""
    # the problem is never quoted: the value may be anything a local user wrote
    LOG.warning(
        "state_file %s is not a snapshot this source wrote (%s); the first poll is a new baseline",
        path,
        problem,
    )


def _check_state_folder(path: str) -> None:
    """Create the private state folder if path is in it; refuse a folder others could write."""
    folder = _folder_of(path)
    if str(folder) == _state_folder():
        try:
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as error:
            _fail("state_file", f"the folder {folder} cannot be created ({type(error).__name__})")
    # os.path.isdir: False for a folder we may not search (Path.is_dir raises before Python 3.12)
    if not os.path.isdir(folder) or not os.access(folder, os.W_OK):  # noqa: PTH112
        _fail("state_file", f"the folder {folder} does not exist or is not writable")
    mode = folder.stat().st_mode
    if mode & (stat.S_IWGRP | stat.S_IWOTH) and not mode & stat.S_ISVTX:
        name = os.path.basename(path)  # noqa: PTH119 -- as written: Path.name drops a trailing /
        _fail(
            "state_file",
            f"the folder {folder} is writable by other users, who could replace {name}; "
            f"use a private folder (a bare file name is kept in {_state_folder()})",
        )


def _check_state_file(path: str, info: os.stat_result) -> None:
    """Refuse a state_file that is not a regular file of the user running the source, private."""
    if not stat.S_ISREG(info.st_mode):
        _fail("state_file", f"{path} is not a regular file")
    if info.st_uid != os.geteuid():
        _fail(
            "state_file",
            f"{path} is owned by another user (uid {info.st_uid}), "
            "not by the user running the source; remove it or give another state_file",
        )
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        _fail("state_file", f"{path} is writable by group or others; chmod 600 it")


class Snapshot:
    """The keys of the last complete poll, by identity, and the areas not completely listed yet."""

    def __init__(
        self,
        keys: dict[str, Record] | None = None,
        unknown: list[Area] | None = None,
    ) -> None:
        """Hold the keys by identity and the unknown areas."""
        self.keys = keys or {}
        self.unknown = unknown or []


class KeyEvents:
    """Validated arguments and the last snapshot; poll() compares a new listing with it."""

    def __init__(
        self,
        args: Mapping[str, Any] | None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        """Validate the arguments and read state_file: EventSourceError names a bad one."""
        self.options, self.settings = check_args(args)
        if SDK_IMPORT_ERROR:
            install = SDK_REQUIREMENT.replace(" and ", " ")
            message = f"alicloud.kms.key_events needs {SDK_REQUIREMENT}: pip install {install}"
            raise EventSourceError(message)
        self.environ = environ
        # the roles assumed, kept across polls until they near expiry
        self.credentials = CredentialCache()
        try:
            request = self._request()
        except KmsOptionError as error:
            message = f"alicloud.kms.key_events: argument {error}"
            raise EventSourceError(message) from None
        if not request.regions and not request.connection.region:
            _fail("region", "no region given; set region (or ALICLOUD_REGION) or regions")
        self.caller = None  # the caller account: known from the first poll on (GetCallerIdentity)
        self.scope = None
        self.snapshot = None
        self.failures = 0
        # state_file's content, adopted by the first poll once the caller account is known
        self._saved = None
        if self.settings["state_file"]:
            self._saved = self._open_state()

    def _request(self) -> KeyRequest:
        # one per poll: a KeyRequest's deadline and request counts are one run's;
        # the roles it assumes are kept
        request = KeyRequest(self.options, environ=self.environ, log=LOG.debug, warn=LOG.warning)
        request.connection.keep_credentials(self.credentials)
        return request

    # --- state file ----------------------------------------------------------------------------
    def _open_state(self) -> object:
        """Return state_file's JSON (None: none, or unreadable); refuse a file others could write.

        The snapshot decides what is reported deleted or changed: a file another local user planted
        or can edit would make the source announce whatever that user wants, so it fails the source
        at start.
        """
        path = self.settings["state_file"]
        _check_state_folder(path)
        try:
            descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except FileNotFoundError:
            return None
        except OSError as error:
            if error.errno == errno.ELOOP:
                _fail("state_file", f"{path} is a symbolic link; give the file itself")
            _fail("state_file", f"{path} cannot be read ({type(error).__name__})")
        with os.fdopen(descriptor, encoding="utf-8") as handle:
            # of the file opened, not of a name that may change meanwhile
            _check_state_file(path, os.fstat(handle.fileno()))
            try:
                return json.load(handle)
            except (ValueError, RecursionError) as error:
                # RecursionError: nesting deeper than any snapshot
                LOG.warning(
                    "state_file %s cannot be read (%s); the first poll is a new baseline",
                    path,
                    type(error).__name__,
                )
                return None

    def _adopt(self, data: object, accounts: Collection[str] | None) -> Snapshot | None:
        """Return the Snapshot in state_file's content, or None (a new baseline).

        The content is checked as strictly as a service answer.
        """
        path = self.settings["state_file"]
        written = isinstance(data, dict) and data.get("version") == STATE_VERSION
        if not written or data.get("scope") != self.scope:
            LOG.warning(
                "state_file %s was written for other listing options, another caller account or "
                "another version; the first poll is a new baseline",
                path,
            )
            return None
        records, areas = data.get("keys"), data.get("unknown")
        listed = isinstance(records, list) and isinstance(areas, list)
        problem = None if listed else "no keys or unknown list"
        keys = {}
        for record in records if problem is None else []:
            problem = _bad_identifier(record, accounts) or _bad_field(record)
            if problem is None and _identity(record) in keys:
                problem = "a key twice"
            if problem:
                problem = f"a record with {problem}"
                break
            keys[_identity(record)] = record
        unknown = [_area(a, accounts) for a in areas] if problem is None else []
        if problem is None and None in unknown:
            problem = "an unknown area not in its documented form"
        if problem:
            _not_a_snapshot(path, problem)
            return None
        return Snapshot(keys, unknown)

    def write_state(self) -> None:
        """Write the snapshot to state_file atomically: a temporary file beside it, renamed."""
        path = self.settings["state_file"]
        if not path or self.snapshot is None:
            return
        data = {
            "version": STATE_VERSION,
            "scope": self.scope,
            "caller_account": self.caller,
            "written_at": _now(),
            "keys": [
                {f: v for f, v in self.snapshot.keys[k].items() if f in RECORD_FIELDS}
                for k in sorted(self.snapshot.keys)
            ],
            "unknown": [list(a) for a in self.snapshot.unknown],
        }
        folder = _folder_of(path)
        handle, temporary = tempfile.mkstemp(prefix=".key_events-", suffix=".tmp", dir=folder)
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                json.dump(data, stream, sort_keys=True)
                stream.flush()
                os.fsync(stream.fileno())
            Path(temporary).replace(path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    # --- one poll ------------------------------------------------------------------------------
    def poll(self) -> tuple[list[Event], Snapshot | None]:
        """Return (events, new snapshot or None): blocking; run it in a worker thread.

        It never raises for a service error.
        """
        detected = _now()
        try:
            request = self._request()
            accounts = self._begin(request)
            result = request.run()
        except (KmsError, KmsOptionError) as error:
            self.failures += 1
            if _refused_credentials(error):
                # a token expired early or was revoked: the next poll assumes the roles again
                self.credentials.clear()
            return [self._failed(error, detected)], None
        except Exception as error:  # pylint: disable=broad-except
            # anything else (a bug, a library surprise) must not end the source; its text may quote
            # a request, so only the type is shown
            LOG.debug("poll failed with %s", type(error).__name__, exc_info=True)
            self.failures += 1
            failure = KmsError("UnexpectedError", f"the poll failed with {type(error).__name__}")
            return [self._failed(failure, detected)], None
        for record in result.records:
            problem = _bad_identifier(record, accounts)
            if problem:
                # exact or loud: a listing with one record that is not a key of the accounts read is
                # no snapshot
                self.failures += 1
                key_id = _documented(record.get("key_id"), KEY_ID) and record["key_id"]
                named = f" ({key_id})" if key_id else ""
                failure = KmsError(
                    "MalformedResponse",
                    f"the listing returned a key{named} with {problem}",
                    region=record.get("region") if _is_region(record.get("region")) else None,
                )
                return [self._failed(failure, detected)], None
        self.failures = 0
        return self.compare(result, detected)

    def _begin(self, request: KeyRequest) -> set[str] | None:
        """Return the account IDs this poll may read (None: any), after learning the caller account.

        The caller account is part of the snapshot's scope: keys listed with one account's
        credentials say nothing of another's, so a state file or a snapshot of another caller is
        never compared (it would report every key of the first account deleted).
        """
        caller = request.connection.caller_account()
        if not _documented(caller, ACCOUNT_ID):
            error = KmsError(
                "MalformedResponse",
                "GetCallerIdentity returned an AccountId that is not 16 digits",
                action="GetCallerIdentity",
            )
            raise error
        spec = request.accounts
        if spec.all:
            accounts = None
        elif spec.enabled:
            accounts = {a for a, _role in spec.explicit}
        else:
            accounts = {caller}
        if caller != self.caller:
            if self.caller is not None:
                LOG.warning(
                    "the credentials now belong to account %s, not %s; this poll is a new baseline",
                    caller,
                    self.caller,
                )
                self.snapshot = None
                # roles assumed by the former identity are not this one's to use
                self.credentials.clear()
            self.caller = caller
            self.scope = _scope(self.options, self.settings, caller)
            if self._saved is not None:
                self.snapshot = self._adopt(self._saved, accounts)
                self._saved = None
        return accounts

    def _failed(self, error: Exception, detected: str) -> Event:
        code = getattr(error, "code", None) or "InvalidOption"
        return {
            "type": "poll_failed",
            "code": code,
            "request_id": getattr(error, "request_id", None),
            "message": str(error),
            "account_id": getattr(error, "account", None),
            "region": getattr(error, "region", None),
            "partial": False,
            "skipped": [],
            "consecutive_failures": self.failures,
            "detected_at": detected,
        }

    def compare(self, result: Result, detected: str) -> tuple[list[Event], Snapshot]:
        """Return the events of a listing against the snapshot, and the snapshot replacing it."""
        skipped = [(s.get("account_id"), s.get("region")) for s in result.skipped]
        current = {_identity(r): r for r in result.records}
        events = [self._partial(result.skipped, detected)] if result.skipped else []
        previous = self.snapshot
        if previous is None:
            events += self._first(result, len(current), detected)
            return events, Snapshot(current, skipped)
        keys = {}
        for name, record in current.items():
            old = previous.keys.get(name)
            if old is None:
                # a key in an area never listed before is part of that area's baseline, not new
                existing = any(_covers(area, record) for area in previous.unknown)
                if not existing or self.settings["emit_existing"]:
                    event = self._key_event("key_created", record, detected, existing=existing)
                    events.append(event)
            else:
                changes = self._changes(old, record)
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

    def _changes(self, old: Record, record: Record) -> dict[str, list[object]]:
        return {
            field: [old.get(field), record.get(field)]
            for field in self.settings["watch"]
            if _comparable(old.get(field)) != _comparable(record.get(field))
        }

    def _first(self, result: Result, count: int, detected: str) -> list[Event]:
        """Return the events of the first listing: a key_created per key, or one baseline."""
        records = result.records
        if self.settings["emit_existing"]:
            return [self._key_event("key_created", r, detected, existing=True) for r in records]
        return [self._baseline(result, count, detected)]

    @staticmethod
    def _partial(skipped: list[dict[str, Any]], detected: str) -> Event:
        first = skipped[0]
        message = f"{len(skipped)} account-region(s) skipped; their keys are left as they were"
        return {
            "type": "poll_failed",
            "code": first.get("code"),
            "request_id": first.get("request_id"),
            "message": message,
            "account_id": first.get("account_id"),
            "region": first.get("region"),
            "partial": True,
            "skipped": [dict(s) for s in skipped],
            "consecutive_failures": 0,
            "detected_at": detected,
        }

    @staticmethod
    def _baseline(result: Result, count: int, detected: str) -> Event:
        return {
            "type": "baseline",
            "count": count,
            "regions": sorted({r["region"] for r in result.records}),
            "skipped": [dict(s) for s in result.skipped],
            "summary": dict(result.summary),
            "detected_at": detected,
        }

    def _key_event(
        self,
        kind: str,
        record: Record,
        detected: str,
        *,
        changes: dict[str, list[object]] | None = None,
        existing: bool = False,
    ) -> Event:
        changes = changes or {}
        event = {
            "type": kind,
            "key": record,
            "previous": {field: values[0] for field, values in changes.items()},
            "changes": changes,
            "key_id": record["key_id"],
            "account_id": record.get("account_id"),
            "region": record.get("region"),
            "identifiers": {field: record[field] for field in EVENT_IDENTIFIERS},
            "detected_at": detected,
        }
        if kind == "key_created":
            event["existing"] = existing
        return event

    # --- the loop ------------------------------------------------------------------------------
    async def run(
        self,
        queue: asyncio.Queue[Event],
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
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
                        LOG.warning(
                            "state_file %s not written: %s",
                            self.settings["state_file"],
                            error,
                        )
            await sleep(self.settings["interval"])


async def main(queue: asyncio.Queue[Event], args: Mapping[str, Any]) -> None:
    """Run the source for ansible-rulebook: validate the arguments (failing at start), then poll."""
    await KeyEvents(args).run(queue)


if __name__ == "__main__":
    # a quick look without ansible-rulebook:
    #   python key_events.py '{"region": "cn-hangzhou", "interval": 60}'

    class Printer:
        """A queue that prints each event as a line of JSON."""

        async def put(self, event: Event) -> None:
            """Print the event."""
            sys.stdout.write(json.dumps(event, sort_keys=True) + "\n")
            sys.stdout.flush()

    asyncio.run(main(Printer(), json.loads(sys.argv[1] if len(sys.argv) > 1 else "{}")))
