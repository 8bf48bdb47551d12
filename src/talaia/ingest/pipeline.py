"""The ingestion pipeline without the store: read → normalize → validate → classify → de-duplicate.

:func:`prepare` streams a delivered file chunk by chunk through the readers
(:mod:`talaia.ingest.readers`), normalization and validation (:mod:`talaia.ingest.normalize`),
classification (:func:`talaia.classification.classify.classify`) and de-duplication, and returns
a :class:`PreparedBatch`: the canonical Arrow tables, the quarantine (raw row minus personal
identifiers, every reason) and the counts, with ``rows read = accepted + quarantined +
duplicates`` asserted. :mod:`talaia.ingest.service` loads it into the store.

De-duplication: the natural key (profile fields) is hashed with ``md5_number`` in DuckDB; a key
seen earlier in the batch, or in an earlier current batch of the source for another period, is a
duplicate (anti-join against a DuckDB table of keys). Near duplicates (same code, place and time
within the profile's tolerances) are only flagged for review (:mod:`talaia.ingest.near`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from talaia.errors import DataError
from talaia.ingest.areas import AreaLookup
from talaia.ingest.near import near_candidates, near_duplicates
from talaia.ingest.normalize import ChunkContext, normalize_chunk, q
from talaia.ingest.profile import SourceProfile
from talaia.ingest.readers import FileReader
from talaia.records.schema import TABLES, conform

Progress = Callable[[int, int], None]  # (rows done, bytes done)

#: Memory limit of the pipeline's DuckDB connection (it spills to ``spill_dir`` beyond it).
PREPARE_MEMORY = "1GB"


class PhaseTimes(dict):  # type: ignore[type-arg]
    """Seconds spent per phase of :func:`prepare` (summed over chunks), for benchmarks."""

    def __init__(self) -> None:
        super().__init__()
        self._t = time.perf_counter()

    def lap(self, phase: str) -> None:
        now = time.perf_counter()
        self[phase] = round(self.get(phase, 0.0) + now - self._t, 3)
        self._t = now


@dataclass(frozen=True)
class CrosswalkRef:
    """A validated crosswalk and its version number in the store."""

    crosswalk: object  # talaia.classification.crosswalk.Crosswalk
    version: int


@dataclass(frozen=True)
class PreparedBatch:
    """One delivery, normalized, validated, classified and de-duplicated (not yet stored)."""

    source: str
    file_name: str
    file_hash: str
    encoding: str | None
    columns: tuple[str, ...]
    extra_columns: tuple[str, ...]
    period: tuple[dt.date, dt.date] | None
    tables: dict[str, pa.Table]
    quarantine: pa.Table
    duplicates: pa.Table
    near_duplicates: pa.Table
    rows_read: int
    rows_accepted: int
    rows_quarantined: int
    rows_duplicate: int
    profile_version: int
    profile_hash: str
    extra: dict = field(default_factory=dict)
    part_files: tuple[Mapping[str, Path], ...] = ()
    table_rows: Mapping[str, int] = field(default_factory=dict)

    def parts(self) -> Iterator[dict[str, pa.Table]]:
        """The canonical tables one spilled chunk at a time (see ``spill_dir`` of
        :func:`prepare`); when nothing was spilled, ``tables`` as one part."""
        if not self.part_files:
            yield self.tables
            return
        for files in self.part_files:
            yield read_part(files)


def read_part(files: Mapping[str, Path]) -> dict[str, pa.Table]:
    """One spilled part (see ``spill_dir`` of :func:`prepare`): its canonical tables."""
    part = {}
    for name, path in files.items():
        with pa.memory_map(str(path)) as src:
            part[name] = pa.ipc.open_file(src).read_all()
    return part


def file_sha256(path: Path) -> str:
    """SHA-256 (hex) of a file, read in 16 MiB blocks."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(16 << 20):
            h.update(block)
    return h.hexdigest()


