"""The `hostile` fault profile: an endpoint whose free text is Jinja, markup, control characters and very long values,
and (mismatched_ids) whose identifiers disagree with each other or with their documented forms.

hostile=True rewrites the emulator's state, deterministically, when it turns on (at construction: before the seeded
state that reset() returns to is taken), so every action that returns a free-text field returns hostile text and the
actions agree with each other (ListTagResources and ListResourceTags, the TagKey/TagValue/AliasName filters):

- every key: Description (DescribeKey) one of texts() in turn, the first key of each account and region the mixture
  of all; Creator; DeletionProtectionDescription (returned for keys with deletion protection);
- every key: the tags of hostile_tags() added to its own (ListTagResources, ListResourceTags), a TagKey among them;
- the first key of each account and region: one more alias, hostile_alias(): ListAliases returns a name outside the
  documented form alias/[a-zA-Z0-9:/_-]{1,255}, which a client must reject (MalformedResponse);
- keys in a KMS instance: a policy (GetKeyPolicy's Policy, a JSON string) with hostile strings in Sid and Condition,
  granting only the account's own RAM identities, so it stays a private policy;
- every Resource Directory account (ResourceManager ListAccounts): DisplayName hostile, and a tag x with hostile text.

Keys added later (the control API, mutate_after_page) are not rewritten. The Jinja in every text runs
`touch <canary>` (hostile_canary): a test asserts that file never appears.

mismatched_ids rewrites each ListKeys entry as it is served (the state is untouched):
- "key": KeyArn names another key of the page (or, on a page of one, a fixed UUID);
- "account": KeyArn names another account (the directory's management account, or for it a member; else a fixed id);
- "region": KeyArn names another region of the emulator;
- "key_id": KeyId is not in the documented form ^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$ (it holds a canary template), its
  KeyArn agreeing with it.
"""

from __future__ import annotations

import dataclasses

MISMATCHES = ("key", "account", "region", "key_id")
DEFAULT_CANARY = "/tmp/kms-emulator-hostile-canary"
LONG_LENGTH = 10000
OTHER_KEY_ID = "00000000-0000-4000-8000-00000000dead"
OTHER_ACCOUNT_ID = "1000000000000001"


def check_canary(path: str) -> str:
    """The canary path goes inside a single-quoted Jinja string and a shell command: no quotes, no whitespace."""
    path = str(path or "")
    if not path or any(c in path for c in "'\"\\`$;&|<>") or any(c.isspace() for c in path):
        raise ValueError("hostile_canary must be a path without quotes, whitespace or shell metacharacters")
    return path


def texts(canary: str = DEFAULT_CANARY) -> dict:
    """The hostile texts by name; `mixed` holds every other one but `long`, and `long` is LONG_LENGTH characters."""
    jinja = "{{ lookup('pipe', 'touch %s') }}" % canary
    statement = "{%% set x = lookup('pipe', 'touch %s') %%}{{ x }}{# comment #}" % canary
    markup = (
        "<script>alert('kms')</script>]]><![CDATA[<kms-injected onload=alert(1)>&amp; & \"q\" 'a' </testsuite><!-- -->"
    )
    control = "bell\x07 esc\x1b[31m nul\x00 bs\x08 cr\r lf\n tab\t vt\x0b del\x7f ls\u2028 bom\ufeff c1\x85 end"
    mixed = " ".join((jinja, statement, markup, control, "{{ 7 * 7 }} ${HOME} $(id) `id`"))
    long = (jinja + " <&> ") + "L" * (LONG_LENGTH - len(jinja) - 5)
    return {"mixed": mixed, "jinja": jinja, "statement": statement, "markup": markup, "control": control, "long": long}


def description(index: int, canary: str = DEFAULT_CANARY) -> str:
    """The Description of the index-th key of an account and region (0: the mixture, then each text in turn)."""
    values = list(texts(canary).values())
    return values[index % len(values)]


def hostile_tags(canary: str = DEFAULT_CANARY) -> dict:
    """Tags every key gets besides its own: hostile values, and a hostile TagKey."""
    t = texts(canary)
    return {"x": t["mixed"], "markup": t["markup"], "control": t["control"], "long": t["long"], t["jinja"]: "v"}


def hostile_alias(canary: str = DEFAULT_CANARY) -> str:
    return "alias/" + texts(canary)["jinja"] + "<script>"


def hostile_policy(account_id: str, canary: str = DEFAULT_CANARY) -> dict:
    t = texts(canary)
    return {
        "Version": "1",
        "Statement": [
            {
                "Sid": t["mixed"],
                "Effect": "Allow",
                "Principal": {"RAM": [f"acs:ram::{account_id}:*"]},
                "Action": ["kms:*"],
                "Resource": ["*"],
                "Condition": {"StringEquals": {"kms:tag/x": [t["jinja"], t["markup"], t["control"]]}},
            }
        ],
    }


def apply(backend, canary: str = DEFAULT_CANARY) -> None:
    """Rewrite backend's keys and directory with hostile text (idempotent for one canary)."""
    t = texts(canary)
    with backend.lock:
        for account in backend.accounts.values():
            for keys in account.keys.values():
                for index, key in enumerate(keys):
                    aliases = key.aliases
                    if index == 0 and hostile_alias(canary) not in aliases:
                        aliases = aliases + (hostile_alias(canary),)
                    keys[index] = dataclasses.replace(
                        key,
                        description=description(index, canary),
                        creator=t["statement"] + t["markup"],
                        deletion_protection_description=t["jinja"] + t["control"],
                        tags={**key.tags, **hostile_tags(canary)},
                        aliases=aliases,
                        policy=hostile_policy(account.account_id, canary) if key.dkms_instance_id else key.policy,
                    )
        directory = backend.directory
        if directory is not None:
            names = list(t.values())
            members = tuple(
                dataclasses.replace(m, display_name=names[i % len(names)], tags=m.tags + (("x", t["mixed"]),))
                if ("x", t["mixed"]) not in m.tags
                else m
                for i, m in enumerate(directory.members)
            )
            backend.directory = dataclasses.replace(directory, members=members)


def mismatch(result: dict, mode: str, account_id: str, region: str, backend, canary: str = DEFAULT_CANARY) -> None:
    """Rewrite a ListKeys result's entries (in the {"Keys": {"Key": [...]}} form) as mode says."""
    entries = result["Keys"]["Key"]
    ids = [entry["KeyId"] for entry in entries]
    if mode == "account":
        directory = backend.directory
        if directory is not None and account_id != directory.management_account:
            other_account = directory.management_account
        else:
            others = [a for a in (m.account_id for m in directory.members) if a != account_id] if directory else []
            others = others or [a for a in backend.accounts if a != account_id] or [OTHER_ACCOUNT_ID]
            other_account = others[0]
    if mode == "region":
        other_region = next(r for r in list(backend.regions) + ["cn-beijing", "cn-shanghai"] if r != region)
    for index, entry in enumerate(entries):
        key_id, arn_region, arn_account = entry["KeyId"], region, account_id
        if mode == "key":
            key_id = ids[(index + 1) % len(ids)] if len(ids) > 1 else OTHER_KEY_ID
        elif mode == "account":
            arn_account = other_account
        elif mode == "region":
            arn_region = other_region
        elif mode == "key_id":
            key_id = entry["KeyId"] = "-%s/../%s" % (entry["KeyId"], texts(canary)["jinja"])
        entry["KeyArn"] = f"acs:kms:{arn_region}:{arn_account}:key/{key_id}"
