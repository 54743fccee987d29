# -*- coding: utf-8 -*-
# Copyright (c) alicloud.kms contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to this collection; no compatibility promise (the public API is the modules, plugins, filters and role).
"""The option names and types every face accepts, in AnsibleModule's argument_spec form."""

from __future__ import annotations

_LIST = dict(type="list", elements="str", no_log=False)
# Mirrors doc_fragments/connection.py and filters.py; validate-modules checks that they agree.
# The connection options: what every face takes, the key module included (module_defaults of group/alicloud.kms.kms)
CONNECTION_SPEC = dict(
    region=dict(type="str"),
    access_key_id=dict(type="str", no_log=False),
    access_key_secret=dict(type="str", no_log=True),
    security_token=dict(type="str", no_log=True),
    profile=dict(type="str"),
    assume_role_arn=dict(type="str"),
    assume_role_session_name=dict(type="str", default="ansible-alicloud-kms"),
    endpoint=dict(type="str"),
    sts_endpoint=dict(type="str"),
    network=dict(type="str", choices=["public", "vpc"], default="public"),
    protocol=dict(type="str", choices=["https", "http"], default="https"),
    http_proxy=dict(type="str"),
    https_proxy=dict(type="str"),
    validate_certs=dict(type="bool", default=True),
    connect_timeout=dict(type="float", default=5),
    read_timeout=dict(type="float", default=30),
    max_retries=dict(type="int", default=5),
    rate_limit=dict(type="float", default=45),
    sts_rate_limit=dict(type="float", default=100),
    deadline=dict(type="float", default=300),
    max_in_flight=dict(type="int", default=64),
    account_role_name=dict(type="str", default="ResourceDirectoryAccountAccessRole"),
)
# Several regions and accounts in one run: the faces that list (doc_fragments/connection.py, LISTING)
ACCOUNTS_SPEC = dict(
    regions=_LIST,
    accounts=_LIST,
    exclude_accounts=_LIST,
    strict_permissions=dict(type="bool", default=True),
)
# What to list and what to gather: the listing faces' options beside the connection
LISTING_SPEC = dict(
    key_state=_LIST,
    key_spec=_LIST,
    key_usage=_LIST,
    protection_level=_LIST,
    creator_type=_LIST,
    dkms_instance_id=_LIST,
    filters=dict(type="list", elements="dict"),
    page_size=dict(type="int", default=100),
    facets=_LIST,
    details=dict(type="bool", default=False),
    aliases=dict(type="bool", default=False),
    tags=dict(type="bool", default=False),
    key_policy=dict(type="bool", default=False),
    tag_filters=dict(type="dict"),
)

ARGUMENT_SPEC = dict(CONNECTION_SPEC, **dict(ACCOUNTS_SPEC, **LISTING_SPEC))
# alicloud.kms.secret_info's filters (module_utils/_secrets.py validates their values) and instance_info's none
SECRET_ARGUMENT_SPEC = dict(
    CONNECTION_SPEC, **dict(ACCOUNTS_SPEC, secret_type=_LIST, dkms_instance_id=_LIST, tag_filters=dict(type="dict"))
)
INSTANCE_ARGUMENT_SPEC = dict(CONNECTION_SPEC, **ACCOUNTS_SPEC)
OPTION_NAMES = tuple(ARGUMENT_SPEC)