def _classify(tbl: pa.Table, profile: SourceProfile, cw: CrosswalkRef | None) -> pa.Table:
    """Add ``c:iccs_code``, ``c:mapping_type``, ``c:version``, ``c:reason`` and ``c:set_*``."""
    code_field = "custody.national_code" if profile.record == "custody" else "offence.national_code"
    if cw is None or ("v:" + code_field) not in tbl.column_names:
        return tbl
    from talaia.classification.classify import classify

    n = tbl.num_rows
    date_f = "v:custody.admitted_at" if profile.record == "custody" else "v:incident.occurred_from"
    cols = {
        "national_code": tbl["v:" + code_field],
        "date": pc.cast(tbl[date_f], pa.date32())
        if date_f in tbl.column_names
        else pa.nulls(n, pa.date32()),
    }
    for f in cw.crosswalk.fields():  # type: ignore[attr-defined]
        cols[f] = tbl["v:" + f] if ("v:" + f) in tbl.column_names else pa.nulls(n, pa.string())
    res = classify(pa.table(cols), cw.crosswalk, cw.version).table  # type: ignore[arg-type]
    tbl = tbl.append_column("c:iccs_code", res["iccs_code"])
    tbl = tbl.append_column("c:mapping_type", res["mapping_type"])
    tbl = tbl.append_column("c:version", res["crosswalk_version"].cast(pa.int32()))
    tbl = tbl.append_column("c:reason", res["reason"])
    for name in res.column_names:
        if name.startswith("set_"):
            tbl = tbl.append_column("c:" + name, res[name])
    return tbl


def _classify_fields(profile: SourceProfile, cw: CrosswalkRef | None) -> tuple[str, ...]:
    """The fields :func:`_classify` reads (national code, date, the crosswalk's conditions)."""
    if cw is None:
        return ()
    custody = profile.record == "custody"
    code = "custody.national_code" if custody else "offence.national_code"
    date = "custody.admitted_at" if custody else "incident.occurred_from"
    return (code, date, *cw.crosswalk.fields())  # type: ignore[attr-defined]


def _key_expr(profile: SourceProfile) -> str:
    parts = []
    for k in profile.natural_key:
        if k in ("incident.external_id", "custody.external_id"):
            parts.append(q("__ext"))
        elif k in ("incident.area_code", "custody.area_code"):
            parts.append(q("__area"))
        else:
            parts.append(f"CAST({q('v:' + k)} AS VARCHAR)")
    return f"md5_number(concat_ws(chr(31), {', '.join(parts)}))"


