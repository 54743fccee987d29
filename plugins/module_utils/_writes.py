# -*- coding: utf-8 -*-
# Copyright (c) alicloud.kms contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to this collection; no compatibility promise (the public API is the modules, plugins, filters and role).
"""The write side: a key's wanted state as Changes, checked before any write, sent through the one connection.

A Change is one request (field, old -> new, action, query). Check mode plans the same Changes an apply sends. A
write whose response was lost and whose retry the service refuses is settled by reading the key again: when the
key already says new, the write took effect. CreateKey is never retried blind (a second key would be created): it
carries a one-time marker tag, and after a lost response the key is looked for by that tag before sending again.
"""

from __future__ import annotations

import json
import uuid
from collections import namedtuple

from ansible_collections.alicloud.kms.plugins.module_utils._enrich import Enricher, describe_key
from ansible_collections.alicloud.kms.plugins.module_utils._errors import KmsError, KmsOptionError
from ansible_collections.alicloud.kms.plugins.module_utils._query import KEY_USAGES, PROTECTION_LEVELS
from ansible_collections.alicloud.kms.plugins.module_utils._records import (
    ALIAS_NAME,
    INSTANCE_ID,
    KEY_ID,
    add_metadata,
    check_key_arn,
    key_items,
    listed_items,
    make_record,
)
from ansible_collections.alicloud.kms.plugins.module_utils._retry import is_retryable

Change = namedtuple("Change", "field old new action query")

# ScheduleKeyDeletionRequest.pending_window_in_days (alibabacloud-kms20160120 3.3.1): 7 to 366 days
PENDING_WINDOW_DAYS = (7, 366)
# RotationInterval: UpdateRotationPolicy's metadata and CreateKeyRequest.rotation_interval (3.3.1) say a default key
# (outside a KMS instance) rotates every 365 days only, a key in a software instance every 7 to 365 days; the
# UpdateRotationPolicyRequest model says 7 to 730. The strictest reading, as the emulator's.
ROTATION_DAYS = (7, 365)
DEFAULT_KEY_ROTATION_DAYS = 365
ORIGINS = ("Aliyun_KMS", "EXTERNAL")
MAX_TAGS = 20  # CreateKeyRequest.tags and TagResourcesRequest: "a maximum of 20 tags"
RESERVED_TAG_PREFIXES = ("aliyun", "acs:")
MAX_DESCRIPTION = 8192  # CreateKeyRequest.description: "0 to 8,192 characters"
NOT_FOUND = ("Forbidden.KeyNotFound", "Forbidden.AliasNotFound", "EntityNotExist.Key", "Forbidden.ResourceNotFound")
# the one-time tag a CreateKey carries until the key has its alias (so that a lost response finds the key again)
CREATE_MARKER = "alicloud-kms-create"
DAY = 86400


