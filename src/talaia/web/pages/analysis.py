"""The "Crime analysis" page (administrators and analysts): hotspot map, Knox table, Lorenz curve,
day × hour heat map and the monthly series with its STL trend and anomalies.

Each section is computed by :mod:`talaia.web.services.analysis` (bounded, cached); a section
that cannot be computed for the selection (too few incidents, no data) says why and the others
are still shown. A selection above the web limit is refused once, for the whole page, with a
suggestion of a narrower one. The first view (no filters) shows a workable default selection
(:func:`talaia.web.services.analysis.default_selection`), and one kind of source is analysed at
a time (police by default: police and forensic records of the same deaths are not added up).

The map is SVG drawn on the server from the hotspot cells and the areas' polygons in the
warehouse: Gi* cells coloured by class of z, the kernel density surface as one PNG image (a
data: URI, written with NumPy and zlib) under the outlines, each with a legend in numbers. The
charts are Plotly specifications drawn by the packaged plotly.js (white background, no tiles,
no CDN).
"""

from __future__ import annotations

import base64
import math
import re
import struct
import zlib
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
from fastapi import APIRouter, Request
from fastapi.responses import Response
from markupsafe import Markup, escape

from talaia.classification.iccs import load_iccs
from talaia.errors import TalaiaError
from talaia.web.charts import to_json
from talaia.web.i18n import Translator
from talaia.web.maps import Shape, _rings, svg_layers
from talaia.web.pages.render import render, require
from talaia.web.portal import Portal, PortalDep, PrincipalDep, TranslatorDep
from talaia.web.services import analysis
from talaia.web.services.analysis import TooManyEventsError

router = APIRouter()
TOO_MANY = (
    "The filters select {n} incidents; the web limit is {limit}. Narrow the ICCS code, the area "
    "or the period (or use talaia analyze on the server)."
)
FILTER_KEYS = ("iccs", "area", "date_from", "date_to", "source_kind", "method", "cell")

HOT, COLD, NS = "#c0392b", "#2166ac", "#d5d9de"
#: Gi* hot and cold cells by class of |z| (below 2.58, 2.58 to 3.29, 3.29 and above: the normal
#: quantiles of p = 0.005 and 0.0005), light to dark (ColorBrewer Reds / Blues).
HOT_SHADES = ("#fb6a4a", "#de2d26", "#a50f15")
COLD_SHADES = ("#9ecae1", "#4292c6", "#08519c")
Z_BREAKS = (2.58, 3.29)
#: Kernel density classes (ColorBrewer YlOrRd, 5 classes).
KDE_PALETTE = ("#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026")
DAYS = {
    "en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"),
    "es": ("lun", "mar", "mié", "jue", "vie", "sáb", "dom"),
}
_LAYOUT = {
    "font": {"family": "system-ui, sans-serif"},
    "paper_bgcolor": "#ffffff",
    "plot_bgcolor": "#ffffff",
    "margin": {"l": 55, "r": 10, "t": 20, "b": 50},
    "height": 320,
}


@dataclass(frozen=True, slots=True)
class Form:
    """The page's selection as the user typed it (echoed back into the form); ``cell`` empty
    means "chosen from the extent"."""

    iccs: str
    area: str
    date_from: str
    date_to: str
    method: str
    cell: str
    source_kind: str = ""
    defaulted: bool = False

    @classmethod
    def of(cls, request: Request, portal: Portal | None = None) -> Form:
        """The query's selection; without any filter, the default selection of the warehouse."""
        q = request.query_params
        method = q.get("method") or "gi_star"
        if method not in ("gi_star", "kde"):
            method = "gi_star"
        if portal is not None and not any(k in q for k in FILTER_KEYS):
            try:
                sel = analysis.default_selection(portal)
            except TalaiaError:
                sel = None
            if sel is not None:
                return cls(
                    iccs=sel.iccs or "",
                    area="",
                    date_from=f"{sel.date_from:%Y-%m}" if sel.date_from else "",
                    date_to=f"{sel.date_to:%Y-%m}" if sel.date_to else "",
                    method=method,
                    cell="",
                    source_kind=sel.source_kind or "",
                    defaulted=True,
                )
        return cls(
            iccs=q.get("iccs", "").strip(),
            area=q.get("area", "").strip(),
            date_from=q.get("date_from", "").strip(),
            date_to=q.get("date_to", "").strip(),
            method=method,
            cell=q.get("cell", "").strip(),
            source_kind=q.get("source_kind", "").strip(),
        )


