"""Normalize and validate one chunk of a delivered file, columnar, in one DuckDB query.

1. **Parse** (:func:`field_items`, SQL generated from the profile): every mapped field is
   trimmed, value-mapped (a ``CASE`` on the chunk's exact texts, each folded once in Python:
   lower case, accents stripped), parsed with ``TRY_STRPTIME`` (a list of formats),
   ``TRY_CAST``, Excel serial days (epoch 1899-12-30) or epoch seconds/milliseconds; decimal and
   thousands separators are normalized before numeric casts; personal identifiers are replaced
   by HMAC-SHA256 (hex) under the deployment secret, in SQL (:func:`hmac_sql`). Each field
   gives a value ``v:<field>``, its raw text ``r:<field>`` and a flag ``ok:<field>`` (false
   when a value was delivered but could not be parsed or mapped).
2. **Locate and classify** (NumPy, Python), on a narrow table of only the fields they need:
   coordinates are reprojected to WGS84 with pyproj (``always_xy``), areas found by
   point-in-polygon when the profile says so (:class:`talaia.ingest.areas.AreaLookup`), and
   rows classified by the crosswalk.
3. **Validate**: each rule is a ``CASE`` giving a reason struct ``{field, column, value,
   rule}``; a row's reasons are the non-null ones (``list_filter``), so every reason is kept,
   not only the first. Rules: unparseable values, required fields, ages 0..120, dates not in
   the future and within the delivered period, ranges in order, coordinates complete and
   inside the country (swapped lon/lat recognized), area known, code in the crosswalk.

Steps 1 and 3 are one query (:func:`chunk_sql`) over the chunk and step 2's columns: the
parsed helper columns and the delivered texts never leave DuckDB, and a quarantined row's raw
JSON and reasons are built only for rows where some rule fires. No Python loop runs per row.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from talaia.ingest.areas import AreaLookup, fold
from talaia.ingest.profile import FieldSpec, SourceProfile
from talaia.records.schema import TABLES
from talaia.records.vocab import VOCABULARIES

_BOOL_DEFAULT = {
    "true": "true",
    "1": "true",
    "si": "true",
    "s": "true",
    "yes": "true",
    "y": "true",
    "verdadero": "true",
    "sim": "true",
    "false": "false",
    "0": "false",
    "no": "false",
    "n": "false",
    "falso": "false",
    "nao": "false",
}


def q(name: str) -> str:
    """SQL-quoted identifier."""
    return '"' + name.replace('"', '""') + '"'


def lit(value: str | None) -> str:
    """SQL string literal (or NULL)."""
    return "NULL" if value is None else "'" + value.replace("'", "''") + "'"


def _folded(expr: str) -> str:
    return f"regexp_replace(lower(strip_accents({expr})), '\\s+', ' ', 'g')"


@dataclass(frozen=True)
class ChunkContext:
    """What validation needs besides the profile (fixed for a batch).

    Attributes
    ----------
    period
        Inclusive (first day, last day) of the delivered period, or ``None`` when unknown.
    now
        Records dated after this are in the future.
    bounds
        Box of the country (min lon, min lat, max lon, max lat) or ``None`` to skip the check.
    national_codes
        Codes the crosswalk maps, or ``None`` when there is no crosswalk to check against.
    secret
        Key of the HMAC pseudonymization.
    """

    period: tuple[dt.date, dt.date] | None
    now: dt.datetime
    bounds: tuple[float, float, float, float] | None
    national_codes: tuple[str, ...] | None
    secret: bytes


def _field_type(name: str) -> pa.DataType:
    table, _, col = name.partition(".")
    return TABLES[table].field(col).type


def _value_map(name: str, spec: FieldSpec) -> dict[str, str | None] | None:
    """Folded key -> token; vocabulary fields accept their tokens and en/es labels too."""
    col = name.split(".")[1]
    out: dict[str, str | None] = {}
    if col in VOCABULARIES:
        voc = VOCABULARIES[col]
        for tok in voc.tokens():
            out[fold(tok)] = tok
            out[fold(voc.label(tok, "en"))] = tok
            out[fold(voc.label(tok, "es"))] = tok
    elif _field_type(name) == pa.bool_():
        out.update(_BOOL_DEFAULT)
    if spec.values:
        out.update({fold(str(k)): v for k, v in spec.values.items()})
    return out or None


def _number(expr: str, profile: SourceProfile) -> str:
    e = expr
    if profile.thousands:
        e = f"replace({e}, {lit(profile.thousands)}, '')"
    if profile.decimal != ".":
        e = f"replace({e}, {lit(profile.decimal)}, '.')"
    return f"TRY_CAST({e} AS DOUBLE)"


def _timestamp(expr: str, spec: FieldSpec) -> tuple[str, str]:
    """(timestamp expression, 'has time of day' expression)."""
    parts, timed = [], []
    pats = [f for f in spec.formats if "%" in f]
    if pats:
        with_time = [f for f in pats if any(t in f for t in ("%H", "%I", "%M"))]
        date_only = [f for f in pats if f not in with_time]
        if with_time:
            e = f"try_strptime({expr}, [{', '.join(lit(f) for f in with_time)}])"
            parts.append(e)
            timed.append(f"{e} IS NOT NULL")
        if date_only:
            parts.append(f"try_strptime({expr}, [{', '.join(lit(f) for f in date_only)}])")
    for f in spec.formats:
        if f == "iso":
            e = f"TRY_CAST({expr} AS TIMESTAMP)"
            parts.append(e)
            timed.append(f"({e} IS NOT NULL AND length({expr}) > 10)")
        elif f == "excel_serial":
            d = f"TRY_CAST({expr} AS DOUBLE)"
            e = (
                f"CASE WHEN {d} BETWEEN 1 AND 2958465 THEN TIMESTAMP '1899-12-30' + "
                f"to_microseconds(CAST(round({d} * 86400) * 1000000 AS BIGINT)) END"
            )
            parts.append(e)
            timed.append(f"({e} IS NOT NULL AND {d} <> floor({d}))")
        elif f in ("epoch_ms", "epoch_s"):
            mul = 1000 if f == "epoch_ms" else 1000000
            e = (
                f"CASE WHEN TRY_CAST({expr} AS BIGINT) BETWEEN -1e13 AND 1e13 * "
                f"{1 if f == 'epoch_ms' else 0.001} THEN make_timestamp(TRY_CAST({expr} AS "
                f"BIGINT) * {mul}) END"
            )
            parts.append(e)
            timed.append(f"{e} IS NOT NULL")
    ts = parts[0] if len(parts) == 1 else f"COALESCE({', '.join(parts)})"
    has_time = " OR ".join(timed) if timed else "false"
    if spec.date_only:
        has_time = "false"
    return ts, f"COALESCE({has_time}, false)"


#: Above this many distinct texts in a chunk, a value-mapped column is folded in SQL row by row.
EXACT_MAP_LIMIT = 2_000

_NULL_TOKEN = "\u241f"  # a value map's "known, maps to nothing" inside the SQL CASE


def distinct_texts(chunk: pa.Table, profile: SourceProfile) -> dict[str, list[str]]:
    """The distinct texts of each value-mapped column of a chunk (at most
    :data:`EXACT_MAP_LIMIT`; a column with more is left out), for :func:`field_items`."""
    out: dict[str, list[str]] = {}
    for name, spec in profile.fields.items():
        if spec.column is None or spec.column not in chunk.column_names:
            continue
        if spec.column in out or _value_map(name, spec) is None:
            continue
        typ = _field_type(name)
        if typ in (pa.timestamp("s"), pa.float64(), pa.int16(), pa.int32()):
            continue
        uniq = pc.drop_null(pc.unique(chunk[spec.column].cast(pa.string())))
        if len(uniq) <= EXACT_MAP_LIMIT:
            out[spec.column] = uniq.to_pylist()
    return out


def _exact_case(column: str, texts: list[str], vmap: dict[str, str | None]) -> str:
    """``CASE column WHEN text THEN token ...`` over the exact texts of a chunk, each folded
    in Python (:func:`talaia.ingest.areas.fold`) and looked up in the value map; NULL for a
    text that is not in the map, :data:`_NULL_TOKEN` for one that maps to nothing."""
    cases = []
    for text in texts:
        key = fold(text)
        if key and key in vmap:
            tok = vmap[key]
            cases.append(f"WHEN {lit(text)} THEN {lit(_NULL_TOKEN if tok is None else tok)}")
    return f"CASE {q(column)} {' '.join(cases)} END" if cases else "CAST(NULL AS VARCHAR)"


def field_items(
    profile: SourceProfile, texts: dict[str, list[str]] | None, secret: bytes
) -> dict[str, dict[str, str]]:
    """Step 1's SQL expressions over the chunk table ``chunk``, per mapped field: ``v`` (the
    parsed, mapped value; a personal identifier's HMAC, see :func:`hmac_sql`), ``r`` (its raw
    text), ``ok`` (false when a value was delivered but could not be parsed or mapped) and, for
    dates, ``t`` (a time of day was delivered). The key ``"incident.occurred_precision"`` holds
    the precision expression (``v`` only; it refers to the ``t:`` and ``v:`` columns by name).

    ``texts``: the distinct texts of value-mapped columns in this chunk
    (:func:`distinct_texts`); such a column is mapped with a ``CASE`` on its exact texts
    (folded once per distinct text, in Python) instead of folding every row in SQL.
    """
    out: dict[str, dict[str, str]] = {}
    precision_from = None
    for name, spec in profile.fields.items():
        if spec.constant is not None:
            raw = lit(spec.constant)
        else:
            raw = f"NULLIF(trim({q(spec.column)}), '')"
        typ = _field_type(name)
        vmap = _value_map(name, spec)
        ok = "true"
        item: dict[str, str] = {}
        if typ == pa.timestamp("s"):
            ts, timed = _timestamp(raw, spec)
            if spec.time_column:
                t = f"NULLIF(trim({q(spec.time_column)}), '')"
                tt = f"try_strptime({t}, [{', '.join(lit(f) for f in spec.time_formats)}])::TIME"
                val = f"CASE WHEN {t} IS NULL THEN {ts} ELSE CAST({ts} AS DATE) + {tt} END"
                timed = f"({t} IS NOT NULL AND {tt} IS NOT NULL)"
                ok = f"({raw} IS NULL OR {ts} IS NOT NULL) AND ({t} IS NULL OR {tt} IS NOT NULL)"
                raw = f"concat_ws(' ', {raw}, {t})" if spec.column else raw
            else:
                val = ts
                ok = f"({raw} IS NULL OR {val} IS NOT NULL)"
            if spec.date_only:
                val = f"date_trunc('day', {val})"
            val = f"date_trunc('second', {val})"
            item["t"] = timed
            if name in ("incident.occurred_from", "custody.admitted_at"):
                precision_from = name
        elif typ == pa.float64():
            val = _number(raw, profile)
            ok = f"({raw} IS NULL OR {val} IS NOT NULL)"
        elif typ in (pa.int16(), pa.int32()):
            d = _number(raw, profile)
            val = f"CASE WHEN {d} = floor({d}) AND abs({d}) < 32768 THEN CAST({d} AS SMALLINT) END"
            ok = f"({raw} IS NULL OR {val} IS NOT NULL)"
        elif vmap is not None and texts is not None and spec.column in texts:
            case = _exact_case(spec.column, texts[spec.column], vmap)
            val = f"NULLIF({case}, {lit(_NULL_TOKEN)})"
            if typ == pa.bool_():
                val = f"CAST({val} AS BOOLEAN)"
            ok = f"({raw} IS NULL OR ({case}) IS NOT NULL)"
        elif vmap is not None:
            keys = ", ".join(lit(k) for k in vmap)
            cases = " ".join(f"WHEN {lit(k)} THEN {lit(v)}" for k, v in vmap.items())
            val = f"CASE {_folded(raw)} {cases} END"
            if typ == pa.bool_():
                val = f"CAST({val} AS BOOLEAN)"
            ok = f"({raw} IS NULL OR {_folded(raw)} IN ({keys}))"
        else:
            val = raw
        if name.endswith(".person_key"):
            val = hmac_sql(val, secret)  # pseudonymized: the clear text never leaves the query
        item.update(v=val, r=raw, ok=f"COALESCE({ok}, false)")
        out[name] = item
    if precision_from:
        to = "incident.occurred_to" if precision_from.startswith("incident") else None
        rng = f"{q('v:' + to)} IS NOT NULL" if to and to in profile.fields else "false"
        out["incident.occurred_precision"] = {
            "v": f"CASE WHEN {rng} THEN 'range' WHEN {q('t:' + precision_from)} THEN 'minute' "
            "ELSE 'day' END"
        }
    return out


def _hmac_pads(secret: bytes) -> tuple[str, str]:
    """RFC 2104's inner and outer padded keys (hex) for a SHA-256 HMAC under ``secret``."""
    key = hashlib.sha256(secret).digest() if len(secret) > 64 else secret
    key = key.ljust(64, b"\0")
    return bytes(b ^ 0x36 for b in key).hex(), bytes(b ^ 0x5C for b in key).hex()


