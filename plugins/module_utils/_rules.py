# -*- coding: utf-8 -*-
# Copyright (c) alicloud.kms contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to this collection; no compatibility promise (the public API is the modules, plugins, filters and role).
"""The compliance rules, one class each, registered in one table (RULES).

A rule says what it reads (record fields), what gathers those fields (a facet, details, aliases, tags, the key
policy), the type and choices of its value, when it does not apply to a key, what it expects in words, how it
judges a key, and the Alibaba Cloud Config managed rule it corresponds to. Everything else that names the rules
(the role's known-rule list and argument specs, the filter docs, the JSON schema of the report) is checked against
this table by tests/unit/test_rules_table.py.

Pure: no request, no clock (the time a rule compares with is an argument), no Ansible object.
"""

from __future__ import annotations

import datetime

from ansible_collections.alicloud.kms.plugins.module_utils._query import (  # the one definition of the allowed values
    CREATOR_TYPES,
    KEY_STATES,
    KEY_USAGES,
    PROTECTION_LEVELS,
)

PASS = "pass"
FAIL = "fail"
EXEMPT = "exempt"
NOT_APPLICABLE = "not_applicable"
# what a check reports as actual when a field its rule reads is unknown
UNKNOWN = "unknown"
DAY = 86400

# Facets in their canonical order
FACETS = ("key_state", "key_spec", "key_usage", "protection_level", "creator_type")
# Facets that DescribeKey documents (KeyMetadata of the official SDK model): with details they need no listing.
# CreatorType is not one of them: it is only known from the creator_type facet.
DESCRIBED_FACETS = ("key_state", "key_spec", "key_usage", "protection_level")
# What gathers a record field that is not a facet (alicloud.kms.key_info's options)
SOURCES = {
    "automatic_rotation": "details",
    "rotation_interval": "details",
    "deletion_protection": "details",
    "origin": "details",
    "description": "details",
    "creation_date": "details",
    "last_rotation_date": "details",
    "material_expire_time": "details",
    "aliases": "aliases",
    "tags": "tags",
    "key_policy": "key_policy",
}
# The kinds of resource a rule judges: kind -> (the field that identifies a record, its ARN field or None, the gathering
# that lists the kind: the role gathers secrets and instances only when a rule needs them)
RESOURCES = {
    "key": ("key_id", "key_arn", None),
    "secret": ("secret_name", "arn", "secrets"),
    "instance": ("instance_id", None, "instances"),
}
# source -> how a play gathers it, in words, for the note of a check whose field is unknown
_GATHER_WORDS = {
    "details": "details (DescribeKey)",
    "aliases": "aliases (ListAliases)",
    "tags": "tags (ListTagResources)",
    "key_policy": "key_policy (GetKeyPolicy)",
}


class PolicyError(ValueError):
    """A policy value that is not what its rule takes."""


def source_of(field):
    """What gathers a record field: facet, details, aliases, tags or key_policy."""
    return "facet" if field in FACETS else SOURCES[field]


def gathered_by(field):
    if field in FACETS:
        return "the %s facet" % field
    return _GATHER_WORDS[SOURCES[field]]


def missing(value):
    """A field is unknown when it is absent, null or empty (records gathered without its facet or details)."""
    return value is None or (isinstance(value, str) and not value.strip())


def unknown_check(*fields, resource="key"):
    """The failing check of a rule that cannot be judged: actual `unknown`, and what to gather (a key's field) or
    that the service did not say (the records of secrets and instances are always gathered whole)."""
    if resource != "key":
        return FAIL, UNKNOWN, "unknown %s: not returned by the service" % ", ".join(fields)
    return (
        FAIL,
        UNKNOWN,
        "unknown %s: gather %s" % (", ".join(fields), ", ".join(dict.fromkeys(gathered_by(f) for f in fields))),
    )


def subject(entry):
    """(kind, identifier, ARN or None) of a record, check or violation: what it is about."""
    for kind, (id_field, arn_field, _gathering) in RESOURCES.items():
        if entry.get(id_field) is not None or (arn_field and entry.get(arn_field) is not None):
            return kind, entry.get(id_field), entry.get(arn_field) if arn_field else None
    return "key", None, None