def _message(exc: TalaiaError, t: Translator) -> str:
    if isinstance(exc, TooManyEventsError):
        return t.gettext(
            TOO_MANY,
            n=t.number(exc.n),
            limit=t.number(exc.limit),
        )
    m = re.search(r"needs at least (\d+) located incidents; the selection has (\d+)", str(exc))
    if m:
        return t.gettext(
            "Needs at least {n} incidents with a location; the selection has {m}.",
            n=m.group(1),
            m=m.group(2),
        )
    parts = str(exc).split(" / ")
    text = parts[-1] if t.lang == "es" and len(parts) > 1 else parts[0]
    return t.gettext("Cannot compute this for the selection:") + " " + text


def _run(fn, t: Translator) -> tuple[Any, str | None]:  # type: ignore[no-untyped-def]
    try:
        return fn(), None
    except TalaiaError as exc:
        return None, _message(exc, t)


def _z_class(z: float) -> int:
    """0, 1 or 2: |z| below 2.58, from 2.58 to 3.29, 3.29 and above."""
    return int(np.searchsorted(Z_BREAKS, abs(z), side="right"))


def hotspot_map(layer: analysis.HotspotLayer, outlines: list[dict], t: Translator) -> Markup:
    """SVG of the hotspot cells (Gi*: hot / cold by class of z, not significant) or of the
    kernel density surface (:func:`density_map`), with a legend in numbers."""
    if layer.report.method == "kde":
        return density_map(layer.report, outlines, t)
    feats = layer.geojson["features"]
    shapes: list[Shape] = []
    names = {
        "hot": t.gettext("hot spot"),
        "cold": t.gettext("cold spot"),
        "ns": t.gettext("not significant"),
    }
    tally: dict[tuple[str, int], int] = {}
    for f in feats:
        p = f["properties"]
        z = p.get("z")
        label = p["label"] if p["label"] in ("hot", "cold") else "ns"
        k = _z_class(z) if label != "ns" and z is not None else 0
        colour = {"hot": HOT_SHADES[k], "cold": COLD_SHADES[k]}.get(label, NS)
        tally[(label, k)] = tally.get((label, k), 0) + 1
        title = (
            f"{names[label]}: {t.number(p['value'])} "
            f"{t.gettext('incidents')}, z = {t.number(z, 2) if z is not None else '—'}, "
            f"q = {t.number(p.get('q_value'), 3)}"
        )
        shapes.append(Shape(f["geometry"], colour, title))
    lo, hi = (t.number(b, 2) for b in Z_BREAKS)
    ranges = {
        "hot": (f"z < {lo}", f"{lo} ≤ z < {hi}", f"z ≥ {hi}"),
        "cold": (f"z > −{lo}", f"−{hi} < z ≤ −{lo}", f"z ≤ −{hi}"),
    }
    legend = []
    for label, shades in (("hot", HOT_SHADES), ("cold", COLD_SHADES)):
        for k in (2, 1, 0):
            if tally.get((label, k)):
                text = t.gettext(
                    "{what}: {range} ({n} cells)",
                    what=names[label],
                    range=ranges[label][k],
                    n=t.number(tally[(label, k)]),
                )
                legend.append((shades[k], text))
    legend.append(
        (
            NS,
            t.gettext(
                "not significant ({n} cells with incidents)", n=t.number(tally.get(("ns", 0), 0))
            ),
        )
    )
    return svg_layers(
        [o["geometry"] for o in outlines],
        shapes,
        title=t.gettext("Hotspot map"),
        legend=legend,
        empty=t.gettext("No located incidents to map."),
    )


def png(indices: np.ndarray, palette: list[tuple[int, int, int, int]]) -> bytes:
    """A palette PNG (colour type 3, 8 bits) of a rows × cols array of palette indices, the
    alpha of each colour in a tRNS chunk; written with zlib (PNG 1.2, W3C 2003)."""
    rows, cols = indices.shape

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    raw = np.zeros((rows, cols + 1), dtype=np.uint8)  # filter byte 0 (None) on every row
    raw[:, 1:] = indices.astype(np.uint8)
    return b"".join(
        (
            b"\x89PNG\r\n\x1a\n",
            chunk(b"IHDR", struct.pack(">IIBBBBB", cols, rows, 8, 3, 0, 0, 0)),
            chunk(b"PLTE", bytes(v for c in palette for v in c[:3])),
            chunk(b"tRNS", bytes(c[3] for c in palette)),
            chunk(b"IDAT", zlib.compress(raw.tobytes(), 9)),
            chunk(b"IEND", b""),
        )
    )


