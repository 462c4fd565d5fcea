"""The statistics charts keep a readable size in Chromium: no wider than their intrinsic width
on a desktop (the page stays a sensible height) and within the screen on a phone."""

from __future__ import annotations

import pytest

from tests.e2e.site import log_in, seed

SIZES = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 360, "height": 640}}

MEASURE = """() => [...document.querySelectorAll('svg.chart')].map((svg) => {
  const box = svg.getBoundingClientRect();
  const text = svg.querySelector('text');
  return {
    id: svg.id,
    width: box.width,
    height: box.height,
    viewBox: svg.viewBox.baseVal.width,
    font: text ? text.getBoundingClientRect().height : 0,
    fontSize: parseFloat(getComputedStyle(text || svg).fontSize) * box.width / svg.viewBox.baseVal.width,
  };
})"""


@pytest.mark.parametrize("size", list(SIZES))
def test_charts_are_sized_for_reading(app, live_server, page, size, tmp_path):
    seed(app)
    page.set_viewport_size(SIZES[size])
    log_in(page, live_server, "admin")
    page.goto(live_server + "/stats/")
    charts = page.evaluate(MEASURE)
    height = page.evaluate("document.documentElement.scrollHeight")
    path = tmp_path / f"stats-{size}.png"
    page.screenshot(path=str(path), full_page=True)
    print(size, "page height", height, charts, path)
    assert len(charts) == 8
    for chart in charts:
        # Text drawn at 12 user units shows at 12 to 15 px, never blown up to 45.
        assert 11 <= chart["fontSize"] <= 15, chart
        assert chart["width"] <= min(400, SIZES[size]["width"] - 20), chart
    # Each chart with its table takes about half a desktop screen (five charts fitted in 2,600 px
    # and 4,200 on a phone; the labs' two and the venues' one came later): the bound is per chart.
    limit = len(charts) * {"desktop": 520, "phone": 840}[size]
    assert height <= limit, height