def parse_time(value):
    """An ISO 8601 UTC time as the service writes it ('2021-03-02T02:11:45Z') -> aware datetime, or None."""
    if isinstance(value, datetime.datetime):
        return value if value.tzinfo else value.replace(tzinfo=datetime.timezone.utc)
    text = str(value or "").strip()
    if not text:
        return None
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=datetime.timezone.utc)


def _days(seconds):
    days = seconds / DAY
    return "%d days" % days if days == int(days) else "%.2f days" % days


def _as_bool(name, value):
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "yes", "on", "1", "false", "no", "off", "0"):
        return value.lower() in ("true", "yes", "on", "1")
    raise PolicyError("%s must be true or false, got %r" % (name, value))


class Rule(object):
    """One rule. Subclasses set the attributes and implement judge(); the table is RULES."""

    name = None
    # the kind of resource it judges (RESOURCES)
    resource = "key"
    # list, bool, int, str or dict: the type of the rule's value
    kind = None
    # closed set the values come from (list and str rules), or None
    choices = None
    # the record fields the rule reads, the first being the one its actual value shows
    fields = ()
    # fields that must be known before judge() runs (default: all of fields)
    required = None
    # fields that decide whether the rule applies to a key
    applies_fields = ()
    # the Alibaba Cloud Config managed rule it corresponds to, or None
    config_rule = None
    # what a key breaks, in one line (filter docs)
    breaks = ""

    # --- value -------------------------------------------------------------------------------------------------

    def normalize(self, value):
        """The rule's value normalized, or None when the value leaves the rule off; raises PolicyError."""
        if value is None:
            return None
        value = getattr(self, "_normalize_" + self.kind)(value)
        if value is None:
            return None
        if self.choices:
            for item in value if isinstance(value, list) else [value]:
                if item not in self.choices:
                    raise PolicyError(
                        "%s: unknown value %r; allowed values are %s" % (self.name, item, ", ".join(self.choices))
                    )
        return value

    def _normalize_bool(self, value):
        return True if _as_bool(self.name, value) else None

    def _normalize_list(self, value):
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) and v for v in value):
            raise PolicyError("%s must be a list of strings, got %r" % (self.name, value))
        return list(value) or None

    def _normalize_int(self, value):
        if isinstance(value, bool) or not isinstance(value, (int, str)) or not str(value).strip().isdigit():
            raise PolicyError("%s must be a whole number of days, 1 or more, got %r" % (self.name, value))
        if int(value) < 1:
            raise PolicyError("%s must be a whole number of days, 1 or more, got %r" % (self.name, value))
        return int(value)

    def _normalize_str(self, value):
        if not isinstance(value, str):
            raise PolicyError("%s must be a string, got %r" % (self.name, value))
        return value

    def _normalize_dict(self, value):
        raise PolicyError("%s takes no dict" % self.name)  # pragma: no cover - only dict rules declare kind dict

    def config_rule_for(self, value):  # pylint: disable=unused-argument
        """The Cloud Config rule this rule with this value corresponds to, or None."""
        return self.config_rule

    def expected(self, value):
        """What the rule asks of every key, in words."""
        return str(value)

    # --- judgement ---------------------------------------------------------------------------------------------

    def is_unknown(self, record, field):
        return missing(record.get(field))

    def not_applicable(self, record):  # pylint: disable=unused-argument
        """(why the rule does not apply to this key or None, the unknown fields that would decide it)."""
        return None, ()

    def evaluate(self, value, record, now):
        """(status, actual, note) of this rule for one key; status is pass, fail or not_applicable.

        A rule never passes a key whose field it reads (or that decides whether it applies) is unknown: the check
        fails with actual `unknown` and a note naming what to gather.
        """
        why, unknown = self.not_applicable(record)
        if why:
            return NOT_APPLICABLE, record.get(self.fields[0]), why
        if unknown:
            return unknown_check(*unknown, resource=self.resource)
        absent = [f for f in (self.fields if self.required is None else self.required) if self.is_unknown(record, f)]
        if absent:
            return unknown_check(*absent, resource=self.resource)
        return self.judge(value, record, now)

    def judge(self, value, record, now):
        raise NotImplementedError  # pragma: no cover

    # --- what the generated and checked copies say -------------------------------------------------------------

    def schema(self):
        """The JSON schema of the rule's normalized value in the report's policy."""
        if self.kind == "bool":
            return {"const": True}
        if self.kind == "int":
            return {"type": "integer", "minimum": 1}
        if self.kind == "str":
            return {"enum": list(self.choices)} if self.choices else {"type": "string", "minLength": 1}
        if self.kind == "list":
            items = {"enum": list(self.choices)} if self.choices else {"type": "string", "minLength": 1}
            return {"type": "array", "minItems": 1, "items": items}
        return {
            "type": "object",
            "minProperties": 1,
            "additionalProperties": {
                "oneOf": [{"type": "null"}, {"type": "array", "minItems": 1, "items": {"type": "string"}}]
            },
        }

    def argspec(self):
        """The rule's option in the role's meta/argument_specs.yml, less its description."""
        spec = {"type": self.kind}
        if self.kind == "list":
            spec["elements"] = "str"
        if self.choices:
            spec["choices"] = list(self.choices)
        return spec

    def gathers(self):
        """The sources of the fields the rule reads or its applicability depends on, in a stable order: for a rule on
        secrets or instances, the gathering that lists them."""
        if self.resource != "key":
            return [RESOURCES[self.resource][2]]
        return list(dict.fromkeys(source_of(f) for f in tuple(self.fields) + tuple(self.applies_fields)))