def hmac_sql(expr: str, secret: bytes) -> str:
    """DuckDB expression: HMAC-SHA256 (RFC 2104; lower-case hex) of the UTF-8 text ``expr``
    under ``secret``, ``sha256((K ^ opad) || sha256((K ^ ipad) || m))``; NULL stays NULL."""
    ipad, opad = _hmac_pads(secret)
    return f"sha256(unhex('{opad}') || unhex(sha256(unhex('{ipad}') || encode({expr}))))"


def hmac_hex(values: pa.ChunkedArray | pa.Array, secret: bytes) -> pa.Array:
    """HMAC-SHA256 (RFC 2104; hex) of each value's UTF-8 bytes under ``secret``; nulls stay null.

    The same SQL as ingestion's (:func:`hmac_sql`), run once per distinct value and spread
    back with ``index_in`` + ``take``. Equal to Python's ``hmac.digest(secret, m,
    "sha256").hex()`` (tested with hypothesis).
    """
    arr = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    arr = arr.cast(pa.string())
    uniq = pc.drop_null(pc.unique(arr))
    con = duckdb.connect()
    try:
        con.execute("SET enable_progress_bar = false")
        con.register("u", pa.table({"v": uniq}))
        digests = con.sql(f"SELECT {hmac_sql('v', secret)} AS h FROM u").to_arrow_table()["h"]
    finally:
        con.close()
    return pc.take(digests.combine_chunks().cast(pa.string()), pc.index_in(arr, value_set=uniq))


