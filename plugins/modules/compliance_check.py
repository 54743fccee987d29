#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) alicloud.kms contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: compliance_check
short_description: Check Alibaba Cloud KMS keys against a policy and write JSON, JUnit and HTML reports
version_added: 1.1.0
description:
  - The step the role C(alicloud.kms.compliance) runs. It gathers the keys of the given accounts and regions
    asking only for what the active rules need (P(alicloud.kms.kms_compliance_plan#filter)), evaluates every rule
    for every key (P(alicloud.kms.kms_compliance_report#filter)), writes C(kms-compliance.json),
    C(kms-compliance.xml) (JUnit) and C(kms-compliance.html) into O(report_dir) as a set, and returns the verdict.
  - It never fails on the verdict. RV(failure) says why a run should fail, and the role fails the play with it when
    C(kms_compliance_fail_on_violation) is true. It reports changed only when O(remediate) wrote a fix.
  - It is an action that runs on the controller, whatever the host. It lists keys in the controller's process, and
    writes the reports and reads O(baseline) on the controller. The credentials come from the options, from
    C(module_defaults) for C(group/alicloud.kms.kms), or from the controller's environment (C(ALICLOUD_ACCESS_KEY),
    ...), not from the task's C(environment).
  - Each option is the role's variable C(kms_compliance_<option>), documented in full with the role
    (C(ansible-doc -t role alicloud.kms.compliance)). When the role runs the step, errors name the role's variables.
  - Aliases are gathered by default (O(aliases)). C(ListAliases) reads a region's aliases 100 to a page, and every
    report names keys as C(alias (description)).
author:
  - alicloud.kms contributors (@alicloud-kms)
extends_documentation_fragment:
  - alicloud.kms.connection
  - alicloud.kms.connection.listing
  - alicloud.kms.connection.accounts
  - ansible.builtin.action_common_attributes.facts
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.actiongroups
  - ansible.builtin.action_common_attributes.flow
options:
  policy:
    description:
      - The rules, each optional, as P(alicloud.kms.kms_violations#filter) documents them. No rule makes an
        inventory report.
      - An unknown rule name or a malformed value fails the task before any request is made.
    type: dict
    default: {}
  exempt_keys:
    description:
      - Keys, secrets and KMS instances excused from the rules, each a dict with one of C(key_id) (ID or ARN),
        C(secret_name) (name or ARN) or C(instance_id), C(reason) (required, for example a ticket), and optionally
        C(rules) (rules of that kind; by default every one).
      - Their violations are reported apart with the reason and do not count.
    type: list
    elements: dict
    default: []
  report_dir:
    description:
      - The directory the three reports are written to, on the controller. A relative path is taken from the
        current directory. It must not be empty.
      - Created with mode C(0750) when it does not exist, with missing parents; an existing directory keeps its mode.
        The reports are written with mode C(0640), in a hidden C(.kms-compliance-*) directory inside, then moved into
        place together. A failure leaves the previous reports as they were.
    type: str
    default: ./kms-compliance-report
  baseline:
    description:
      - Path of an earlier run's C(kms-compliance.json) on the controller. The reports then carry C(changes).
      - Empty means no comparison. A path that does not exist means no changes (a first run) unless O(fail_on) is
        V(new). A file that is not a report of this collection fails the task.
    type: str
    default: ""
  fail_on:
    description:
      - Which violations make RV(failure) - V(any), or V(new), only those the O(baseline) did not have. With V(new)
        the baseline must be readable, checked before any request.
      - Anything not assessed makes RV(failure) either way.
    type: str
    choices: [any, new]
    default: any
  aliases:
    description:
      - Gather every key's aliases (C(ListAliases), a page per 100 aliases of a region) to name keys in the reports,
        even when no rule reads them.
      - V(false) leaves them out unless C(require_alias) needs them.
    type: bool
    default: true
  remediate:
    description:
      - Rules whose violations the step fixes, as the role's C(kms_compliance_remediate) documents. In check mode the
        fixes are planned only; RV(ansible_facts.kms_compliance_result) and the reports carry C(remediation).
      - Each rule must be in O(policy).
    type: list
    elements: str
    choices: [require_rotation, max_rotation_interval_days, require_deletion_protection, forbidden_states]
    default: []
  merge_dirs:
    description:
      - Merge the reports of the slices of one run (each directory holding a C(kms-compliance.json)) into one report
        instead of reading the service, as the role's C(kms_compliance_merge_dirs) documents. No request is made.
      - O(regions), O(accounts), O(exclude_accounts) and O(remediate) must be left out; O(policy), when given, must be
        the slices' policy; O(exempt_keys) are not used (the slices' exemptions are).
    type: list
    elements: path
    default: []
    version_added: 1.1.0
  key_facts:
    description:
      - Also set the facts M(alicloud.kms.key_facts) sets (RV(ansible_facts.alicloud_kms_keys) and the lists of IDs
        and ARNs), for later tasks.
      - Off by default. Ansible copies and scans host facts for every later task, and the records of 20,000 keys
        cost seconds each time.
    type: bool
    default: false
attributes:
  action:
    support: full
  async:
    support: none
  bypass_host_loop:
    support: none
  check_mode:
    support: full
    details: >-
      Without O(remediate) the step reads the service only. In check mode it writes the reports too, they are its
      output; with O(remediate) it plans the fixes and writes none.
  diff_mode:
    support: none
  facts:
    support: full
  platform:
    platforms: all
    details: Runs on the controller.
  action_group:
    membership: [alicloud.kms.kms]
seealso:
  - module: alicloud.kms.key_facts
  - plugin: alicloud.kms.kms_compliance_report
    plugin_type: filter
"""

EXAMPLES = r"""
- name: Check every member account in two regions
  hosts: localhost
  gather_facts: false
  module_defaults:
    group/alicloud.kms.kms:
      region: cn-hangzhou
  tasks:
    - name: Check the keys and write the reports
      alicloud.kms.compliance_check:
        regions: [cn-hangzhou, cn-shanghai]
        accounts: [all]
        strict_permissions: false
        policy:
          forbidden_states: [PendingDeletion]
          require_rotation: true
        report_dir: ./kms-compliance-report
      register: check

    - name: Show the verdict
      ansible.builtin.debug:
        msg: "{{ check.messages }}"

    - name: Fail on a violation, or on an account not assessed
      ansible.builtin.fail:
        msg: "{{ check.failure }}"
      when: check.failure is not none
"""

RETURN = r"""
verdict:
  description: V(compliant), V(non_compliant), or V(incomplete) when an account or region was not assessed.
  returned: success
  type: str
  sample: non_compliant
run_id:
  description: The UUID of the run, the same in the three reports.
  returned: success
  type: str
  sample: 1f0e4a52-8e6b-4f7e-9a34-2c3b5d6e7f80
reports:
  description: The path of each report, by file name.
  returned: success
  type: dict
  sample: {"kms-compliance.json": /srv/reports/kms-compliance.json, "kms-compliance.xml": /srv/reports/kms-compliance.xml,
           "kms-compliance.html": /srv/reports/kms-compliance.html}
messages:
  description: The verdict in lines, as the role prints it (counts, run ID, changes, accounts, rules, files).
  returned: success
  type: list
  elements: str
failure:
  description: Why the run fails under O(fail_on), or V(null) when it passes.
  returned: success
  type: str
  sample: "KMS compliance: 2 violation(s) of the policy in 2 key(s) (require_rotation: 2); see ./r/kms-compliance.html"
ansible_facts:
  description: The facts set for the host.
  returned: success
  type: dict
  contains:
    kms_compliance_result:
      description:
        - The report without its per-key checks, as P(alicloud.kms.kms_compliance_report#filter) returns it, with
          C(run_id) and C(remediation) (the fixes of O(remediate), or V(null) without it).
      type: dict
    alicloud_kms_keys:
      description: The key records gathered, as M(alicloud.kms.key_facts) sets them.
      returned: with O(key_facts=true)
      type: list
      elements: dict
    alicloud_kms_key_ids:
      description: The key IDs, in the order of C(alicloud_kms_keys).
      returned: with O(key_facts=true)
      type: list
      elements: str
    alicloud_kms_key_arns:
      description: The key ARNs, in the order of C(alicloud_kms_keys).
      returned: with O(key_facts=true)
      type: list
      elements: str
"""
