"""tools/i18n.py, the Chinese edition: on a small made-up course, then on the repository itself."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from helpers import tool

ROOT = Path(__file__).resolve().parents[1]
i18n = tool("i18n")

INTRO = "# 6.9 小节 · A section\n\nThe field $u_t(x)$ moves 2000 points; see the [glossary](glossary.md)."
INTRO_ZH = "# 6.9 小节 · A section\n\n向量场 $u_t(x)$ 推动 2000 个点；见[术语表](glossary.md)。"
NOTE = (
    "> **A note on the text.** The chapter says “直线路径” (Section 6.9); we measured 3 crossings."
)
NOTE_ZH = "> **关于正文的说明。** 教材说“直线路径”（6.9 节）；我们测得 3 次交叉。"
CONFIGURE = 'import fmlib as fm\ninfo = fm.configure(seed=0, requires="0.4")'


@pytest.fixture
def course(tmp_path: Path) -> Path:
    """A course with one notebook (two markdown cells, two code cells), a glossary and a README."""
    (tmp_path / "notebooks").mkdir()
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell(INTRO, id="intro"),
        nbformat.v4.new_code_cell(CONFIGURE, id="setup"),
        nbformat.v4.new_markdown_cell(NOTE + "\n\nBack to the [README](../README.md).", id="note"),
        nbformat.v4.new_code_cell("x = 1 + 1", id="work"),
    ]
    nbformat.write(nb, tmp_path / "notebooks" / "6_9_section.ipynb")
    (tmp_path / "notebooks" / "glossary.md").write_text("# Glossary\n\nflow: 流\n")
    (tmp_path / "README.md").write_text(
        "# Course\n\nRun `make lab`.\n\n## Tests\n\n1468 tests; see [6.9](notebooks/6_9_section.ipynb)"
        " in [the notebooks](notebooks/).\n"
    )
    return tmp_path


def translate_all(root: Path) -> None:
    src = "notebooks/6_9_section.ipynb"
    assert i18n.set_translation(src, "intro", INTRO_ZH, root) == []
    note = NOTE_ZH + "\n\n回到 [README](../README.md)。"
    assert i18n.set_translation(src, "note", note, root) == []
    i18n.set_translation("notebooks/glossary.md", "# Glossary", "# 术语表\n\nflow: 流\n", root)
    i18n.set_translation("README.md", "# Course", "# 课程\n\n运行 `make lab`。\n", root)
    readme = "## 测试 · Tests\n\n1468 个测试；见[笔记本](notebooks/)中的 [6.9](notebooks/6_9_section.ipynb)。\n"
    assert i18n.set_translation("README.md", "## Tests", readme, root) == []


def write_edition(root: Path) -> None:
    i18n.write(i18n.edition(root), root)
    i18n.write(i18n.derived(root), root)


def test_skeleton_lists_every_markdown_cell_and_section(course):
    added, dropped = i18n.skeleton("notebooks/6_9_section.ipynb", course)
    assert (added, dropped) == (2, [])
    assert i18n.skeleton("README.md", course) == (2, [])
    status = i18n.status("notebooks/6_9_section.ipynb", course)
    assert [key for key, _, _ in status["missing"]] == ["intro", "note"]


def test_a_translated_course_checks_clean_and_the_chinese_notebook_is_right(course):
    translate_all(course)
    write_edition(course)
    assert i18n.check(course) == []
    en = nbformat.read(course / "notebooks" / "6_9_section.ipynb", as_version=4)
    zh = nbformat.read(course / "zh" / "notebooks" / "6_9_section.ipynb", as_version=4)
    assert zh.cells[0].id == i18n.BANNER_ID and "请勿直接编辑" in zh.cells[0].source
    body = zh.cells[1:]
    assert [c.id for c in body] == [c.id for c in en.cells]
    # code cells identical, except that the opening cell asks fmlib for Chinese
    assert body[1].source == CONFIGURE.replace('requires="0.4")', 'requires="0.4", lang="zh")')
    assert body[3].source == en.cells[3].source
    assert body[0].source == INTRO_ZH  # a link to a page with a Chinese twin stays beside it
    # a link to the README goes to the Chinese README, two folders up from zh/notebooks
    assert "](../../README.zh-CN.md)" in body[2].source
    readme = (course / "README.zh-CN.md").read_text()
    assert "1468 个测试" in readme and "](zh/notebooks/6_9_section.ipynb)" in readme
    assert "[笔记本](zh/notebooks/)" in readme  # a folder of the edition: its Chinese twin
    errata = (course / "zh" / "notebooks" / "errata.md").read_text()
    assert "## 6.9" in errata and "「直线路径」" in errata and "3 次交叉" in errata


def test_editing_one_english_sentence_makes_the_check_fail_until_it_is_translated(course):
    translate_all(course)
    write_edition(course)
    path = course / "notebooks" / "6_9_section.ipynb"
    nb = nbformat.read(path, as_version=4)
    nb.cells[0].source = nb.cells[0].source.replace("moves 2000 points", "moves 3000 points")
    nbformat.write(nb, path)
    failures = i18n.check(course)
    assert any("intro: stale" in f for f in failures), failures
    stale = i18n.status("notebooks/6_9_section.ipynb", course)["stale"]
    assert [key for key, _, _ in stale] == ["intro"]
    # the fix: translate the new English (the tool stores its hash), write the edition again
    problems = i18n.set_translation("notebooks/6_9_section.ipynb", "intro", INTRO_ZH, course)
    assert problems == ["numbers of the English missing from the Chinese: ['3000']"]
    i18n.set_translation(
        "notebooks/6_9_section.ipynb", "intro", INTRO_ZH.replace("2000", "3000"), course
    )
    write_edition(course)
    assert i18n.check(course) == []


def test_the_check_finds_a_missing_translation_a_hand_edit_and_a_stray_file(course):
    translate_all(course)
    write_edition(course)
    readme = course / "README.zh-CN.md"
    readme.write_text(readme.read_text() + "\n手工添加的一行。\n")
    (course / "zh" / "notebooks" / "6_8_old.ipynb").write_text("{}")
    data = i18n.load("README.md", course)
    data["entries"] = [e for e in data["entries"] if e["key"] != "## Tests"]
    i18n.save("README.md", data, course)
    failures = "\n".join(i18n.check(course))
    assert "## Tests: no translation" in failures
    assert "README.zh-CN.md: differs from what `make i18n` writes" in failures
    assert "zh/notebooks/6_8_old.ipynb: no English source" in failures


@pytest.mark.parametrize(
    "zh, complaint",
    [
        (INTRO_ZH.replace("$u_t(x)$", "$u(x)$"), "formulas differ"),
        (INTRO_ZH.replace("](glossary.md)", "](terms.md)"), "link targets differ"),
        (INTRO_ZH.replace("2000", "两千"), "numbers of the English missing"),
    ],
)
def test_a_translation_keeps_formulas_links_and_numbers(zh, complaint):
    problems = i18n.problems_of(INTRO, zh)
    assert len(problems) == 1 and complaint in problems[0], problems
    assert i18n.problems_of(INTRO, INTRO_ZH) == []


def test_sections_cut_a_page_at_headings_but_not_inside_code():
    page = "intro\n# A\ntext\n```\n# not a heading\n```\n## B\n## B\n"
    keys = [key for key, _ in i18n.sections(page)]
    assert keys == ["(preamble)", "# A", "## B", "## B #2"]
    assert "".join(body for _, body in i18n.sections(page)) == page


def test_set_refuses_a_key_the_source_does_not_have(course):
    with pytest.raises(SystemExit, match="no markdown cell or section 'nope'"):
        i18n.set_translation("notebooks/6_9_section.ipynb", "nope", "x", course)


# --- the repository's own Chinese edition --------------------------------------------------------


def test_the_chinese_edition_is_current():
    """Every markdown cell of every notebook and every section of the translated pages has a
    current translation, and the files in zh/ are exactly what `make i18n` writes."""
    failures = i18n.check(ROOT)
    assert not failures, "\n".join(failures[:20]) + f"\n({len(failures)} in all; `make i18n`)"


def test_every_chinese_notebook_has_the_english_code_and_asks_for_chinese():
    for src in i18n.notebook_sources(ROOT):
        en = json.loads((ROOT / src).read_text())
        zh = json.loads((ROOT / i18n.target(src)).read_text())
        en_code = [("".join(c["source"])) for c in en["cells"] if c["cell_type"] == "code"]
        zh_code = [("".join(c["source"])) for c in zh["cells"] if c["cell_type"] == "code"]
        changed = [(a, b) for a, b in zip(en_code, zh_code, strict=True) if a != b]
        assert len(changed) == 1, (src, changed)
        en_cell, zh_cell = changed[0]
        assert "fm.configure(" in en_cell and zh_cell.replace(', lang="zh"', "", 1) == en_cell, src
        assert zh["metadata"]["fmlib_i18n"] == {"lang": "zh_CN", "source": src}


def test_a_formula_that_goes_on_to_the_next_line_is_one_formula():
    en = "The field $v_w = v(\\cdot, \\varnothing) + w\\,(v(\\cdot, c) -\nv(\\cdot, \\varnothing))$ of 6.5.3."
    zh = "6.5.3 节的场 $v_w = v(\\cdot, \\varnothing) + w\\,(v(\\cdot, c) - v(\\cdot, \\varnothing))$。"
    assert i18n.problems_of(en, zh) == []
    assert i18n.problems_of(en, zh.replace("w\\,", "")) != []
    # never across a paragraph break: two lone dollars there are no formula
    assert not i18n.math_spans("costs $5\n\nand $6")


def test_the_chinese_errata_page_has_every_note_on_the_text():
    """Each note of the English notebooks is a note of the Chinese ones (the marker translated as
    the tool expects), under the same section, quoting the chapter."""
    errata = tool("errata")
    en = sorted((n.notebook.split("/")[-1], n.cell_id, n.section) for n in errata.all_notes())
    zh_notes = [
        n for p in sorted((ROOT / "zh" / "notebooks").glob("6_*.ipynb")) for n in errata.notes_in(p)
    ]
    zh = sorted((n.notebook.split("/")[-1], n.cell_id, n.section) for n in zh_notes)
    assert zh == en
    assert all(n.quotes for n in zh_notes), [n.cell_id for n in zh_notes if not n.quotes]
