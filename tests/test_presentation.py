"""Projector mode (fm.plotting.presentation): bigger text and lines everywhere, and exactly back."""

import matplotlib

matplotlib.use("Agg")

import matplotlib as mpl  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

import fmlib as fm  # noqa: E402
from fmlib import plotting as P  # noqa: E402


@pytest.fixture(autouse=True)
def _back_to_normal():
    yield
    P.presentation(False)


def _tick_size(fig):
    return fig.axes[0].get_xticklabels()[0].get_fontsize()


def test_text_and_lines_grow_and_the_palette_stays():
    before_font, before_rc = dict(P.FONT), mpl.rcParams.copy()
    normal = _tick_size(P.new_figure()[0])
    P.presentation()
    assert P.FONT == {k: round(v * 1.5) for k, v in before_font.items()}
    assert _tick_size(P.new_figure()[0]) == pytest.approx(1.5 * normal, abs=0.5)
    assert mpl.rcParams["font.size"] >= 16  # readable from the back of a room
    assert mpl.rcParams["lines.linewidth"] == pytest.approx(1.5 * before_rc["lines.linewidth"])
    colours = [c["color"] for c in mpl.rcParams["axes.prop_cycle"]]
    assert colours == list(P.PALETTE)  # the colour-blind-safe palette
    # an explorer built now has projector-sized titles
    ex = fm.widgets.flow_explorer(lambda x, t: -x, torch.randn(50, 2), steps=4)
    sizes = [t.get_fontsize() for ax in ex.figure.axes for t in [ax.title] if t.get_text()]
    assert sizes and min(sizes) >= round(before_font["title"] * 1.5)


def test_switching_back_restores_exactly_and_never_compounds():
    before_font, before_rc = dict(P.FONT), mpl.rcParams.copy()
    P.presentation()
    P.presentation()  # twice on is still 1.5x, not 2.25x
    assert P.FONT["title"] == round(before_font["title"] * 1.5)
    P.presentation(False)
    assert P.FONT == before_font
    assert {k: mpl.rcParams[k] for k in P._PROJECTOR_RC} == {
        k: before_rc[k] for k in P._PROJECTOR_RC
    }


def test_bad_arguments_name_what_was_expected():
    with pytest.raises(TypeError, match="on must be True or False"):
        P.presentation("yes")
    with pytest.raises(ValueError, match=r"scale must be a number in \[1, 4\]"):
        P.presentation(scale=0.5)
