# -*- coding: utf-8 -*-
# Copyright (c) alicloud.kms contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to this collection; no compatibility promise (the public API is the modules, plugins, filters and role).
"""The KMS instance kind: every page of ListKmsInstances, then GetKmsInstance per instance.

Sources: the models of alibabacloud-kms20160120 3.3.1, ListKmsInstancesRequest (PageSize "1 to 100") and
ListKmsInstancesResponseBody (KmsInstances.KmsInstance[]{KmsInstanceId, KmsInstanceArn}, TotalCount),
GetKmsInstanceResponseBodyKmsInstance (InstanceId, Status, Spec, StartDate, EndDate, ZoneIds, VpcId, KeyNum, and
SecretNum, a string in the model). KeyNum and SecretNum are the instance's quotas ("the maximum number of keys that
can be created"), not counts.
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.alicloud.kms.plugins.module_utils._kinds import MAX_CONCURRENCY, Request, every_page, windowed
from ansible_collections.alicloud.kms.plugins.module_utils._records import ACCOUNT_ID, INSTANCE_ID, malformed

PAGE_SIZE = 100  # ListKmsInstancesRequest.page_size: "1 to 100"
_ARN = re.compile(r"^acs:kms:(?P<region>[^:]+):(?P<account>[^:]+):kmsinstance/(?P<id>.+)\Z")
ZONE_ID = re.compile(r"^[a-z]{2}-[a-z0-9-]{1,40}\Z")  # <region>-<zone letter>, e.g. cn-hangzhou-h
VPC_ID = re.compile(r"^vpc-[A-Za-z0-9]{1,64}\Z")
# GetKmsInstanceResponseBodyKmsInstance.status: the model's values
STATUSES = ("Uninitialized", "Connecting", "Connected", "Disconnected", "Error")
# record field -> (GetKmsInstance field, how its value is checked); dates are the service's text, judged by the rules
FIELDS = (
    ("status", "Status", lambda v: v in STATUSES),
    ("spec", "Spec", None),
    ("start_date", "StartDate", lambda v: isinstance(v, str)),
    ("end_date", "EndDate", lambda v: isinstance(v, str)),
    ("vpc_id", "VpcId", lambda v: isinstance(v, str) and (not v or VPC_ID.match(v))),
    ("key_num", "KeyNum", None),
    ("secret_num", "SecretNum", None),
)


def _count(value):
    """An int of the model's int or numeric string (SecretNum), or None when it is neither."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def instance_entries(connection, region, pool, account_id=None):
    """[(instance_id, account_id)] of a region's KMS instances: every page, each ID and ARN in its documented form."""

    def identify(entry, body):
        instance_id, arn = entry.get("KmsInstanceId"), entry.get("KmsInstanceArn")
        if not isinstance(instance_id, str) or not INSTANCE_ID.match(instance_id):
            raise malformed(body, region, "ListKmsInstances", "a KmsInstanceId that is not kst-<id>")
        if arn is not None:
            match = _ARN.match(arn) if isinstance(arn, str) else None
            if (
                not match
                or match.group("id") != instance_id
                or match.group("region") != region
                or not ACCOUNT_ID.match(match.group("account"))
                or account_id not in (None, match.group("account"))
            ):
                raise malformed(
                    body,
                    region,
                    "ListKmsInstances",
                    "a KmsInstanceArn for %s that is not acs:kms:%s:%s:kmsinstance/%s"
                    % (instance_id, region, account_id or "<account ID>", instance_id),
                )
        return instance_id

    listed = every_page(
        connection, region, pool, "ListKmsInstances", {}, PAGE_SIZE, ("KmsInstances", "KmsInstance"), identify
    )
    return [
        (
            entry["KmsInstanceId"],
            _ARN.match(entry["KmsInstanceArn"]).group("account") if entry.get("KmsInstanceArn") else account_id,
        )
        for entry, _body in listed
    ]


def instance_record(connection, region, instance_id, account_id):
    """The record of one instance from GetKmsInstance: the documented fields, each checked; nothing else."""
    body = connection.call(region, "GetKmsInstance", {"KmsInstanceId": instance_id})
    answer = body.get("KmsInstance")
    if not isinstance(answer, dict) or answer.get("InstanceId") != instance_id:
        raise malformed(body, region, "GetKmsInstance", "no KmsInstance for %s" % instance_id)
    record = {"instance_id": instance_id, "region": region, "account_id": account_id}
    for field, name, valid in FIELDS:
        value = answer.get(name)
        if value is not None:
            value = _count(value) if valid is None else value
            if value is None or valid is not None and not valid(value):
                raise malformed(
                    body, region, "GetKmsInstance", "a KmsInstance.%s for %s of another form" % (name, instance_id)
                )
        record[field] = value
    zones = answer.get("ZoneIds")
    if zones is not None and (
        not isinstance(zones, list) or not all(isinstance(z, str) and ZONE_ID.match(z) for z in zones)
    ):
        raise malformed(body, region, "GetKmsInstance", "a KmsInstance.ZoneIds for %s of another form" % instance_id)
    record["zone_ids"] = list(zones) if zones is not None else None
    return record


class InstanceRequest(Request):
    """KMS instances: the listing options only (every instance of each account and region)."""

    plural = "instances"

    def list_region(self, connection, region, account_id):
        with ThreadPoolExecutor(max_workers=MAX_CONCURRENCY) as pool:
            entries = instance_entries(connection, region, pool, account_id)
            return windowed(pool, lambda e: instance_record(connection, region, e[0], e[1]), entries)