# --- the facet rules -------------------------------------------------------------------------------------------


class ForbiddenStates(Rule):
    name = "forbidden_states"
    kind = "list"
    choices = KEY_STATES
    fields = ("key_state",)
    breaks = "a key in one of these states"

    def config_rule_for(self, value):
        return "kms-key-state-not-pending-deletion" if "PendingDeletion" in (value or ()) else None

    def expected(self, value):
        return "none of %s" % ", ".join(value)

    def judge(self, value, record, now):
        actual = record["key_state"]
        return (FAIL if actual in value else PASS), actual, None


class _AllowedValues(Rule):
    kind = "list"

    def expected(self, value):
        return "one of %s" % ", ".join(value)

    def judge(self, value, record, now):
        actual = record[self.fields[0]]
        return (PASS if actual in value else FAIL), actual, None


class AllowedSpecs(_AllowedValues):
    name = "allowed_specs"
    fields = ("key_spec",)
    breaks = "a key whose key_spec is not listed"


class AllowedUsages(_AllowedValues):
    name = "allowed_usages"
    choices = KEY_USAGES
    fields = ("key_usage",)
    breaks = "a key whose key_usage is not listed"


class RequiredProtectionLevel(Rule):
    name = "required_protection_level"
    kind = "str"
    choices = PROTECTION_LEVELS
    fields = ("protection_level",)
    breaks = "a key with another protection_level"

    def judge(self, value, record, now):
        actual = record["protection_level"]
        return (PASS if actual == value else FAIL), actual, None


class AllowedCreatorTypes(_AllowedValues):
    name = "allowed_creator_types"
    choices = CREATOR_TYPES
    fields = ("creator_type",)
    breaks = "a key whose creator_type is not listed"


# --- the details rules -----------------------------------------------------------------------------------------


class _Rotation(Rule):
    """Rules that apply only to keys the service can rotate automatically (Cloud Config: kms-key-rotation-enabled).

    The service rotates symmetric keys (Aliyun_* specs) that the account created (creator type User) with material
    KMS generated (origin Aliyun_KMS). A known field that rules the key out settles it; otherwise every one of the
    three must be known.
    """

    kind = "bool"
    applies_fields = ("key_spec", "creator_type", "origin")

    def not_applicable(self, record):
        spec, creator, origin = record.get("key_spec"), record.get("creator_type"), record.get("origin")
        if not missing(spec) and not str(spec).startswith("Aliyun_"):
            return "asymmetric keys (%s) do not rotate automatically" % spec, ()
        if creator == "Service":
            return "a cloud service manages this key", ()
        if origin == "EXTERNAL":
            return "imported key material does not rotate automatically", ()
        if not missing(origin) and origin != "Aliyun_KMS":
            return "key material from %s does not rotate automatically" % origin, ()
        decisive = (("key_spec", spec), ("creator_type", creator if creator == "User" else None), ("origin", origin))
        return None, tuple(name for name, value in decisive if missing(value))