def _reprojects(profile: SourceProfile) -> bool:
    """Whether the profile's points need reprojecting to WGS84."""
    return profile.crs.upper() not in ("EPSG:4326", "WGS84", "OGC:CRS84")


def locate(tbl: pa.Table, profile: SourceProfile, areas: AreaLookup | None) -> pa.Table:
    """Step 2 on the point columns ``v:incident.lon``/``v:incident.lat``: reproject them to
    WGS84 (pyproj, ``always_xy``) and, when the profile finds areas by point, add ``v:area``
    (:class:`talaia.ingest.areas.AreaLookup`)."""
    lon_c, lat_c = "v:incident.lon", "v:incident.lat"
    if lon_c not in tbl.column_names or lat_c not in tbl.column_names:
        return tbl
    x = tbl[lon_c].to_numpy(zero_copy_only=False).astype(float)
    y = tbl[lat_c].to_numpy(zero_copy_only=False).astype(float)
    if _reprojects(profile):
        from pyproj import Transformer

        tr = Transformer.from_crs(profile.crs, "EPSG:4326", always_xy=True)
        x, y = tr.transform(x, y)
        x = np.where(np.isfinite(x), x, np.nan)
        y = np.where(np.isfinite(y), y, np.nan)
        tbl = tbl.set_column(tbl.column_names.index(lon_c), lon_c, pa.array(x, from_pandas=True))
        tbl = tbl.set_column(tbl.column_names.index(lat_c), lat_c, pa.array(y, from_pandas=True))
    if profile.area.method == "point" and areas is not None:
        codes = areas.locate(x, y, profile.area.level)
        tbl = tbl.append_column("v:area", pa.array(codes, pa.string()))
    return tbl


