"""Smoke test of the browser layer: a Play + IntSlider + Image explorer works in real JupyterLab."""

EXPLORER = ".fm-explorer.fm-smoke"


def test_smoke_explorer_reacts_to_slider_and_play(lab_page):
    page = lab_page
    page.open_notebook("fixtures/smoke.ipynb")
    page.run_all(timeout_s=60)
    assert page.errors() == []

    page.page.wait_for_selector(f"{EXPLORER} .noUi-handle", timeout=15_000)
    src_0 = page.wait_image_change(EXPLORER, None)  # the first picture is there
    assert page.slider_value(EXPLORER) == 0

    page.slider_step(EXPLORER, "ArrowRight")
    src_1 = page.wait_image_change(EXPLORER, src_0)
    assert page.slider_value(EXPLORER) == 1

    page.press_play(EXPLORER)
    page.wait_image_change(EXPLORER, src_1)
    # Play runs to the maximum (10) and stops there, so the screenshot below is deterministic.
    page.wait_slider_value(EXPLORER, 10)
    assert page.slider_value(EXPLORER) == 10

    page.screenshot("smoke-explorer")
    assert page.errors() == []
