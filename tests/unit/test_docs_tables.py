"""The generated parts of the docs pages (make bench, make test-matrix) are replaced, the rest kept."""

from __future__ import annotations

import pytest

from utils import docs_tables


def test_only_the_marked_part_is_replaced(tmp_path, monkeypatch):
    monkeypatch.setattr(docs_tables, "DOCS", tmp_path)
    page = tmp_path / "page.rst"
    page.write_text("Intro\n\n.. generated: results\n\nold\n\n.. end generated: results\n\nOutro\n")
    docs_tables.write_generated("page", "results", docs_tables.rst_table(["a", "b"], [["1", "2"]]))
    assert page.read_text() == (
        "Intro\n\n.. generated: results\n\n.. list-table::\n   :header-rows: 1\n\n   * - a\n     - b\n   * - 1\n     - 2\n"
        "\n.. end generated: results\n\nOutro\n"
    )
    with pytest.raises(ValueError, match="no generated part 'other'"):
        docs_tables.write_generated("page", "other", "x")


@pytest.mark.parametrize("page, name", [("performance", "results"), ("execution_environments", "matrix")])
def test_the_docs_pages_have_their_generated_parts(page, name):
    text = (docs_tables.DOCS / ("%s.rst" % page)).read_text()
    assert ".. generated: %s\n" % name in text and ".. end generated: %s\n" % name in text