def prepare(
    path: str | Path,
    profile: SourceProfile,
    *,
    areas: AreaLookup | None,
    crosswalk: CrosswalkRef | None,
    secret: bytes,
    period: tuple[dt.date, dt.date] | None = None,
    prior_keys: pa.Table | None = None,
    now: dt.datetime | None = None,
    patches: dict[int, dict[str, str | None]] | None = None,
    progress: Progress | None = None,
    chunk_rows: int = 250_000,
    spill_dir: Path | None = None,
    on_part: Callable[[dict[str, pa.Table]], None] | None = None,
    file_hash: str | None = None,
) -> PreparedBatch:
    """Read, normalize, validate, classify and de-duplicate one delivered file.

    Parameters
    ----------
    path
        The delivered file.
    profile
        Its source profile.
    areas
        Areas to resolve against (``None``: area codes are not checked here).
    crosswalk
        Crosswalk to classify with (``None``: no classification).
    secret
        Pseudonymization key.
    period
        Inclusive (first, last) day of the delivered period; ``None`` infers it from the data.
    prior_keys
        External ids already loaded for this source (natural key = external id): table ``e``
        (string) and ``batch_id``.
    now
        Dates after this are in the future (default: the current local time).
    patches
        Corrections of quarantined rows: record number -> {column: new text}.
    progress
        Called with (rows read so far, 0) after each chunk.
    spill_dir
        An empty folder that outlives the returned batch: when given, each chunk's accepted
        rows are split into canonical tables and written there as Arrow IPC files
        (``PreparedBatch.part_files``, read back one at a time by ``PreparedBatch.parts``;
        ``tables`` is then empty) and DuckDB spills there, so that memory stays bounded by
        the chunk size, not the file size. ``None``: everything is kept in memory.
    on_part
        With ``spill_dir``: each chunk's canonical tables are handed to it as soon as they are
        split, instead of being written to ``spill_dir`` (``part_files`` is then empty), so
        that a consumer loads the first parts while the rest of the file is prepared; memory
        stays bounded when it blocks until it can take the part (as the ingestion's bounded
        queue does). An exception it raises stops the preparation.
    file_hash
        The file's SHA-256 when the caller already has it (else it is computed).

    Raises
    ------
    DataError
        For a file that cannot be taken as a whole (unreadable, no rows, missing columns),
        naming the file and what is wrong. Nothing is returned in that case.
    """
    path = Path(path)
    now = now or dt.datetime.now().replace(microsecond=0)
    ctx = ChunkContext(
        period=period,
        now=now,
        bounds=profile.bounds or (areas.bounds if areas else None),
        national_codes=None,
        secret=secret,
    )
    times = PhaseTimes()
    fhash = file_hash or file_sha256(path)
    times.lap("hash")
    config = {
        "memory_limit": PREPARE_MEMORY,
        "preserve_insertion_order": True,
    }
    if spill_dir is not None:
        config["temp_directory"] = str(Path(spill_dir) / "duckdb")
    con = duckdb.connect(config=config)
    con.execute("SET enable_progress_bar = false")
    spilled: list[dict[str, Path]] = []
    table_rows: dict[str, int] = {}
    spans: list[tuple[dt.date, dt.date]] = []
    near_files: list[Path] = []
    if areas is not None:
        con.register("areas", areas.table)
    else:
        con.execute(
            "CREATE TABLE areas(code VARCHAR, name VARCHAR, level INT, name_folded VARCHAR)"
        )
    con.execute("CREATE TABLE seen(k UHUGEINT, row BIGINT, batch_id BIGINT)")
    con.execute("CREATE TABLE idcount(h VARCHAR, n BIGINT)")
    if prior_keys is not None and prior_keys.num_rows:
        con.register("prior", prior_keys)
        con.execute(
            "INSERT INTO seen SELECT md5_number(concat_ws(chr(31), e)), NULL, min(batch_id) "
            "FROM prior GROUP BY 1"
        )
        con.unregister("prior")
    pii = set(profile.personal_identifiers)
    ext_field = "custody.external_id" if profile.record == "custody" else "incident.external_id"
    accepted: list[pa.Table] = []
    quarantined: list[pa.Table] = []
    dups: list[pa.Table] = []
    near_rows: list[pa.Table] = []
    rows_read = 0
    columns: list[str] = []
    reader = FileReader(
        path,
        profile.format,
        encoding=profile.encoding,
        delimiter=profile.delimiter,
        quote=profile.quote,
        sheet=profile.sheet,
        header_row=profile.header_row,
        chunk_rows=chunk_rows,
    )
    raw_cols: tuple[str, ...] = ()
    hash_cols: tuple[str, ...] | None = None
    with reader:
        for chunk in reader.batches():
            times.lap("read")
            if not columns:
                columns = list(reader.columns)
                missing = sorted(profile.required_columns() - set(columns))
                if missing:
                    delim = f" (delimiter {profile.delimiter!r})" if profile.delimiter else ""
                    raise DataError(
                        f"{path.name}: row 1: missing required column(s) / faltan columnas "
                        f"obligatorias: {', '.join(missing)}; header read{delim}: "
                        f"{columns[:12]}"
                    )
                raw_cols = tuple(c for c in columns if c not in pii)
                if ext_field not in profile.fields:
                    hash_cols = tuple(sorted(profile.columns_used() - pii)) or ("__row",)
            if patches:
                chunk = _apply_patches(chunk, patches)
            rows_read += chunk.num_rows
            out = normalize_chunk(
                con,
                chunk,
                profile,
                ctx,
                areas,
                classify=lambda t: _classify(t, profile, crosswalk),
                classify_fields=_classify_fields(profile, crosswalk),
                raw_columns=raw_cols,
                hash_columns=hash_cols,
                times=times,
            )
            del chunk
            ok = out["__ok"]
            bad = out.filter(pc.invert(ok))
            quarantined.append(
                pa.table(
                    {
                        "row_number": bad["__row"],
                        "raw": bad["__raw"],
                        "reasons": bad["__reasons"],
                    }
                )
            )
            good = out.filter(ok).drop_columns(["__ok", "__raw", "__reasons"])
            del out
            times.lap("quarantine")
            # external ids: delivered, or derived from the row's content + its occurrence
            if hash_cols is None:
                good = good.append_column("__ext", good["v:" + ext_field])
            else:
                con.register("good", good)
                good = con.sql(
                    "SELECT g.* EXCLUDE (__h, __n), left(g.__h, 16) || '-' || "
                    "(g.__n + COALESCE(c.n, 0)) AS __ext, g.__h FROM (SELECT *, row_number() "
                    "OVER (PARTITION BY __h ORDER BY __row) AS __n FROM good) g "
                    "LEFT JOIN idcount c ON c.h = g.__h"
                ).to_arrow_table()
                con.register("good", good)
                con.execute("INSERT INTO idcount SELECT __h, count(*) FROM good GROUP BY __h")
                con.unregister("good")
                con.execute(
                    "CREATE OR REPLACE TEMP TABLE idc2 AS SELECT h, sum(n) AS n "
                    "FROM idcount GROUP BY h"
                )
                con.execute("DELETE FROM idcount; INSERT INTO idcount SELECT * FROM idc2")
                good = good.drop_columns(["__h"])
            rows_np = good["__row"].to_numpy()
            if len(rows_np) > 1 and bool((np.diff(rows_np) < 0).any()):
                good = good.sort_by("__row")
            # natural-key duplicates: only keys met twice in the chunk or met before are
            # ranked (a narrow table of row, key and external id; no window over every row)
            con.register("good", good)
            con.execute(
                "CREATE OR REPLACE TEMP TABLE kk AS SELECT __row, __ext, "
                f"{_key_expr(profile)} AS __k FROM good"
            )
            con.unregister("good")
            dup = con.sql(
                "WITH d AS (SELECT __k FROM kk GROUP BY __k HAVING count(*) > 1 UNION "
                "SELECT k FROM seen WHERE k IN (SELECT __k FROM kk)), "
                "c AS (SELECT __row, __ext, __k, row_number() OVER w AS kn, "
                "min(__row) OVER w AS first FROM kk WHERE __k IN (SELECT __k FROM d) "
                "WINDOW w AS (PARTITION BY __k ORDER BY __row)) "
                "SELECT c.__row AS row_number, c.__ext AS external_id, "
                "CASE WHEN s.k IS NOT NULL THEN s.row ELSE c.first END AS first_row, "
                "s.batch_id AS earlier_batch FROM c LEFT JOIN seen s ON s.k = c.__k "
                "WHERE c.kn > 1 OR s.k IS NOT NULL ORDER BY c.__row"
            ).to_arrow_table()
            dups.append(dup)
            if dup.num_rows:
                is_dup = pc.is_in(good["__row"], value_set=dup["row_number"])
                new = good.filter(pc.invert(is_dup))
                con.register("dup", dup)
                con.execute(
                    "INSERT INTO seen SELECT __k, __row, NULL FROM kk "
                    "WHERE __row NOT IN (SELECT row_number FROM dup)"
                )
                con.unregister("dup")
            else:
                new = good
                con.execute("INSERT INTO seen SELECT __k, __row, NULL FROM kk")
            times.lap("dedupe")
            if spill_dir is None:
                accepted.append(_canonical_flat(new, profile))
            else:
                part = _split_tables(_canonical_flat(new, profile), profile)
                for name, table in part.items():
                    table_rows[name] = table_rows.get(name, 0) + table.num_rows
                if on_part is not None:
                    on_part(part)  # the consumer takes it as it is: nothing written to disk
                else:
                    spilled.append(_spill(Path(spill_dir), len(spilled), part))
                span = _infer_period(part, profile)
                if span is not None:
                    spans.append(span)
            times.lap("split")
            if profile.near_duplicates:
                cand = near_candidates(new, profile)
                if cand is not None:
                    near_rows.append(cand)
            if spill_dir is not None and near_rows:
                # near-duplicate candidates go to Parquet too (DuckDB reads them back)
                nd_path = Path(spill_dir) / f"near-{len(near_files):05d}.parquet"
                pq.write_table(near_rows.pop(), nd_path)
                near_files.append(nd_path)
            times.lap("near")
            if progress:
                progress(rows_read, 0)
        if not columns:
            columns = list(reader.columns)
            if not columns:
                raise DataError(f"{path.name}: no header row / sin fila de encabezado")
            missing = sorted(profile.required_columns() - set(columns))
            if missing or not profile.allow_empty or reader.rejects():
                raise DataError(
                    f"{path.name}: a header but no data rows / encabezado sin filas de datos"
                    + (f"; missing column(s): {', '.join(missing)}" if missing else "")
                )
        rejects = reader.rejects()
        renumber = reader.record_numbers
        encoding = reader.encoding
    rows_read += len(rejects)
    quarantine = _renumber(pa.concat_tables(quarantined) if quarantined else _empty_q(), renumber)
    if rejects:
        quarantine = pa.concat_tables([quarantine, _reject_rows(rejects, columns, pii, profile)])
        quarantine = quarantine.sort_by("row_number")
    if not dups:
        dups = [
            pa.table(
                {
                    "row_number": pa.array([], pa.int64()),
                    "external_id": pa.array([], pa.string()),
                    "first_row": pa.array([], pa.int64()),
                    "earlier_batch": pa.array([], pa.int64()),
                }
            )
        ]
    duplicates = _renumber(pa.concat_tables(dups), renumber, ("row_number", "first_row"))
    flat = pa.concat_tables(accepted) if accepted else None
    n_acc = flat.num_rows if flat is not None else 0
    if spill_dir is not None:
        n_acc = table_rows.get("custody" if profile.record == "custody" else "incident", 0)
    n_q, n_d = quarantine.num_rows, duplicates.num_rows
    if rows_read != n_acc + n_q + n_d:
        raise AssertionError(
            f"{path.name}: rows read {rows_read} != accepted {n_acc} + quarantined {n_q} + "
            f"duplicates {n_d}"
        )
    times.lap("finish")
    near = near_duplicates(
        con, near_files or near_rows, profile, lambda t, cols: _renumber(t, renumber, cols)
    )
    con.close()
    times.lap("near")
    tables = _split_tables(flat, profile)
    if spill_dir is not None:
        tables = {}
    else:
        table_rows = {k: t.num_rows for k, t in tables.items()}
    if period is None:
        if spill_dir is None:
            period = _infer_period(tables, profile)
        elif spans:
            period = (min(a for a, _ in spans), max(b for _, b in spans))
    extra = sorted(set(columns) - profile.columns_used())
    return PreparedBatch(
        source=profile.source,
        file_name=path.name,
        file_hash=fhash,
        encoding=encoding,
        columns=tuple(columns),
        extra_columns=tuple(extra),
        period=period,
        tables=tables,
        quarantine=quarantine,
        duplicates=duplicates,
        near_duplicates=near,
        rows_read=rows_read,
        rows_accepted=n_acc,
        rows_quarantined=n_q,
        rows_duplicate=n_d,
        profile_version=profile.profile_version,
        profile_hash=profile.profile_hash,
        part_files=tuple(spilled),
        table_rows=table_rows,
        extra={"timings": dict(times)},
    )


