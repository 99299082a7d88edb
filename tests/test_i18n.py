"""fmlib.i18n: every string fmlib shows a student has its Chinese, Chinese output when asked for,
English byte-identical otherwise, and figures whose Chinese text is drawn with a CJK font.

The catalogue is checked against the source (every ``t("...")`` call found with ``ast``), not
against itself: a key used but missing, a key no longer used, or a placeholder lost in the
translation fails here.
"""

import matplotlib

matplotlib.use("Agg")

import ast  # noqa: E402
import os  # noqa: E402
import re  # noqa: E402
import string  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
import torch  # noqa: E402
from helpers import randn  # noqa: E402
from matplotlib import font_manager  # noqa: E402

import fmlib as fm  # noqa: E402
from fmlib import i18n, runtime, tables  # noqa: E402
from fmlib.checks import check_divergence  # noqa: E402

FMLIB = Path(fm.__file__).parent


@pytest.fixture(autouse=True)
def english_afterwards():
    """Every test leaves fmlib (and matplotlib's fonts) in English, whatever it chose."""
    yield
    i18n.set_language("en")


def _is_t(func: ast.expr) -> bool:
    """``t(...)``, ``_t(...)`` (the name fmlib's modules import it as) or ``i18n.t(...)``."""
    if isinstance(func, ast.Name):
        return func.id in ("t", "_t")
    return (
        isinstance(func, ast.Attribute)
        and func.attr == "t"
        and isinstance(func.value, ast.Name)
        and func.value.id == "i18n"
    )


