# -*- coding: utf-8 -*-
# Copyright (c) alicloud.kms contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to this collection; no compatibility promise (the public API is the modules, plugins, filters and role).
"""The adapter from plugin options to the core, shared by the lookup and the inventory."""

from __future__ import annotations

import difflib

from ansible.errors import AnsibleError
from ansible.module_utils.common.text.converters import to_native
from ansible.utils.display import Display

from ansible_collections.alicloud.kms.plugins.module_utils._argspec import OPTION_NAMES
from ansible_collections.alicloud.kms.plugins.module_utils._connection import SDK_IMPORT_ERROR, SDK_REQUIREMENT
from ansible_collections.alicloud.kms.plugins.module_utils._errors import KmsError, KmsOptionError
from ansible_collections.alicloud.kms.plugins.module_utils._keys import KeyRequest

display = Display()


def plugin_options(plugin):
    """The core's options as the plugin resolved them (direct, then vars, then env, then defaults)."""
    return dict((name, plugin.get_option(name)) for name in OPTION_NAMES)


def key_request(plugin, error_class=AnsibleError):
    """A validated KeyRequest, or error_class naming the option; call with options already set."""
    if SDK_IMPORT_ERROR:
        raise error_class(
            "the alicloud.kms plugins need %s: pip install %s"
            % (SDK_REQUIREMENT, SDK_REQUIREMENT.replace(" and ", " "))
        )
    try:
        # The core reads the environment itself; plugin `env:` entries already resolved it.
        # retries and fallbacks at -v, beside the progress lines: a long run shows where it is
        return KeyRequest(plugin_options(plugin), log=display.v, warn=display.warning)
    except KmsOptionError as error:
        raise error_class(to_native(error)) from None


def check_keywords(given, known, error_class=AnsibleError):
    """Fail on keyword arguments the plugin does not know, suggesting the close option: a typo must not widen a listing."""
    unknown = sorted(set(given) - set(known))
    if unknown:
        hints = [
            "%s (did you mean %s?)" % (name, close[0]) if close else name
            for name, close in ((n, difflib.get_close_matches(n, known, 1)) for n in unknown)
        ]
        raise error_class("unknown option(s) %s; see ansible-doc -t lookup alicloud.kms.keys" % ", ".join(hints))


def run_request(call, error_class=AnsibleError):
    """Run call() (a KeyRequest method), turning core errors into error_class without a traceback."""
    try:
        return call()
    except (KmsOptionError, KmsError) as error:
        raise error_class(to_native(error)) from None
