"""One rule, one place: every copy of the rule list (argument specs, filter docs, JSON schema) against RULES.

plugins/module_utils/_rules.py is the single source. A new rule is a class there plus its tests; this file fails,
naming the copy and the rule, until every copy that repeats the table agrees with it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from ansible_collections.alicloud.kms.plugins.filter.compliance import compliance_plan
from ansible_collections.alicloud.kms.plugins.module_utils import _instances, _secrets
from ansible_collections.alicloud.kms.plugins.module_utils._rules import (
    DESCRIBED_FACETS,
    FACETS,
    RESOURCES,
    RULE_NAMES,
    RULES,
    SOURCES,
    Rule,
)

ROOT = Path(__file__).resolve().parents[2]
ROLE = ROOT / "roles" / "compliance"
ARGSPEC = yaml.safe_load((ROLE / "meta" / "argument_specs.yml").read_text())["argument_specs"]["main"]["options"]
SCHEMA = json.loads((ROLE / "files" / "kms-compliance.schema.json").read_text())
VIOLATIONS_DOC = yaml.safe_load((ROOT / "plugins" / "filter" / "kms_violations.yml").read_text())["DOCUMENTATION"]
CONFIG_RULE = re.compile(r"^kms-[a-z-]+$")
# the fields a rule may read, per kind: what gathers them (keys), what the kind's records carry (secrets, instances)
RECORD_FIELDS = {
    "key": set(FACETS) | set(SOURCES),
    "secret": set(f for f, _name in _secrets.DESCRIBED) | {"secret_name", "secret_type", "create_time", "tags"},
    "instance": set(f for f, _name, _check in _instances.FIELDS) | {"instance_id", "zone_ids"},
}


def test_the_table_is_well_formed():
    assert list(RULES) == list(RULE_NAMES) and len(set(RULE_NAMES)) == len(RULE_NAMES)
    for name, rule in RULES.items():
        assert isinstance(rule, Rule) and rule.name == name
        assert rule.kind in ("list", "bool", "int", "str", "dict"), name
        assert rule.fields, name
        assert rule.resource in RESOURCES, name
        for field in rule.fields + rule.applies_fields:
            assert field in RECORD_FIELDS[rule.resource], (name, field)
        assert rule.config_rule is None or CONFIG_RULE.match(rule.config_rule), name
        assert rule.breaks, name


@pytest.mark.parametrize("name", RULE_NAMES)
def test_the_argument_specs_declare_each_rule_as_the_table_does(name):
    spec = ARGSPEC["kms_compliance_policy"]["options"][name]
    declared = dict((k, spec[k]) for k in ("type", "elements", "choices") if k in spec)
    assert declared == RULES[name].argspec()
    text = " ".join(spec["description"]) if isinstance(spec["description"], list) else spec["description"]
    config_rule = RULES[name].config_rule or RULES[name].config_rule_for(["PendingDeletion"])
    if config_rule:  # the Cloud Config rule is named where the rule is documented
        assert config_rule in text, name


def test_the_argument_specs_have_no_rule_the_table_lacks_and_exemptions_take_every_rule():
    assert list(ARGSPEC["kms_compliance_policy"]["options"]) == list(RULE_NAMES)
    assert ARGSPEC["kms_compliance_exempt_keys"]["options"]["rules"]["choices"] == list(RULE_NAMES)


def test_the_filter_docs_describe_every_rule_once_in_order():
    lines = VIOLATIONS_DOC["options"]["policy"]["description"]
    documented = [m.group(1) for m in (re.match(r"^C\((\w+)\) \(", line) for line in lines) if m]
    assert documented == list(RULE_NAMES)


def test_the_schema_declares_each_rule_s_value_as_the_table_does():
    assert SCHEMA["$defs"]["rule"]["enum"] == list(RULE_NAMES)
    policy = SCHEMA["properties"]["policy"]["properties"]
    assert list(policy) == list(RULE_NAMES)
    for name, rule in RULES.items():
        declared = dict(policy[name])
        if "$ref" in declared:
            declared = SCHEMA["$defs"][declared["$ref"].rsplit("/", 1)[1]]
        assert declared == rule.schema(), name
    config_rules = set(r.config_rule for r in RULES.values() if r.config_rule) | {"kms-key-state-not-pending-deletion"}
    enum = SCHEMA["properties"]["summary"]["properties"]["by_rule"]["additionalProperties"]["properties"]
    assert set(enum["config_rule"]["enum"]) == config_rules | {None}


@pytest.mark.parametrize("name", RULE_NAMES)
def test_the_plan_gathers_what_each_rule_reads(name):
    samples = {"list": ["Enabled"], "bool": True, "int": 30, "str": "HSM", "dict": {"env": None}}
    rule = RULES[name]
    value = samples[rule.kind] if not rule.choices else ([rule.choices[0]] if rule.kind == "list" else rule.choices[0])
    plan = compliance_plan({name: value})
    gathers = rule.gathers()
    for source in ("details", "aliases", "tags", "key_policy", "secrets", "instances"):
        assert plan[source] == (source in gathers), (name, source)
    for field in rule.fields + rule.applies_fields:
        if field in FACETS:
            assert field in plan["facets"] or (plan["details"] and field in DESCRIBED_FACETS), (name, field)
