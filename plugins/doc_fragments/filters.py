# -*- coding: utf-8 -*-
# Copyright (c) alicloud.kms contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment(object):
    """ListKeys filters, page size, facets, details and the bulk enrichments: the same for every face."""

    DOCUMENTATION = r"""
options:
  key_state:
    description:
      - Only keys in one of these states.
      - Allowed values are V(Enabled), V(Disabled), V(PendingDeletion) and V(PendingImport).
      - Values of one option are ORed; different filter options are ANDed.
    type: list
    elements: str
  key_spec:
    description:
      - Only keys of one of these specs, for example V(Aliyun_AES_256), V(Aliyun_SM4), V(RSA_2048), V(EC_P256),
        V(EC_P256K) or V(EC_SM2).
      - The set is open, so other specs are passed on. A region without SM support ignores V(Aliyun_SM4) and V(EC_SM2).
    type: list
    elements: str
  key_usage:
    description:
      - Only keys with one of these usages. Allowed values are V(ENCRYPT/DECRYPT) and V(SIGN/VERIFY).
    type: list
    elements: str
  protection_level:
    description:
      - Only keys with one of these protection levels. Allowed values are V(SOFTWARE) and V(HSM).
      - A region without managed HSMs ignores V(HSM).
    type: list
    elements: str
  creator_type:
    description:
      - Only keys created by V(User) (this account) or V(Service) (a cloud service the account authorized).
    type: list
    elements: str
  dkms_instance_id:
    description:
      - Only keys in one of these KMS instances, given as C(kst-...) IDs.
    type: list
    elements: str
  filters:
    description:
      - Raw ListKeys filters, for filter keys that have no option above yet.
      - Each entry is a dict with C(key) (the API filter key, for example C(KeyState)) and C(values) (a list).
      - Entries with the same key, here or in the options above, are merged into one (the union of their values),
        as the API itself does. At most 10 distinct keys, at most 10 values each.
    type: list
    elements: dict
  page_size:
    description:
      - Keys per ListKeys page, from 1 to 100. Larger pages mean fewer requests; pages are fetched concurrently.
    type: int
    default: 100
  facets:
    description:
      - Attributes to learn for every key without one C(DescribeKey) per key, by one filtered listing per
        allowed value. Any of V(key_state), V(key_spec), V(key_usage), V(protection_level), V(creator_type)
        and V(dkms_instance_id).
      - Each becomes a field of the record; a key that no value claims gets C(null).
      - V(key_spec) is partitioned by the documented specs (V(Aliyun_AES_256), V(Aliyun_AES_192), V(Aliyun_AES_128),
        V(Aliyun_SM4), V(RSA_2048), V(RSA_3072), V(RSA_4096), V(EC_P256), V(EC_P256K), V(EC_SM2)) plus those in
        O(key_spec); V(dkms_instance_id) only
        by the instance IDs in O(dkms_instance_id), the set of instances being open.
    type: list
    elements: str
  details:
    description:
      - Call C(DescribeKey) for every key and add its C(KeyMetadata) to the record in snake_case
        (creation date, description, rotation, deletion protection and the rest).
      - One request per key, paced by O(rate_limit).
    type: bool
    default: false
  aliases:
    description:
      - Add C(aliases), the list of each key's alias names (C(alias/...)), from the region-wide C(ListAliases) joined
        locally; about one request per 100 aliases per region, never one per key.
    type: bool
    default: false
  tags:
    description:
      - Add C(tags), a dict of each key's tag keys and values, from C(ListTagResources), 50 keys a request (and its
        C(NextToken) pages). Where a region does not offer it, C(ListResourceTags) is asked per key instead.
    type: bool
    default: false
  key_policy:
    description:
      - Add C(key_policy), the parsed default policy of each key in a KMS instance (C(GetKeyPolicy), one request per
        such key); null, without a request, for keys outside an instance.
      - Which keys are in an instance is the documented C(DKMSInstanceId), never the shape of a key ID. With
        O(details=true) DescribeKey gives it; otherwise C(ListKmsInstances) names the region's instances and one
        C(ListKeys) filtered by each finds their keys, and the records gain C(dkms_instance_id). The caller then needs
        C(kms:ListKmsInstances) too.
    type: bool
    default: false
  tag_filters:
    description:
      - Only keys that carry all these tags. A value may be a string, a list (any of them) or null (any value).
      - The service narrows the listing with the C(TagKey) and C(TagValue) filters where that is exact enough, and
        the tags fetched for every listed key decide, so the result is exact even where a region ignores those
        filters. At most 20 tags; keys must be non-empty strings.
    type: dict
"""