def _calls() -> tuple[dict[str, list[str]], list[str]]:
    """{key: [where used]} of every ``t("...")`` in fmlib, and the calls whose key is not a literal."""
    keys: dict[str, list[str]] = {}
    dynamic = []
    for path in sorted(FMLIB.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and _is_t(node.func) and node.args:
                where = f"{path.relative_to(FMLIB.parent)}:{node.lineno}"
                first = node.args[0]
                if isinstance(first, ast.Constant) and isinstance(first.value, str):
                    keys.setdefault(first.value, []).append(where)
                else:
                    dynamic.append(where)
    return keys, dynamic


def _placeholders(template: str) -> set[tuple[str, str | None, str]]:
    """The ``{name!conversion:spec}`` fields of a ``str.format`` template."""
    return {
        (name, conversion, spec)
        for _, name, spec, conversion in string.Formatter().parse(template)
        if name is not None
    }


def test_the_scan_finds_the_calls_it_should():
    keys, _ = _calls()
    # one key from each kind of module: a check, a table's module's neighbours, a figure, an explorer
    assert "✔ {name}: correct" in keys
    assert "RMS error at t = 1" in keys
    assert "v_t and particles, t = {t:.2f}" in keys
    assert any("checks/exercise_6_2.py" in w for ws in keys.values() for w in ws)
    assert len(keys) > 200


def test_every_key_used_in_fmlib_has_chinese_with_the_same_placeholders():
    keys, dynamic = _calls()
    assert dynamic == [], f"t() with a key that is not a string literal (uncheckable): {dynamic}"
    missing = {k: w for k, w in keys.items() if k not in i18n.ZH}
    assert missing == {}, f"keys without a Chinese entry: {missing}"
    differ = {
        k: (sorted(_placeholders(k)), sorted(_placeholders(v)))
        for k, v in i18n.ZH.items()
        if _placeholders(k) != _placeholders(v)
    }
    assert differ == {}, f"entries whose placeholders differ from their key's: {differ}"
    # and a translation is a translation: Chinese characters, unless it is all notation
    untranslated = [
        k for k, v in i18n.ZH.items() if v == k and re.search(r"[a-z]{3,}", re.sub(r"{.*?}", "", k))
    ]
    assert untranslated == []


def test_no_chinese_entry_is_unused():
    keys, _ = _calls()
    unused = sorted(set(i18n.ZH) - set(keys))
    assert unused == [], f"catalogue entries no t() call uses: {unused}"


def _notebook_strings() -> set[str]:
    """Every string literal in the code cells of the shipped notebooks (parsed with ``ast``)."""
    import json

    out = set()
    for path in sorted((FMLIB.parent / "notebooks").glob("*.ipynb")):
        for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
            if cell["cell_type"] != "code":
                continue
            lines = "".join(cell["source"]).splitlines()
            source = "\n".join(s for s in lines if not s.lstrip().startswith(("%", "!")))
            for node in ast.walk(ast.parse(source)):
                if isinstance(node, ast.Constant) and isinstance(node.value, str):
                    out.add(node.value)
    return out


def test_every_notebook_term_is_written_in_a_notebook_and_translated():
    strings = _notebook_strings()
    assert len(strings) > 300  # the scan reads the notebooks' code
    stale = sorted(set(i18n.TERMS) - strings)
    assert stale == [], f"TERMS entries no notebook writes any more: {stale}"
    # Chinese characters, or at least Chinese punctuation ("FM，ODE"), or the × of "x floor"
    chinese = r"[\u4e00-\u9fff\u3000-\u303f\uff00-\uffef×]"
    assert [k for k, v in i18n.TERMS.items() if not re.search(chinese, v)] == []
    # one meaning per English name: TERMS does not contradict the catalogue
    assert {k: v for k, v in i18n.TERMS.items() if i18n.ZH.get(k, v) != v} == {}


def test_a_missing_entry_falls_back_to_english():
    i18n.set_language("zh")
    assert i18n.t("not in the catalogue: {x:.2f}", x=1.0) == "not in the catalogue: 1.00"
    assert i18n.term("a column name nobody translated") == "a column name nobody translated"


# --------------------------------------------------------------------------------------------
# what a student sees: Chinese with lang="zh", the same English as before with lang="en"
# --------------------------------------------------------------------------------------------


def divergence(v, x, t):
    """The exact divergence by autograd, written here (the answer a student would give)."""
    x = x.detach().requires_grad_(True)
    out = v(x, t)
    return sum(
        torch.autograd.grad(out[:, i].sum(), x, create_graph=True)[0][:, i]
        for i in range(x.shape[1])
    ).detach()


def test_checks_speak_the_chosen_language(capsys):
    fm.configure(seed=0, lang="zh")
    capsys.readouterr()
    assert check_divergence(divergence, seed=1)
    assert capsys.readouterr().out == "✔ divergence：正确。它需要 D 次反向传播。\n"
    wrong = check_divergence(lambda v, x, t: -divergence(v, x, t), seed=1)
    assert not wrong and "符号反了：你返回的是期望值的相反数" in wrong.message
    assert wrong.message.startswith("✘ divergence：线性场，D = ")
    todo = check_divergence(lambda v, x, t: (_ for _ in ()).throw(NotImplementedError()), seed=1)
    assert todo.message == (
        "✘ divergence：尚未实现：请把 `raise NotImplementedError()` 换成你自己的代码"
    )
    # a constant answer: the hint found across cases, in Chinese too
    const = check_divergence(lambda v, x, t: torch.full((x.shape[0],), 0.5), seed=1)
    assert "无论输入是什么，你的函数都返回 0.5" in const.message

    fm.configure(seed=0, lang="en")
    capsys.readouterr()
    assert check_divergence(divergence, seed=1)
    assert capsys.readouterr().out == "✔ divergence: correct. It costs D backward passes.\n"
    wrong = check_divergence(lambda v, x, t: -divergence(v, x, t), seed=1)
    assert re.fullmatch(
        r"✘ divergence: linear field, D = \d: wrong sign: you return minus the expected value",
        wrong.message,
    )
    todo = check_divergence(lambda v, x, t: (_ for _ in ()).throw(NotImplementedError()), seed=1)
    assert todo.message == (
        "✘ divergence: not implemented yet: replace `raise NotImplementedError()` with your code"
    )
    const = check_divergence(lambda v, x, t: torch.full((x.shape[0],), 0.5), seed=1)
    assert const.message == (
        "✘ divergence: your function returns 0.5 whatever the input (a constant?)"
    )


def test_tables_show_known_names_in_chinese_aligned_by_display_width():
    columns = {"RMS error": [0.5, 0.125], "method": ["midpoint", "RK4"]}
    i18n.set_language("zh")
    tab = tables.table(columns, formats={"RMS error": ".3f"}, title="error vs cost")
    # a wide character takes two columns: "均方根误差" is 10 wide, "方法" 4, "中点法" 6
    assert str(tab) == "误差与计算量\n均方根误差  方法\n     0.500  中点法\n     0.125  RK4"
    assert '<th style="text-align:right">均方根误差</th>' in tab._repr_html_()
    assert "<caption>误差与计算量</caption>" in tab._repr_html_()
    assert tab["RMS error"] == [0.5, 0.125]  # the code's name still reads the column
    assert tab["method"] == ["midpoint", "RK4"]
    i18n.set_language("en")
    assert str(tab) == "error vs cost\nRMS error  method\n    0.500  midpoint\n    0.125  RK4"


def test_configure_and_finish_speak_the_chosen_language(capsys):
    fm.configure(seed=3, lang="zh")
    line = capsys.readouterr().out
    assert "设备: cpu" in line and "随机种子: 3" in line and "torch 线程数: 1" in line
    runtime.finish(budget_s=1e9, memory_budget_mib=1e9)
    text = capsys.readouterr().out
    assert re.fullmatch(
        r"笔记本运行时间：墙钟 \d+ 秒，CPU \d+ 秒，折合全速 \d+ 秒（机器比空闲时慢 [\d.]+ 倍；"
        r"预算 1000000000 秒）；内核内存峰值 \d+ MiB（预算 1000000000 MiB）\n",
        text,
    )
    with pytest.raises(AssertionError, match="超出内存预算"):
        runtime.finish(budget_s=1e9, memory_budget_mib=1.0)
    capsys.readouterr()

    fm.configure(seed=3, lang="en")
    line = capsys.readouterr().out
    assert re.fullmatch(
        r"python: \S+  torch: \S+  fmlib: \S+  device: cpu  torch threads: 1  cpu cores: \d+  "
        r"seed: 3\n",
        line,
    )
    runtime.finish(budget_s=1e9, memory_budget_mib=1e9)
    assert re.fullmatch(
        r"notebook run time: \d+ s wall, \d+ s CPU, \d+ s at full speed \(the machine ran "
        r"[\d.]+x slower than when quiet; budget 1000000000 s\); peak kernel memory \d+ MiB "
        r"\(budget 1000000000 MiB\)\n",
        capsys.readouterr().out,
    )
    with pytest.raises(AssertionError, match="^over the memory budget: "):
        runtime.finish(budget_s=1e9, memory_budget_mib=1.0)


def spin(x, t):
    return 2 * t * torch.stack([-x[:, 1], x[:, 0]], dim=1)


def _texts(explorer) -> list[str]:
    figure = explorer.figure
    out = [figure._suptitle.get_text()] if figure._suptitle is not None else []
    for ax in figure.axes:
        out += [ax.get_title(), ax.get_xlabel(), ax.get_ylabel()]
        legend = ax.get_legend()
        out += [t.get_text() for t in legend.get_texts()] if legend is not None else []
    return [s for s in out if s]


@pytest.mark.filterwarnings("error:Glyph")
def test_explorers_label_their_figures_in_the_chosen_language():
    from fmlib import widgets as W
    from fmlib.widgets import client as C

    x_0 = randn(30, dtype=torch.float32)
    fm.configure(seed=0, lang="zh", verbose=False)
    ex = W.flow_explorer(spin, x_0, steps=10)
    ex.update(t=0.5)
    assert _texts(ex) == ["向量场 v_t 与粒子，t = 0.50", "粒子直方图，t = 0.50"]
    div = W.divergence_explorer(n=50, steps=4)
    div.update(t=0.25)
    texts = _texts(div)
    assert "t = 0.25 时的散度 div v 与向量场 v" in texts and "粒子处的概率密度" in texts
    assert "外部" in texts and "p_t(x_t) 的均值" in texts
    spec = C.export(ex)["spec"]
    assert spec["ui"]["play"] == "播放" and "WenQuanYi Micro Hei" in spec["ui"]["font"]
    assert spec["ui"]["font"].endswith("sans-serif")
    hutch = W.hutchinson_explorer(lambda x, t: 2 * x, x_0, k_max=4)
    hutch.update(k=2)
    assert _texts(hutch)[:3] == ["高斯探针，k = 2", "精确散度 div v", "Hutchinson 估计"]
    assert hutch.controls["probe"].description == "探针"

    fm.configure(seed=0, lang="en", verbose=False)
    ex = W.flow_explorer(spin, x_0, steps=10)
    ex.update(t=0.5)
    assert _texts(ex) == ["v_t and particles, t = 0.50", "particle histogram, t = 0.50"]
    div = W.divergence_explorer(n=50, steps=4)
    div.update(t=0.25)
    texts = _texts(div)
    assert "div v and v at t = 0.25" in texts and "density of the particles" in texts
    assert "outside" in texts and "mean p_t(x_t)" in texts
    assert C.export(ex)["spec"]["ui"] == {
        "play": "play",
        "pause": "pause",
        "trails": "trails",
        "keys": "Space: play or pause; arrow keys: step t",
        "font": "13px sans-serif",
    }


# --------------------------------------------------------------------------------------------
# figures: a CJK font, no missing glyphs, the minus sign, and English fonts back afterwards
# --------------------------------------------------------------------------------------------

# CI installs the font (.ci/run) and sets FMLIB_REQUIRE_BROWSER: there a missing font fails
needs_cjk = pytest.mark.skipif(
    i18n.cjk_font() is None and not os.environ.get("FMLIB_REQUIRE_BROWSER"),
    reason=f"no CJK font installed (any of {i18n.CJK_FONTS}; apt-get install fonts-wqy-microhei)",
)


@needs_cjk
def test_a_chinese_figure_draws_every_glyph_with_the_cjk_font(tmp_path):
    from fmlib import plotting as P

    before = matplotlib.rcParams["font.sans-serif"][:]
    i18n.set_language("zh")
    fig, ax = P.new_figure()
    P.draw_series(ax, [-1.0, 0.0, 1.0], {"均方根误差": [-2.0, 0.5, 1.5]}, title="散度与似然")
    P.label_axes(ax, "时间 t", "对数密度 log p_t")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "Glyph ... missing from font(s)" becomes a failure
        png = P.png_bytes(fig)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    expected = font_manager.findfont(
        font_manager.FontProperties(family=i18n.cjk_font()), fallback_to_default=False
    )
    assert font_manager.findfont(ax.title.get_fontproperties()) == expected
    # negative tick labels: U+2212 if the font has it, else the ASCII hyphen; never a box
    ticks = [
        t.get_text() for t in ax.get_yticklabels() if t.get_text().lstrip("−-") != t.get_text()
    ]
    assert ticks, "the figure has negative ticks to check"
    sign = "−" if matplotlib.rcParams["axes.unicode_minus"] else "-"
    assert all(t.startswith(sign) for t in ticks)
    i18n.set_language("en")
    assert matplotlib.rcParams["font.sans-serif"] == before


def test_a_chinese_figure_without_english_fonts_switched_is_caught():
    """The check above can fail: Chinese drawn with DejaVu Sans warns of missing glyphs."""
    from fmlib import plotting as P

    fig, ax = P.new_figure()
    ax.set_title("散度", family="DejaVu Sans")
    with warnings.catch_warnings(), pytest.raises(UserWarning, match="missing from font"):
        warnings.simplefilter("error")
        P.png_bytes(fig)


def test_no_cjk_font_warns_and_leaves_the_fonts_alone(monkeypatch):
    before = matplotlib.rcParams["font.family"][:], matplotlib.rcParams["font.sans-serif"][:]
    monkeypatch.setattr(i18n, "CJK_FONTS", ("No Such Font SC",))
    with pytest.warns(UserWarning, match="No Such Font SC"):
        i18n.set_language("zh")
    assert (matplotlib.rcParams["font.family"], matplotlib.rcParams["font.sans-serif"]) == before


# --------------------------------------------------------------------------------------------
# bad input
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "lang, error, match",
    [
        (3, TypeError, "lang must be a string"),
        (None, TypeError, "lang must be a string"),
        ("fr", ValueError, r"lang must be one of \('en', 'zh'\); got 'fr'"),
        ("ZH", ValueError, "lang must be one of"),
    ],
)
def test_bad_lang_is_refused_and_changes_nothing(lang, error, match):
    i18n.set_language("zh")
    with pytest.raises(error, match=match):
        i18n.set_language(lang)
    with pytest.raises(error, match=match):
        fm.configure(seed=0, lang=lang, verbose=False)
    assert i18n.language() == "zh"
