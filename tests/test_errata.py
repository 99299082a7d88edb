"""The errata page (notebooks/errata.md) is generated from the notebooks' notes on the text."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _errata():
    spec = importlib.util.spec_from_file_location("errata", ROOT / "tools" / "errata.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["errata"] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


errata = _errata()


def _course(tmp_path: Path) -> Path:
    """A course of two notebooks with one note each, and its errata page written."""
    (tmp_path / "notebooks").mkdir()
    for name, note in [
        ("6_1_a.ipynb", '> **A note on the text.** Section 6.1.2 says "有偏的" (biased).'),
        ("6_2_b.ipynb", '> **Note on the text.** Section 6.2.3 says "最优传输路径".'),
    ]:
        nb = {"cells": [
            {"cell_type": "markdown", "id": "h", "metadata": {}, "source": "## 6.x heading"},
            {"cell_type": "markdown", "id": "n", "metadata": {}, "source": note},
        ]}  # fmt: skip
        (tmp_path / "notebooks" / name).write_text(json.dumps(nb), encoding="utf-8")
    assert errata.main(["--root", str(tmp_path)]) == 0
    return tmp_path


def _add_markdown(notebook: Path, text: str, cell_id: str = "new-note") -> None:
    nb = json.loads(notebook.read_text(encoding="utf-8"))
    nb["cells"].insert(2, {"cell_type": "markdown", "id": cell_id, "metadata": {}, "source": text})
    notebook.write_text(json.dumps(nb, ensure_ascii=False, indent=1), encoding="utf-8")


NEW_NOTE = (
    '> **A note on the text.** Section 6.2.1 says the cost is "一个测试用的句子" (a test\n'
    "> sentence). The cell above measures otherwise.\n"
)


def test_the_committed_errata_page_is_current_and_every_note_quotes_the_chapter(capsys):
    status = errata.main(["--check"])
    assert status == 0, capsys.readouterr().out + "\n(run `make errata`)"


def test_every_notebook_note_reaches_the_page():
    notes = errata.all_notes()
    page = (ROOT / errata.PAGE).read_text(encoding="utf-8")
    assert len(notes) >= 5, "the notebooks hold at least five notes on the text"
    for note in notes:
        assert note.text in page, f"{note.notebook} cell {note.cell_id} is not on the page"


def test_a_note_added_to_a_notebook_makes_the_check_fail_until_the_page_is_written(tmp_path):
    root = _course(tmp_path)
    assert errata.main(["--check", "--root", str(root)]) == 0
    _add_markdown(root / "notebooks" / "6_2_b.ipynb", NEW_NOTE)
    assert errata.main(["--check", "--root", str(root)]) == 1
    assert errata.main(["--root", str(root)]) == 0
    assert errata.main(["--check", "--root", str(root)]) == 0
    page = (root / errata.PAGE).read_text(encoding="utf-8")
    lines = page.splitlines()
    at = lines.index("### 「一个测试用的句子」")
    assert lines[at - 2] == "## 6.2.1", "a note sits under its section's heading"
    entry = "\n".join(lines[at + 1 : lines.index("## 6.2.3")])
    assert "a test sentence" in entry.replace("\n", " ") and "(6_2_b.ipynb)" in entry, entry
    sections = [line.split()[1] for line in lines if line.startswith("## ")]
    assert sections == ["6.1.2", "6.2.1", "6.2.3"], "notes follow the chapter's order"


def test_a_note_without_the_chapters_chinese_words_is_refused(tmp_path):
    root = _course(tmp_path)
    _add_markdown(
        root / "notebooks" / "6_1_a.ipynb",
        "> **Note on the text.** Section 6.3.1 says something in English only.\n",
    )
    assert errata.main(["--root", str(root)]) == 1
    problems = errata.problems(errata.all_notes(root))
    assert len(problems) == 1 and "6.3.1" in problems[0], problems
    assert errata.main(["--check", "--root", str(root)]) == 1


@pytest.mark.parametrize(
    "source, expected",
    [
        ("> **A note on the text.** Section 6.4.1 writes \"概率流\".", ["6.4.1"]),
        ("> **Note on the text.** \"向量场\" is used twice.", ["6"]),  # no section named: the heading's
        ("A paragraph that mentions a note on the text in passing.", []),
        ("> **A note on the text.** One.\n\nText between.\n\n> **A note on the text.** Two \"二\".",
         ["6", "6"]),
        # a paragraph that opens with the marker is a note up to its blank line; a subject may
        # follow the marker after a colon; the Chinese notebooks' marker, with "6.2.3 节"
        ("**Note on the text.** Section 6.3.3 says 「等价」.\nStill the note.\n\nNot the note 6.5.",
         ["6.3.3"]),
        ('> **A note on the text: "a subject".** Section 6.2.3 says 「路径」.', ["6.2.3"]),
        ("> **关于正文的说明。** 教材 6.2.3 节说「路径」。", ["6.2.3"]),
    ],
)  # fmt: skip
def test_notes_are_found_as_blockquotes_that_open_with_the_marker(tmp_path, source, expected):
    nb = {"cells": [{"cell_type": "markdown", "id": "a", "metadata": {}, "source": source}]}
    path = tmp_path / "notebooks" / "6_9_x.ipynb"
    path.parent.mkdir()
    path.write_text(json.dumps(nb), encoding="utf-8")
    assert [n.section for n in errata.notes_in(path, tmp_path)] == expected
