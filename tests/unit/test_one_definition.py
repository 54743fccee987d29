"""Each fact is defined once in the core; the documents that must repeat it (YAML docs) are checked against it."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from ansible_collections.alicloud.kms.plugins.doc_fragments.connection import ModuleDocFragment as Connection
from ansible_collections.alicloud.kms.plugins.doc_fragments.filters import ModuleDocFragment as Filters
from ansible_collections.alicloud.kms.plugins.module_utils._argspec import ARGUMENT_SPEC
from ansible_collections.alicloud.kms.plugins.module_utils._connection_options import ENVIRONMENT
from ansible_collections.alicloud.kms.plugins.module_utils._query import FILTER_OPTIONS

ROOT = Path(__file__).resolve().parents[2]
ROLE_SPECS = yaml.safe_load((ROOT / "roles" / "compliance" / "meta" / "argument_specs.yml").read_text())
# compliance rule -> the filter option whose values it takes
RULE_VALUES = {
    "forbidden_states": "key_state",
    "allowed_usages": "key_usage",
    "required_protection_level": "protection_level",
    "allowed_creator_types": "creator_type",
}


def options(fragment):
    return yaml.safe_load(fragment)["options"]


def test_the_plugins_read_the_same_environment_variables_as_the_modules():
    plugins = options(Connection.PLUGINS)
    declared = dict((name, tuple(e["name"] for e in opt["env"])) for name, opt in plugins.items() if "env" in opt)
    assert declared == ENVIRONMENT


def test_the_module_docs_name_every_environment_variable_in_order():
    documented = options(Connection.DOCUMENTATION)
    for name, variables in ENVIRONMENT.items():
        text = " ".join(documented[name]["description"])
        assert [v for v in re.findall(r"E\((\w+)\)", text) if v in variables] == list(variables), name


def test_the_plugins_variant_adds_only_where_options_come_from():
    documented = options(Connection.DOCUMENTATION)
    for name, extra in options(Connection.PLUGINS).items():
        assert name in documented and set(extra) <= {"env", "vars", "ini"}, name


def test_every_option_is_documented_once_with_its_argument_spec_type_and_default():
    documented = dict(options(Connection.DOCUMENTATION), **options(Connection.LISTING))
    documented.update(options(Connection.ACCOUNTS))
    documented.update(options(Filters.DOCUMENTATION))
    assert set(documented) == set(ARGUMENT_SPEC)
    for name, spec in ARGUMENT_SPEC.items():
        assert documented[name]["type"] == spec["type"] and documented[name].get("default") == spec.get("default"), name
        assert documented[name].get("choices") == spec.get("choices"), name


def test_allowed_values_in_the_filter_docs_and_the_role_are_the_cores():
    documented = options(Filters.DOCUMENTATION)
    for option, (_key, allowed) in FILTER_OPTIONS.items():
        if allowed:
            text = " ".join(documented[option]["description"])
            assert set(re.findall(r"V\(([^)]+)\)", text)) == set(allowed), option
    policy = ROLE_SPECS["argument_specs"]["main"]["options"]["kms_compliance_policy"]["options"]
    for rule, option in RULE_VALUES.items():
        assert sorted(policy[rule]["choices"]) == sorted(FILTER_OPTIONS[option][1]), rule
