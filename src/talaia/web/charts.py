"""Plotly figures (as JSON specifications drawn in the browser by the packaged plotly.js)."""

from __future__ import annotations

import pyarrow as pa

from talaia.records import vocab
from talaia.web.i18n import Translator

VOCABS = {v.name: v for v in vars(vocab).values() if isinstance(v, vocab.Vocabulary)}


def label(t: Translator, column: str, token: object) -> str:
    if token is None:
        return t.gettext("not known")
    v = VOCABS.get(column)
    if v is not None and token in v.values:
        return v.label(str(token), t.lang)
    return str(token)


def figure(table: pa.Table, by: str, t: Translator, title: str, decimals: int) -> dict:
    """A Plotly figure: one line per breakdown value, 95% CI as error bars, partial periods as
    open markers, periods without data (or withheld) left as gaps (never zero)."""
    rows = table.to_pylist()
    groups: dict[object, list[dict]] = {}
    for r in rows:
        groups.setdefault(r.get(by) if by else None, []).append(r)
    traces = []
    for key, rs in groups.items():
        ys = [r["value"] for r in rs]
        traces.append(
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": label(t, by, key) if by else title,
                "x": [str(r["period"]) for r in rs],
                "y": ys,
                "connectgaps": False,
                "error_y": {
                    "type": "data",
                    "symmetric": False,
                    "thickness": 1.2,
                    "width": 3,
                    "array": [
                        (r["ci_high"] - r["value"])
                        if r["value"] is not None and r["ci_high"] is not None
                        else None
                        for r in rs
                    ],
                    "arrayminus": [
                        (r["value"] - r["ci_low"])
                        if r["value"] is not None and r["ci_low"] is not None
                        else None
                        for r in rs
                    ],
                },
                "marker": {
                    "size": 8,
                    "symbol": [
                        "circle-open" if r["coverage"] == "partial" else "circle" for r in rs
                    ],
                },
                "hovertemplate": "%{x}: %{y:." + str(decimals) + "f}<extra></extra>",
            }
        )
    return {
        "data": traces,
        "layout": {
            "margin": {"l": 50, "r": 10, "t": 30, "b": 60},
            "height": 340,
            "xaxis": {"type": "category", "title": {"text": t.gettext("Period")}},
            "yaxis": {"rangemode": "tozero", "separatethousands": True},
            "separators": ",." if t.lang == "es" else ".,",
            "legend": {"orientation": "h", "x": 0, "y": 1.02, "yanchor": "bottom"},
            "showlegend": bool(by),
            "font": {"family": "system-ui, sans-serif"},
            "paper_bgcolor": "#ffffff",
            "plot_bgcolor": "#ffffff",
        },
    }


def to_json(fig: dict) -> str:
    """JSON safe to embed in a ``<script>`` element (``<``, ``>`` and ``&`` escaped)."""
    import json

    text = json.dumps(fig, ensure_ascii=False, allow_nan=False, default=str)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