def _reason(field: str, column: str | None, value: str, rule: str) -> str:
    return (
        f"{{'field': {lit(field)}, 'column': {lit(column)}, 'value': "
        f"CAST({value} AS VARCHAR), 'rule': {lit(rule)}}}"
    )


_PARSE_RULE = {
    pa.timestamp("s"): "invalid_date",
    pa.float64(): "invalid_number",
    pa.int16(): "invalid_integer",
    pa.int32(): "invalid_integer",
    pa.bool_(): "invalid_boolean",
}


def _rules(profile: SourceProfile, ctx: ChunkContext) -> list[tuple[str, str]]:
    """Step 3's rules over the parsed columns (``p``) and the area join (``a``): each a
    condition and the reason struct it gives."""
    rules: list[tuple[str, str]] = []  # (condition, reason struct)
    area_col = profile.area.column
    for name, spec in profile.fields.items():
        typ = _field_type(name)
        v, r = q("v:" + name), q("r:" + name)
        col = spec.column
        rule = _PARSE_RULE.get(typ, "value_not_in_map")
        rules.append((f"NOT {q('ok:' + name)}", _reason(name, col, r, rule)))
        table, _, c = name.partition(".")
        required = spec.required or not TABLES[table].field(c).nullable
        if required:
            rules.append((f"{r} IS NULL", _reason(name, col, "NULL", "required")))
        if c == "age":
            rules.append((f"{v} NOT BETWEEN 0 AND 120", _reason(name, col, r, "age_out_of_range")))
        if typ == pa.timestamp("s") and c != "released_at":
            rules.append(
                (
                    f"{v} > TIMESTAMP '{ctx.now:%Y-%m-%d %H:%M:%S}'",
                    _reason(name, col, r, "date_in_future"),
                )
            )
            if ctx.period and c in ("occurred_from", "admitted_at"):
                a, b = ctx.period
                rules.append(
                    (
                        f"{v} < DATE '{a}' OR {v} >= DATE '{b}' + INTERVAL 1 DAY",
                        _reason(name, col, r, "date_outside_period"),
                    )
                )
    if "incident.occurred_to" in profile.fields:
        a, b = q("v:incident.occurred_from"), q("v:incident.occurred_to")
        rules.append((f"{b} < {a}", _reason("incident.occurred_to", None, b, "range_reversed")))
    lon, lat = q("v:incident.lon"), q("v:incident.lat")
    has_pt = "incident.lon" in profile.fields and "incident.lat" in profile.fields
    if has_pt:
        pair = f"concat_ws(' ', {q('r:incident.lon')}, {q('r:incident.lat')})"
        rules.append(
            (
                f"({lon} IS NULL) <> ({lat} IS NULL)",
                _reason("incident.lon", None, pair, "coordinates_incomplete"),
            )
        )
        if ctx.bounds:
            x0, y0, x1, y1 = ctx.bounds
            inside = f"({lon} BETWEEN {x0} AND {x1} AND {lat} BETWEEN {y0} AND {y1})"
            swapped = f"({lat} BETWEEN {x0} AND {x1} AND {lon} BETWEEN {y0} AND {y1})"
            rules.append(
                (
                    f"{lon} IS NOT NULL AND {lat} IS NOT NULL AND NOT {inside}",
                    f"CASE WHEN {swapped} THEN "
                    f"{_reason('incident.lon', None, pair, 'coordinates_swapped')} ELSE "
                    f"{_reason('incident.lon', None, pair, 'coordinates_outside_country')} END",
                )
            )
    # area
    area_field = "custody.area_code" if profile.record == "custody" else "incident.area_code"
    if profile.area.method == "point":
        pair = f"concat_ws(' ', {q('r:incident.lon')}, {q('r:incident.lat')})" if has_pt else "NULL"
        rules.append(
            (
                f"{q('v:area')} IS NULL AND {lon} IS NOT NULL",
                _reason(area_field, None, pair, "area_not_found"),
            )
        )
        rules.append(
            (f"{lon} IS NULL OR {lat} IS NULL", _reason(area_field, None, "NULL", "required"))
        )
    else:
        raw = f"NULLIF(trim({q(area_col)}), '')"
        rules.append((f"{raw} IS NULL", _reason(area_field, area_col, "NULL", "required")))
        rules.append(
            (
                f"{raw} IS NOT NULL AND a.n IS NULL",
                _reason(area_field, area_col, raw, "area_unknown"),
            )
        )
        rules.append(("a.n > 1", _reason(area_field, area_col, raw, "area_ambiguous")))
    code_field = "custody.national_code" if profile.record == "custody" else "offence.national_code"
    if ctx.national_codes is not None and code_field in profile.fields:
        codes = ", ".join(lit(c) for c in ctx.national_codes) or "NULL"
        v = q("v:" + code_field)
        rules.append(
            (
                f"{v} IS NOT NULL AND {v} NOT IN ({codes})",
                _reason(code_field, profile.fields[code_field].column, v, "code_unmapped"),
            )
        )
    if code_field in profile.fields:
        v = q("v:" + code_field)
        col = lit(profile.fields[code_field].column)
        rules.append(
            (
                f"{q('c:reason')} IS NOT NULL AND {v} IS NOT NULL",
                f"{{'field': {lit(code_field)}, 'column': {col}, 'value': "
                f"CAST({v} AS VARCHAR), 'rule': {q('c:reason')}}}",
            )
        )
    return rules