class _RotationEnabled(object):
    """What the two rotation-enabled rules (a key's, a secret's) ask: automatic_rotation Enabled."""

    fields = ("automatic_rotation",)

    def expected(self, value):  # pylint: disable=unused-argument
        return "Enabled"

    def judge(self, value, record, now):  # pylint: disable=unused-argument
        rotation = record["automatic_rotation"]
        return (PASS if rotation == "Enabled" else FAIL), rotation, None


class RequireRotation(_RotationEnabled, _Rotation):
    name = "require_rotation"
    config_rule = "kms-key-rotation-enabled"
    breaks = "a key whose automatic_rotation is not Enabled"


def _interval_seconds(value):
    """'31536000s' -> 31536000; None when the interval is missing or unreadable."""
    text = str(value or "").strip()
    if text.endswith("s"):
        text = text[:-1]
    try:
        seconds = float(text)
    except ValueError:
        return None
    return seconds if seconds > 0 else None


class MaxRotationIntervalDays(_Rotation):
    name = "max_rotation_interval_days"
    kind = "int"
    fields = ("rotation_interval", "automatic_rotation")
    required = ("automatic_rotation",)
    breaks = "a key that rotates less often, or not automatically at all"

    def expected(self, value):
        return "at most %d days" % value

    def judge(self, value, record, now):
        rotation, actual = record["automatic_rotation"], record.get("rotation_interval")
        # The service sends RotationInterval only while rotation is Enabled or Suspended: without it, the
        # rotation state explains its absence. A key that never rotates is rotated less often than any interval.
        if rotation != "Enabled":
            return FAIL, "no automatic rotation (%s)" % rotation, None
        if missing(actual):
            return unknown_check("rotation_interval")
        seconds = _interval_seconds(actual)
        if seconds is None:
            return FAIL, "unknown interval (%s)" % actual, None
        return (PASS if seconds <= value * DAY else FAIL), _days(seconds), None


class RequireDeletionProtection(Rule):
    """Cloud Config (kms-key-delete-protection-enabled): keys the account created that are Enabled."""

    name = "require_deletion_protection"
    kind = "bool"
    fields = ("deletion_protection",)
    applies_fields = ("creator_type", "key_state")
    config_rule = "kms-key-delete-protection-enabled"
    breaks = "an Enabled key the account created whose deletion_protection is not Enabled"

    def not_applicable(self, record):
        creator, state = record.get("creator_type"), record.get("key_state")
        if creator == "Service":
            return "a cloud service manages this key", ()
        if not missing(state) and state != "Enabled":
            return "the key is %s, not Enabled" % state, ()
        return None, tuple(
            name
            for name, value in (("creator_type", creator if creator == "User" else None), ("key_state", state))
            if missing(value)
        )

    def expected(self, value):
        return "Enabled"

    def judge(self, value, record, now):
        actual = record["deletion_protection"]
        return (PASS if actual == "Enabled" else FAIL), actual, None


# --- the rule pack (issue 15) ----------------------------------------------------------------------------------


