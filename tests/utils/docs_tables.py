"""Generated tables in the docs pages: `make bench` and `make test-matrix` write their results there.

A page marks the generated part with two RST comments, `.. generated: NAME` and `.. end generated: NAME`;
what lies between them is replaced, the rest of the page is left alone.
"""

from __future__ import annotations

import re
from pathlib import Path

DOCS = Path(__file__).resolve().parents[2] / "docs" / "docsite" / "rst"


def rst_table(header, rows):
    """An RST list-table of strings."""
    lines = [".. list-table::", "   :header-rows: 1", ""]
    for row in [header] + rows:
        lines += ["   * - %s" % row[0]] + ["     - %s" % cell for cell in row[1:]]
    return "\n".join(lines)


def write_generated(page, name, text):
    """Replace the part of docs/docsite/rst/PAGE.rst marked NAME with text; returns the page's path."""
    path = DOCS / ("%s.rst" % page)
    content = path.read_text(encoding="utf-8")
    pattern = re.compile(
        r"(\.\. generated: %s\n).*?(\n\.\. end generated: %s\n)" % (re.escape(name), re.escape(name)), re.S
    )
    if not pattern.search(content):
        raise ValueError("%s has no generated part %r" % (path, name))
    path.write_text(
        pattern.sub(lambda m: m.group(1) + "\n" + text.strip() + "\n" + m.group(2), content), encoding="utf-8"
    )
    return path
