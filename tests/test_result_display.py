"""A Result in a notebook: a short repr, a small HTML table, plot() returns the dashboard."""

from __future__ import annotations

import dataclasses
from html.parser import HTMLParser

import matplotlib
import pytest
from matplotlib.figure import Figure

from deleverage.result import Result
from deleverage.scenarios import load_preset
from deleverage.simulate import simulate

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def one() -> Result:
    return simulate(load_preset("default-hour"), seed=1, progress=False)


@pytest.fixture(scope="module")
def two() -> Result:
    world = load_preset("crypto-cascade-2025").scaled(0.02).with_steps(3600)
    return simulate(world, seed=0, progress=False)


def _drawdown(prices: list[float]) -> float:
    """The largest fall from a running peak, by a plain loop (the oracle)."""
    peak, worst = prices[0], 0.0
    for p in prices:
        peak = max(peak, p)
        worst = max(worst, 1.0 - p / peak)
    return worst


class _Cells(HTMLParser):
    """The rows of the first HTML table: header cells and data cells, as text."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: object) -> None:
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def test_repr_is_one_short_line_of_headline_figures(one: Result) -> None:
    text = repr(one)
    last = one.series["GOLD"]["last"].tolist()
    liquidated = int(
        (one.series["GOLD"]["liquidated_long"] + one.series["GOLD"]["liquidated_short"]).sum()
    )
    assert "\n" not in text
    assert len(text) < 200
    assert text.startswith("<Result 'default-hour' seed 1: 1,354 accounts, 3,600 steps of 1 s; ")
    assert f"max drawdown {_drawdown(last):.2%}" in text
    assert f"{liquidated:,} accounts liquidated" in text
    assert "interrupted" not in text


def test_html_is_the_headline_table_of_each_instrument(two: Result) -> None:
    page = two._repr_html_()
    assert len(page) < 4000  # a small table, not every field
    cells = _Cells()
    cells.feed(page)
    header, *rows = cells.rows
    names = [inst.name for inst in two.scenario.instruments]
    assert header == ["", *names]
    table = {row[0]: row[1:] for row in rows}
    for k, name in enumerate(names):
        last = two.series[name]["last"].tolist()
        assert table["peak price"][k] == f"{max(last):,.2f}"
        assert table["final price"][k] == f"{last[-1]:,.2f}"
        assert table["max drawdown"][k] == f"{_drawdown(last):.2%}"
    assert "3,600 steps of 1 s" in page


def test_an_interrupted_result_says_so(one: Result) -> None:
    world = one.scenario
    short = simulate(world.with_steps(1000), seed=1, progress=False)
    partial = dataclasses.replace(short, scenario=world)  # 1,000 of the world's 3,600 steps
    assert not partial.complete
    assert "1,000 of 3,600 steps of 1 s (interrupted)" in repr(partial)
    assert "1,000 of 3,600 steps of 1 s (interrupted)" in partial._repr_html_()


def test_plot_returns_the_dashboard_outside_pyplot(one: Result) -> None:
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    fig = one.plot()
    assert isinstance(fig, Figure)
    assert plt.get_fignums() == before  # no window, nothing left open
    drawn = [ax for ax in fig.axes if ax.axison]
    assert len(drawn) >= 5
    assert fig.get_suptitle().startswith("default-hour: seed 1, 1,354 accounts")
