# -*- coding: utf-8 -*-
# Copyright (c) alicloud.kms contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Key records: the one dict shape every face returns."""

from __future__ import annotations

import re

_ARN = re.compile(r"^acs:kms:(?P<region>[^:]*):(?P<account>[^:]*):key/(?P<key_id>.+)$")
_WORD_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def parse_arn(arn):
    """Return (region, account_id, key_id) from acs:kms:<region>:<account>:key/<id>, or Nones."""
    match = _ARN.match(arn or "")
    if not match:
        return None, None, None
    return match.group("region") or None, match.group("account") or None, match.group("key_id")


def snake_case(name):
    """KeyMetadata field names as Ansible users expect them: DKMSInstanceId -> dkms_instance_id."""
    return _WORD_BOUNDARY.sub("_", name).lower()


def key_items(body):
    """The keys of a ListKeys body, in the real {"Keys": {"Key": [...]}} form or the reference's flat list."""
    keys = body.get("Keys") or []
    if isinstance(keys, dict):
        keys = keys.get("Key") or []
    return [k for k in keys if isinstance(k, dict) and k.get("KeyId")]


def make_record(item, region):
    arn = item.get("KeyArn")
    arn_region, account_id, _key_id = parse_arn(arn)
    return {
        "key_id": item["KeyId"],
        "key_arn": arn,
        "region": arn_region or region,
        "account_id": account_id,
    }


def add_metadata(record, metadata):
    """Merge DescribeKey's KeyMetadata, in snake_case, into a record (its Arn is key_arn already)."""
    for name, value in metadata.items():
        field = snake_case(name)
        if field not in ("arn", "key_id"):
            record[field] = value
    return record