#: Spilled parts are LZ4-compressed Arrow IPC: about a quarter of the bytes to write and read
#: back (a 10M-row file spills gigabytes; on a slow disk the writes, not the CPU, bound it).
_SPILL_IPC = pa.ipc.IpcWriteOptions(compression="lz4")


def _spill(folder: Path, k: int, part: dict[str, pa.Table]) -> dict[str, Path]:
    """Write one chunk's canonical tables as Arrow IPC files."""
    files = {}
    for name, table in part.items():
        path = folder / f"part-{k:05d}-{name}.arrow"
        with (
            pa.OSFile(str(path), "wb") as sink,
            pa.ipc.new_file(sink, table.schema, options=_SPILL_IPC) as w,
        ):
            w.write_table(table)
        files[name] = path
    return files


def _apply_patches(chunk: pa.Table, patches: dict[int, dict[str, str | None]]) -> pa.Table:
    rows = chunk["__row"].to_numpy()
    hit = np.flatnonzero(np.isin(rows, np.fromiter(patches, dtype=np.int64)))
    if len(hit) == 0:
        return chunk
    for col in {c for p in patches.values() for c in p}:
        if col not in chunk.column_names:
            raise DataError(f"correction names an unknown column / columna desconocida: {col!r}")
        vals = chunk[col].to_pylist()
        for i in hit:  # loop over corrected rows only (a handful)
            p = patches[int(rows[i])]
            if col in p:
                vals[i] = p[col]
        chunk = chunk.set_column(chunk.column_names.index(col), col, pa.array(vals, pa.string()))
    return chunk


