"""The accounts inventory plugin (alicloud.kms.accounts) through the real ansible-inventory, ansible-playbook and
ansible-doc, against the emulator's demo Resource Directory (tests/emulator/seeds/demo.yml)."""

from __future__ import annotations

import json
import shutil

import pytest
import yaml
from ansible.release import __version__ as ANSIBLE_VERSION

from conftest import BIN, DEMO_KEY, Ansible, _plain, inventory_env, mentions
from emulator.seeding import member_id
from emulator.server import Emulator

# demo.yml's resource_directory, written out by hand, in ListAccounts' order (the management account first)
DIRECTORY = [
    ("1234567890123456", "acme-management", "CreateSuccess"),
    ("9876543210987654", "acme-staging", "InviteSuccess"),
    ("2222333344445555", "acme-payments-prod", "CreateSuccess"),
    ("3333444455556666", "acme-data-platform", "PromoteSuccess"),
    ("4444555566667777", "acme-sandbox", "CreateVerifying"),  # not usable yet
    ("7777888899990000", "acme-legacy-audit", "InviteSuccess"),  # its role denies the management account: listed
]
SANDBOX, STAGING, LEGACY = "4444555566667777", "9876543210987654", "7777888899990000"
# what the inventory makes hosts of by default: every member but the one not usable yet (the caller is listed)
USABLE = [account for account in DIRECTORY if account[0] != SANDBOX]
LOCAL = ("ansible_connection", "ansible_python_interpreter")


def accounts_inventory(ansible, name="org.kms_accounts.yml", **config):
    settings = {"plugin": "alicloud.kms.accounts", "protocol": "http", "http_proxy": ansible.emu.url, "max_retries": 1}
    settings.update(config)
    path = ansible.tmp / name
    path.write_text(yaml.safe_dump(settings))
    return path


def accounts_env(ansible, **extra):
    """conftest's inventory_env (both inventory plugins enabled, an unparsed source fatal) with extra."""
    return dict(inventory_env(ansible), **extra)


def accounts_listing(ansible, path, *args, env=None):
    proc = ansible.run(
        [str(BIN / "ansible-inventory"), "-i", str(path), "--list"] + list(args), env=env or accounts_env(ansible)
    )
    return proc, (_plain(json.loads(proc.stdout)) if proc.returncode == 0 else None)


def expected_hostvars(accounts):
    return dict(
        (account_id, {"account_id": account_id, "account_name": name, "status": status})
        for account_id, name, status in accounts
    )


def service_hostvars(data):
    """Each host's hostvars without the two the plugin sets for local plays."""
    return dict(
        (host, dict((k, v) for k, v in values.items() if k not in LOCAL))
        for host, values in data["_meta"]["hostvars"].items()
    )


def test_one_host_per_usable_account_with_exactly_its_hostvars(ansible, emulator):
    proc, data = accounts_listing(ansible, accounts_inventory(ansible))
    assert proc.returncode == 0, proc.stderr
    assert data["kms_accounts"]["hosts"] == [account_id for account_id, _name, _status in USABLE]
    assert service_hostvars(data) == expected_hostvars(USABLE)
    for values in data["_meta"]["hostvars"].values():
        assert values["ansible_connection"] == "local"
    # the member not usable yet is left out, with a warning naming it and its status
    assert mentions(proc.stderr, "skipped account %s: CreateVerifying" % SANDBOX, "unusable_accounts is skip")
    # the caller's identity and one ListAccounts page; no role assumed, no key read
    assert emulator.stats()["by_action"] == {"GetCallerIdentity": 1, "ListAccounts": 1}


def test_every_page_of_a_large_directory(tmp_path):
    """250 members: three ListAccounts pages of 100, every account a host, in the directory's order."""
    with Emulator(generate_accounts="250:1:0") as emu:
        ansible = Ansible(emu, tmp_path)
        proc, data = accounts_listing(ansible, accounts_inventory(ansible))
        assert proc.returncode == 0, proc.stderr
        assert data["kms_accounts"]["hosts"] == ["1234567890123456"] + [member_id(i) for i in range(1, 251)]
        assert data["_meta"]["hostvars"][member_id(250)]["account_name"] == "member-0250"
        pages = sorted(int(r["page_number"]) for r in emu.stats()["requests"] if r["action"] == "ListAccounts")
        assert pages == [1, 2, 3]


