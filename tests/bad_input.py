"""The bad-input table: every face (tests/integration/test_bad_input.py) and the core alone
(tests/unit/test_bad_input.py) reject each case before any request, naming the option."""

from __future__ import annotations

from ansible_collections.alicloud.kms.plugins.module_utils._query import API_FILTER_KEYS

SECRETS = ("s3cr3t", "pr0xy-pw")  # parts of the values below that no message or result may show
# (options, the option the message must name, text the core puts after it)
CASES = [
    ({"key_state": ["enabled"]}, "key_state", "did you mean 'Enabled'"),
    ({"key_state": ["Archived"]}, "key_state", "allowed values are Enabled, Disabled, PendingDeletion, PendingImport"),
    ({"key_usage": ["ENCRYPT"]}, "key_usage", "allowed values are ENCRYPT/DECRYPT, SIGN/VERIFY"),
    ({"protection_level": ["FIRMWARE"]}, "protection_level", "allowed values are SOFTWARE, HSM"),
    ({"creator_type": ["Admin"]}, "creator_type", "allowed values are User, Service"),
    ({"dkms_instance_id": ["i-123"]}, "dkms_instance_id", "expected the form kst-xxxx"),
    ({"key_spec": ["S%d" % i for i in range(11)]}, "key_spec", "at most 10 values"),
    (
        {"key_state": ["Enabled"], "filters": [{"key": "KeyState", "values": ["X%d" % i for i in range(10)]}]},
        "key_state",
        "unknown value 'X0'",
    ),
    (
        {
            "key_state": ["Enabled"],
            "key_spec": ["RSA_2048"],
            "key_usage": ["SIGN/VERIFY"],
            "protection_level": ["HSM"],
            "creator_type": ["User"],
            "dkms_instance_id": ["kst-hzz1"],
            "filters": [{"key": k, "values": ["v"]} for k in API_FILTER_KEYS[6:]],
        },
        "filters",
        "at most 10 filter keys",
    ),
    ({"filters": [{"key": "Bogus", "values": ["v"]}]}, "filters[0]", "unknown filter key 'Bogus'"),
    ({"filters": [{"values": ["Enabled"]}]}, "filters[0]", "'key' is required"),
    ({"filters": [{"key": "KeyState", "values": "Enabled"}]}, "filters[0]", "'values' must be a list"),
    ({"filters": [{"key": "KeyState", "values": ["Enabled"], "op": "in"}]}, "filters[0]", "unknown field(s) op"),
    ({"page_size": 0}, "page_size", "from 1 to 100"),
    ({"page_size": 101}, "page_size", "from 1 to 100"),
    ({"region": "cn_hangzhou"}, "region", "is not a region ID"),
    ({"region": "Hangzhou"}, "region", "expected a form like cn-hangzhou"),
    ({"regions": ["cn-hangzhou", "Shanghai"]}, "regions", "'Shanghai' is not a region ID"),
    ({"regions": ["all", "cn-hangzhou"]}, "regions", "'all' cannot be combined"),
    ({"endpoint": "http://127.0.0.1:8080/kms"}, "endpoint", "is not host[:port]"),
    ({"http_proxy": "proxy.example.com:3128"}, "http_proxy", "is not an http proxy URL"),
    ({"https_proxy": "socks5://proxy.example.com:1080"}, "https_proxy", "socks5 are not supported"),
    ({"http_proxy": "http://alice:pr0xy-pw@proxy example:3128"}, "http_proxy", "'http://****@proxy example:3128'"),
    ({"endpoint": "127.0.0.1:70000"}, "endpoint", "a port from 1 to 65535"),
    ({"sts_endpoint": "https://sts.aliyuncs.com/"}, "sts_endpoint", "is not host[:port]"),
    (
        {"regions": ["cn-hangzhou", "cn-shanghai"], "endpoint": "127.0.0.1:8080"},
        "endpoint",
        "put {region} in the endpoint",
    ),
    ({"security_token": "Tok3n-s3cr3t\n"}, "security_token", "contains whitespace or a control character"),
    ({"connect_timeout": 0}, "connect_timeout", "from 0.1 to 600"),
    ({"read_timeout": 0.01}, "read_timeout", "from 0.1 to 3600"),
    ({"max_retries": 50}, "max_retries", "an integer from 0 to 20"),
    ({"rate_limit": 0}, "rate_limit", "from 0.1 to 1000"),
    ({"sts_rate_limit": 0}, "sts_rate_limit", "from 0.1 to 1000"),
    ({"deadline": 0}, "deadline", "from 1 to 86400"),
    ({"facets": ["colour"]}, "facets", "unknown facet 'colour'"),
    ({"accounts": ["12345"]}, "accounts", "'12345' is not an account ID (16 digits) or a RAM role ARN"),
    ({"accounts": ["all", "1234567890123456"]}, "accounts", "'all' cannot be combined"),
    ({"exclude_accounts": ["nobody"]}, "exclude_accounts", "'nobody' is not an account ID"),
    ({"max_in_flight": 0}, "max_in_flight", "an integer from 1 to 1000"),
    ({"tag_filters": {"": "prod"}}, "tag_filters", "tag keys must be non-empty strings"),
    ({"tag_filters": {"env": 3}}, "tag_filters", "'env': the value must be a string, a list of strings or null"),
    ({"tag_filters": dict(("t%d" % i, "v") for i in range(21))}, "tag_filters", "at most 20 tags, got 21"),
    ({"access_key_secret": None, "access_key_id": "LTAIonly"}, "access_key_secret", "must be given together"),
    # the same through the core alone (tests/unit/test_bad_input.py) and, where they differ, the faces
    ({"key_state": ["Gone"]}, "key_state", "Enabled, Disabled, PendingDeletion, PendingImport"),
    ({"filters": [{"key": "KeyState", "values": ["Bogus"]}]}, "key_state", "allowed values"),
    (
        {"filters": [{"key": "tagkey", "values": ["env"]}]},
        "filters[0]",
        "unknown filter key 'tagkey' (did you mean 'TagKey'?)",
    ),
    ({"regions": ["cn-hangzhou", "nowhere"]}, "regions", "not a region ID"),
    ({"regions": []}, "regions", "non-empty list"),
    ({"regions": ["all"], "endpoint": "kms.example.internal"}, "endpoint", "serves one region"),
    ({"access_key_id": None, "access_key_secret": "s3cr3t"}, "access_key_id", "given together"),
    (
        {"access_key_id": None, "access_key_secret": None, "security_token": "Tok3n-alone"},
        "security_token",
        "needs its access_key_id",
    ),
    ({"account_role_name": "bad role", "accounts": ["1234567890123456"]}, "account_role_name", "not a RAM role name"),
]
# Values every face's own type check (AnsibleModule, plugin config) refuses with Ansible's message before the
# collection's code runs: the core refuses them too, for callers that are not Ansible (the event source, bench)
CORE_ONLY = [
    ({"sts_rate_limit": "fast"}, "sts_rate_limit", "a number from 0.1 to 1000"),
]