class RequiredTags(Rule):
    name = "required_tags"
    kind = "dict"
    fields = ("tags",)
    breaks = "a key that lacks one of these tags, or has another value (null: any value)"

    def _normalize_dict(self, value):
        if not isinstance(value, dict):
            raise PolicyError("%s must be a dict of tag -> allowed value(s) or null, got %r" % (self.name, value))
        result = {}
        for tag, allowed in value.items():
            if not isinstance(tag, str) or not tag:
                raise PolicyError("%s: tag keys must be non-empty strings, got %r" % (self.name, tag))
            if allowed is None:
                result[tag] = None
                continue
            if isinstance(allowed, str):
                allowed = [allowed]
            if not isinstance(allowed, (list, tuple)) or not allowed or not all(isinstance(v, str) for v in allowed):
                raise PolicyError(
                    "%s: %s must be a value, a list of values or null (any value), got %r" % (self.name, tag, allowed)
                )
            result[tag] = list(allowed)
        return result or None

    def is_unknown(self, record, field):
        return not isinstance(record.get(field), dict)

    def expected(self, value):
        return "tags %s" % ", ".join(
            tag if allowed is None else "%s=%s" % (tag, "|".join(allowed)) for tag, allowed in value.items()
        )

    def judge(self, value, record, now):
        tags = record["tags"]
        wrong = []
        for tag, allowed in value.items():
            if tag not in tags:
                wrong.append("no %s" % tag)
            elif allowed is not None and tags[tag] not in allowed:
                wrong.append("%s=%s" % (tag, tags[tag]))
        return (FAIL if wrong else PASS), ", ".join(wrong) or "all required tags", None


class RequireAlias(Rule):
    name = "require_alias"
    kind = "bool"
    fields = ("aliases",)
    breaks = "a key without an alias"

    def is_unknown(self, record, field):
        return not isinstance(record.get(field), (list, tuple))

    def expected(self, value):
        return "an alias"

    def judge(self, value, record, now):
        aliases = record["aliases"]
        return (PASS if aliases else FAIL), (", ".join(aliases) if aliases else "no alias"), None


class RequireDescription(Rule):
    name = "require_description"
    kind = "bool"
    fields = ("description",)
    config_rule = "kms-key-description-required"
    breaks = "a key whose description is empty"

    def is_unknown(self, record, field):
        # DescribeKey always sends Description ("" when none was set): absent means details were not gathered
        return not isinstance(record.get(field), str)

    def expected(self, value):
        return "a description"

    def judge(self, value, record, now):
        text = record["description"]
        return (PASS if text.strip() else FAIL), (text if text.strip() else "no description"), None


def _date(moment):
    return moment.strftime("%Y-%m-%d")


def _judge_age(value, created, last_rotation, now):
    """(status, actual, note) of an age rule: days since the last rotation, or since creation for what never rotated
    (a last rotation not after the creation is none: the service reports LastRotationDate = CreationDate then)."""
    rotated = parse_time(last_rotation)
    since = rotated if rotated is not None and rotated > created else created
    age = (now - since).total_seconds() / DAY
    how = "last rotated %s" % _date(since) if since is not created else "created %s, never rotated" % _date(created)
    return (FAIL if age > value else PASS), "%d days (%s)" % (int(age), how), None


class MaxKeyAgeDays(Rule):
    """The current key material's age: since the last rotation, or since creation for a key that never rotated.

    The service reports LastRotationDate equal to CreationDate for a key that never rotated, and none before key
    material exists (PendingImport: not applicable).
    """

    name = "max_key_age_days"
    kind = "int"
    fields = ("creation_date", "last_rotation_date")
    required = ("creation_date",)
    applies_fields = ("key_state",)
    breaks = "a key whose current key material is older (created longer ago and never rotated, or last rotated)"

    def not_applicable(self, record):
        state = record.get("key_state")
        if state == "PendingImport":
            return "no key material yet (PendingImport)", ()
        return None, (("key_state",) if missing(state) else ())

    def expected(self, value):
        return "key material at most %d days old" % value

    def judge(self, value, record, now):
        created = parse_time(record["creation_date"])
        if created is None:
            return FAIL, "unknown creation date (%s)" % record["creation_date"], None
        return _judge_age(value, created, record.get("last_rotation_date"), now)


