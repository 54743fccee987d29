# -*- coding: utf-8 -*-
# Copyright (c) alicloud.kms contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to this collection; no compatibility promise (the public API is the modules, plugins, filters and role).
"""The secret kind: records from ListSecrets and DescribeSecret (never a value), and a secret's value
(GetSecretValue) for the secret lookup. No value ever reaches a record, a message, a log or an error.

Sources: the models of alibabacloud-kms20160120 3.3.1: ListSecretsRequest (PageSize "between 1 and 100", FetchTags,
Filters with the keys SecretName, Description, TagKey, TagValue, DKMSInstanceId, SecretType, Creator),
ListSecretsResponseBody (SecretList.Secret[]{SecretName, SecretType, CreateTime, PlannedDeleteTime, Tags.Tag[]}),
DescribeSecretResponseBody (Arn, Description, AutomaticRotation, RotationInterval, LastRotationDate,
NextRotationDate, EncryptionKeyId, DKMSInstanceId, ...) and GetSecretValue's request and response.
"""

from __future__ import annotations

import json
import re
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.alicloud.kms.plugins.module_utils._connection_options import check_region
from ansible_collections.alicloud.kms.plugins.module_utils._enrich import check_tag_filters, matches
from ansible_collections.alicloud.kms.plugins.module_utils._errors import KmsError, KmsOptionError
from ansible_collections.alicloud.kms.plugins.module_utils._kinds import MAX_CONCURRENCY, Request, every_page, windowed
from ansible_collections.alicloud.kms.plugins.module_utils._records import (
    ACCOUNT_ID,
    INSTANCE_ID,
    KEY_ID,
    malformed,
    tag_dict,
)

# CreateSecretRequest.secret_name (alibabacloud-kms20160120 3.3.1): up to 192 of letters, digits and _ / + = . @ -
SECRET_NAME = re.compile(r"^[A-Za-z0-9_/+=.@-]{1,192}\Z")
# GetSecretValueRequest.secret_name: "the format of the secret ARN is acs:kms:${region}:${account}:secret/${name}"
SECRET_ARN = re.compile(r"^acs:kms:(?P<region>[^:]+):(?P<account>[0-9]{16}):secret/(?P<name>[^:]+)\Z")
# what a failure means for the lookup: no such secret or version, or not allowed to read it
MISSING = ("Forbidden.ResourceNotFound", "Forbidden.SecretNotFound")
DENIED_STATUS = (401, 403)
CHOICES = ("error", "warn", "skip")
# DescribeSecretResponseBody.secret_type; the request models write RDS where the service answers Rds: compared folded
SECRET_TYPES = ("Generic", "Rds", "Redis", "RAMCredentials", "ECS", "PolarDB")
ROTATION_STATES = ("Enabled", "Disabled", "Invalid")  # DescribeSecretResponseBody.automatic_rotation
INTERVAL = re.compile(r"^[0-9]{1,12}s\Z")  # RotationInterval, e.g. 604800s
PAGE_SIZE = 100  # ListSecretsRequest.page_size: "between 1 and 100"
MAX_FILTER_VALUES = 10  # ListSecretsRequest.filters: values per key, as ListKeys
# record field -> DescribeSecret field; each a string in the model, None when the service leaves it out
DESCRIBED = (
    ("description", "Description"),
    ("automatic_rotation", "AutomaticRotation"),
    ("rotation_interval", "RotationInterval"),
    ("last_rotation_date", "LastRotationDate"),
    ("next_rotation_date", "NextRotationDate"),
    ("encryption_key_id", "EncryptionKeyId"),
    ("dkms_instance_id", "DKMSInstanceId"),
    ("planned_delete_time", "PlannedDeleteTime"),
)
# what a described field must look like, beyond being a string ("" is the service's "not set")
_FORMS = {
    "automatic_rotation": lambda v: v in ROTATION_STATES,
    "rotation_interval": lambda v: not v or INTERVAL.match(v),
    "encryption_key_id": lambda v: not v or KEY_ID.match(v),
    "dkms_instance_id": lambda v: not v or INSTANCE_ID.match(v),
}