def _rgb(hex_colour: str) -> tuple[int, int, int]:
    return tuple(int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))  # type: ignore[return-value]


@dataclass(frozen=True, slots=True)
class DensityRaster:
    """The density surface resampled to a lon/lat raster: a PNG, its WGS84 bounds and the
    upper bounds of its colour classes (incidents per km²)."""

    png: bytes
    west: float
    south: float
    east: float
    north: float
    breaks: tuple[float, ...]
    floor: float

    @property
    def data_uri(self) -> str:
        return "data:image/png;base64," + base64.b64encode(self.png).decode("ascii")


def density_raster(rep: Any, width: int = 640) -> DensityRaster:
    """Resample a KDE surface (cells of the local projection) to a ``width``-pixel raster on
    the lon/lat grid the SVG map draws (equirectangular, x scaled by cos of the mean latitude);
    cells below 0.1 % of the peak are transparent, the others in 5 quantile classes."""
    from pyproj import Transformer

    surf = rep.density
    g = surf.grid
    dens = np.asarray(surf.density, dtype=float)
    # the grid's outline in lon/lat (sampled along its edges)
    k = np.linspace(0.0, 1.0, 50)
    ex = np.concatenate([g.x0 + k * g.ncols * g.cell, np.full(50, g.x0 + g.ncols * g.cell)])
    ey = np.concatenate([np.full(50, g.y0), g.y0 + k * g.nrows * g.cell])
    ex = np.concatenate([ex, g.x0 + k * g.ncols * g.cell, np.full(50, g.x0)])
    ey = np.concatenate([ey, np.full(50, g.y0 + g.nrows * g.cell), g.y0 + k * g.nrows * g.cell])
    inv = Transformer.from_crs(rep.projection, "EPSG:4326", always_xy=True)
    lon, lat = (np.asarray(a) for a in inv.transform(ex, ey))
    west, east, south, north = lon.min(), lon.max(), lat.min(), lat.max()
    kx = math.cos(math.radians((south + north) / 2))
    height = max(round(width * (north - south) / max((east - west) * kx, 1e-12)), 1)
    px_lon = west + (np.arange(width) + 0.5) * (east - west) / width
    px_lat = north - (np.arange(height) + 0.5) * (north - south) / height
    glon, glat = np.meshgrid(px_lon, px_lat)
    fwd = Transformer.from_crs("EPSG:4326", rep.projection, always_xy=True)
    x, y = (np.asarray(a) for a in fwd.transform(glon.ravel(), glat.ravel()))
    col = np.floor((x - g.x0) / g.cell).astype(np.int64)
    row = np.floor((y - g.y0) / g.cell).astype(np.int64)
    inside = (col >= 0) & (col < g.ncols) & (row >= 0) & (row < g.nrows)
    value = np.zeros(x.size)
    value[inside] = dens[row[inside], col[inside]]
    peak = float(dens.max()) if dens.size else 0.0
    floor = peak * 1e-3
    shown = dens[dens > floor]
    qs = sorted(set(np.quantile(shown, [0.2, 0.4, 0.6, 0.8]).tolist())) if shown.size else []
    breaks = (*qs, peak)
    cls = np.searchsorted(np.asarray(qs), value, side="left") + (len(KDE_PALETTE) - len(breaks))
    idx = np.where(value > floor, cls + 1, 0).reshape(height, width)
    palette = [(255, 255, 255, 0)] + [(*_rgb(c), 215) for c in KDE_PALETTE]
    return DensityRaster(
        png(idx, palette), float(west), float(south), float(east), float(north), breaks, floor
    )


