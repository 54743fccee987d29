# -*- coding: utf-8 -*-
# Copyright (c) alicloud.kms contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to this collection; no compatibility promise (the public API is the modules, plugins, filters and role).
"""A secret's value (GetSecretValue), for the secret lookup. No value ever reaches a message, a log or an error."""

from __future__ import annotations

import json
import re

from ansible_collections.alicloud.kms.plugins.module_utils._connection_options import check_region
from ansible_collections.alicloud.kms.plugins.module_utils._errors import KmsError, KmsOptionError

# CreateSecretRequest.secret_name (alibabacloud-kms20160120 3.3.1): up to 192 of letters, digits and _ / + = . @ -
SECRET_NAME = re.compile(r"^[A-Za-z0-9_/+=.@-]{1,192}\Z")
# GetSecretValueRequest.secret_name: "the format of the secret ARN is acs:kms:${region}:${account}:secret/${name}"
SECRET_ARN = re.compile(r"^acs:kms:(?P<region>[^:]+):(?P<account>[0-9]{16}):secret/(?P<name>[^:]+)\Z")
# what a failure means for the lookup: no such secret or version, or not allowed to read it
MISSING = ("Forbidden.ResourceNotFound", "Forbidden.SecretNotFound")
DENIED_STATUS = (401, 403)
CHOICES = ("error", "warn", "skip")


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