def secret_target(term, default_region):
    """(name or ARN to send, region) of a term, checked against the documented forms; KmsOptionError otherwise."""
    if not isinstance(term, str):
        raise KmsOptionError("_terms", "each term must be a secret name or ARN, got %s" % type(term).__name__)
    match = SECRET_ARN.match(term)
    if match:
        if not SECRET_NAME.match(match.group("name")):
            raise KmsOptionError("_terms", "the ARN's secret name is not in its documented form")
        return term, check_region(match.group("region"), "_terms")
    if not SECRET_NAME.match(term):
        raise KmsOptionError(
            "_terms", "a term is not a secret name (1 to 192 of letters, digits and _ / + = . @ -) nor a secret ARN"
        )
    if not default_region:
        raise KmsOptionError("region", "a secret name is read in one region; set region, or give the secret's ARN")
    return term, default_region


def secret_value(connection, region, ref, version_stage=None, version_id=None):
    """The SecretData of a version (ACSCurrent unless said otherwise); KmsError from the service as it is."""
    query = {"SecretName": ref, "VersionStage": version_stage, "VersionId": version_id}
    body = connection.call(region, "GetSecretValue", dict((k, v) for k, v in query.items() if v))
    data = body.get("SecretData")
    if not isinstance(data, str):
        raise KmsError("MalformedResponse", "GetSecretValue returned no SecretData", region=region)
    return data


def json_field(data, key, term):
    """One field of a JSON value; KmsOptionError naming json_key (never the value) when there is none."""
    try:
        document = json.loads(data)
    except ValueError:
        raise KmsOptionError("json_key", "the value of %s is not JSON" % term) from None
    if not isinstance(document, dict) or key not in document:
        raise KmsOptionError("json_key", "the value of %s has no field %s" % (term, key))
    return document[key]


def kind_of(error):
    """missing, denied or None (any other failure) for a KmsError of GetSecretValue."""
    if error.code in MISSING or error.status == 404:
        return "missing"
    if error.status in DENIED_STATUS or "NoPermission" in (error.code or ""):
        return "denied"
    return None


def _check_list(options, name, allowed=None, form=None):
    """A list option of at most MAX_FILTER_VALUES strings, each in allowed (folded) or of form, or None."""
    values = options.get(name)
    if values is None:
        return None
    if isinstance(values, str):
        values = [values]
    if not isinstance(values, (list, tuple)) or not values or len(values) > MAX_FILTER_VALUES:
        raise KmsOptionError(name, "must be a list of 1 to %d values" % MAX_FILTER_VALUES)
    checked = []
    for value in values:
        if allowed is not None:
            folded = dict((a.lower(), a) for a in allowed)
            if not isinstance(value, str) or value.lower() not in folded:
                raise KmsOptionError(name, "unknown value %r; allowed values are %s" % (value, ", ".join(allowed)))
            value = folded[value.lower()]
        elif not isinstance(value, str) or not form.match(value):
            raise KmsOptionError(name, "%r is not a KMS instance ID (kst-<id>)" % (value,))
        checked.append(value)
    return list(dict.fromkeys(checked))


