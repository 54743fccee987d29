# -*- coding: utf-8 -*-
# Copyright (c) alicloud.kms contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to this collection; no compatibility promise (the public API is the modules, plugins, filters and role).
"""What the listing modules share (key_info, key_facts, secret_info, instance_info): one run of the core for a kind,
failures turned into task failures."""

from __future__ import annotations

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.alicloud.kms.plugins.module_utils._argspec import ARGUMENT_SPEC
from ansible_collections.alicloud.kms.plugins.module_utils._connection import SDK_IMPORT_ERROR, SDK_REQUIREMENT
from ansible_collections.alicloud.kms.plugins.module_utils._connection_options import proxy_password
from ansible_collections.alicloud.kms.plugins.module_utils._errors import KmsError, KmsOptionError
from ansible_collections.alicloud.kms.plugins.module_utils._keys import KeyRequest
from ansible_collections.alicloud.kms.plugins.module_utils._kinds import skip_text


def new_module(argument_spec=None):
    # Reading only: check mode changes nothing, so it runs the same listing.
    module = AnsibleModule(argument_spec=argument_spec or ARGUMENT_SPEC, supports_check_mode=True)
    # A proxy URL is not a secret, its password is: masked wherever the result shows it (the invocation at -vvv).
    module.no_log_values.update(
        filter(None, (proxy_password(module.params[name]) for name in ("http_proxy", "https_proxy")))
    )
    return module


def exit_with(module, shape, request_class=KeyRequest):
    """List a kind (keys unless request_class says otherwise) and exit: the results every listing module returns,
    plus shape(records), the module's own."""
    result = module_run(module, request_class)
    # Not "skipped": Ansible takes a result whose skipped is truthy for a skipped task (no output, "is skipped").
    module.exit_json(changed=False, not_read=result.skipped, summary=result.summary, **shape(result.records))


def module_run(module, request_class=KeyRequest):
    """List a kind for the module's parameters (a Result), or fail the task with a clear message."""
    if SDK_IMPORT_ERROR:
        module.fail_json(msg=missing_required_lib(SDK_REQUIREMENT), exception=SDK_IMPORT_ERROR)
    try:
        result = request_class(module.params, log=module.debug, warn=module.warn).run()
        for entry in result.skipped:
            module.warn(skip_text(entry))
        return result
    except KmsOptionError as error:
        module.fail_json(msg=str(error), option=error.option)
    except KmsError as error:
        module.fail_json(msg=str(error), error=error.to_dict())