def test_exclude_accounts_leaves_them_out(ansible, emulator):
    path = accounts_inventory(ansible, exclude_accounts=[STAGING, LEGACY, SANDBOX])
    proc, data = accounts_listing(ansible, path)
    assert proc.returncode == 0, proc.stderr
    kept = [a for a in USABLE if a[0] not in (STAGING, LEGACY)]
    assert service_hostvars(data) == expected_hostvars(kept)
    assert data["kms_accounts"]["hosts"] == [a[0] for a in kept]
    assert "CreateVerifying" not in proc.stderr  # an excluded member is not warned about
    # the caller too
    proc, data = accounts_listing(ansible, accounts_inventory(ansible, exclude_accounts=["1234567890123456"]))
    assert proc.returncode == 0, proc.stderr
    assert "1234567890123456" not in data["_meta"]["hostvars"]


def test_a_member_not_usable_yet_can_be_a_host_grouped_by_status(ansible, emulator):
    path = accounts_inventory(
        ansible,
        unusable_accounts="include",
        keyed_groups=[{"key": "status", "prefix": "status"}],
        groups={"payments": "'payments' in account_name"},
        compose={"short_id": "account_id[-4:]"},
    )
    proc, data = accounts_listing(ansible, path)
    assert proc.returncode == 0, proc.stderr
    assert data["kms_accounts"]["hosts"] == [account_id for account_id, _name, _status in DIRECTORY]
    expected = expected_hostvars(DIRECTORY)
    for account_id, values in expected.items():
        values["short_id"] = account_id[-4:]
    assert service_hostvars(data) == expected
    assert data["status_CreateVerifying"]["hosts"] == [SANDBOX]
    assert data["status_CreateSuccess"]["hosts"] == ["1234567890123456", "2222333344445555"]
    assert data["status_InviteSuccess"]["hosts"] == [STAGING, LEGACY]
    assert data["status_PromoteSuccess"]["hosts"] == ["3333444455556666"]
    assert data["payments"]["hosts"] == ["2222333344445555"]
    assert "CreateVerifying" not in proc.stderr


def test_a_member_not_usable_yet_fails_the_inventory_when_asked(ansible, emulator):
    proc, data = accounts_listing(ansible, accounts_inventory(ansible, unusable_accounts="fail"))
    assert proc.returncode != 0 and data is None
    assert mentions(proc.stderr, "unusable_accounts is fail", SANDBOX, "status CreateVerifying"), proc.stderr
    assert "Traceback" not in proc.stderr
    # excluded, it no longer fails the run
    path = accounts_inventory(ansible, unusable_accounts="fail", exclude_accounts=[SANDBOX])
    proc, data = accounts_listing(ansible, path)
    assert proc.returncode == 0, proc.stderr
    assert service_hostvars(data) == expected_hostvars(USABLE)


def test_cached_runs_send_nothing_and_a_flushed_cache_reads_again(ansible, emulator):
    cache = ansible.tmp / "cache"
    settings = dict(cache=True, cache_plugin="ansible.builtin.jsonfile", cache_connection=str(cache))
    path = accounts_inventory(ansible, **settings)
    first = accounts_listing(ansible, path)[1]
    sent = emulator.stats()["total"]
    assert sent == 2 and service_hostvars(first) == expected_hostvars(USABLE)
    assert accounts_listing(ansible, path)[1] == first
    assert emulator.stats()["total"] == sent
    # exclude_accounts and unusable_accounts apply to the cached answer: still no request
    path = accounts_inventory(ansible, exclude_accounts=[STAGING], unusable_accounts="include", **settings)
    proc, data = accounts_listing(ansible, path)
    assert proc.returncode == 0, proc.stderr
    assert sorted(data["_meta"]["hostvars"]) == sorted(a[0] for a in DIRECTORY if a[0] != STAGING)
    assert emulator.stats()["total"] == sent
    # the cache holds what the service said, never a secret
    cached = "".join(p.read_text() for p in cache.iterdir())
    assert "acme-sandbox" in cached and DEMO_KEY[1] not in cached
    # other credentials are another cache entry: read again
    other = accounts_env(ansible, ALICLOUD_ACCESS_KEY="LTAI5tKmsEmulatorDemo02", ALICLOUD_SECRET_KEY="x" * 24)
    proc, _data = accounts_listing(ansible, path, env=other)
    assert proc.returncode != 0 and emulator.stats()["total"] > sent
    sent = emulator.stats()["total"]
    path = accounts_inventory(ansible, **settings)
    if tuple(int(part) for part in ANSIBLE_VERSION.split(".")[:2]) >= (2, 19):
        assert accounts_listing(ansible, path, "--flush-cache")[1] == first
    else:  # ansible-inventory has no --flush-cache before 2.19
        shutil.rmtree(cache)
        assert accounts_listing(ansible, path)[1] == first
    assert emulator.stats()["total"] == sent + 2