def _empty_q() -> pa.Table:
    return pa.table(
        {
            "row_number": pa.array([], pa.int64()),
            "raw": pa.array([], pa.string()),
            "reasons": pa.array([], pa.string()),
        }
    )


def _renumber(
    t: pa.Table, fn: Callable[[np.ndarray], np.ndarray], cols: tuple[str, ...] = ("row_number",)
) -> pa.Table:
    for c in cols:
        v = t[c]
        mask = pc.is_null(v).to_numpy(zero_copy_only=False)
        arr = np.where(mask, 0, v.fill_null(0).to_numpy())
        new = fn(arr) if len(arr) else arr
        t = t.set_column(t.column_names.index(c), c, pa.array(new, pa.int64(), mask=mask))
    return t


def _reject_rows(rejects, columns, pii, profile) -> pa.Table:  # type: ignore[no-untyped-def]
    """Quarantine rows for lines the reader could not split; personal identifier positions are
    dropped from the naive split of the raw line."""
    delim = profile.delimiter or ","
    raws, reasons = [], []
    for _, line, why in rejects:  # rows the reader rejected (few)
        parts = line.split(delim)
        raw = {}
        for i, v in enumerate(parts):
            name = columns[i] if i < len(columns) else f"_extra_{i - len(columns) + 1}"
            if name not in pii:
                raw[name] = v
        raws.append(json.dumps(raw, ensure_ascii=False))
        reasons.append(
            json.dumps(
                [
                    {
                        "field": None,
                        "column": None,
                        "value": f"{len(parts)} fields / {len(columns)} columns",
                        "rule": "malformed_row",
                        "detail": why,
                    }
                ],
                ensure_ascii=False,
            )
        )
    return pa.table(
        {
            "row_number": pa.array([r[0] for r in rejects], pa.int64()),
            "raw": pa.array(raws, pa.string()),
            "reasons": pa.array(reasons, pa.string()),
        }
    )