class MinMaterialValidityDays(Rule):
    name = "min_material_validity_days"
    kind = "int"
    fields = ("material_expire_time", "origin")
    required = ("origin",)
    applies_fields = ("origin", "key_state")
    breaks = "a key with imported key material (origin EXTERNAL) that expires within that many days"

    def not_applicable(self, record):
        origin, state = record.get("origin"), record.get("key_state")
        if not missing(origin) and origin != "EXTERNAL":
            return "key material from %s does not expire" % origin, ()
        if state == "PendingImport":
            return "no key material imported yet (PendingImport)", ()
        return None, tuple(name for name, v in (("origin", origin), ("key_state", state)) if missing(v))

    def expected(self, value):
        return "key material valid for at least %d more days" % value

    def judge(self, value, record, now):
        text = record.get("material_expire_time")
        if missing(text):  # "If this parameter value is empty, the key material does not expire"
            return PASS, "never expires", None
        expires = parse_time(text)
        if expires is None:
            return FAIL, "unknown expiry (%s)" % text, None
        left = (expires - now).total_seconds() / DAY
        if left < 0:
            return FAIL, "expired %s" % _date(expires), None
        return (FAIL if left < value else PASS), "expires %s (in %d days)" % (_date(expires), int(left)), None


class UnreadablePolicy(ValueError):
    """A key policy whose statements are not in the documented shape: the rule cannot judge it."""


def _principals(principal):
    """The principals of a statement: `*`, a list of them, or {type: principal or list}, each a string."""
    values = list(principal.values()) if isinstance(principal, dict) else [principal]
    flat = []
    for value in values:
        flat.extend(value if isinstance(value, list) else [value])
    if not flat or not all(isinstance(item, str) for item in flat):
        raise UnreadablePolicy("a Principal that is not a string, a list of strings or a dict of them")
    return flat


def public_statements(policy):
    """The Sids (or positions) of the Allow statements of a key policy whose principal is `*`.

    Raises UnreadablePolicy for a policy not in the documented shape (Statement a list of statements, each with Effect
    Allow or Deny and a Principal): one that cannot be read could allow anyone, so it never passes."""
    if not isinstance(policy, dict):
        raise UnreadablePolicy("not a policy document")
    statements = policy.get("Statement")
    if isinstance(statements, dict):
        statements = [statements]
    if not isinstance(statements, list):
        raise UnreadablePolicy("no Statement list")
    found = []
    for index, statement in enumerate(statements):
        where = "statement %d" % (index + 1)
        if not isinstance(statement, dict):
            raise UnreadablePolicy("%s is not a statement" % where)
        effect, sid = statement.get("Effect"), statement.get("Sid")
        if not isinstance(effect, str) or effect.lower() not in ("allow", "deny"):
            raise UnreadablePolicy("%s has no Effect Allow or Deny" % where)
        if sid is not None and not isinstance(sid, str):
            raise UnreadablePolicy("%s has a Sid that is not a string" % where)
        try:
            principals = _principals(statement.get("Principal"))
        except UnreadablePolicy as exc:
            raise UnreadablePolicy("%s has %s" % (where, exc)) from None
        if effect.lower() == "allow" and any(item.strip() == "*" for item in principals):
            found.append(sid or where)
    return found


class ForbidPublicKeyPolicy(Rule):
    name = "forbid_public_key_policy"
    kind = "bool"
    fields = ("key_policy",)
    breaks = "a key whose key policy allows the principal * (keys without a key policy are not applicable)"

    def is_unknown(self, record, field):
        return field not in record

    def not_applicable(self, record):
        if "key_policy" in record and record["key_policy"] is None:
            return "no key policy (the key is not in a KMS instance)", ()
        return None, ()

    def expected(self, value):
        return "no principal *"

    def judge(self, value, record, now):
        try:
            found = public_statements(record["key_policy"])
        except UnreadablePolicy as exc:
            return FAIL, UNKNOWN, "unreadable key policy: %s" % exc
        return (FAIL if found else PASS), ("allows * (%s)" % ", ".join(found) if found else "no principal *"), None


class ForbidExternalOrigin(Rule):
    name = "forbid_external_origin"
    kind = "bool"
    fields = ("origin",)
    config_rule = "kms-key-origin-not-external"
    breaks = "a key whose key material was imported (origin EXTERNAL)"

    def expected(self, value):
        return "key material generated by KMS (origin not EXTERNAL)"

    def judge(self, value, record, now):
        origin = record["origin"]
        return (FAIL if origin == "EXTERNAL" else PASS), origin, None


# --- the secret rules (issue 24) -------------------------------------------------------------------------------