def density_map(rep: Any, outlines: list[dict], t: Translator, width: int = 640) -> Markup:
    """SVG map of a KDE surface: one PNG image (data: URI) under the area outlines, the extent
    being the surface's, and a legend of its classes in incidents per km²."""
    ras = density_raster(rep, width)
    x0, x1, y0, y1 = ras.west, ras.east, ras.south, ras.north
    kx = math.cos(math.radians((y0 + y1) / 2))
    span_x = max((x1 - x0) * kx, 1e-9)
    height = max(int(width * (y1 - y0) / span_x), 40)
    scale = min(width / span_x, height / max(y1 - y0, 1e-9))
    title = t.gettext("Hotspot map")

    def path(rings: list) -> str:
        return "".join(
            "M"
            + "L".join(f"{(x - x0) * kx * scale:.1f},{(y1 - y) * scale:.1f}" for x, y in r)
            + "Z"
            for r in rings
        )

    out = [
        f'<svg viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" '
        'class="layers density">',
        f"<title>{escape(title)}</title>",
        f'<clipPath id="mapclip"><rect width="{width}" height="{height}"/></clipPath>',
        '<g class="cells">',
        f'<image class="kde" href="{ras.data_uri}" x="0" y="0" '
        f'width="{(x1 - x0) * kx * scale:.1f}" height="{(y1 - y0) * scale:.1f}" '
        'preserveAspectRatio="none"/>',
        '</g><g class="outlines" clip-path="url(#mapclip)">',
    ]
    for geom in outlines:
        rings = _rings(geom["geometry"])
        if rings:
            out.append(f'<path d="{path(rings)}" fill="none" fill-rule="evenodd"/>')
    out.append("</g></svg>")
    offset = len(KDE_PALETTE) - len(ras.breaks)
    name = escape(t.gettext("Density (incidents per km²)"))
    leg = [
        f'<div class="legend kde-legend" role="group" aria-label="{name}">'
        f'<span class="legend-title">{name}</span>'
    ]
    lo = ras.floor
    for i, b in enumerate(ras.breaks):
        leg.append(
            f'<span class="swatch" style="background:{KDE_PALETTE[i + offset]}"></span>'
            f"{escape(t.number(lo, 2))}–{escape(t.number(b, 2))}"
        )
        lo = b
    leg.append("</div>")
    return Markup("".join(out) + "".join(leg))


def ratio_colour(ratio: float | None) -> tuple[str, str]:
    """Background and text colour of a Knox ratio: white at 1, red above (to ≥ 3), blue below
    (to ≤ 1/3), on a log scale; grey when undefined."""
    if ratio is None or not math.isfinite(ratio) or ratio <= 0:
        return "#f0f0f0", "#1f2933"
    s = max(-1.0, min(1.0, math.log(ratio) / math.log(3.0)))
    end = (192, 57, 43) if s > 0 else (33, 102, 172)
    a = abs(s)
    rgb = tuple(round(255 + (e - 255) * a) for e in end)
    text = "#ffffff" if a > 0.55 else "#1f2933"
    return "#{:02x}{:02x}{:02x}".format(*rgb), text


@dataclass(frozen=True, slots=True)
class KnoxCell:
    ratio: float | None
    observed: int
    p_value: float | None
    significant: bool
    background: str
    text: str


def knox_grid(res: Any, alpha: float = 0.05) -> list[list[KnoxCell]]:
    """Rows: spatial bands; columns: temporal bands."""
    rows = []
    for i in range(len(res.spatial_labels)):
        row = []
        for j in range(len(res.temporal_labels)):
            c = res.cell(i, j)
            bg, fg = ratio_colour(c["ratio_mean"])
            p = c["p_value"]
            sig = p is not None and p <= alpha and (c["ratio_mean"] or 0) > 1
            row.append(KnoxCell(c["ratio_mean"], c["observed"], p, sig, bg, fg))
        rows.append(row)
    return rows


def lorenz_figure(conc: Any, t: Translator) -> dict:
    x = [float(v) * 100 for v in conc.lorenz_places]
    y = [float(v) * 100 for v in conc.lorenz_incidents]
    return {
        "data": [
            {
                "type": "scatter",
                "mode": "lines",
                "x": x,
                "y": y,
                "name": t.gettext("Lorenz curve"),
                "line": {"color": "#124e78", "width": 2.5},
            },
            {
                "type": "scatter",
                "mode": "lines",
                "x": [0, 100],
                "y": [0, 100],
                "name": t.gettext("Equal spread"),
                "line": {"color": "#9aa5b1", "dash": "dot"},
            },
        ],
        "layout": {
            **_LAYOUT,
            "xaxis": {"title": {"text": t.gettext("% of places (most incidents first)")}},
            "yaxis": {"title": {"text": t.gettext("% of incidents")}},
            "separators": ",." if t.lang == "es" else ".,",
            "legend": {"orientation": "h", "x": 0, "y": 1.05, "yanchor": "bottom"},
        },
    }


