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

_ARN = re.compile(r"^acs:kms:(?P<region>[^:]*):(?P<account>[^:]*):key/(?P<key_id>.+)$")
_ACCOUNT = re.compile(r"^[0-9]{1,32}$")
_KEY_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$")
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
    if account is not None and not _ACCOUNT.match(account) or not _KEY_ID.match(key_id):
        raise ValueError("not a KMS key ARN")
    return region, account, key_id


def key_items(body):
    """The keys of a ListKeys body, in the real {"Keys": {"Key": [...]}} form or the reference's flat list."""
    keys = body.get("Keys") or []
    if isinstance(keys, dict):
        keys = keys.get("Key") or []
    return [k for k in keys if isinstance(k, dict) and isinstance(k.get("KeyId"), str) and k["KeyId"]]


def listed_items(body, outer, inner, region, action):
    """body[outer][inner], the list every List* reply nests its entries in, or MalformedResponse: a reply without
    its list is never read as an empty one."""
    container = body.get(outer)
    items = container.get(inner) if isinstance(container, dict) else None
    if not isinstance(items, list):
        raise KmsError(
            "MalformedResponse",
            "%s returned no %s.%s list" % (action, outer, inner),
            body.get("RequestId"),
            region,
            action,
        )
    return [item for item in items if isinstance(item, dict)]


def total_count(body, region, action):
    """A paged reply's TotalCount as a non-negative int, or MalformedResponse."""
    try:
        total = int(body.get("TotalCount"))
    except (TypeError, ValueError):
        total = -1
    if total < 0:
        raise KmsError(
            "MalformedResponse", "%s returned no valid TotalCount" % action, body.get("RequestId"), region, action
        )
    return total


def make_record(item, region):
    arn = item.get("KeyArn") if isinstance(item.get("KeyArn"), str) else None
    arn_region, account_id, arn_key_id = parse_arn(arn)
    if arn_key_id != item["KeyId"] or arn_region not in (None, region):
        arn_region, account_id = None, None  # an ARN that names another key or region says nothing of this one
    return {
        "key_id": item["KeyId"],
        "key_arn": arn,
        "region": region,
        "account_id": account_id,
    }


def add_metadata(record, metadata):
    """Merge DescribeKey's documented KeyMetadata fields, in snake_case, into a record.

    A documented field the service left out (the model's optional fields, such as RotationInterval when
    rotation is off) is absent from the record too.
    """
    for name, field in METADATA_FIELDS.items():
        if name in metadata:
            record[field] = metadata[name]
    return record