class _SecretRotation(Rule):
    """Rules on secrets the service rotates: Cloud Config (kms-secret-rotation-enabled) holds that "Generic secrets
    are not applicable"; the managed types (Rds, Redis, RAMCredentials, ECS, PolarDB) rotate automatically."""

    resource = "secret"
    applies_fields = ("secret_type",)

    def not_applicable(self, record):
        kind = record.get("secret_type")
        if not missing(kind) and str(kind).lower() == "generic":
            return "a generic secret does not rotate automatically", ()
        return None, (("secret_type",) if missing(kind) else ())


class SecretRequireRotation(_RotationEnabled, _SecretRotation):
    name = "secret_require_rotation"
    kind = "bool"
    config_rule = "kms-secret-rotation-enabled"
    breaks = "a managed secret (not Generic) whose automatic_rotation is not Enabled"


class SecretMaxRotationAgeDays(_SecretRotation):
    """Days since a managed secret's value last rotated (LastRotationDate), or since it was created if it never did."""

    name = "secret_max_rotation_age_days"
    kind = "int"
    fields = ("last_rotation_date", "create_time")
    required = ("create_time",)
    config_rule = "kms-secret-last-rotation-date-check"
    breaks = "a managed secret (not Generic) last rotated, or created and never rotated, longer ago"

    def expected(self, value):
        return "rotated within the last %d days" % value

    def judge(self, value, record, now):
        created = parse_time(record["create_time"])
        if created is None:
            return FAIL, "unknown creation time (%s)" % record["create_time"], None
        return _judge_age(value, created, record.get("last_rotation_date"), now)


# --- the KMS instance rules (issue 24) -------------------------------------------------------------------------


class InstanceMinDaysToExpiry(Rule):
    name = "instance_min_days_to_expiry"
    resource = "instance"
    kind = "int"
    fields = ("end_date",)
    config_rule = "kms-instance-expiration-check"
    breaks = "a KMS instance whose subscription ends within that many days"

    def expected(self, value):
        return "at least %d more days" % value

    def judge(self, value, record, now):
        ends = parse_time(record["end_date"])
        if ends is None:
            return FAIL, "unknown end date (%s)" % record["end_date"], None
        left = (ends - now).total_seconds() / DAY
        if left < 0:
            return FAIL, "expired %s" % _date(ends), None
        return (FAIL if left < value else PASS), "ends %s (in %d days)" % (_date(ends), int(left)), None


class InstanceRequireMultiZone(Rule):
    name = "instance_require_multi_zone"
    resource = "instance"
    kind = "bool"
    fields = ("zone_ids",)
    config_rule = "kms-instance-multi-zone"
    breaks = "a KMS instance in fewer than two zones"

    def is_unknown(self, record, field):
        return not isinstance(record.get(field), (list, tuple))

    def expected(self, value):
        return "two or more zones"

    def judge(self, value, record, now):
        zones = list(dict.fromkeys(record["zone_ids"]))
        return (PASS if len(zones) >= 2 else FAIL), ", ".join(zones) or "no zone", None


# The table: every rule, in its canonical order (policies, reports and docs list them so).
RULES = dict(
    (rule.name, rule)
    for rule in (
        ForbiddenStates(),
        AllowedSpecs(),
        AllowedUsages(),
        RequiredProtectionLevel(),
        AllowedCreatorTypes(),
        RequireRotation(),
        MaxRotationIntervalDays(),
        RequireDeletionProtection(),
        RequiredTags(),
        RequireAlias(),
        RequireDescription(),
        MaxKeyAgeDays(),
        MinMaterialValidityDays(),
        ForbidPublicKeyPolicy(),
        ForbidExternalOrigin(),
        SecretRequireRotation(),
        SecretMaxRotationAgeDays(),
        InstanceMinDaysToExpiry(),
        InstanceRequireMultiZone(),
    )
)
RULE_NAMES = tuple(RULES)
# the kinds some rule judges, in RESOURCES' order
RESOURCE_RULES = dict((kind, tuple(n for n, r in RULES.items() if r.resource == kind)) for kind in RESOURCES)