def chunk_sql(
    profile: SourceProfile,
    ctx: ChunkContext,
    items: dict[str, dict[str, str]],
    *,
    side: tuple[str, ...] = (),
    raw_columns: tuple[str, ...] = (),
    hash_columns: tuple[str, ...] | None = None,
) -> str:
    """Steps 1 and 3 in one ``SELECT`` over the chunk table ``chunk`` (with step 2's results,
    ``side``, as extra columns).

    Parameters
    ----------
    items
        :func:`field_items` of the chunk.
    side
        Step 2's columns in ``chunk`` (``v:area``, reprojected ``v:incident.lon``/``lat``,
        the classification's ``c:`` columns); they replace the parsed columns of that name.
    raw_columns
        The delivered columns kept in a quarantined row's ``__raw`` (JSON).
    hash_columns
        When given, an accepted row's ``__h`` is the MD5 of these columns' texts.

    Returns
    -------
    str
        A query giving per row ``__row``, ``__area`` (the resolved area code), every ``v:``
        value and ``c:`` column, ``__ok`` (no rule fired), and for quarantined rows ``__raw``
        and ``__reasons`` (JSON lists of ``{field, column, value, rule}``, every reason, not
        only the first). The parsed helper columns (``r:``, ``ok:``, ``t:``) and the raw
        texts never leave DuckDB: the reasons list and the raw JSON are only built for rows
        where some rule fires.
    """
    parsed = ["chunk.*"]
    values: list[str] = []
    for name, item in items.items():
        for kind in ("v", "r", "ok", "t"):
            col = f"{kind}:{name}"
            if kind in item and col not in side:
                parsed.append(f"{item[kind]} AS {q(col)}")
        values.append(q("v:" + name))
    if "c:reason" not in side:
        parsed.append(f"CAST(NULL AS VARCHAR) AS {q('c:reason')}")
    rules = _rules(profile, ctx)
    cases = ", ".join(f"CASE WHEN {cond} THEN {reason} END" for cond, reason in rules)
    any_rule = " OR ".join(f"({cond})" for cond, _ in rules) or "false"
    # NULL for a row no rule fires on (most rows): no empty list is built for it
    reasons = f"CASE WHEN {any_rule} THEN list_filter([{cases}], lambda x: x IS NOT NULL) END"
    # the parsed columns are materialized once (a MATERIALIZED CTE): inlined into the rules,
    # each reference would parse its field again (measured: about 1.6x slower). Tried and not
    # kept: the chunk cut into record batches (DuckDB's parallel scan) with the CTE inlined
    # took 0.65 of the query's time alone, but on 2 cores it made PostgreSQL ingestion about
    # a fifth slower (its server process needs the second core; 3 alternating rounds at 1M
    # rows) and SQLite's no faster
    parsed_cte = f"WITH parsed AS MATERIALIZED (SELECT {', '.join(parsed)} FROM chunk) "
    inner = (
        f"SELECT p.*, {area_select(profile)}, {reasons} AS reasons "
        f"FROM parsed p {_area_from(profile)}"
    )
    raw_json = (
        "to_json(struct_pack(" + ", ".join(f"{q(c)} := {q(c)}" for c in raw_columns) + "))"
        if raw_columns
        else "'{}'"
    )
    out = [q("__row"), q("__area"), *values, *(q(c) for c in side if c.startswith("c:"))]
    out += [
        "reasons IS NULL AS __ok",
        f"CASE WHEN reasons IS NOT NULL THEN CAST({raw_json} AS VARCHAR) END AS __raw",
        "CAST(to_json(reasons) AS VARCHAR) AS __reasons",
    ]
    if hash_columns is not None:
        h = f"md5(concat_ws(chr(31), {', '.join(q(c) for c in hash_columns)}))"
        out.append(f"CASE WHEN reasons IS NULL THEN {h} END AS __h")
    return f"{parsed_cte}SELECT {', '.join(out)} FROM ({inner}) n"


