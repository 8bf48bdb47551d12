"""Batch reports: counts, reasons ranked, examples — as JSON (a dict) and a self-contained HTML
page in English and Spanish (no external asset: inline CSS only)."""

from __future__ import annotations

import html
import json
from collections import Counter

from talaia.ingest.pipeline import PreparedBatch

#: Rule code -> (English, Spanish) explanation.
RULES: dict[str, tuple[str, str]] = {
    "required": ("required value missing", "falta un valor obligatorio"),
    "invalid_date": ("not a valid date", "fecha no válida"),
    "invalid_number": ("not a number", "no es un número"),
    "invalid_integer": ("not a whole number", "no es un número entero"),
    "invalid_boolean": ("not yes/no", "no es sí/no"),
    "value_not_in_map": ("value not in the profile's value map", "valor fuera del mapa de valores"),
    "age_out_of_range": ("age outside 0..120", "edad fuera de 0..120"),
    "date_in_future": ("date in the future", "fecha futura"),
    "date_outside_period": (
        "date outside the delivered period",
        "fecha fuera del periodo entregado",
    ),
    "range_reversed": ("end of range before its start", "fin del rango anterior al inicio"),
    "coordinates_incomplete": ("only one coordinate", "solo una coordenada"),
    "coordinates_swapped": ("longitude and latitude swapped", "longitud y latitud intercambiadas"),
    "coordinates_outside_country": ("point outside the country", "punto fuera del país"),
    "area_not_found": ("point in no known area", "punto fuera de toda área conocida"),
    "area_unknown": ("unknown area", "área desconocida"),
    "area_ambiguous": ("area name matches several areas", "el nombre coincide con varias áreas"),
    "missing_code": ("no offence code", "sin código de delito"),
    "unknown_code": (
        "offence code not in the crosswalk",
        "código ausente de la tabla de correspondencia",
    ),
    "not_valid_on_date": ("crosswalk row not valid on that date", "fila no vigente en esa fecha"),
    "no_condition_matched": ("no crosswalk condition matched", "ninguna condición coincide"),
    "malformed_row": (
        "row cannot be split into the header's columns",
        "la fila no se ajusta a las columnas del encabezado",
    ),
}

EXAMPLES = 5


def build_report(prep: PreparedBatch, user: str | None = None) -> dict:
    """The JSON report of a prepared batch (a plain dict, serializable)."""
    ranked: Counter[tuple[str, str | None]] = Counter()
    examples: dict[str, list[dict]] = {}
    for rownum, reasons in zip(
        prep.quarantine["row_number"].to_pylist(),
        prep.quarantine["reasons"].to_pylist(),
        strict=True,
    ):
        for r in json.loads(reasons):  # loop over quarantined rows only, for the report
            ranked[(r["rule"], r.get("field"))] += 1
            ex = examples.setdefault(r["rule"], [])
            if len(ex) < EXAMPLES:
                ex.append(
                    {
                        "row": rownum,
                        "field": r.get("field"),
                        "column": r.get("column"),
                        "value": r.get("value"),
                    }
                )
    dups = prep.duplicates.slice(0, EXAMPLES).to_pylist()
    near = prep.near_duplicates.slice(0, EXAMPLES).to_pylist()
    return {
        "source": prep.source,
        "file": prep.file_name,
        "file_hash": prep.file_hash,
        "encoding": prep.encoding,
        "profile_version": prep.profile_version,
        "profile_hash": prep.profile_hash,
        "period": [str(prep.period[0]), str(prep.period[1])] if prep.period else None,
        "loaded_by": user,
        "status": "accepted",
        "counts": {
            "read": prep.rows_read,
            "accepted": prep.rows_accepted,
            "quarantined": prep.rows_quarantined,
            "duplicate": prep.rows_duplicate,
            "near_duplicate_pairs": prep.near_duplicates.num_rows,
        },
        "tables": dict(prep.table_rows) or {k: v.num_rows for k, v in prep.tables.items()},
        "reasons": [
            {
                "rule": r,
                "field": f,
                "count": n,
                "en": RULES.get(r, (r, r))[0],
                "es": RULES.get(r, (r, r))[1],
            }
            for (r, f), n in ranked.most_common()
        ],
        "examples": examples,
        "duplicates": dups,
        "near_duplicates": near,
        "extra_columns": list(prep.extra_columns),
    }


_T = {
    "title": ("Batch report", "Informe del lote"),
    "counts": ("Rows", "Filas"),
    "read": ("read", "leídas"),
    "accepted": ("accepted", "aceptadas"),
    "quarantined": ("quarantined", "en cuarentena"),
    "duplicate": ("duplicates", "duplicadas"),
    "near_duplicate_pairs": ("near-duplicate pairs to review", "pares casi duplicados a revisar"),
    "reasons": ("Reasons, most frequent first", "Motivos, los más frecuentes primero"),
    "rule": ("rule", "regla"),
    "field": ("field", "campo"),
    "count": ("rows", "filas"),
    "examples": ("Examples", "Ejemplos"),
    "row": ("row", "fila"),
    "value": ("value", "valor"),
    "extra": ("Columns not used", "Columnas no usadas"),
}


def render_html(report: dict, lang: str = "en") -> str:
    """A readable, self-contained HTML page of a report (``lang`` ``en`` or ``es``)."""
    i = 1 if lang == "es" else 0
    e = html.escape

    def t(k: str) -> str:
        return _T[k][i]

    rows = "".join(
        f"<tr><td>{t(k)}</td><td class=n>{v:,}</td></tr>" for k, v in report["counts"].items()
    )
    reasons = "".join(
        f"<tr><td>{e(r['es' if i else 'en'])} <code>{e(r['rule'])}</code></td>"
        f"<td>{e(str(r['field']))}</td><td class=n>{r['count']:,}</td></tr>"
        for r in report["reasons"]
    )
    ex = "".join(
        f"<tr><td>{e(rule)}</td><td class=n>{x['row']}</td><td>{e(str(x['column']))}</td>"
        f"<td>{e(str(x['value']))}</td></tr>"
        for rule, xs in report["examples"].items()
        for x in xs
    )
    return f"""<!doctype html><html lang="{lang}"><meta charset="utf-8">
<title>{t("title")} — {e(report["source"])}</title>
<style>body{{font:14px system-ui,sans-serif;margin:2em;max-width:60em}}table{{border-collapse:
collapse;margin:1em 0}}td,th{{border:1px solid #ccc;padding:.3em .6em;text-align:left}}
.n{{text-align:right}}code{{color:#555}}</style>
<h1>{t("title")}: {e(report["source"])}</h1>
<p>{e(report["file"])} · {e(str(report["period"]))} · sha256 {e(report["file_hash"][:16])}… ·
profile v{report["profile_version"]} · {e(report["status"])}</p>
<h2>{t("counts")}</h2><table>{rows}</table>
<h2>{t("reasons")}</h2><table><tr><th>{t("rule")}</th><th>{t("field")}</th>
<th>{t("count")}</th></tr>{reasons}</table>
<h2>{t("examples")}</h2><table><tr><th>{t("rule")}</th><th>{t("row")}</th><th>{t("field")}</th>
<th>{t("value")}</th></tr>{ex}</table>
<h2>{t("extra")}</h2><p>{e(", ".join(report["extra_columns"]) or "—")}</p></html>"""
