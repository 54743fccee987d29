# -*- coding: utf-8 -*-
# Copyright (c) alicloud.kms contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to this collection; no compatibility promise (the public API is the modules, plugins, filters and role).
"""alicloud.kms.key: options to the write side (_writes.py), and the result."""

from __future__ import annotations

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.alicloud.kms.plugins.module_utils._argspec import CONNECTION_SPEC
from ansible_collections.alicloud.kms.plugins.module_utils._connection import (
    SDK_IMPORT_ERROR,
    SDK_REQUIREMENT,
    Connection,
)
from ansible_collections.alicloud.kms.plugins.module_utils._connection_options import check_region, proxy_password
from ansible_collections.alicloud.kms.plugins.module_utils._errors import KmsError, KmsOptionError
from ansible_collections.alicloud.kms.plugins.module_utils._query import KEY_USAGES, PROTECTION_LEVELS
from ansible_collections.alicloud.kms.plugins.module_utils._records import ACCOUNT_ID, parse_arn
from ansible_collections.alicloud.kms.plugins.module_utils._writes import ORIGINS, Change, KeyWriter, check_options

KEY_SPEC = dict(
    CONNECTION_SPEC,
    key_id=dict(type="str"),
    alias=dict(type="str"),
    account_id=dict(type="str"),
    state=dict(type="str", choices=["present", "absent"], default="present"),
    pending_window_in_days=dict(type="int", default=30),
    enabled=dict(type="bool"),
    description=dict(type="str"),
    automatic_rotation=dict(type="bool"),
    rotation_interval_days=dict(type="int"),
    deletion_protection=dict(type="bool"),
    deletion_protection_description=dict(type="str"),
    tags=dict(type="dict"),
    purge_tags=dict(type="bool", default=False),
    aliases=dict(type="list", elements="str", no_log=False),
    purge_aliases=dict(type="bool", default=False),
    key_policy=dict(type="json", no_log=False),
    key_spec=dict(type="str", no_log=False),
    key_usage=dict(type="str", choices=list(KEY_USAGES)),
    protection_level=dict(type="str", choices=list(PROTECTION_LEVELS)),
    origin=dict(type="str", choices=list(ORIGINS)),
    dkms_instance_id=dict(type="str"),
)


def run_module():
    module = AnsibleModule(argument_spec=KEY_SPEC, supports_check_mode=True, required_one_of=[("key_id", "alias")])
    module.no_log_values.update(
        filter(None, (proxy_password(module.params[name]) for name in ("http_proxy", "https_proxy")))
    )
    if SDK_IMPORT_ERROR:
        module.fail_json(msg=missing_required_lib(SDK_REQUIREMENT), exception=SDK_IMPORT_ERROR)
    try:
        result = _run(module, dict(module.params))
    except KmsOptionError as error:
        module.fail_json(msg=str(error), option=error.option)
    except KmsError as error:
        module.fail_json(msg=str(error), error=error.to_dict())
    module.exit_json(**result)


def _run(module, params):
    check_options(params)
    ref = params["key_id"] or params["alias"]
    region, account_id = params["region"], params["account_id"]
    if account_id is not None and not ACCOUNT_ID.match(account_id):
        raise KmsOptionError("account_id", "%r is not a 16-digit account ID" % account_id)
    if ref.startswith("acs:"):
        region, arn_account, ref = parse_arn(ref)
        if account_id and arn_account != account_id:
            raise KmsOptionError("key_id", "the ARN names account %s, account_id %s" % (arn_account, account_id))
        account_id = account_id or arn_account
    connection = Connection(dict(params, region=region), log=module.debug, warn=module.warn)
    if not (region or connection.region):
        raise KmsOptionError("region", "no region given; set region (or ALICLOUD_REGION), or give the key's ARN")
    region = check_region(region or connection.region, "region")
    if params["account_id"]:
        connection = connection.for_role("acs:ram::%s:role/%s" % (account_id, params["account_role_name"]))
    writer = KeyWriter(connection, region, account_id)
    before = writer.read(ref)
    if before is None and params["key_id"]:
        raise KmsOptionError("key_id", "no key %s in region %s" % (params["key_id"], region))
    if before is None and params["state"] == "absent":
        return dict(changed=False, key=None, changes=[], diff=dict(before={}, after={}))
    if before is None:
        return _create(module, writer, params)
    changes, planned = writer.plan(before, params)
    if module.check_mode or not changes:
        return _result(changes, before, planned)
    key_id = before["key_id"]
    writer.send(changes, settled=lambda change: _settled(writer.read(key_id), change))
    return _result(changes, before, writer.read(key_id))


def _create(module, writer, params):
    """A new key with the alias, then the rest of the options as on an existing key."""
    planned = dict(
        key_id=None,
        region=writer.region,
        account_id=writer.account_id,
        key_state="Enabled",
        key_spec=params["key_spec"] or "Aliyun_AES_256",
        origin=params["origin"] or "Aliyun_KMS",
        key_usage=params["key_usage"] or "ENCRYPT/DECRYPT",
        protection_level=params["protection_level"] or "SOFTWARE",
        dkms_instance_id=params["dkms_instance_id"],
        description=params["description"] or "",
        automatic_rotation="Disabled",
        deletion_protection="Disabled",
        aliases=[],
        tags={},
        key_policy=None,
    )
    create_only = ("key_spec", "key_usage", "protection_level", "origin", "dkms_instance_id")
    rest = dict(params, **dict((name, None) for name in create_only))
    changes, after = writer.plan(dict(planned, key_arn=""), rest)  # every constraint, before CreateKey
    creating = [_created(None)] + changes
    if module.check_mode:
        return _result(creating, {}, after)
    key_id = writer.create(params)
    created = writer.read(key_id)
    changes, _after = writer.plan(created, rest)
    writer.send(changes, settled=lambda change: _settled(writer.read(key_id), change))
    return _result([_created(key_id)] + changes, {}, writer.read(key_id))


def _created(key_id):
    """CreateKey as a change: from no key to one."""
    return Change("key_id", None, key_id, "CreateKey", None)


def _settled(record, change):
    """Whether the key already reads what change asked for (a write whose response was lost took effect)."""
    if record is None:
        return False
    if change.action == "CreateAlias":
        return change.new in (record.get("aliases") or [])
    if change.action == "DeleteAlias":
        return change.old not in (record.get("aliases") or [])
    return record.get(change.field) == change.new


def _result(changes, before, after):
    listed = [dict(field=c.field, old=c.old, new=c.new, action=c.action) for c in changes]
    return dict(changed=bool(changes), key=after, changes=listed, diff=dict(before=before or {}, after=after or {}))