def _area_from(profile: SourceProfile) -> str:
    if profile.area.method == "point":
        return ""
    raw = f"NULLIF(trim(p.{q(profile.area.column)}), '')"
    pre = lit(profile.area.code_prefix)
    lvl = f"WHERE level = {profile.area.level}" if profile.area.level else ""
    if profile.area.method == "code":
        return (
            f"LEFT JOIN (SELECT code AS a_code, count(*) OVER (PARTITION BY code) AS n "
            f"FROM areas {lvl}) a ON a.a_code = {pre} || {raw}"
        )
    key = _folded(raw)
    if profile.area.aliases:
        cases = " ".join(
            f"WHEN {lit(fold(k))} THEN {lit(fold(v))}" for k, v in profile.area.aliases.items()
        )
        key = f"COALESCE(CASE {key} {cases} END, {key})"
    return (
        f"LEFT JOIN (SELECT name_folded, min(code) AS a_code, count(*) AS n FROM areas "
        f"{lvl} GROUP BY name_folded) a ON a.name_folded = {key}"
    )


def area_select(profile: SourceProfile) -> str:
    """The expression giving the resolved area code in :func:`chunk_sql`."""
    if profile.area.method == "point":
        return f"{q('v:area')} AS {q('__area')}"
    return f"CASE WHEN a.n = 1 THEN a.a_code END AS {q('__area')}"


