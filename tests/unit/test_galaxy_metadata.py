"""galaxy.yml within what Galaxy's importer accepts (galaxy-importer 0.4.44, galaxy_importer/schema.py and constants.py).

`make publish-check` runs the importer itself on the built tarball; this catches a bad edit in a second, with the
limit that was broken named.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
GALAXY = yaml.safe_load((ROOT / "galaxy.yml").read_text())

# schema.py: MAX_LENGTH_AUTHOR, _LICENSE, _NAME, _NAMESPACE, _TAG, _URL, _VERSION; constants.py: MAX_TAGS_COUNT,
# NAME_REGEXP (names and tags); schema.py: REQUIRED_TAG_LIST (CHECK_REQUIRED_TAGS, as Automation Hub sets it)
MAX_AUTHOR, MAX_LICENSE, MAX_NAME, MAX_NAMESPACE, MAX_TAG, MAX_URL, MAX_VERSION = 64, 32, 64, 39, 64, 2000, 128
MAX_TAGS = 20
NAME = re.compile(r"^(?!.*__)[a-z][0-9a-z_]*$")
REQUIRED_TAGS = {"ai", "application", "cloud", "database", "eda", "infrastructure", "linux", "monitoring"}
REQUIRED_TAGS |= {"networking", "security", "storage", "tools", "windows"}


def test_names_and_version_fit():
    assert NAME.match(GALAXY["namespace"]) and len(GALAXY["namespace"]) <= MAX_NAMESPACE
    assert NAME.match(GALAXY["name"]) and len(GALAXY["name"]) <= MAX_NAME
    assert re.match(r"^\d+\.\d+\.\d+$", GALAXY["version"]) and len(GALAXY["version"]) <= MAX_VERSION


def test_authors_licenses_and_urls_fit():
    assert GALAXY["authors"] and all(len(a) <= MAX_AUTHOR for a in GALAXY["authors"]), GALAXY["authors"]
    assert all(len(name) <= MAX_LICENSE for name in GALAXY["license"]) and "license_file" not in GALAXY
    for field in ("repository", "documentation", "homepage", "issues"):
        assert GALAXY[field].startswith("https://") and len(GALAXY[field]) <= MAX_URL, field


def test_tags_fit_and_one_is_a_required_tag():
    tags = GALAXY["tags"]
    assert len(tags) <= MAX_TAGS and all(NAME.match(t) and len(t) <= MAX_TAG for t in tags), tags
    assert REQUIRED_TAGS & set(tags)


def test_the_license_file_is_the_gpl_3():
    assert (
        "GNU GENERAL PUBLIC LICENSE" in (ROOT / "LICENSE").read_text() and "Version 3" in (ROOT / "LICENSE").read_text()
    )


def test_readme_links_work_where_galaxy_renders_the_readme_alone():
    """Galaxy shows README.md without the rest of the tree: every link is absolute, and each repository page it
    names exists in this tree."""
    links = re.findall(r"\]\(([^)]+)\)", (ROOT / "README.md").read_text())
    assert links and all(link.startswith(("https://", "#")) for link in links), links
    prefix = GALAXY["repository"] + "/blob/main/"
    for link in links:
        if link.startswith(prefix):
            assert (ROOT / link[len(prefix) :].split("#")[0]).exists(), link