class SecretRequest(Request):
    """Secrets: filtered by secret_type, dkms_instance_id and tag_filters (by the service, then checked here)."""

    plural = "secrets"

    def __init__(self, options, environ=None, log=None, warn=None, connection=None):
        self.secret_types = _check_list(options, "secret_type", SECRET_TYPES)
        self.instances = _check_list(options, "dkms_instance_id", form=INSTANCE_ID)
        self.tag_filters = check_tag_filters(options.get("tag_filters"))
        Request.__init__(self, options, environ=environ, log=log, warn=warn, connection=connection)
        filters = [("SecretType", self.secret_types), ("DKMSInstanceId", self.instances)]
        if self.tag_filters and len(self.tag_filters) <= MAX_FILTER_VALUES:
            filters.append(("TagKey", sorted(self.tag_filters)))
        self.filters = json.dumps([{"Key": k, "Values": v} for k, v in filters if v], separators=(",", ":"))

    def wanted(self, record, described=True):
        """The service's filters checked again on each record (a region that ignores a filter key widens nothing);
        the instance filter only once DescribeSecret has given DKMSInstanceId."""
        return (
            (self.secret_types is None or record["secret_type"].lower() in [t.lower() for t in self.secret_types])
            and (self.tag_filters is None or matches(record["tags"], self.tag_filters))
            and (not described or self.instances is None or record["dkms_instance_id"] in self.instances)
        )

    def list_region(self, connection, region, account_id):
        params = {"FetchTags": "true"}
        if self.filters != "[]":
            params["Filters"] = self.filters

        def name(entry, body):
            value = entry.get("SecretName")
            if not isinstance(value, str) or not SECRET_NAME.match(value):
                raise malformed(body, region, "ListSecrets", "a SecretName that is not in its documented form")
            return value

        with ThreadPoolExecutor(max_workers=MAX_CONCURRENCY) as pool:
            listed = every_page(
                connection, region, pool, "ListSecrets", params, PAGE_SIZE, ("SecretList", "Secret"), name
            )
            records = [listed_record(entry, body, region, account_id) for entry, body in listed]
            records = [r for r in records if self.wanted(r, described=False)]  # fewer secrets to describe
            records = windowed(pool, lambda r: describe(connection, r), records)
        return [r for r in records if self.wanted(r)]


def listed_record(entry, body, region, account_id):
    """A secret record from its ListSecrets entry: name, type, creation time and tags, each checked."""
    name = entry["SecretName"]
    secret_type = entry.get("SecretType")
    if not isinstance(secret_type, str) or not re.match(r"^[A-Za-z]{1,32}\Z", secret_type):
        raise malformed(body, region, "ListSecrets", "a SecretType for secret %s that is not a type name" % name)
    tags = entry.get("Tags")
    items = tags.get("Tag") if isinstance(tags, dict) else None
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise malformed(body, region, "ListSecrets", "no Tags.Tag list for secret %s" % name)
    for field in ("CreateTime", "PlannedDeleteTime"):
        if entry.get(field) is not None and not isinstance(entry[field], str):
            raise malformed(body, region, "ListSecrets", "a %s for secret %s that is not text" % (field, name))
    record = {"secret_name": name, "arn": None, "region": region, "account_id": account_id, "secret_type": secret_type}
    record.update((field, None) for field, _name in DESCRIBED)
    record.update(create_time=entry.get("CreateTime"), tags=tag_dict(items, body, region, "ListSecrets"))
    return record


def describe(connection, record):
    """The record with DescribeSecret's documented fields, each checked, and the account its Arn names."""
    region, name = record["region"], record["secret_name"]
    body = connection.call(region, "DescribeSecret", {"SecretName": name})
    arn = body.get("Arn")
    match = SECRET_ARN.match(arn) if isinstance(arn, str) else None
    if (
        body.get("SecretName") != name
        or not match
        or match.group("name") != name
        or match.group("region") != region
        or record["account_id"] not in (None, match.group("account"))
        or not ACCOUNT_ID.match(match.group("account"))
    ):
        raise malformed(
            body,
            region,
            "DescribeSecret",
            "an Arn for secret %s that is not acs:kms:%s:%s:secret/%s"
            % (name, region, record["account_id"] or "<account ID>", name),
        )
    record = dict(record, arn=arn, account_id=match.group("account"))
    for field, source in DESCRIBED:
        value = body.get(source)
        if value is None:
            continue
        if not isinstance(value, str) or not _FORMS.get(field, lambda v: True)(value):
            raise malformed(body, region, "DescribeSecret", "a %s for secret %s of another form" % (source, name))
        record[field] = value if field == "description" else value or None  # "": not set
    return record
