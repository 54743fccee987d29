# -*- coding: utf-8 -*-
# Copyright (c) alicloud.kms contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""alicloud.kms.compliance_check: gather, evaluate, write the three reports and give the verdict, in one step on
the controller (documented in plugins/modules/compliance_check.py)."""

from __future__ import annotations

import datetime
import os
import uuid

from ansible.errors import AnsibleAction, AnsibleActionFail, AnsibleFilterError
from ansible.module_utils.common.text.converters import to_native
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display
from ansible.utils.unsafe_proxy import wrap_var

from ansible_collections.alicloud.kms.plugins.filter.compliance import (
    check_baseline,
    check_exemptions,
    check_policy,
    compliance_plan,
    kms_compliance_documents,
    kms_violations,
)
from ansible_collections.alicloud.kms.plugins.module_utils._argspec import ACCOUNTS_SPEC, CONNECTION_SPEC
from ansible_collections.alicloud.kms.plugins.module_utils._connection import SDK_IMPORT_ERROR, SDK_REQUIREMENT
from ansible_collections.alicloud.kms.plugins.module_utils._connection_options import proxy_password
from ansible_collections.alicloud.kms.plugins.module_utils._errors import KmsError, KmsOptionError
from ansible_collections.alicloud.kms.plugins.module_utils._instances import InstanceRequest
from ansible_collections.alicloud.kms.plugins.module_utils._keys import KeyRequest
from ansible_collections.alicloud.kms.plugins.module_utils._kinds import skip_text
from ansible_collections.alicloud.kms.plugins.module_utils._secrets import SecretRequest
from ansible_collections.alicloud.kms.plugins.plugin_utils import _compliance_remediation as remediation
from ansible_collections.alicloud.kms.plugins.plugin_utils import _compliance_reports as reports
from ansible_collections.alicloud.kms.plugins.plugin_utils._compliance_merge import MergeError, merge

display = Display()

# The check's own options beside the connection's; the role passes each kms_compliance_<option>
COMPLIANCE_SPEC = dict(
    policy=dict(type="dict", default={}),
    exempt_keys=dict(type="list", elements="dict", default=[]),
    report_dir=dict(type="str", default="./kms-compliance-report"),
    baseline=dict(type="str", default=""),
    fail_on=dict(type="str", choices=["any", "new"], default="any"),
    aliases=dict(type="bool", default=True),
    key_facts=dict(type="bool", default=False),
    remediate=dict(type="list", elements="str", choices=list(remediation.REMEDIABLE), default=[]),
    merge_dirs=dict(type="list", elements="path", default=[]),
)
ARGUMENT_SPEC = dict(CONNECTION_SPEC, **dict(ACCOUNTS_SPEC, **COMPLIANCE_SPEC))
ROLE = os.path.realpath(os.path.join(reports.TEMPLATES, ".."))
ROLE_PREFIX = "kms_compliance_"
# the kinds listed beside keys, each only when a rule of the policy judges it (the plan's gathering of that name)
KINDS = {"secrets": SecretRequest, "instances": InstanceRequest}


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False  # everything happens on the controller: no connection to the host is made

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp
        try:
            result.update(self._check())
        except AnsibleAction as action:
            result.update(action.result)
        return result

    def _in_role(self):
        role = getattr(self._task, "_role", None)
        return role is not None and os.path.realpath(getattr(role, "_role_path", "") or "") == ROLE

    def _name(self, option):
        """How messages name an option: as the role's variable when the role runs this step."""
        return ROLE_PREFIX + option if self._in_role() else option

    def _fail(self, option, message):
        """Fail naming the option: "report_dir is empty", "report_dir: /x exists and is not a directory"."""
        if option:
            message = "%s%s%s" % (self._name(option), " " if message.startswith("is ") else ": ", message)
        raise AnsibleActionFail(message)

    def _check(self):
        args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)[1]
        if SDK_IMPORT_ERROR:
            self._fail(None, "alicloud.kms.compliance_check needs %s" % SDK_REQUIREMENT)
        accounts, excluded = args["accounts"] or [], args["exclude_accounts"] or []
        regions = [r.strip() for r in args["regions"] or () if r.strip()]
        accounts = [a.strip() for a in accounts if a.strip()]
        excluded = [a.strip() for a in excluded if a.strip()]
        directory = self._report_dir(args["report_dir"])
        if excluded and not accounts:
            self._fail(
                "exclude_accounts",
                "is set but %s is empty: exclusions apply to the accounts listed there (for example [all]); without "
                "accounts the check reads the caller's account only" % self._name("accounts"),
            )
        baseline_path, baseline = self._baseline(args["baseline"], args["fail_on"])
        warnings = []
        merged = self._merge(args, regions, accounts, excluded, warnings) if args["merge_dirs"] else None
        if merged:
            args["policy"], args["exempt_keys"] = merged["policy"], merged["exempt_keys"]
            regions, accounts, excluded = merged["regions"], merged["accounts"], merged["exclude_accounts"]
        try:
            plan = compliance_plan(args["policy"])
        except AnsibleFilterError as error:
            self._fail("policy", self._text(error))
        try:  # before any request, as the policy
            check_exemptions(args["exempt_keys"])
            baseline = check_baseline(baseline, baseline_path)
        except AnsibleFilterError as error:
            self._fail(None, self._text(error))
        policy = check_policy(args["policy"])
        unused = [rule for rule in args["remediate"] if rule not in policy]
        if unused:
            self._fail("remediate", "%s not in the policy: a fix applies to the keys a rule finds" % ", ".join(unused))

        if merged:  # no request: the slices' records, as of the oldest slice
            records, skipped, generated, fixes = (merged[n] for n in ("records", "skipped", "generated", "remediation"))
            kinds = dict((g, merged[g]) for g in KINDS if merged[g] is not None)
        else:
            records, skipped, kinds, request = self._gather_all(args, plan, regions, accounts, excluded, warnings)
            generated = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
            fixes = None
        run_id = str(uuid.uuid4())
        if args["remediate"]:
            found = [  # exempted keys are never changed; secrets and instances have no fix
                v for v in kms_violations(records, policy, args["exempt_keys"], generated, **kinds) if "key_id" in v
            ]
            if self._play_context.check_mode:
                fixes = remediation.plan(records, found, args["remediate"], policy)
            else:
                fixes, records = remediation.apply(request.connections, records, found, args["remediate"], policy)
                # a fix can make another rule apply (a key whose deletion is cancelled is Enabled again, and then
                # needs deletion protection): one more pass over the keys just fixed, as the service now has them
                fixed = set((e["account_id"], e["region"], e["key_id"]) for e in fixes if e["status"] == "applied")
                done = set((e["account_id"], e["region"], e["key_id"], e["rule"]) for e in fixes)
                more = [
                    v
                    for v in kms_violations(records, policy, args["exempt_keys"], generated, **kinds)
                    if (v["account_id"], v["region"], v.get("key_id")) in fixed
                    and (v["account_id"], v["region"], v["key_id"], v["rule"]) not in done
                ]
                if more:
                    extra, records = remediation.apply(request.connections, records, more, args["remediate"], policy)
                    fixes += extra
        try:
            documents = kms_compliance_documents(
                records,
                args["policy"],
                exempt_keys=args["exempt_keys"],
                regions=regions,
                skipped=skipped,
                accounts=accounts,
                exclude_accounts=excluded,
                now=generated,
                baseline=baseline,
                run_id=run_id,
                baseline_path=baseline_path,
                remediation=fixes,
                **kinds,
            )
        except AnsibleFilterError as error:
            self._fail(None, self._text(error))
        report = documents["result"]
        texts = reports.render(
            {
                "kms_compliance_result": report,
                "__kms_compliance_documents": documents,
                "__kms_compliance_generated": generated,
                "__kms_compliance_run_id": run_id,
                "__kms_compliance_accounts": accounts,
                "__kms_compliance_open_rows": reports.OPEN_ROWS,
            }
        )
        try:
            paths = reports.write_set(directory, texts)
        except reports.ReportError as error:
            self._fail("report_dir", str(error))
        except OSError as error:
            self._fail(
                "report_dir", "%s: cannot write the reports: %s" % (directory, error.strerror or type(error).__name__)
            )
        facts = {"kms_compliance_result": report}
        if args["key_facts"]:  # 20,000 records in host facts cost Ansible seconds on every later task: only when asked
            facts.update(
                alicloud_kms_keys=records,
                alicloud_kms_key_ids=[r["key_id"] for r in records],
                alicloud_kms_key_arns=[r["key_arn"] for r in records],
            )
        return {
            "changed": not merged and any(e["status"] == "applied" and e["change"] for e in fixes or ()),
            "verdict": report["verdict"],
            "run_id": run_id,
            "reports": paths,
            "messages": reports.verdict_lines(report, bool(accounts), baseline_path, directory),
            "failure": reports.failure(report, args["fail_on"], directory),
            "warnings": warnings,
            "ansible_facts": wrap_var(facts),  # service values are data, never templates, on every core
        }

    def _text(self, error):
        """A message of the compliance filters, which name the role's variables, in this step's terms."""
        text = to_native(error).replace("alicloud.kms compliance: ", "")
        return text if self._in_role() else text.replace(ROLE_PREFIX, "")

    def _report_dir(self, value):
        if not isinstance(value, str) or not value.strip():
            self._fail(
                "report_dir",
                "is empty: name the directory for kms-compliance.json, .xml and .html (the default is "
                "./kms-compliance-report); an empty value would write them into the current directory",
            )
        directory = os.path.realpath(os.path.expanduser(value))
        if os.path.exists(directory) and not os.path.isdir(directory):
            self._fail("report_dir", "%s exists and is not a directory" % directory)
        return directory

    def _baseline(self, path, fail_on):
        """(path or None, its text or None). With fail_on new the baseline is what "new" is measured against, so it
        must be readable before anything is gathered; with any, a missing one (a first run) only means no changes."""
        path = os.path.expanduser(path) if path else None
        readable = bool(path) and os.path.isfile(path) and os.access(path, os.R_OK)
        if fail_on == "new" and not readable:
            self._fail(
                "fail_on",
                "is new, so %s must name a readable kms-compliance.json of an earlier run%s"
                % (
                    self._name("baseline"),
                    (": %s %s" % (path, "is not a readable file" if os.path.exists(path) else "does not exist"))
                    if path
                    else " (it is empty)",
                ),
            )
        if not path or not os.path.exists(path):
            return path, None
        if not readable:
            self._fail("baseline", "%s is not a readable file" % path)
        with open(path, "rb") as handle:
            return path, handle.read().decode("utf-8", errors="replace")

    def _merge(self, args, regions, accounts, excluded, warnings):
        """The slices of merge_dirs (_compliance_merge.merge): what to gather comes from them, so the options that
        say it must be left out; a policy given must be theirs."""
        given = [n for n, v in (("regions", regions), ("accounts", accounts), ("exclude_accounts", excluded)) if v]
        given += ["remediate"] if args["remediate"] else []
        if given:
            self._fail(
                "merge_dirs",
                "merges the reports of slices: %s come from them, leave %s out"
                % (", ".join(self._name(n) for n in given), "it" if len(given) == 1 else "them"),
            )
        try:
            merged = merge(args["merge_dirs"])
        except MergeError as error:
            self._fail("merge_dirs", str(error))
        try:
            policy = check_policy(args["policy"])
        except AnsibleFilterError as error:
            self._fail("policy", self._text(error))
        if policy and policy != merged["policy"]:
            self._fail(
                "policy",
                "is not the policy of the slices in %s (leave it out to use theirs)" % self._name("merge_dirs"),
            )
        if args["exempt_keys"]:
            warnings.append(
                "%s are not used when merging: the exemptions are those the slices applied" % self._name("exempt_keys")
            )
        return merged

    def _gather_all(self, args, plan, regions, accounts, excluded, warnings):
        """(key records, skipped, {secrets, instances: records} of the kinds the plan needs, the keys' request)."""
        options = dict((name, args[name]) for name in CONNECTION_SPEC)
        options["strict_permissions"] = args["strict_permissions"]
        options.update(regions=regions or None, accounts=accounts or None, exclude_accounts=excluded or None)
        options.update((name, plan[name]) for name in ("facets", "details", "tags", "key_policy"))
        options["aliases"] = plan["aliases"] or args["aliases"]
        # no secret in a message: the core never quotes one, and this is the backstop a module's no_log_values is
        secrets = [options[n] for n, spec in CONNECTION_SPEC.items() if spec.get("no_log") and options[n]]
        secrets += [p for p in (proxy_password(options[n]) for n in ("http_proxy", "https_proxy")) if p]
        request, gathered = self._gather(options, warnings, secrets)
        skipped, kinds = list(gathered.skipped), {}
        for gathering, kind in KINDS.items():
            if plan[gathering]:  # the same accounts, roles and pacing as the keys; the listing options only
                listing = dict((n, options[n]) for n in dict(CONNECTION_SPEC, **ACCOUNTS_SPEC))
                _other, more = self._gather(listing, warnings, secrets, kind, after=request)
                kinds[gathering] = more.records
                skipped += [entry for entry in more.skipped if entry not in skipped]
        return gathered.records, skipped, kinds, request

    def _gather(self, options, warnings, secrets, kind=KeyRequest, after=None):
        """The records of a kind, through the core, as its module would list them; errors name the option. after:
        the keys' request, whose accounts, roles and pacing another kind shares."""
        try:
            connection = after.connection if after is not None else None
            request = kind(options, log=display.v, warn=warnings.append, connection=connection)
            gathered = request.run(progress=display.v, after=after)
        except KmsOptionError as error:
            raise AnsibleActionFail(_masked(to_native(error), secrets), result={"option": error.option}) from None
        except KmsError as error:
            raise AnsibleActionFail(_masked(to_native(error), secrets), result={"error": error.to_dict()}) from None
        warnings.extend(skip_text(entry) for entry in gathered.skipped)
        warnings[:] = [_masked(w, secrets) for w in warnings]
        return request, gathered


def _masked(text, secrets):
    for secret in secrets:
        text = text.replace(secret, "********")
    return text
