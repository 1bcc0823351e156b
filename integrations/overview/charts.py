"""Bar charts as geometry for a server-rendered <svg>: the Content-Security-Policy allows no
inline script and no style= attribute, so the template draws <rect>s from these numbers and
hub.css colours them by class (one class per series)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

WIDTH, HEIGHT = 480, 150  # the viewBox; the <svg> scales to its column's width
TOP, AXIS = 14, 18  # room above the bars for the scale, below them for the labels


@dataclass(frozen=True)
class Segment:
    series: str
    value: int
    y: float
    height: float


@dataclass(frozen=True)
class Column:
    label: str  # under the bar ("" to leave it out)
    title: str  # the tooltip: the exact figures
    x: float
    width: float
    total: int
    segments: tuple[Segment, ...]

    @property
    def label_x(self) -> float:
        return self.x + self.width / 2


@dataclass(frozen=True)
class Chart:
    columns: tuple[Column, ...]
    series: tuple[str, ...]
    scale: int  # the value of a full-height bar
    width: int = WIDTH
    height: int = HEIGHT
    top: int = TOP

    @property
    def baseline(self) -> int:
        return self.height - AXIS

    @property
    def plot_height(self) -> int:
        return self.baseline - self.top

    @property
    def label_y(self) -> int:
        return self.height - 5


def nice_ceiling(value: int) -> int:
    """The smallest 1, 2 or 5 times a power of ten at or above `value` (at least 1)."""
    if value <= 1:
        return 1
    power = 10 ** math.floor(math.log10(value))
    return next(step * power for step in (1, 2, 5, 10) if step * power >= value)


def stacked_bars(
    columns: Sequence[tuple[str, str, Mapping[str, int]]], series: Sequence[str]
) -> Chart:
    """One bar per (label, title, {series: value}), its series stacked bottom-up in order."""
    scale = nice_ceiling(max((sum(values.values()) for _, _, values in columns), default=0))
    plot = HEIGHT - AXIS - TOP
    pitch = WIDTH / max(len(columns), 1)
    drawn = []
    for index, (label, title, values) in enumerate(columns):
        segments, bottom = [], float(HEIGHT - AXIS)
        for name in series:
            value = values.get(name, 0)
            if value <= 0:
                continue
            height = value / scale * plot
            bottom -= height
            segments.append(Segment(name, value, round(bottom, 2), round(height, 2)))
        drawn.append(
            Column(
                label=label,
                title=title,
                x=round(index * pitch + pitch * 0.1, 2),
                width=round(pitch * 0.8, 2),
                total=sum(values.values()),
                segments=tuple(segments),
            )
        )
    return Chart(columns=tuple(drawn), series=tuple(series), scale=scale)
