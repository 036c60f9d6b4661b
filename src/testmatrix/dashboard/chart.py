"""The trend chart: one inline SVG line per target over the builds, drawn here so
the site needs no chart library (and no download) to show it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape

from .data import TrendPoint

# colours told apart by most colour-blind readers (Okabe and Ito's palette)
PALETTE = (
    "#0072b2",
    "#d55e00",
    "#009e73",
    "#cc79a7",
    "#e69f00",
    "#56b4e9",
    "#000000",
    "#f0e442",
)
DASHES = ("", "6 3", "2 3")  # more targets than colours: dashed lines after
WIDTH, HEIGHT = 560, 240
LEFT, RIGHT, TOP, BOTTOM = 44, 130, 16, 40


def _ticks(top: int) -> list[int]:
    """Round y-axis values (steps of 1, 2 or 5 times a power of ten) from 0 to at
    least `top`, at most six of them."""
    if top <= 0:
        return [0, 1]
    k = 0
    while (step := (1, 2, 5)[k % 3] * 10 ** (k // 3)) * 5 < top:
        k += 1
    return [i * step for i in range(-(-top // step) + 1)]


def trend_svg(
    trend: Mapping[str, Sequence[TrendPoint]], measure: str, title: str, id_: str
) -> str:
    """An <svg> of `measure` ("failures" or "skips") per target over the builds:
    one line and one circle per build for each target, a legend of the targets."""
    targets = list(trend)
    builds = [p.build for p in next(iter(trend.values()), [])]
    values = {t: [getattr(p, measure) for p in trend[t]] for t in targets}
    ticks = _ticks(max((max(v, default=0) for v in values.values()), default=0))
    top = ticks[-1] or 1
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(i: int) -> float:
        return LEFT + (
            plot_w * i / (len(builds) - 1) if len(builds) > 1 else plot_w / 2
        )

    def y(v: int) -> float:
        return TOP + plot_h - plot_h * v / top

    out = [
        f'<svg id="{escape(id_)}" class="trend" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="{WIDTH}" height="{HEIGHT}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
    ]
    for tick in ticks:
        out.append(
            f'<line class="grid" x1="{LEFT}" x2="{LEFT + plot_w}" y1="{y(tick):.1f}" '
            f'y2="{y(tick):.1f}" stroke="#ddd"/>'
            f'<text x="{LEFT - 6}" y="{y(tick) + 4:.1f}" text-anchor="end" '
            f'font-size="11">{tick}</text>'
        )
    every = max(1, len(builds) // 12)  # at most about 12 build labels
    for i, build in enumerate(builds):
        if i % every == 0 or i == len(builds) - 1:
            out.append(
                f'<text x="{x(i):.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle" '
                f'font-size="11">{escape(build[:12])}</text>'
            )
    for n, target in enumerate(targets):
        colour = PALETTE[n % len(PALETTE)]
        dash = DASHES[(n // len(PALETTE)) % len(DASHES)]
        dashed = f' stroke-dasharray="{dash}"' if dash else ""
        points = " ".join(
            f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(values[target])
        )
        out.append(
            f'<polyline class="series" data-target="{escape(target)}" '
            f'points="{points}" fill="none" stroke="{colour}" '
            f'stroke-width="2"{dashed}/>'
        )
        for i, v in enumerate(values[target]):
            label = f"{target}, build {builds[i]}: {v} {measure}"
            out.append(
                f'<circle class="point" data-target="{escape(target)}" '
                f'data-build="{escape(builds[i])}" data-value="{v}" cx="{x(i):.1f}" '
                f'cy="{y(v):.1f}" r="3.5" fill="{colour}">'
                f"<title>{escape(label)}</title></circle>"
            )
        ly = TOP + 14 * n + 6
        out.append(
            f'<line x1="{WIDTH - RIGHT + 12}" x2="{WIDTH - RIGHT + 32}" y1="{ly}" '
            f'y2="{ly}" stroke="{colour}" stroke-width="2"{dashed}/>'
            f'<text class="legend" x="{WIDTH - RIGHT + 38}" y="{ly + 4}" '
            f'font-size="11">{escape(target[:20])}</text>'
        )
    out.append(
        f'<text x="{LEFT + plot_w / 2:.1f}" y="{HEIGHT - 6}" text-anchor="middle" '
        f'font-size="11">build</text></svg>'
    )
    return "\n".join(out)