def test_hostname_by_account_name_and_two_accounts_with_one_name_fail(ansible, emulator):
    proc, data = accounts_listing(ansible, accounts_inventory(ansible, hostname="account_name"))
    assert proc.returncode == 0, proc.stderr
    assert data["kms_accounts"]["hosts"] == [name for _id, name, _status in USABLE]
    assert data["_meta"]["hostvars"]["acme-staging"]["account_id"] == STAGING
    proc, data = accounts_listing(ansible, accounts_inventory(ansible, hostname="status"))
    assert proc.returncode != 0
    assert mentions(
        proc.stderr, "hostname: 'status' gives two accounts the host name 'CreateSuccess'", "1234567890123456"
    ), proc.stderr
    proc, data = accounts_listing(ansible, accounts_inventory(ansible, hostname="account_name ~ '-' ~ account_id[-4:]"))
    assert proc.returncode == 0, proc.stderr
    assert "acme-staging-7654" in data["_meta"]["hostvars"]


def test_hostile_account_names_stay_literal_in_hostvars_groups_and_a_play(ansible, emulator):
    canary = ansible.tmp / "canary"
    emulator.set_faults(hostile=True, hostile_canary=str(canary))
    names = dict((m.account_id, m.display_name) for m in emulator.backend.directory.members)
    assert any("lookup(" in name for name in names.values())
    path = accounts_inventory(
        ansible,
        strict=True,
        compose={"label": "account_name ~ '/' ~ account_id"},
        keyed_groups=[{"key": "account_name", "prefix": "n"}],
        groups={"templated": "'lookup' in account_name"},
    )
    proc, data = accounts_listing(ansible, path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert not canary.exists()
    hostvars = data["_meta"]["hostvars"]
    assert sorted(hostvars) == sorted(a[0] for a in USABLE)
    for host, values in hostvars.items():
        assert values["account_name"] == names[host]
        assert values["label"] == "%s/%s" % (names[host], host)
    assert sorted(data["templated"]["hosts"]) == sorted(h for h in hostvars if "lookup" in names[h])
    book = ansible.tmp / "over_accounts.yml"
    out = ansible.tmp / "names"
    out.mkdir()
    book.write_text(
        yaml.safe_dump(
            [
                {
                    "name": "Use the hostvars",
                    "hosts": "kms_accounts",
                    "gather_facts": False,
                    "tasks": [
                        {"name": "Show", "ansible.builtin.debug": {"msg": "{{ account_name }} {{ label }}"}},
                        {
                            "name": "Write",
                            "ansible.builtin.copy": {
                                "content": "{{ {'account_name': account_name, 'label': label} | to_json }}",
                                "dest": "%s/{{ account_id }}.json" % out,
                            },
                        },
                    ],
                }
            ]
        )
    )
    run = ansible.run([str(BIN / "ansible-playbook"), "-i", str(path), str(book)], env=accounts_env(ansible))
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert not canary.exists()
    written = dict((p.stem, json.loads(p.read_text())) for p in out.glob("*.json"))
    assert sorted(written) == sorted(hostvars)
    for host, values in written.items():
        assert values == {"account_name": names[host], "label": "%s/%s" % (names[host], host)}
    # a host name from that text fails, naming the account, before any template could run
    proc, data = accounts_listing(ansible, accounts_inventory(ansible, hostname="account_name"))
    assert proc.returncode != 0 and data is None
    assert mentions(proc.stderr, "hostname: 'account_name' gives account", "braces"), proc.stderr[-3000:]
    assert not canary.exists()


@pytest.mark.parametrize(
    "config, message",
    [
        ({"exclude_accounts": ["12345"]}, "exclude_accounts: '12345' is not an account ID (16 digits)"),
        ({"unusable_accounts": "ignore"}, "unusable_accounts"),
        ({"regions": ["cn-hangzhou"]}, "unknown option(s) regions"),
        ({"protocol": "ftp"}, "protocol"),
        ({"keyed_groups": ["status"]}, "keyed_groups: every entry must be a dict"),
        ({"http_proxy": "socks5://127.0.0.1:1080"}, "http_proxy: 'socks5://127.0.0.1:1080' is not an http proxy URL"),
        ({"rate_limit": 0}, "rate_limit"),
    ],
)
def test_bad_options_fail_naming_the_option_before_any_request(ansible, emulator, config, message):
    path = accounts_inventory(ansible, **config)
    proc, data = accounts_listing(ansible, path)
    assert proc.returncode != 0 and data is None
    assert mentions(proc.stderr, message, path.name), proc.stderr
    assert "Traceback" not in proc.stderr
    assert emulator.stats()["total"] == 0


def test_a_caller_that_may_not_list_the_directory_fails_with_code_and_request_id(ansible, emulator):
    # the staging member's own key: a member, not the management account
    env = accounts_env(
        ansible, ALICLOUD_ACCESS_KEY="LTAI5tKmsEmulatorDemo02", ALICLOUD_SECRET_KEY="kms-emulator-demo-secret-2"
    )
    proc, data = accounts_listing(ansible, accounts_inventory(ansible), env=env)
    assert proc.returncode != 0 and data is None
    assert mentions(proc.stderr, "ListAccounts", "RequestId"), proc.stderr
    assert "kms-emulator-demo-secret-2" not in proc.stdout + proc.stderr


def test_no_secret_in_any_output_at_the_highest_verbosity(ansible, emulator):
    """-vvvv, an STS credential (the demo's, with its token), a proxy with a password, the log and the cache."""
    secrets = ("kms-emulator-sts-secret", "CAIS-kms-emulator-demo-sts-token", "proxy-pa55word")
    log, out, cache = ansible.tmp / "ansible.log", ansible.tmp / "inventory.json", ansible.tmp / "cache"
    env = accounts_env(
        ansible,
        ALICLOUD_ACCESS_KEY="STS.NUKmsEmulatorDemoSts01",
        ALICLOUD_SECRET_KEY=secrets[0],
        ALICLOUD_SECURITY_TOKEN=secrets[1],
        ANSIBLE_LOG_PATH=str(log),
    )
    path = accounts_inventory(
        ansible,
        http_proxy="http://auditor:%s@%s" % (secrets[2], ansible.emu.url.split("://", 1)[1]),
        cache=True,
        cache_plugin="ansible.builtin.jsonfile",
        cache_connection=str(cache),
    )
    proc = ansible.run(
        [str(BIN / "ansible-inventory"), "-i", str(path), "--list", "-vvvv", "--output", str(out)], env=env
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert _plain(json.loads(out.read_text()))["kms_accounts"]["hosts"] == [a[0] for a in USABLE]
    written = [proc.stdout, proc.stderr, log.read_text(), out.read_text()] + [p.read_text() for p in cache.iterdir()]
    for secret in secrets:
        assert not any(secret in text for text in written), secret
    assert "x-acs-signature-nonce" not in proc.stderr


def test_a_play_runs_over_the_accounts(ansible, emulator):
    path = accounts_inventory(ansible)
    book = ansible.tmp / "over_accounts.yml"
    book.write_text(
        yaml.safe_dump(
            [
                {
                    "name": "per account",
                    "hosts": "kms_accounts",
                    "connection": "local",
                    "gather_facts": False,
                    "tasks": [{"name": "Account", "ansible.builtin.debug": {"msg": "account {{ account_id }}"}}],
                }
            ]
        )
    )
    proc = ansible.run([str(BIN / "ansible-playbook"), "-i", str(path), str(book)], env=accounts_env(ansible))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for account_id, _name, _status in USABLE:
        assert 'ok: [%s] => {\n    "msg": "account %s"\n}' % (account_id, account_id) in proc.stdout
    assert "ok=1" in proc.stdout and proc.stdout.count("ok=1") == len(USABLE)
    assert SANDBOX not in proc.stdout


def test_ansible_doc_documents_every_option(ansible):
    proc = ansible.run([str(BIN / "ansible-doc"), "-t", "inventory", "alicloud.kms.accounts"])
    assert proc.returncode == 0, proc.stderr
    assert "kms_accounts" in proc.stdout and "[WARNING]" not in proc.stderr
    proc = ansible.run([str(BIN / "ansible-doc"), "-t", "inventory", "--json", "alicloud.kms.accounts"])
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)["alicloud.kms.accounts"]
    options = doc["doc"]["options"]
    for name in ("plugin", "hostname", "unusable_accounts", "exclude_accounts", "access_key_secret", "sts_rate_limit"):
        assert name in options, name
    assert options["unusable_accounts"]["choices"] == ["skip", "include", "fail"]
    assert options["hostname"]["default"] == "account_id"
    for name, option in options.items():
        assert option.get("description"), name
    assert yaml.safe_load(doc["examples"])["plugin"] == "alicloud.kms.accounts"
