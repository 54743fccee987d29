# -*- coding: utf-8 -*-
# Copyright (c) alicloud.kms contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to this collection; no compatibility promise (the public API is the modules, plugins, filters and role).
"""Key records: the one dict shape every face returns."""

from __future__ import annotations

import re

from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict

from ansible_collections.alicloud.kms.plugins.module_utils._connection_options import check_region
from ansible_collections.alicloud.kms.plugins.module_utils._errors import KmsError

_ARN = re.compile(r"^acs:kms:(?P<region>[^:]*):(?P<account>[^:]*):key/(?P<key_id>.+)\Z")
# Identifiers in their documented forms (Alibaba Cloud account IDs are 16 digits; KMS key IDs are UUIDs or, in a
# KMS instance, key-<region abbreviation><id>; alias names alias/[a-zA-Z0-9:/_-], at most 255 characters in all;
# KMS instance IDs kst-<id>). A service value is checked against them where records are built: a value of another
# form is MalformedResponse naming the field, never passed on to a playbook, an event or a file name.
ACCOUNT_ID = re.compile(r"^[0-9]{16}\Z")
KEY_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}\Z")
ALIAS_NAME = re.compile(r"^alias/[a-zA-Z0-9:/_-]{1,249}\Z")
INSTANCE_ID = re.compile(r"^kst-[A-Za-z0-9]+\Z")
# Fields the collection derives; no service value may replace them.
DERIVED = ("key_id", "key_arn", "region", "account_id")
# DescribeKey's KeyMetadata, as the official model documents it (alibabacloud-kms20160120,
# DescribeKeyResponseBodyKeyMetadata), -> record field in Ansible's snake_case. Only these reach a record: any other field a
# service sends is dropped, so no response can set an ansible_* variable or a derived field. KeyId and Arn
# are the derived key_id and key_arn. The model has no CreatorType: creator_type is a facet.
METADATA_FIELDS = dict(
    (name, next(iter(camel_dict_to_snake_dict({name: None}))))
    for name in (
        "AutomaticRotation",
        "CreationDate",
        "Creator",
        "DKMSInstanceId",
        "DeleteDate",
        "DeletionProtection",
        "DeletionProtectionDescription",
        "Description",
        "KeySpec",
        "KeyState",
        "KeyUsage",
        "LastRotationDate",
        "MaterialExpireTime",
        "NextRotationDate",
        "Origin",
        "PrimaryKeyVersion",
        "ProtectionLevel",
        "RotationInterval",
    )
)


def parse_arn(arn):
    """Return (region, account_id, key_id) from acs:kms:<region>:<account>:key/<id>, or Nones."""
    match = _ARN.match(arn or "") if isinstance(arn, str) else None
    if not match:
        return None, None, None
    return match.group("region") or None, match.group("account") or None, match.group("key_id")


def check_key_arn(arn, option):
    """(region, account_id, key_id) of a user-given ARN, each part checked: the region picks the endpoint."""
    region, account, key_id = parse_arn(arn)
    if key_id is None:
        raise ValueError("not an ARN")
    check_region(region, option)
    if account is not None and not ACCOUNT_ID.match(account) or not KEY_ID.match(key_id):
        raise ValueError("not a KMS key ARN")
    return region, account, key_id


def malformed(body, region, action, what):
    """The MalformedResponse of a reply (a dict) that says `what` (it names the field, never quotes its value)."""
    request_id = body.get("RequestId") if isinstance(body, dict) else None
    return KmsError("MalformedResponse", "%s returned %s" % (action, what), request_id, region, action)


def key_items(body, region):
    """The entries of a ListKeys body, in the real {"Keys": {"Key": [...]}} form or the reference's flat list."""
    if isinstance(body.get("Keys"), list):
        return _entries(body["Keys"], body, region, "ListKeys", "Keys")
    return listed_items(body, "Keys", "Key", region, "ListKeys")


def listed_items(body, outer, inner, region, action):
    """body[outer][inner], the list every List* reply nests its entries in, or MalformedResponse: a reply without
    its list is never read as an empty one, nor an entry that is not an object skipped."""
    container = body.get(outer)
    items = container.get(inner) if isinstance(container, dict) else None
    if not isinstance(items, list):
        raise malformed(body, region, action, "no %s.%s list" % (outer, inner))
    return _entries(items, body, region, action, "%s.%s" % (outer, inner))


