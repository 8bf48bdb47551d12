"""Choropleth maps drawn on the server as SVG from the areas' own GeoJSON geometries.

No basemap, no tiles, no JavaScript: each area is an SVG ``<path>`` (inside a link to its
profile, with a ``<title>`` that screen readers and tooltips read). Coordinates are WGS84
longitude/latitude projected equirectangularly with the x axis scaled by the cosine of the
map's mean latitude, which keeps shapes right for a country-sized extent. Classes are quantile
breaks over the areas that have a value; areas without a value are hatched and labelled
"no data", never coloured as zero.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from markupsafe import Markup, escape

from talaia.web.i18n import Translator

#: Sequential blues, light to dark (ColorBrewer Blues, 5 classes).
PALETTE = ("#eff3ff", "#bdd7e7", "#6baed6", "#3182bd", "#08519c")


@dataclass(frozen=True, slots=True)
class MapArea:
    code: str
    name: str
    geometry: str | None  # GeoJSON geometry text


def _rings(geom: dict) -> list[list[list[float]]]:
    kind = geom.get("type")
    if kind == "Polygon":
        return list(geom["coordinates"])
    if kind == "MultiPolygon":
        return [ring for poly in geom["coordinates"] for ring in poly]
    if kind == "Feature":
        return _rings(geom["geometry"])
    return []


def breaks(values: Sequence[float], k: int = 5) -> list[float]:
    """Upper bounds of ``k`` quantile classes (fewer when values repeat)."""
    arr = np.asarray([v for v in values if v is not None and not math.isnan(v)], dtype=float)
    if arr.size == 0:
        return []
    qs = np.quantile(arr, np.linspace(0, 1, k + 1)[1:])
    return sorted(set(float(q) for q in qs))


def svg_choropleth(
    areas: Sequence[MapArea],
    values: Mapping[str, float | None],
    t: Translator,
    *,
    title: str,
    digits: int = 1,
    link: str = "/areas/{code}",
    width: int = 640,
    notes: Mapping[str, str] | None = None,
) -> Markup:
    """An accessible SVG choropleth of ``areas`` coloured by ``values`` (missing = no data;
    ``notes`` can say why a value is missing, e.g. not yet published)."""
    shapes = []
    xs: list[float] = []
    ys: list[float] = []
    for area in areas:
        if not area.geometry:
            continue
        rings = _rings(json.loads(area.geometry))
        if rings:
            shapes.append((area, rings))
            for ring in rings:
                for x, y in ring:
                    xs.append(x)
                    ys.append(y)
    if not shapes:
        return Markup(f'<p class="muted">{escape(t.gettext("No area geometry is loaded."))}</p>')
    x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
    kx = math.cos(math.radians((y0 + y1) / 2))
    span_x = max((x1 - x0) * kx, 1e-9)
    span_y = max(y1 - y0, 1e-9)
    height = int(width * span_y / span_x)
    scale = width / span_x
    bounds = breaks([v for v in values.values() if v is not None])

    def colour(v: float | None) -> str | None:
        if v is None or (isinstance(v, float) and math.isnan(v)):
            return None
        for i, b in enumerate(bounds):
            if v <= b:
                return PALETTE[i + (len(PALETTE) - len(bounds))]
        return PALETTE[-1]

    out = [
        f'<svg viewBox="0 0 {width} {height}" role="img" aria-labelledby="maptitle">',
        f'<title id="maptitle">{escape(title)}</title>',
        '<defs><pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)"><rect width="6" height="6" fill="#f4f4f4"/>'
        '<line x1="0" y1="0" x2="0" y2="6" stroke="#9aa5b1" stroke-width="2"/></pattern>'
        '<pattern id="withheld" width="6" height="6" patternUnits="userSpaceOnUse">'
        '<rect width="6" height="6" fill="#d9dde3"/><circle cx="3" cy="3" r="1.2" fill="#52606d"/>'
        "</pattern></defs>",
    ]
    for area, rings in shapes:
        d = []
        for ring in rings:
            pts = [f"{(x - x0) * kx * scale:.1f},{(y1 - y) * scale:.1f}" for x, y in ring]
            d.append("M" + "L".join(pts) + "Z")
        v = values.get(area.code)
        fill = colour(v)
        note = (notes or {}).get(area.code) if v is None else None
        shown = t.number(v, digits) if fill else t.gettext("no data")
        label = f"{area.name}: {note or shown}"
        attr = f'fill="{fill}"' if fill else ('class="withheld"' if note else 'class="nodata"')
        href = escape(link.format(code=area.code))
        out.append(
            f'<a href="{href}"><path d="{"".join(d)}" {attr} fill-rule="evenodd">'
            f"<title>{escape(label)}</title></path></a>"
        )
    out.append("</svg>")
    legend = ['<div class="legend" aria-hidden="true">']
    lo = None
    offset = len(PALETTE) - len(bounds)
    lows = [min(v for v in values.values() if v is not None)] if bounds else []
    for i, b in enumerate(bounds):
        lo = lows[0] if i == 0 else bounds[i - 1]
        legend.append(
            f'<span class="swatch" style="background:{PALETTE[i + offset]}"></span>'
            f"{escape(t.number(lo, digits))}–{escape(t.number(b, digits))}"
        )
    legend.append(
        f'<span class="swatch" style="background:#f4f4f4;background-image:'
        f'repeating-linear-gradient(45deg,#9aa5b1 0 2px,transparent 2px 6px)"></span>'
        f"{escape(t.gettext('no data'))}"
    )
    if notes and any(values.get(a) is None for a in notes):
        legend.append(
            '<span class="swatch" style="background:#d9dde3;background-image:radial-gradient('
            '#52606d 1.2px,transparent 1.3px);background-size:6px 6px"></span>'
            f"{escape(t.gettext('withheld'))}"
        )
    legend.append("</div>")
    return Markup("".join(out) + "".join(legend))


def sparkline(
    values: Sequence[float | None], *, width: int = 120, height: int = 32, label: str = ""
) -> Markup:
    """A small SVG line of ``values``; gaps (None) break the line, never drawn as zero."""
    pts = [(i, v) for i, v in enumerate(values) if v is not None and not math.isnan(v)]
    if len(pts) < 2:
        return Markup("")
    lo = min(v for _, v in pts)
    hi = max(v for _, v in pts)
    rng = (hi - lo) or 1.0
    n = max(len(values) - 1, 1)
    segs: list[list[str]] = [[]]
    for i, v in enumerate(values):
        if v is None or math.isnan(v):
            if segs[-1]:
                segs.append([])
            continue
        segs[-1].append(
            f"{i * (width - 4) / n + 2:.1f},{height - 2 - (v - lo) / rng * (height - 4):.1f}"
        )
    paths = "".join(
        f'<polyline points="{" ".join(s)}" fill="none" stroke="#124e78" stroke-width="1.8"/>'
        for s in segs
        if len(s) > 1
    )
    return Markup(
        f'<svg class="spark" width="{width}" height="{height}" role="img" '
        f'aria-label="{escape(label)}">{paths}</svg>'
    )


@dataclass(frozen=True, slots=True)
class Shape:
    """One coloured shape of :func:`svg_layers` (``fill`` None: outline only)."""

    geometry: dict
    fill: str | None
    title: str = ""


def svg_layers(
    outlines: Sequence[dict],
    shapes: Sequence[Shape],
    *,
    title: str,
    legend: Sequence[tuple[str, str]] = (),
    width: int = 640,
    empty: str = "",
) -> Markup:
    """An SVG map of coloured ``shapes`` (e.g. hotspot cells) over area ``outlines`` (GeoJSON
    geometries, lon/lat), projected as :func:`svg_choropleth` does; no tiles, no JavaScript.

    The extent is that of the shapes (the outlines are clipped to it), so a small selection is
    not lost inside a country-wide map."""
    shape_rings = [(s, _rings(s.geometry)) for s in shapes]
    outline_rings = [_rings(g) for g in outlines]
    pts = [p for _, rings in shape_rings for ring in rings for p in ring]
    if not pts:
        pts = [p for rings in outline_rings for ring in rings for p in ring]
    if not pts:
        return Markup(f'<p class="muted">{escape(empty)}</p>')
    xs = [p[0] for p in pts]
    ys = [p[1] for p in pts]
    x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
    kx = math.cos(math.radians((y0 + y1) / 2))
    span_x = max((x1 - x0) * kx, 1e-9)
    span_y = max(y1 - y0, 1e-9)
    height = max(int(width * span_y / span_x), 40)
    scale = min(width / span_x, height / span_y)

    def path(rings: list) -> str:
        d = []
        for ring in rings:
            xy = [f"{(x - x0) * kx * scale:.1f},{(y1 - y) * scale:.1f}" for x, y in ring]
            d.append("M" + "L".join(xy) + "Z")
        return "".join(d)

    out = [
        f'<svg viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" '
        'class="layers">',
        f"<title>{escape(title)}</title>",
        f'<clipPath id="mapclip"><rect width="{width}" height="{height}"/></clipPath>',
        '<g class="cells">',
    ]
    for s, rings in shape_rings:
        if rings:
            fill = f'fill="{s.fill}"' if s.fill else 'fill="none"'
            out.append(f'<path d="{path(rings)}" {fill}><title>{escape(s.title)}</title></path>')
    out.append('</g><g class="outlines" clip-path="url(#mapclip)">')
    for rings in outline_rings:
        if rings:
            out.append(
                f'<path d="{path(rings)}" fill="none" stroke="#3d4852" stroke-width="1" '
                'fill-rule="evenodd"/>'
            )
    out.append("</g></svg>")
    leg = ['<div class="legend" aria-hidden="true">']
    for colour, label in legend:
        leg.append(f'<span class="swatch" style="background:{colour}"></span>{escape(label)}')
    leg.append("</div>")
    return Markup("".join(out) + "".join(leg))
