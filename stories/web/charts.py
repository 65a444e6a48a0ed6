"""Chart geometry for SVG drawn on the server: no JavaScript library, no CDN, nothing fetched.

Functions here only compute positions; templates draw them (so Jinja escapes every label) and
static/dashboard.css colours them by class, as the app's CSP forbids inline styles.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

HEIGHT = 220
BAR = 12  # wide enough for a two-digit count written above the bar
GROUP_GAP = 12
LEFT, RIGHT, TOP, BOTTOM = 36, 8, 18, 34  # room for the axis ticks, value labels and period labels
MAX_TICKS = 5


@dataclass(frozen=True)
class Bar:
    series: str
    value: int
    x: float
    y: float
    width: float
    height: float

    @property
    def middle(self) -> float:
        return self.x + self.width / 2


@dataclass(frozen=True)
class Group:
    label: str
    x: float
    width: float
    bars: tuple[Bar, ...]

    @property
    def middle(self) -> float:
        return self.x + self.width / 2


@dataclass(frozen=True)
class Tick:
    value: int
    y: float


@dataclass(frozen=True)
class BarChart:
    width: float
    height: float
    left: float
    right: float
    baseline: float
    groups: tuple[Group, ...]
    ticks: tuple[Tick, ...]


@dataclass(frozen=True)
class Segment:
    series: str
    value: int
    x: float
    width: float


def grouped_bars(groups: Sequence[tuple[str, Mapping[str, int]]], series: Sequence[str], *, height: float = HEIGHT) -> BarChart:
    """One group of bars per label, one bar slot per series (same slot every group, so the eye can follow a series)."""
    top = max((value for _, values in groups for value in values.values()), default=0)
    ticks = _ticks(top)
    scale_top = ticks[-1] if ticks else 1
    group_width = len(series) * BAR + GROUP_GAP
    width = LEFT + len(groups) * group_width + RIGHT
    baseline, plot_height = height - BOTTOM, height - BOTTOM - TOP
    drawn = []
    for index, (label, values) in enumerate(groups):
        x = LEFT + index * group_width + GROUP_GAP / 2
        bars = tuple(
            Bar(
                name,
                values[name],
                x + slot * BAR,
                baseline - values[name] / scale_top * plot_height,
                BAR - 2,
                values[name] / scale_top * plot_height,
            )
            for slot, name in enumerate(series)
            if values.get(name)
        )
        drawn.append(Group(label, x, len(series) * BAR, bars))
    return BarChart(
        width,
        height,
        LEFT,
        width - RIGHT,
        baseline,
        tuple(drawn),
        tuple(Tick(value, baseline - value / scale_top * plot_height) for value in [0, *ticks]),
    )


def stacked(values: Mapping[str, int], series: Sequence[str], *, largest: int, width: float) -> tuple[Segment, ...]:
    """A small horizontal stacked bar, scaled so the largest total in a table spans the full width."""
    segments, x = [], 0.0
    for name in series:
        if values.get(name):
            share = values[name] / max(largest, 1) * width
            segments.append(Segment(name, values[name], x, share))
            x += share
    return tuple(segments)


def _ticks(top: int) -> list[int]:
    """Round tick values (1, 2 or 5 times a power of ten) up to at least the tallest bar."""
    if top <= 0:
        return []
    for power in range(0, 10):
        for step in (1, 2, 5):
            size = step * 10**power
            if math.ceil(top / size) <= MAX_TICKS:
                return [size * n for n in range(1, math.ceil(top / size) + 1)]
    return [top]
