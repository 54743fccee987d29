# -*- coding: utf-8 -*-
# Copyright (c) alicloud.kms contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment(object):
    """Connection options, described once in DOCUMENTATION; LISTING adds several regions and accounts for the faces
    that list, ACCOUNTS the accounts they leave out; PLUGINS adds what only the lookup and inventory read."""

    DOCUMENTATION = r"""
requirements:
  - alibabacloud-tea-openapi
  - alibabacloud-credentials
options:
  region:
    description:
      - The region to list keys in, for example C(cn-hangzhou).
      - Falls back to the E(ALICLOUD_REGION), then E(ALIBABA_CLOUD_REGION_ID) environment variable.
      - Where several regions are listed (C(regions) of the faces that list), they are listed and O(region) only picks
        the endpoint that answers C(DescribeRegions) (C(cn-hangzhou) when unset), so a region in C(module_defaults)
        or the environment does not get in the way.
    type: str
  access_key_id:
    description:
      - The AccessKey ID.
      - Falls back to E(ALICLOUD_ACCESS_KEY), then E(ALIBABA_CLOUD_ACCESS_KEY_ID).
      - With neither an option nor an environment variable, the default credential chain of
        C(alibabacloud-credentials) applies (C(~/.aliyun/config.json) profiles, C(~/.alibabacloud/credentials),
        ECS RAM role, OIDC).
    type: str
  access_key_secret:
    description:
      - The AccessKey secret. Never logged.
      - Falls back to E(ALICLOUD_SECRET_KEY), then E(ALIBABA_CLOUD_ACCESS_KEY_SECRET).
    type: str
  security_token:
    description:
      - An STS security token, for temporary credentials. Never logged.
      - Falls back to E(ALICLOUD_SECURITY_TOKEN), then E(ALIBABA_CLOUD_SECURITY_TOKEN).
    type: str
  profile:
    description:
      - A profile of the Alibaba Cloud CLI configuration (C(~/.aliyun/config.json)) to take credentials from,
        used when no access key is given.
      - Falls back to E(ALICLOUD_PROFILE).
    type: str
  assume_role_arn:
    description:
      - The ARN of a RAM role to assume with the credentials above, for example C(acs:ram::123456789012:role/kms-auditor).
      - Falls back to E(ALICLOUD_ASSUME_ROLE_ARN).
    type: str
  assume_role_session_name:
    description:
      - The session name used when assuming O(assume_role_arn).
    type: str
    default: ansible-alicloud-kms
  endpoint:
    description:
      - The KMS endpoint as C(host[:port]), overriding the one derived from the region and O(network).
      - May contain C({region}), replaced by each region listed, for example C(kms.{region}.example.internal).
      - Not a URL; choose the scheme with O(protocol).
    type: str
  sts_endpoint:
    description:
      - The STS endpoint that O(assume_role_arn) is assumed at, as C(host[:port]); may contain C({region}).
      - Defaults to C(sts.aliyuncs.com), or C(sts-vpc.<region>.aliyuncs.com) with O(network=vpc) (the region of
        O(region), else the first region listed).
      - C(AssumeRole) goes through the same O(protocol), proxies, timeouts, retries and O(deadline) as every KMS request.
    type: str
  network:
    description:
      - V(public) uses C(kms.<region>.aliyuncs.com); V(vpc) uses C(kms-vpc.<region>.aliyuncs.com), reachable only from a VPC.
    type: str
    choices: [public, vpc]
    default: public
  protocol:
    description:
      - The scheme used to reach the endpoint. V(http) is meant for local emulators and proxies; with an Alibaba Cloud
        endpoint and no proxy on the local host it warns, since requests and tokens would travel unencrypted.
    type: str
    choices: [https, http]
    default: https
  http_proxy:
    description:
      - A proxy URL for V(http) requests, for example C(http://proxy.example.com:3128); C(http://user:password@host:port)
        for a proxy that asks for a password, which is masked in the task's output. Only C(http://) and C(https://)
        proxies are supported.
      - Falls back to the standard E(HTTP_PROXY) environment variable.
    type: str
  https_proxy:
    description:
      - A proxy URL for V(https) requests. Falls back to the standard E(HTTPS_PROXY) environment variable.
    type: str
  validate_certs:
    description:
      - Whether to verify the TLS certificate of the endpoint. Turn off only for test endpoints.
    type: bool
    default: true
  connect_timeout:
    description:
      - Seconds to wait for a connection to the endpoint.
    type: float
    default: 5
  read_timeout:
    description:
      - Seconds to wait for a response once connected.
    type: float
    default: 30
  max_retries:
    description:
      - How many times to retry a request that failed with a 5xx, returned a malformed body, or lost its connection;
        with jittered exponential backoff. Other errors are never retried.
      - A request the service throttled (HTTP 429, C(Throttling*), C(Rejected.Throttling)), whichever the service (KMS,
        STS, ResourceManager), is retried until O(deadline) instead, honouring the service's C(x-acs-retry-after),
        and slows down the pace of that service for the rest of the run; throttling makes a run slower, never a
        failure while the deadline allows.
    type: int
    default: 5
  rate_limit:
    description:
      - Requests per second per region, at most. KMS allows 50 per account and region, shared by every
        client of the account; the default leaves a margin. Slowed down further when the service throttles.
      - ResourceManager calls (C(ListAccounts)) of an account are paced at this rate as well.
    type: float
    default: 45
  sts_rate_limit:
    description:
      - STS requests (C(AssumeRole) of every member role, C(GetCallerIdentity)) per second per calling identity, at
        most. STS allows 100 C(AssumeRole) per second per calling Alibaba Cloud account, its RAM users and roles
        included (Alibaba Cloud notice of 2022-08-29; STS FAQ); lower it when other clients of the account assume
        roles at the same time, raise it only after the quota was raised. Slowed down further when STS throttles.
      - With C(accounts=[all]) over 1,000 members, the roles alone take 10 seconds at the default.
    type: float
    default: 100
  deadline:
    description:
      - Seconds one run may take in all, retries and waits included. A request never waits past it, and no retry
        starts that would end after it; the run then fails with the last error and the number of attempts.
    type: float
    default: 300
  max_in_flight:
    description:
      - Requests in flight at most, over every account and region of the run together. Each account and region also
        keeps its own O(rate_limit), since the service's quota is per account and region.
    type: int
    default: 64
  account_role_name:
    description:
      - The role assumed in a member account given by its ID (C(accounts) of the faces that list, C(account_id) of
        M(alicloud.kms.key)); Resource Directory creates it in every member, trusting the management account.
    type: str
    default: ResourceDirectoryAccountAccessRole
"""

    # What the listing faces add (key_info, key_facts, compliance_check, the lookup and the inventory): several
    # regions and accounts in one run. The key module manages one key, in one region of one account.
    LISTING = r"""
options:
  regions:
    description:
      - Several regions, listed in parallel. Every record names its region.
      - The single value V(all) means every region that C(DescribeRegions) returns.
      - Named regions that are not well-known KMS regions are checked against C(DescribeRegions) first; one that
        it does not list fails with the list of valid regions.
    type: list
    elements: str
  accounts:
    description:
      - The accounts to read, for an organisation-wide run. Unset, only the caller's account is read.
      - A 16-digit account ID assumes C(acs:ram::<id>:role/<account_role_name>) in that account; a RAM role ARN
        C(acs:ram::<id>:role/<name>) is assumed as given; the caller's own account ID is read with the caller's
        credentials.
      - V(all) alone reads every member of the caller's Resource Directory, found with ResourceManager
        C(ListAccounts) (the caller must be the management account or a delegated administrator). Only members whose
        status is C(CreateSuccess), C(InviteSuccess) or C(PromoteSuccess) are read; the others are reported as skipped
        with their status as the code.
      - Each role is assumed once per run with O(assume_role_session_name), through O(sts_endpoint) and the same
        protocol, proxies, timeouts, retries and O(deadline) as every request. O(assume_role_arn), when set, is the
        caller identity the member roles are assumed from.
      - Records then carry C(account_name), the display name C(ListAccounts) gave (or null).
    type: list
    elements: str
  strict_permissions:
    description:
      - What to do when an account's role cannot be assumed, or an account and region is denied or unreachable
        after retries.
      - V(true) fails the run naming the account, region, Code and RequestId. V(false) warns, lists it in C(not_read)
        (modules) and goes on with the others; a wrong or inconsistent answer fails the run either way.
    type: bool
    default: true
"""

    # The accounts a run leaves out, beside LISTING in the faces that list and alone in the accounts inventory, which
    # reads a Resource Directory but no keys.
    ACCOUNTS = r"""
options:
  exclude_accounts:
    description:
      - Account IDs (16 digits) to leave out, for example members of the Resource Directory that C(accounts=[all])
        would read, or that the accounts inventory would make hosts of.
    type: list
    elements: str
"""

    # The plugins variant adds only where a lookup or inventory also reads an option: environment variables
    # (the same ones _connection_options.ENVIRONMENT reads for modules; a unit test keeps them equal) and
    # inventory or play variables. Plugins extend both variants.
    PLUGINS = r"""
options:
  region:
    env:
      - name: ALICLOUD_REGION
      - name: ALIBABA_CLOUD_REGION_ID
    vars:
      - name: alicloud_region
  access_key_id:
    env:
      - name: ALICLOUD_ACCESS_KEY
      - name: ALIBABA_CLOUD_ACCESS_KEY_ID
    vars:
      - name: alicloud_access_key
  access_key_secret:
    env:
      - name: ALICLOUD_SECRET_KEY
      - name: ALIBABA_CLOUD_ACCESS_KEY_SECRET
    vars:
      - name: alicloud_secret_key
  security_token:
    env:
      - name: ALICLOUD_SECURITY_TOKEN
      - name: ALIBABA_CLOUD_SECURITY_TOKEN
    vars:
      - name: alicloud_security_token
  profile:
    env:
      - name: ALICLOUD_PROFILE
    vars:
      - name: alicloud_profile
  assume_role_arn:
    env:
      - name: ALICLOUD_ASSUME_ROLE_ARN
    vars:
      - name: alicloud_assume_role_arn
  endpoint:
    vars:
      - name: alicloud_kms_endpoint
  sts_endpoint:
    vars:
      - name: alicloud_sts_endpoint
  protocol:
    vars:
      - name: alicloud_kms_protocol
  http_proxy:
    vars:
      - name: alicloud_kms_http_proxy
  https_proxy:
    vars:
      - name: alicloud_kms_https_proxy
"""