def heatmap_figure(hm: Any, t: Translator) -> dict:
    return {
        "data": [
            {
                "type": "heatmap",
                "z": np.round(hm.weights, 4).tolist(),
                "x": list(range(24)),
                "y": list(DAYS[t.lang]),
                "colorscale": "YlOrRd",
                "reversescale": True,
                "hovertemplate": "%{y} %{x}h: %{z:.2f}<extra></extra>",
                "colorbar": {"title": {"text": t.gettext("incidents")}},
            }
        ],
        "layout": {
            **_LAYOUT,
            "xaxis": {"title": {"text": t.gettext("Hour of day")}, "dtick": 2},
            "yaxis": {"autorange": "reversed"},
            "separators": ",." if t.lang == "es" else ".,",
        },
    }


def series_figure(rep: Any, t: Translator) -> dict:
    months = list(rep.months)
    counts = [None if not math.isfinite(v) else float(v) for v in rep.monthly_counts]
    data: list[dict] = [
        {
            "type": "scatter",
            "mode": "lines+markers",
            "x": months,
            "y": counts,
            "connectgaps": False,
            "name": t.gettext("Incidents per month"),
            "line": {"color": "#124e78"},
        }
    ]
    s = rep.series
    if s is not None:

        def clean(a: np.ndarray) -> list[float | None]:
            return [None if not math.isfinite(v) else round(float(v), 3) for v in a]

        data += [
            {
                "type": "scatter",
                "mode": "lines",
                "x": list(s.labels),
                "y": clean(s.trend),
                "name": t.gettext("Trend (STL)"),
                "line": {"color": "#e67e22", "width": 2.5},
            },
            {
                "type": "scatter",
                "mode": "lines",
                "x": list(s.labels),
                "y": clean(s.upper),
                "name": t.gettext("Upper control limit"),
                "line": {"color": "#9aa5b1", "dash": "dot"},
            },
        ]
        flagged = [i for i, f in enumerate(s.flag) if f in ("high", "low")]
        if flagged:
            data.append(
                {
                    "type": "scatter",
                    "mode": "markers",
                    "x": [s.labels[i] for i in flagged],
                    "y": [float(s.observed[i]) for i in flagged],
                    "name": t.gettext("Anomaly"),
                    "marker": {"color": HOT, "size": 11, "symbol": "diamond"},
                }
            )
    return {
        "data": data,
        "layout": {
            **_LAYOUT,
            "xaxis": {"type": "category", "title": {"text": t.gettext("Month")}},
            "yaxis": {"rangemode": "tozero", "title": {"text": t.gettext("incidents")}},
            "separators": ",." if t.lang == "es" else ".,",
            "legend": {"orientation": "h", "x": 0, "y": 1.05, "yanchor": "bottom"},
        },
    }


def knox_label(label: str, t: Translator) -> str:
    """A Knox band label ("Same location", "0–100 m", "More than 60 days") in the language."""
    if label == "Same location":
        return t.gettext("Same location")
    label = label.replace(" days", " " + t.gettext("days")).replace(" to ", "–")
    m = re.fullmatch(r"More than (.+)", label)
    return t.gettext("More than {x}", x=m.group(1)) if m else label


def time_note(note: str, t: Translator) -> str:
    """The monthly series' note (why there is no STL trend) in the language."""
    m = re.search(r"at least (\d+) consecutive periods with data; the longest run has (\d+)", note)
    if m:
        return t.gettext(
            "No trend: STL needs {n} consecutive months with data; the longest run has {m}.",
            n=m.group(1),
            m=m.group(2),
        )
    return note


def _date(text: str) -> date | None:
    if not text:
        return None
    lo, _hi = analysis.parse_period(text)
    return lo


def _describe(portal: Portal, sel: analysis.Selection, t: Translator) -> str:
    """A selection in words: "Burglary, 2024, police records"."""
    parts = []
    if sel.iccs:
        cat = load_iccs().get(sel.iccs)
        parts.append(f"{sel.iccs} {cat.label(t.lang)}" if cat else sel.iccs)
    if sel.date_from and sel.date_to:
        if (sel.date_from.month, sel.date_from.day, sel.date_to.month, sel.date_to.day) == (
            1,
            1,
            12,
            31,
        ) and sel.date_from.year == sel.date_to.year:
            parts.append(str(sel.date_from.year))
        else:
            parts.append(f"{t.month(sel.date_from)}–{t.month(sel.date_to)}")
    if sel.source_kind:
        parts.append(t.gettext("{kind} records", kind=t.gettext(sel.source_kind)))
    return ", ".join(parts)