def normalize_chunk(
    con: duckdb.DuckDBPyConnection,
    chunk: pa.Table,
    profile: SourceProfile,
    ctx: ChunkContext,
    areas: AreaLookup | None,
    *,
    classify: Callable[[pa.Table], pa.Table] | None = None,
    classify_fields: tuple[str, ...] = (),
    raw_columns: tuple[str, ...] = (),
    hash_columns: tuple[str, ...] | None = None,
    times: Any = None,
) -> pa.Table:
    """Run steps 1-3 on one chunk (see :func:`chunk_sql` for the columns returned).

    Step 2 runs on a narrow table: only the fields it needs (points to reproject or locate,
    ``classify_fields`` for ``classify``, which appends ``c:`` columns) are parsed for it;
    its results are appended to the chunk's columns for the single step 1+3 query.
    ``times``: an optional :class:`talaia.ingest.pipeline.PhaseTimes` (``lap(phase)`` after
    each step).
    """
    lap = times.lap if times is not None else (lambda _phase: None)
    items = field_items(profile, distinct_texts(chunk, profile), ctx.secret)
    con.register("chunk", chunk)
    try:
        side = _side(con, profile, items, areas, classify, classify_fields, lap)
        if side is not None:
            # step 2's columns join the chunk row for row (Arrow columns; no SQL join)
            for name in side.column_names:
                chunk = chunk.append_column(name, side[name])
            con.register("chunk", chunk)
        sql = chunk_sql(
            profile,
            ctx,
            items,
            side=tuple(side.column_names) if side is not None else (),
            raw_columns=raw_columns,
            hash_columns=hash_columns,
        )
        out = con.sql(sql).to_arrow_table()
        lap("normalize")
    finally:
        con.unregister("chunk")
    return out


def _side(con, profile, items, areas, classify, classify_fields, lap) -> pa.Table | None:  # type: ignore[no-untyped-def]
    """Step 2 on the fields it needs: points reprojected and located, rows classified.
    Returns only the columns it changed or added (``None``: nothing to do)."""
    points = ("incident.lon", "incident.lat")
    moved = _reprojects(profile) and all(p in profile.fields for p in points)
    need = list(points) if moved or (profile.area.method == "point" and areas is not None) else []
    if classify is not None:
        need += [f for f in classify_fields if f in profile.fields and f not in need]
    need = [f for f in need if f in profile.fields]
    if not need:
        return None
    sel = ", ".join(f"{items[f]['v']} AS {q('v:' + f)}" for f in need)
    side = con.sql(f"SELECT {sel} FROM chunk").to_arrow_table()
    side = locate(side, profile, areas)
    lap("locate")
    if classify is not None:
        side = classify(side)
    lap("classify")
    keep = [
        c
        for c in side.column_names
        if c.startswith("c:") or c == "v:area" or (moved and c[2:] in points)
    ]
    return side.select(keep) if keep else None
