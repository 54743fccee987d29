# -*- coding: utf-8 -*-
# Copyright (c) alicloud.kms contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment(object):
    """The attributes both modules share (with ansible.builtin.action_common_attributes and its actiongroups)."""

    DOCUMENTATION = r"""
attributes:
  action_group:
    membership: [alicloud.kms.kms]
  check_mode:
    support: full
    details: The module only reads; in check mode it does exactly what it does otherwise.
  diff_mode:
    support: N/A
    details: The module changes nothing.
  platform:
    platforms: all
    details: Runs wherever Python and the Alibaba Cloud SDK do; usually on the controller.
"""