def _canonical_flat(new: pa.Table, profile: SourceProfile) -> pa.Table:
    """Keep only what the canonical tables need, named ``table.column``."""
    cols: dict[str, pa.ChunkedArray] = {
        "__row": new["__row"],
        "__ext": new["__ext"],
        "__area": new["__area"],
    }
    for name in new.column_names:
        if name.startswith("v:") and name != "v:area":
            cols[name[2:]] = new[name]
        elif name.startswith("c:"):
            cols[name] = new[name]
    return pa.table(cols)


def _split_tables(flat: pa.Table | None, profile: SourceProfile) -> dict[str, pa.Table]:
    """Build the canonical tables from accepted flat rows (one row = one incident with one
    offence, and a victim / perpetrator when any of its fields is known)."""
    names = (
        ["custody"]
        if profile.record == "custody"
        else ["incident", "offence", "victim", "perpetrator"]
    )
    if flat is None or flat.num_rows == 0:
        return {n: TABLES[n].empty_table() for n in names}
    n = flat.num_rows
    ext = flat["__ext"]

    def col(name: str) -> pa.ChunkedArray | pa.Array | None:
        return flat[name] if name in flat.column_names else None

    def sets(var: str, base):  # type: ignore[no-untyped-def]
        s = col(f"c:set_{var}")
        if s is None:
            return base
        return s if base is None else pc.coalesce(base, s)

    if profile.record == "custody":
        c = {f.name: col("custody." + f.name) for f in TABLES["custody"]}
        c["external_id"] = ext
        c["area_code"] = flat["__area"]
        if col("c:iccs_code") is not None:
            c["iccs_code"] = flat["c:iccs_code"]
        return {
            "custody": conform(pa.table({k: v for k, v in c.items() if v is not None}), "custody")
        }
    inc = {f.name: col("incident." + f.name) for f in TABLES["incident"]}
    inc["external_id"] = ext
    inc["area_code"] = flat["__area"]
    for var in (
        "situational_context",
        "motive",
        "weapon",
        "location_type",
        "attempted",
        "cyber_related",
    ):
        inc[var] = sets(var, inc[var])
    out = {
        "incident": conform(pa.table({k: v for k, v in inc.items() if v is not None}), "incident")
    }
    off_id = col("offence.external_id")
    if off_id is None:
        off_id = pc.binary_join_element_wise(ext, pa.scalar("-o1"), "")
    off = {
        "external_id": off_id,
        "incident_ref": ext,
        "national_code": col("offence.national_code"),
        "national_label": col("offence.national_label"),
        "iccs_code": col("c:iccs_code"),
        "crosswalk_version": col("c:version"),
        "mapping_type": col("c:mapping_type"),
    }
    if off["national_code"] is not None:
        out["offence"] = conform(
            pa.table({k: v for k, v in off.items() if v is not None}), "offence"
        )
    for person, suffix in (("victim", "-v1"), ("perpetrator", "-p1")):
        fields = [
            f.name
            for f in TABLES[person]
            if f.name not in ("external_id", "incident_ref", "offence_ref")
            and col(f"{person}.{f.name}") is not None
        ]
        if not fields:
            continue
        known = None
        for f in fields:
            m = pc.is_valid(flat[f"{person}.{f}"])
            known = m if known is None else pc.or_(known, m)
        pid = col(f"{person}.external_id")
        if pid is None:
            pid = pc.binary_join_element_wise(ext, pa.scalar(suffix), "")
        t = {
            "external_id": pid,
            "incident_ref": ext,
            "offence_ref": off_id if "offence" in out else None,
        }
        t.update({f: flat[f"{person}.{f}"] for f in fields})
        tbl = pa.table({k: v for k, v in t.items() if v is not None}).filter(known)
        out[person] = conform(tbl, person)
    del n
    return out


def _infer_period(tables: dict[str, pa.Table], profile: SourceProfile):  # type: ignore[no-untyped-def]
    t, c = (
        ("custody", "admitted_at") if profile.record == "custody" else ("incident", "occurred_from")
    )
    if t not in tables or tables[t].num_rows == 0:
        return None
    mm = pc.min_max(tables[t][c]).as_py()
    lo, hi = mm["min"].date(), mm["max"].date()
    first = lo.replace(day=1)
    nxt = (hi.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return first, nxt - dt.timedelta(days=1)
