"""A line chart (textual-plotext) the monitor draws its figures with: lines with a legend,
labelled ticks along the x axis, and a sentence in place of an empty chart. The widget
knows nothing of sales or prices: the screen gives it numbers and words."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.text import Text
from textual.app import RenderResult
from textual_plotext import PlotextPlot


@dataclass(frozen=True, slots=True)
class Series:
    label: str
    xs: Sequence[float]
    ys: Sequence[float]
    color: str | None = None


# Distinct on a dark and a light theme, and apart from each other without colour names
# a colour-blind supervisor must tell apart (blue/orange first).
COLORS = ("cyan", "orange", "magenta", "green", "yellow", "red")


class LineChart(PlotextPlot):
    DEFAULT_CSS = """
    LineChart { width: 1fr; height: 1fr; min-height: 8; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.series: tuple[Series, ...] = ()
        self.empty_text = ""
        self.chart_title = ""

    def draw(self, title: str, series: Sequence[Series], *,
             xticks: tuple[Sequence[float], Sequence[str]] | None = None,
             xlim: tuple[float, float] | None = None,
             ylim: tuple[float, float] | None = None, empty_text: str = "") -> None:
        """Replace what the chart shows. ``xticks``: positions and their labels (times
        formatted by the caller, in the casino's zone)."""
        self.chart_title = title
        self.series = tuple(s for s in series if len(s.xs))
        self.empty_text = empty_text
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        plt.title(title)
        for i, s in enumerate(self.series):
            plt.plot(list(s.xs), list(s.ys), label=s.label, marker="braille",
                     color=s.color or COLORS[i % len(COLORS)])
        if xticks is not None:
            plt.xticks(list(xticks[0]), list(xticks[1]))
        if xlim is not None:
            plt.xlim(*xlim)
        if ylim is not None:
            plt.ylim(*ylim)
        self.refresh()

    def render(self) -> RenderResult:
        if not self.series:
            return Text(f"{self.chart_title}\n\n{self.empty_text}".strip(),
                        justify="center")
        return super().render()