def check_options(params):
    """Every option in its documented form, before any request; raises KmsOptionError naming the option."""
    if not params.get("key_id") and not params.get("alias"):
        raise KmsOptionError("key_id", "name the key by key_id (an ID or ARN) or by alias (alias/...)")
    key_id = params.get("key_id")
    if key_id and not key_id.startswith("acs:") and not KEY_ID.match(key_id):
        raise KmsOptionError("key_id", "%r is not a KMS key ID or ARN" % key_id)
    if key_id and key_id.startswith("acs:"):
        try:
            check_key_arn(key_id, "key_id")
        except ValueError:
            raise KmsOptionError(
                "key_id", "%r is not a KMS key ARN; expected acs:kms:<region>:<account>:key/<key id>" % key_id
            ) from None
    for name, alias in [("alias", params.get("alias"))] + [("aliases", a) for a in params.get("aliases") or ()]:
        if alias is not None and (not ALIAS_NAME.match(alias) or alias.startswith("alias/acs/")):
            raise KmsOptionError(
                name, "%r is not an alias name: alias/ and 1 to 249 of [a-zA-Z0-9:/_-], not alias/acs/..." % alias
            )
    _check_range(params, "pending_window_in_days", PENDING_WINDOW_DAYS)
    _check_range(params, "rotation_interval_days", ROTATION_DAYS)
    if params.get("rotation_interval_days") is not None and params.get("automatic_rotation") is False:
        raise KmsOptionError("rotation_interval_days", "is set but automatic_rotation is false")
    description = params.get("description")
    if description is not None and len(description) > MAX_DESCRIPTION:
        raise KmsOptionError("description", "is longer than %d characters" % MAX_DESCRIPTION)
    tags = params.get("tags")
    if tags is not None:
        if len(tags) > MAX_TAGS:
            raise KmsOptionError("tags", "has %d tags; a key has at most %d" % (len(tags), MAX_TAGS))
        for key, value in tags.items():
            if not isinstance(key, str) or not key or key.lower().startswith(RESERVED_TAG_PREFIXES):
                raise KmsOptionError("tags", "%r is not a tag key (non-empty, not starting with aliyun or acs:)" % key)
            if not isinstance(value, str):
                raise KmsOptionError("tags", "the value of %s must be a string, got %s" % (key, type(value).__name__))
    for name, allowed in (("key_usage", KEY_USAGES), ("protection_level", PROTECTION_LEVELS), ("origin", ORIGINS)):
        if params.get(name) is not None and params[name] not in allowed:
            raise KmsOptionError(name, "%r is not one of %s" % (params[name], ", ".join(allowed)))
    if params.get("dkms_instance_id") is not None and not INSTANCE_ID.match(params["dkms_instance_id"]):
        raise KmsOptionError("dkms_instance_id", "%r is not a KMS instance ID (kst-...)" % params["dkms_instance_id"])
    policy = params.get("key_policy")
    if policy is not None:
        params["key_policy"] = _policy(policy)


def _check_range(params, name, bounds):
    value = params.get(name)
    if value is not None and not bounds[0] <= value <= bounds[1]:
        raise KmsOptionError(name, "%s is not between %d and %d" % (value, bounds[0], bounds[1]))


def _policy(value):
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise KmsOptionError("key_policy", "is not JSON") from None
    if not isinstance(value, dict) or not isinstance(value.get("Statement"), list):
        raise KmsOptionError("key_policy", "must be a policy document: a dict with a Statement list")
    return value


def rotation_unsupported(record):
    """Why the service cannot rotate the key automatically, or None: only symmetric Aliyun_* keys with material KMS
    generated rotate (the rotation rules of the compliance role apply to the same keys)."""
    spec, origin = record.get("key_spec") or "", record.get("origin") or "Aliyun_KMS"
    if not spec.startswith("Aliyun_"):
        return "asymmetric keys (%s) do not rotate automatically" % spec
    if origin != "Aliyun_KMS":
        return "key material from %s does not rotate automatically" % origin
    if record.get("dkms_instance_id") and record.get("protection_level") == "HSM":
        # CreateKeyRequest.rotation_interval (3.3.1): "hardware-protected key, automatic rotation is not supported"
        return "keys of a hardware KMS instance do not rotate automatically"
    return None


class _InOrder(object):
    """A pool's map, one call after another: one key's few reads need no threads of their own."""

    @staticmethod
    def map(call, items):
        return [call(item) for item in items]


