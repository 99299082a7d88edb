"""fmlib.tables: self-printing tables (text and HTML), built from columns or rows."""

import math

import pytest
import torch

from fmlib import tables


def test_text_table_is_aligned_and_formatted():
    t = tables.table(
        {"steps": [2, 128], "Euler": [0.1, 1e-3], "method": ["a", "bb"]},
        formats={"Euler": ".2e"},
        title="round trip",
    )
    assert str(t).splitlines() == [
        "round trip",
        "steps     Euler  method",
        "    2  1.00e-01  a",
        "  128  1.00e-03  bb",
    ]
    assert t["Euler"] == [0.1, 1e-3] and t.rows[1] == (128, 1e-3, "bb") and len(t) == 2
    html = t._repr_html_()
    assert html.count("<tr>") == 3 and "<caption>round trip</caption>" in html


def test_rows_tensors_and_defaults():
    t = tables.table([{"name": "x", "value": torch.tensor(math.pi)}, {"name": "<y>"}])
    assert str(t).splitlines()[1:] == ["x     3.142", "<y>"]
    assert "&lt;y&gt;" in t._repr_html_()
    assert tables.format_value(float("inf")) == "inf" and tables.format_value(0.25, ".0%") == "25%"


def test_bad_tables():
    with pytest.raises(ValueError, match="equal lengths"):
        tables.table({"a": [1, 2], "b": [1]})
    with pytest.raises(ValueError, match="formats"):
        tables.table({"a": [1]}, formats={"b": ".2f"})
    with pytest.raises(TypeError, match="mapping"):
        tables.table({})
    with pytest.raises(TypeError, match="rows"):
        tables.table([1, 2])