def _entries(items, body, region, action, where):
    if not all(isinstance(item, dict) for item in items):
        raise malformed(body, region, action, "an entry of %s that is not an object" % where)
    return items


# Paged listings (ListKeys, ListAliases, ListAccounts) whose TotalCount is larger are malformed: no account holds
# that many keys or aliases in a region, nor a Resource Directory that many members, and believing it would make a
# client schedule millions of pages (docs/docsite/rst/reliability.rst).
MAX_LISTED = 100000


def total_count(body, region, action):
    """A paged reply's TotalCount as an int from 0 to MAX_LISTED, or MalformedResponse."""
    try:
        total = int(body.get("TotalCount"))
    except (TypeError, ValueError):
        total = -1
    if total < 0:
        raise malformed(body, region, action, "no valid TotalCount")
    if total > MAX_LISTED:
        raise malformed(
            body,
            region,
            action,
            "a TotalCount of %d, more than the %d entries a listing may hold" % (total, MAX_LISTED),
        )
    return total


def make_record(item, region, account_id=None, body=None, action="ListKeys", arn_field="KeyArn"):
    """A key record from an entry with KeyId and its ARN (arn_field), both checked against their documented forms.

    The region and account are the ones the run read (account_id None: the caller's own, known only from the ARN);
    an ARN that names another key, region or account is MalformedResponse, never a record of a key it is not.
    """
    key_id = item.get("KeyId")
    if not isinstance(key_id, str) or not KEY_ID.match(key_id):
        raise malformed(body, region, action, "a KeyId that is not a KMS key ID")
    arn = item.get(arn_field)
    if arn is not None:
        arn_region, arn_account, arn_key_id = parse_arn(arn)
        if (
            arn_key_id != key_id
            or arn_region != region
            or not ACCOUNT_ID.match(arn_account or "")
            or account_id not in (None, arn_account)
        ):
            raise malformed(
                body,
                region,
                action,
                "a %s for key %s that is not acs:kms:%s:%s:key/%s"
                % (arn_field, key_id, region, account_id or "<account ID>", key_id),
            )
        account_id = arn_account
    return {"key_id": key_id, "key_arn": arn, "region": region, "account_id": account_id}


def tag_dict(items, body, region, action):
    """{TagKey: TagValue} of one key's tag entries (each TagKey once, both strings), or MalformedResponse."""
    tags = {}
    for item in items:
        key, value = item.get("TagKey"), item.get("TagValue")
        if not isinstance(key, str) or not key or not isinstance(value, str):
            raise malformed(body, region, action, "a tag without a string TagKey and TagValue")
        if key in tags:
            raise malformed(body, region, action, "one TagKey twice for a key")
        tags[key] = value
    return tags


def alias_pairs(items, body, region):
    """[(AliasName, KeyId)] of ListAliases entries, each in its documented form, or MalformedResponse."""
    pairs = []
    for item in items:
        name, key_id = item.get("AliasName"), item.get("KeyId")
        if not isinstance(name, str) or not ALIAS_NAME.match(name):
            raise malformed(body, region, "ListAliases", "an AliasName that is not alias/[a-zA-Z0-9:/_-], at most 255")
        if not isinstance(key_id, str) or not KEY_ID.match(key_id):
            raise malformed(body, region, "ListAliases", "a KeyId that is not a KMS key ID for alias %s" % name)
        pairs.append((name, key_id))
    return pairs


def add_metadata(record, metadata, body=None):
    """Merge DescribeKey's documented KeyMetadata fields, in snake_case, into a record.

    Every field is a string in the model; DKMSInstanceId, when set, is an instance ID. A documented field the service
    left out (the model's optional fields, such as RotationInterval when rotation is off) is absent from the record.
    """
    for name, field in METADATA_FIELDS.items():
        if name not in metadata:
            continue
        value = metadata[name]
        if (
            value is not None
            and not isinstance(value, str)
            or name == "DKMSInstanceId"
            and value
            and not INSTANCE_ID.match(value)
        ):
            raise malformed(
                body,
                record["region"],
                "DescribeKey",
                "a KeyMetadata.%s for key %s of another form" % (name, record["key_id"]),
            )
        record[field] = value
    return record
