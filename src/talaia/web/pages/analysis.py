"""The "Crime analysis" page (administrators and analysts): hotspot map, Knox table, Lorenz curve,
day × hour heat map and the monthly series with its STL trend and anomalies.

Each section is computed by :mod:`talaia.web.services.analysis` (bounded, cached); a section
that cannot be computed for the selection (too few incidents, too many, no data) says why and
the others are still shown. The map is SVG drawn on the server from the hotspot cells and the
areas' polygons in the warehouse; the charts are Plotly specifications drawn by the packaged
plotly.js (white background, no tiles, no CDN).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
from fastapi import APIRouter, Request
from fastapi.responses import Response
from markupsafe import Markup

from talaia.errors import TalaiaError
from talaia.web.charts import to_json
from talaia.web.i18n import Translator
from talaia.web.maps import Shape, svg_layers
from talaia.web.pages.render import render, require
from talaia.web.portal import Portal, PortalDep, PrincipalDep, TranslatorDep
from talaia.web.services import analysis
from talaia.web.services.analysis import TooManyEventsError

router = APIRouter()
TOO_MANY = (
    "The filters select {n} incidents; the web limit is {limit}. Narrow the ICCS code, the area "
    "or the period (or use talaia analyze on the server)."
)

HOT, COLD, NS = "#c0392b", "#2166ac", "#e8e8e8"
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
    """The page's selection as the user typed it (echoed back into the form)."""

    iccs: str
    area: str
    date_from: str
    date_to: str
    method: str
    cell: str

    @classmethod
    def of(cls, request: Request) -> Form:
        q = request.query_params
        return cls(
            iccs=q.get("iccs", "").strip(),
            area=q.get("area", "").strip(),
            date_from=q.get("date_from", "").strip(),
            date_to=q.get("date_to", "").strip(),
            method=q.get("method", "gi_star")
            if q.get("method") in ("gi_star", "kde")
            else "gi_star",
            cell=q.get("cell", "250").strip() or "250",
        )


def _message(exc: TalaiaError, t: Translator) -> str:
    if isinstance(exc, TooManyEventsError):
        return t.gettext(
            TOO_MANY,
            n=t.number(exc.n),
            limit=t.number(exc.limit),
        )
    return t.gettext("Cannot compute this for the selection:") + " " + str(exc).split(" / ")[0]


def _run(fn, t: Translator) -> tuple[Any, str | None]:  # type: ignore[no-untyped-def]
    try:
        return fn(), None
    except TalaiaError as exc:
        return None, _message(exc, t)


def hotspot_map(layer: analysis.HotspotLayer, outlines: list[dict], t: Translator) -> Markup:
    """SVG of the hotspot cells (Gi*: hot / cold / not significant; KDE: quantile classes)."""
    feats = layer.geojson["features"]
    shapes: list[Shape] = []
    if layer.report.method == "kde":
        dens = np.array([f["properties"]["density"] for f in feats], dtype=float)
        qs = sorted(set(np.quantile(dens, [0.2, 0.4, 0.6, 0.8]).tolist())) if dens.size else []
        for f, v in zip(feats, dens, strict=True):
            k = int(np.searchsorted(qs, v, side="left"))
            shapes.append(
                Shape(
                    f["geometry"],
                    KDE_PALETTE[min(k + (4 - len(qs)), 4)],
                    t.gettext("Density") + f": {t.number(v, 2)} / km²",
                )
            )
        legend = [
            (KDE_PALETTE[0], t.gettext("low density")),
            (KDE_PALETTE[-1], t.gettext("high density")),
        ]
    else:
        names = {
            "hot": t.gettext("hot spot"),
            "cold": t.gettext("cold spot"),
            "ns": t.gettext("not significant"),
        }
        for f in feats:
            p = f["properties"]
            colour = {"hot": HOT, "cold": COLD}.get(p["label"], NS)
            z = p.get("z")
            title = (
                f"{names.get(p['label'], p['label'])}: {t.number(p['value'])} "
                f"{t.gettext('incidents')}, z = {t.number(z, 2) if z is not None else '—'}, "
                f"q = {t.number(p.get('q_value'), 3)}"
            )
            shapes.append(Shape(f["geometry"], colour, title))
        legend = [(HOT, names["hot"]), (COLD, names["cold"]), (NS, names["ns"])]
    return svg_layers(
        [o["geometry"] for o in outlines],
        shapes,
        title=t.gettext("Hotspot map"),
        legend=legend,
        empty=t.gettext("No located incidents to map."),
    )


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


def _date(text: str) -> date | None:
    if not text:
        return None
    lo, _hi = analysis.parse_period(text)
    return lo


def _compute(portal: Portal, form: Form, t: Translator) -> dict[str, object]:
    ctx: dict[str, object] = {}
    try:
        cell = float(form.cell)
        flt = analysis.make_filter(
            form.iccs,
            form.area,
            _date(form.date_from),
            analysis.parse_period(form.date_to)[1] if form.date_to else None,
        )
    except (TalaiaError, ValueError) as exc:
        msg = (
            _message(exc, t)
            if isinstance(exc, TalaiaError)
            else t.gettext("Cell size: a number of metres.")
        )
        return {"filter_error": msg}
    layer, ctx["map_error"] = _run(
        lambda: analysis.hotspots(portal, flt, method=form.method, cell=cell), t
    )
    if layer is not None:
        ctx["map_svg"] = hotspot_map(layer, analysis.area_outlines(portal), t)
        ctx["hotspot"] = layer.geojson["talaia"]
        ctx["n_hot"] = sum(
            1 for f in layer.geojson["features"] if f["properties"].get("label") == "hot"
        )
    knox, ctx["knox_error"] = _run(lambda: analysis.near_repeat(portal, flt), t)
    if knox is not None:
        ctx["knox"] = knox
        ctx["knox_grid"] = knox_grid(knox)
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
    form = Form.of(request)
    ctx = _compute(portal, form, t)
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
        max_events=portal.web.analysis_max_events,
        **ctx,
    )