class KeyWriter(object):
    """One key in one region of one account: read it, plan the Changes to the wanted state, send them."""

    def __init__(self, connection, region, account_id=None, pool=None):
        self.connection, self.region, self.account_id = connection, region, account_id
        self.pool = pool or _InOrder()

    # --- reading ------------------------------------------------------------------------------------------------

    def read(self, ref, full=True):
        """The key's record with details, aliases and tags (and its policy in a KMS instance), or None; without full,
        DescribeKey's alone (what a fix of rotation, deletion protection or state reads: one request)."""
        found = self._found(ref)
        if found is None:
            return None
        metadata, body = found
        record = add_metadata(make_record(metadata, self.region, self.account_id, body, "DescribeKey", "Arn"), metadata)
        if not full:
            return record
        enricher = Enricher(self.connection, self.region, self.pool)
        record["aliases"] = self._aliases(record["key_id"])
        record["tags"] = enricher.tags([record["key_id"]]).get(record["key_id"], {})
        record["key_policy"] = enricher.key_policy(record)
        return record

    def _describe(self, ref):
        if KEY_ID.match(ref):
            return describe_key(self.connection, self.region, ref)
        body = self.connection.call(self.region, "DescribeKey", {"KeyId": ref})  # an alias: the key it names
        if not isinstance(body.get("KeyMetadata"), dict):
            raise KmsError("MalformedResponse", "DescribeKey returned no KeyMetadata", region=self.region)
        return body["KeyMetadata"], body

    def _aliases(self, key_id):
        names, number = [], 1
        while True:
            body = self.connection.call(
                self.region, "ListAliasesByKeyId", {"KeyId": key_id, "PageNumber": number, "PageSize": 100}
            )
            items = listed_items(body, "Aliases", "Alias", self.region, "ListAliasesByKeyId")
            names += [i.get("AliasName") for i in items if isinstance(i.get("AliasName"), str)]
            if not items or len(names) >= int(body.get("TotalCount") or 0):
                return sorted(names)
            number += 1

    # --- planning -----------------------------------------------------------------------------------------------

    def plan(self, current, params):
        """(changes, after): the Changes that bring current (a record, never None here) to params, in the order they
        are sent, and the record as it will read after them. Raises KmsOptionError for what the service refuses."""
        after, changes = dict(current), []
        # state None (a remediation's fix) neither cancels nor schedules a deletion
        key_id, present, absent = current["key_id"], params["state"] == "present", params["state"] == "absent"

        def change(field, new, action, query, keyed=True):
            changes.append(Change(field, after.get(field), new, action, dict(query, KeyId=key_id) if keyed else query))
            after[field] = new

        for name in ("key_spec", "key_usage", "protection_level", "origin", "dkms_instance_id"):
            if params.get(name) is not None and params[name] != (current.get(name) or None):
                raise KmsOptionError(name, "is set when the key is created: %s has %s" % (key_id, current.get(name)))
        if present and current.get("key_state") == "PendingDeletion":
            # "After the deletion is cancelled, the key is in the Enabled state" (CancelKeyDeletion's reference)
            change("key_state", "Enabled", "CancelKeyDeletion", {})
        protection = params.get("deletion_protection")
        if protection is not None and (current.get("deletion_protection") == "Enabled") != protection:
            if after.get("key_state") == "PendingDeletion":
                raise KmsOptionError("deletion_protection", "%s is PendingDeletion: cancel the deletion first" % key_id)
            query = {"ProtectedResourceArn": current["key_arn"], "EnableDeletionProtection": str(protection).lower()}
            if protection and params.get("deletion_protection_description"):
                query["DeletionProtectionDescription"] = params["deletion_protection_description"]
            # the ARN names the key: SetDeletionProtection takes no KeyId
            change(
                "deletion_protection", "Enabled" if protection else "Disabled", "SetDeletionProtection", query, False
            )
        if absent:
            if after.get("key_state") != "PendingDeletion":
                if after.get("deletion_protection") == "Enabled":
                    raise KmsOptionError(
                        "state", "absent: %s has deletion protection; set deletion_protection: false first" % key_id
                    )
                window = params.get("pending_window_in_days") or 30
                change("key_state", "PendingDeletion", "ScheduleKeyDeletion", {"PendingWindowInDays": window})
            return changes, after
        enabled = params.get("enabled")
        if enabled is not None and after.get("key_state") in ("Enabled", "Disabled"):
            if (after["key_state"] == "Enabled") != enabled:
                change("key_state", "Enabled" if enabled else "Disabled", "EnableKey" if enabled else "DisableKey", {})
        elif enabled is not None:
            raise KmsOptionError("enabled", "%s is %s: it cannot be enabled or disabled" % (key_id, after["key_state"]))
        if params.get("description") is not None and params["description"] != (current.get("description") or ""):
            change("description", params["description"], "UpdateKeyDescription", {"Description": params["description"]})
        self._plan_rotation(current, params, change, after)
        self._plan_tags(current, params, change)
        self._plan_aliases(current, params, changes, after)
        policy = params.get("key_policy")
        if policy is not None and policy != current.get("key_policy"):
            if not current.get("dkms_instance_id"):
                raise KmsOptionError(
                    "key_policy", "%s is not in a KMS instance: only instance keys have a policy" % key_id
                )
            change("key_policy", policy, "SetKeyPolicy", {"PolicyName": "default", "Policy": json.dumps(policy)})
        return changes, after

    @staticmethod
    def _plan_rotation(current, params, change, after):
        """One UpdateRotationPolicy: its change names the state when that changes, else the interval."""
        wanted, days = params.get("automatic_rotation"), params.get("rotation_interval_days")
        if wanted is None and days is not None:
            wanted = True
        if wanted is None:
            return
        old_state, old_interval = current.get("automatic_rotation") or "Disabled", current.get("rotation_interval")
        state = "Enabled" if wanted else "Disabled"
        interval = (
            ("%ds" % (days * DAY) if days is not None else old_interval or "%ds" % (365 * DAY)) if wanted else None
        )
        if old_state == state and (not wanted or interval == old_interval):
            return
        reason = rotation_unsupported(current)
        if wanted and reason:
            raise KmsOptionError("automatic_rotation", "%s: %s" % (current["key_id"], reason))
        if after.get("key_state") != "Enabled":  # UpdateRotationPolicy's reference: only an Enabled key
            raise KmsOptionError(
                "automatic_rotation",
                "%s is %s: only an Enabled key's rotation changes" % (current["key_id"], after.get("key_state")),
            )
        if wanted and not current.get("dkms_instance_id") and interval != "%ds" % (DEFAULT_KEY_ROTATION_DAYS * DAY):
            raise KmsOptionError(
                "rotation_interval_days",
                "%s is not in a KMS instance: such a key rotates every %d days only (7 to %d in a KMS instance)"
                % (current["key_id"], DEFAULT_KEY_ROTATION_DAYS, ROTATION_DAYS[1]),
            )
        query = {"EnableAutomaticRotation": str(wanted).lower()}
        if wanted:
            query["RotationInterval"] = interval
        if old_state != state:
            change("automatic_rotation", state, "UpdateRotationPolicy", query)
            if wanted:
                after["rotation_interval"] = interval
        else:
            change("rotation_interval", interval, "UpdateRotationPolicy", query)

    def _plan_tags(self, current, params, change):
        """UntagResources and TagResources (the plural actions: RegionId, ResourceType, ResourceId.N, Tag.N, TagKey.N;
        TagResourcesRequest and UntagResourcesRequest, alibabacloud-kms20160120 3.3.1)."""
        wanted, old = params.get("tags"), current.get("tags") or {}
        if wanted is None:
            return
        new = dict(old if not params.get("purge_tags") else {}, **wanted)
        if new == old:
            return
        target = self._tagged(current["key_id"])
        gone = sorted(set(old) - set(new))
        added = sorted((k, v) for k, v in new.items() if old.get(k) != v)
        if gone:
            query = dict(target, **dict(("TagKey.%d" % (n + 1), k) for n, k in enumerate(gone)))
            change("tags", dict((k, v) for k, v in old.items() if k not in gone), "UntagResources", query, False)
        if added:
            query = dict(target)
            for n, (k, v) in enumerate(added):
                query.update({"Tag.%d.Key" % (n + 1): k, "Tag.%d.Value" % (n + 1): v})
            change("tags", new, "TagResources", query, False)

    def _tagged(self, key_id):
        return {"RegionId": self.region, "ResourceType": "key", "ResourceId.1": key_id}

    def _plan_aliases(self, current, params, changes, after):
        wanted = list(params.get("aliases") or ())
        if params.get("alias") and params["alias"] not in wanted:
            wanted.append(params["alias"])
        old = list(current.get("aliases") or [])
        if params.get("aliases") is None and not params.get("alias"):
            return
        new = sorted(set(wanted) | (set() if params.get("purge_aliases") else set(old)))
        for name in sorted(set(new) - set(old)):
            owner = self._alias_owner(name)
            if owner is not None:
                raise KmsOptionError("aliases", "%s already names key %s" % (name, owner))
            changes.append(
                Change("aliases", None, name, "CreateAlias", {"AliasName": name, "KeyId": current["key_id"]})
            )
        for name in sorted(set(old) - set(new)):
            changes.append(Change("aliases", name, None, "DeleteAlias", {"AliasName": name}))
        after["aliases"] = new

    def _alias_owner(self, name):
        found = self._found(name)
        return found[0].get("KeyId") if found else None

    def _found(self, ref):
        """DescribeKey's (KeyMetadata, body) for a key ID or alias, or None when there is no such key."""
        try:
            return self._describe(ref)
        except KmsError as error:
            if error.code in NOT_FOUND:
                return None
            raise

    # --- creating and sending -----------------------------------------------------------------------------------

    def create(self, params):
        """A new key for params (CreateKey once, found again by its marker tag after a lost response)."""
        query = dict(
            (api, params[name])
            for name, api in (
                ("key_spec", "KeySpec"),
                ("key_usage", "KeyUsage"),
                ("protection_level", "ProtectionLevel"),
                ("origin", "Origin"),
                ("dkms_instance_id", "DKMSInstanceId"),
                ("description", "Description"),
            )
            if params.get(name) is not None
        )
        marker = uuid.uuid4().hex
        query["Tags"] = json.dumps([{"TagKey": CREATE_MARKER, "TagValue": marker}])
        for _attempt in range(3):
            try:
                body = self.connection.call(self.region, "CreateKey", query, idempotent=False)
                metadata = body.get("KeyMetadata") if isinstance(body.get("KeyMetadata"), dict) else {}
                key_id = metadata.get("KeyId")
                if not isinstance(key_id, str) or not KEY_ID.match(key_id):
                    raise KmsError("MalformedResponse", "CreateKey returned no KeyId", region=self.region)
                break
            except KmsError as error:
                if not is_retryable(error):
                    raise
                key_id = self._marked(marker)  # did the lost request create it?
                if key_id:
                    break
        else:
            raise KmsError(
                "CreateKeyUnconfirmed",
                "CreateKey did not answer three times and no key carries its marker tag %s=%s"
                % (CREATE_MARKER, marker),
                region=self.region,
                action="CreateKey",
            )
        self.send(
            [Change("tags", None, None, "UntagResources", dict(self._tagged(key_id), **{"TagKey.1": CREATE_MARKER}))]
        )
        return key_id

    def _marked(self, marker):
        query = {
            "PageSize": 100,
            "Filters": json.dumps(
                [{"Key": "TagKey", "Values": [CREATE_MARKER]}, {"Key": "TagValue", "Values": [marker]}]
            ),
        }
        body = self.connection.call(self.region, "ListKeys", query)
        keys = [make_record(item, self.region, self.account_id, body) for item in key_items(body, self.region)]
        return keys[0]["key_id"] if keys else None

    def send(self, changes, settled=None):
        """Send the Changes in order. A write that fails after a retry is settled by settled(change) (a re-read):
        when the key already says what the write asked, it took effect and the task goes on."""
        for item in changes:
            try:
                self.connection.call(self.region, item.action, item.query)
            except KmsError as error:
                if error.attempts > 1 and settled is not None and settled(item):
                    continue
                raise