def _suggestion(portal: Portal, form: Form, kind: str | None, t: Translator) -> dict | None:
    """A narrower selection to offer when the form's is too large: the default selection
    within the form's area and source kind, as a link and in words."""
    try:
        sel = analysis.default_selection(portal, kind, form.area or None)
    except TalaiaError:
        return None
    if sel.n == 0 or sel.n > portal.web.analysis_max_events:
        return None
    query = {
        "iccs": sel.iccs or "",
        "area": form.area,
        "date_from": f"{sel.date_from:%Y-%m}" if sel.date_from else "",
        "date_to": f"{sel.date_to:%Y-%m}" if sel.date_to else "",
        "source_kind": sel.source_kind or "",
        "method": form.method,
        "cell": form.cell,
    }
    from urllib.parse import urlencode

    return {
        "href": "/analysis?" + urlencode(query),
        "text": t.gettext(
            "Analyse {what} ({n} incidents)",
            what=_describe(portal, sel, t),
            n=t.number(sel.n),
        ),
    }


def _compute(portal: Portal, form: Form, t: Translator) -> dict[str, object]:
    ctx: dict[str, object] = {}
    try:
        cell = float(form.cell) if form.cell else None
    except ValueError:
        return {"filter_error": t.gettext("Cell size: a number of metres.")}
    try:
        kind = analysis.resolve_kind(portal, form.source_kind)
        flt = analysis.make_filter(
            form.iccs,
            form.area,
            _date(form.date_from),
            analysis.parse_period(form.date_to)[1] if form.date_to else None,
            source_kind=kind,
        )
        ctx["n_selected"] = analysis.check_size(portal, flt)
    except TooManyEventsError as exc:
        return {
            "too_many": _message(exc, t),
            "suggestion": _suggestion(portal, form, flt.source_kind, t),
        }
    except TalaiaError as exc:
        return {"filter_error": _message(exc, t)}
    ctx["kind"] = kind
    layer, ctx["map_error"] = _run(
        lambda: analysis.hotspots(portal, flt, method=form.method, cell=cell), t
    )
    if layer is not None:
        ctx["map_svg"] = hotspot_map(layer, analysis.area_outlines(portal, flt.area), t)
        ctx["hotspot"] = layer.geojson["talaia"]
        ctx["n_hot"] = sum(
            1 for f in layer.geojson["features"] if f["properties"].get("label") == "hot"
        )
    knox, ctx["knox_error"] = _run(lambda: analysis.near_repeat(portal, flt), t)
    if knox is not None:
        ctx["knox"] = knox
        ctx["knox_grid"] = knox_grid(knox)
        ctx["knox_rows"] = [knox_label(v, t) for v in knox.spatial_labels]
        ctx["knox_cols"] = [knox_label(v, t) for v in knox.temporal_labels]
    conc, ctx["conc_error"] = _run(lambda: analysis.concentration(portal, flt), t)
    if conc is not None:
        ctx["conc"] = conc.concentration
        ctx["repeats"] = conc.repeats
        ctx["lorenz"] = to_json(lorenz_figure(conc.concentration, t))
    tr, ctx["time_error"] = _run(lambda: analysis.time_patterns(portal, flt), t)
    if tr is not None:
        ctx["heatmap"] = to_json(heatmap_figure(tr.heatmap, t))
        ctx["series"] = to_json(series_figure(tr, t))
        ctx["time"] = tr
        ctx["time_note"] = time_note(tr.note, t) if tr.note else ""
        ctx["anomalies"] = (
            [
                (tr.series.labels[i], float(tr.series.observed[i]), tr.series.flag[i])
                for i, f in enumerate(tr.series.flag)
                if f in ("high", "low")
            ]
            if tr.series is not None
            else []
        )
    return ctx


@router.get("/analysis")
def analysis_page(
    request: Request, portal: PortalDep, principal: PrincipalDep, t: TranslatorDep
) -> Response:
    require(principal.can_analyse())
    form = Form.of(request, portal)
    ctx = _compute(portal, form, t)
    kinds = analysis.source_kinds(portal)
    return render(
        request,
        portal,
        principal,
        t,
        "analysis.html",
        active="analysis",
        title=t.gettext("Crime analysis"),
        form=form,
        areas=analysis.area_choices(portal),
        iccs_choices=analysis.iccs_choices(t.lang),
        iccs_label=_iccs_label(form.iccs, t),
        kinds=kinds,
        max_events=portal.web.analysis_max_events,
        **ctx,
    )


def _iccs_label(code: str, t: Translator) -> str:
    cat = load_iccs().get(code) if code else None
    return cat.label(t.lang) if cat else ""
