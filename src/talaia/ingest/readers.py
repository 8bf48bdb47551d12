"""Readers: any delivered file in, Arrow batches of text columns out, streamed in chunks.

Every reader yields ``pyarrow.Table`` chunks whose columns are the file's own columns as
``string`` (values exactly as delivered, nothing parsed yet) plus ``__row``: the record number
in the file (the header is record 1 for CSV and spreadsheets, so that the number is the one a
person sees in a spreadsheet; JSON lines and Parquet count from 1). Rows the reader cannot split
into fields (a CSV line with too many or too few fields, or bytes invalid in the file's encoding)
are returned by :meth:`FileReader.rejects` with their raw text and the reason, so that they are
quarantined rather than lost.

Methods: CSV through DuckDB's ``read_csv`` (``all_varchar``, explicit dialect, rejects stored,
streamed with ``to_arrow_reader`` in chunks of at most ``chunk_rows`` rows and about
:data:`CHUNK_BYTES` bytes of the file, the row length estimated from its first MiB);
files that are not UTF-8 are transcoded to UTF-8 in 16 MiB
blocks first. XLSX through openpyxl's read-only streaming mode. Parquet with
``pyarrow.parquet.ParquetFile.iter_batches``; JSON and JSON lines with DuckDB ``read_json``;
GeoJSON and GeoPackage (point geometries give ``__x``/``__y``) through the standard library and
shapely.
"""

from __future__ import annotations

import codecs
import datetime as dt
import json
import math
import re
import sqlite3
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from talaia.errors import DataError

CHUNK_ROWS = 250_000
#: Target size of one CSV chunk in bytes of the file: a file of long rows (free-text narratives)
#: is read in fewer rows per chunk, so that memory is bounded by bytes, not by rows.
CHUNK_BYTES = 64 << 20
#: Memory limit of the reader's own DuckDB connection.
READER_MEMORY = "512MB"
_SAMPLE = 1 << 20
_BLOCK = 16 << 20
_UTF8_MULTI = re.compile(rb"[\xc2-\xf4][\x80-\xbf]+")


def detect_encoding(path: Path) -> str:
    """Detect a text file's encoding from its first MiB.

    Returns ``"utf-8-sig"`` (byte-order mark), ``"utf-8"`` (valid UTF-8), ``"cp1252"`` or
    ``"latin-1"`` (single-byte: cp1252 unless it uses bytes cp1252 leaves undefined).

    Raises
    ------
    DataError
        When the file is empty, looks binary (NUL bytes), or mixes UTF-8 and single-byte text.
    """
    with path.open("rb") as fh:
        sample = fh.read(_SAMPLE)
    if not sample:
        raise DataError(f"{path.name}: the file is empty / el archivo está vacío")
    nul = sample.find(b"\x00")
    if nul >= 0:
        raise DataError(
            f"{path.name}: binary content, not a text file (NUL byte at offset "
            f"{nul}) / contenido binario, no es un archivo de texto"
        )
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    try:
        sample.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        if exc.start >= len(sample) - 3 and len(sample) == _SAMPLE:
            return "utf-8"  # a character cut by the sample's end
        bad_line = sample[: exc.start].count(b"\n") + 1
        if _UTF8_MULTI.search(sample[: exc.start]):
            raise DataError(
                f"{path.name}: row {bad_line}: the file mixes encodings (UTF-8 before, "
                f"byte 0x{sample[exc.start]:02x} is not UTF-8) / el archivo mezcla codificaciones"
            ) from None
    undefined = {0x81, 0x8D, 0x8F, 0x90, 0x9D}
    return "latin-1" if undefined & set(sample) else "cp1252"


def _to_utf8(path: Path, encoding: str, tmpdir: Path) -> Path:
    """Transcode ``path`` to a UTF-8 file in ``tmpdir``, streaming in blocks (bounded memory)."""
    out = tmpdir / (path.stem + ".utf8" + path.suffix)
    dec = codecs.getincrementaldecoder(encoding)(errors="strict")
    with path.open("rb") as src, out.open("wb") as dst:
        while block := src.read(_BLOCK):
            dst.write(dec.decode(block).encode("utf-8"))
        dst.write(dec.decode(b"", final=True).encode("utf-8"))
    return out


class FileReader:
    """Stream one delivered file as text columns (see the module docstring).

    Parameters
    ----------
    path
        The file.
    fmt
        ``csv``, ``tsv``, ``xlsx``, ``parquet``, ``json``, ``jsonl``, ``geojson`` or ``gpkg``.
    encoding, delimiter, quote, sheet, header_row
        Dialect; ``encoding`` and ``delimiter`` are detected when ``None``.
    chunk_rows
        Rows per chunk.
    """

    def __init__(
        self,
        path: str | Path,
        fmt: str,
        *,
        encoding: str | None = None,
        delimiter: str | None = None,
        quote: str = '"',
        sheet: str | None = None,
        header_row: int = 1,
        chunk_rows: int = CHUNK_ROWS,
    ) -> None:
        self.path = Path(path)
        self.fmt = fmt
        self.encoding = encoding
        self.delimiter = "\t" if fmt == "tsv" and delimiter is None else delimiter
        self.quote = quote
        self.sheet = sheet
        self.header_row = header_row
        self.chunk_rows = chunk_rows
        self.columns: list[str] = []
        self._rejects: list[tuple[int, str, str]] = []
        self._holes: np.ndarray = np.zeros(0, dtype=np.int64)
        self._tmp = tempfile.TemporaryDirectory(prefix="talaia-ingest-")
        if not self.path.exists():
            raise DataError(f"{self.path}: file not found / archivo no encontrado")
        if self.path.stat().st_size == 0:
            raise DataError(f"{self.path.name}: the file is empty / el archivo está vacío")

    def close(self) -> None:
        self._tmp.cleanup()

    def __enter__(self) -> FileReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ public
    def batches(self) -> Iterator[pa.Table]:
        """Yield chunks of text columns with ``__row`` (see the module docstring)."""
        reader = {
            "csv": self._csv,
            "tsv": self._csv,
            "xlsx": self._xlsx,
            "parquet": self._parquet,
            "json": self._json,
            "jsonl": self._json,
            "geojson": self._geojson,
            "gpkg": self._gpkg,
        }[self.fmt]
        yield from reader()

    def rejects(self) -> list[tuple[int, str, str]]:
        """Rows the reader could not split: ``(record number, raw text, reason)``."""
        return list(self._rejects)

    def record_numbers(self, provisional: np.ndarray) -> np.ndarray:
        """Final record numbers of rows given their provisional ``__row`` (CSV rejects shift
        the rows after them); identity for the other formats."""
        if self.fmt not in ("csv", "tsv") or len(self._holes) == 0:
            return np.asarray(provisional, dtype=np.int64)
        # provisional = 2 + ordinal among accepted rows; holes = record numbers of rejects
        ordinal = np.asarray(provisional, dtype=np.int64) - 2
        shifted = self._holes - 2 - np.arange(len(self._holes))
        return ordinal + 2 + np.searchsorted(shifted, ordinal, side="right")

    # ------------------------------------------------------------------ CSV
    def _csv(self) -> Iterator[pa.Table]:
        enc = self.encoding or detect_encoding(self.path)
        self.encoding = enc
        path = self.path
        if enc.lower().replace("_", "-") not in ("utf-8", "utf8", "utf-8-sig"):
            try:
                path = _to_utf8(self.path, enc, Path(self._tmp.name))
            except UnicodeDecodeError as exc:
                raise DataError(
                    f"{self.path.name}: byte offset {exc.start}: not valid {enc} / "
                    f"no es {enc} válido"
                ) from None
        con = duckdb.connect(config={"memory_limit": READER_MEMORY})
        con.execute("SET enable_progress_bar = false")
        opts = {
            "all_varchar": True,
            "header": True,
            "quote": self.quote,
            "escape": self.quote,
            "store_rejects": True,
            "rejects_table": "rejects",
            "rejects_scan": "rejects_scan",
            "strict_mode": True,
            "null_padding": False,
            "auto_detect": True,
            "max_line_size": 8 << 20,
        }
        if self.delimiter is not None:
            opts["delim"] = self.delimiter
        arglist = ", ".join(f"{k} := ${i + 2}" for i, k in enumerate(opts))
        sql = f"SELECT * FROM read_csv($1, {arglist})"
        params = [str(path), *opts.values()]
        try:
            reader = con.sql(sql, params=params).to_arrow_reader(
                _csv_chunk_rows(path, self.chunk_rows)
            )
        except duckdb.Error as exc:
            raise DataError(
                f"{self.path.name}: cannot read as CSV / no se puede leer como CSV: "
                f"{str(exc).splitlines()[0]}"
            ) from None
        self.columns = list(reader.schema.names)
        _check_header(self.path, self.columns)
        start = 2
        try:
            for batch in reader:
                n = batch.num_rows
                if n == 0:
                    continue
                tbl = pa.Table.from_batches([batch])
                rows = pa.array(np.arange(start, start + n, dtype=np.int64))
                start += n
                yield tbl.append_column("__row", rows)
        except duckdb.Error as exc:
            raise DataError(
                f"{self.path.name}: cannot read as CSV / no se puede leer como CSV: "
                f"{str(exc).splitlines()[0]}"
            ) from None
        rej = con.execute(
            "SELECT line, any_value(csv_line), string_agg(error_type || ': ' || error_message,"
            " '; ') FROM rejects GROUP BY line ORDER BY line"
        ).fetchall()
        self._rejects = [(int(a), b or "", str(c).splitlines()[0]) for a, b, c in rej]
        self._holes = np.array([r[0] for r in self._rejects], dtype=np.int64)
        con.close()

    # ------------------------------------------------------------------ XLSX
    def _xlsx(self) -> Iterator[pa.Table]:
        import openpyxl

        try:
            wb = openpyxl.load_workbook(self.path, read_only=True, data_only=True)
        except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
            raise DataError(
                f"{self.path.name}: not a readable XLSX workbook (truncated or damaged?) / "
                f"libro XLSX ilegible (¿truncado o dañado?): {exc}"
            ) from None
        try:
            if self.sheet is not None:
                if self.sheet not in wb.sheetnames:
                    raise DataError(
                        f"{self.path.name}: no sheet {self.sheet!r} / no existe la hoja; "
                        f"sheets: {wb.sheetnames}"
                    )
                ws = wb[self.sheet]
            else:
                ws = wb.worksheets[0]
            rows = ws.iter_rows(min_row=self.header_row, values_only=True)
            try:
                header = next(rows)
            except StopIteration:
                raise DataError(
                    f"{self.path.name}: the sheet is empty / la hoja está vacía"
                ) from None
            except (zipfile.BadZipFile, KeyError, OSError, ValueError, EOFError) as exc:
                raise DataError(f"{self.path.name}: damaged XLSX / XLSX dañado: {exc}") from None
            width = len(header)
            while width and header[width - 1] is None:
                width -= 1
            self.columns = [
                _cell_text(h) or f"column_{i + 1}" for i, h in enumerate(header[:width])
            ]
            _check_header(self.path, self.columns)
            buf: list[tuple] = []
            nums: list[int] = []
            rownum = self.header_row
            try:
                for r in rows:
                    rownum += 1
                    if not any(v is not None for v in r):
                        continue
                    if len(r) > width and any(v is not None for v in r[width:]):
                        extra = [_cell_text(v) for v in r]
                        self._rejects.append(
                            (
                                rownum,
                                json.dumps(extra, ensure_ascii=False),
                                "TOO MANY COLUMNS: values beyond the header",
                            )
                        )
                        continue
                    buf.append(tuple(r[:width]) + (None,) * (width - len(r)))
                    nums.append(rownum)
                    if len(buf) >= self.chunk_rows:
                        yield _rows_to_table(self.columns, buf, nums)
                        buf, nums = [], []
            except (zipfile.BadZipFile, KeyError, OSError, EOFError, ValueError) as exc:
                raise DataError(
                    f"{self.path.name}: row {rownum + 1}: damaged XLSX (truncated?) / "
                    f"XLSX dañado (¿truncado?): {exc}"
                ) from None
            if buf:
                yield _rows_to_table(self.columns, buf, nums)
        finally:
            wb.close()

    # ------------------------------------------------------------------ Parquet
    def _parquet(self) -> Iterator[pa.Table]:
        try:
            pf = pq.ParquetFile(self.path)
        except (pa.ArrowInvalid, OSError) as exc:
            raise DataError(f"{self.path.name}: not a readable Parquet file: {exc}") from None
        self.columns = list(pf.schema_arrow.names)
        start = 1
        for batch in pf.iter_batches(batch_size=self.chunk_rows):
            tbl = _as_text(pa.Table.from_batches([batch]))
            n = tbl.num_rows
            yield tbl.append_column("__row", pa.array(np.arange(start, start + n)))
            start += n

    # ------------------------------------------------------------------ JSON
    def _json(self) -> Iterator[pa.Table]:
        fmt = "newline_delimited" if self.fmt == "jsonl" else "array"
        detect_encoding(self.path)
        con = duckdb.connect()
        con.execute("SET enable_progress_bar = false")
        try:
            rel = con.sql(
                "SELECT * FROM read_json($p, format := $f, maximum_object_size := 67108864)",
                params={"p": str(self.path), "f": fmt},
            )
            self.columns = list(rel.columns)
            reader = con.sql(
                "SELECT COLUMNS(*)::VARCHAR FROM read_json($p, format := $f, "
                "maximum_object_size := 67108864)",
                params={"p": str(self.path), "f": fmt},
            ).to_arrow_reader(self.chunk_rows)
            start = 1
            for batch in reader:
                tbl = pa.Table.from_batches([batch])
                n = tbl.num_rows
                yield tbl.append_column("__row", pa.array(np.arange(start, start + n)))
                start += n
        except duckdb.Error as exc:
            raise DataError(
                f"{self.path.name}: not valid JSON / JSON no válido: {str(exc).splitlines()[0]}"
            ) from None
        finally:
            con.close()

    # ------------------------------------------------------------------ GeoJSON / GPKG
    def _geojson(self) -> Iterator[pa.Table]:
        try:
            doc = json.loads(self.path.read_bytes())
            feats = doc["features"]
        except (ValueError, KeyError, TypeError) as exc:
            raise DataError(f"{self.path.name}: not a GeoJSON FeatureCollection: {exc}") from None
        props = [f.get("properties") or {} for f in feats]
        cols: dict[str, None] = {}
        for p in props:
            cols.update(dict.fromkeys(p))
        self.columns = [*cols, "__x", "__y"]
        xs, ys = [], []
        for f in feats:
            g = f.get("geometry") or {}
            c = g.get("coordinates") if g.get("type") == "Point" else None
            xs.append(c[0] if c else None)
            ys.append(c[1] if c else None)
        rows = [
            (*tuple(p.get(c) for c in cols), x, y) for p, x, y in zip(props, xs, ys, strict=True)
        ]
        for i in range(0, max(len(rows), 1), self.chunk_rows):
            part = rows[i : i + self.chunk_rows]
            if part:
                yield _rows_to_table(self.columns, part, list(range(i + 1, i + 1 + len(part))))

    def _gpkg(self) -> Iterator[pa.Table]:
        import shapely

        try:
            con = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)
            table, geom = con.execute(
                "SELECT table_name, column_name FROM gpkg_geometry_columns LIMIT 1"
            ).fetchone()
            cur = con.execute(f'SELECT * FROM "{table}"')
        except (sqlite3.Error, TypeError) as exc:
            raise DataError(f"{self.path.name}: not a readable GeoPackage: {exc}") from None
        names = [d[0] for d in cur.description]
        gi = names.index(geom)
        self.columns = [n for n in names if n != geom] + ["__x", "__y"]
        start = 1
        while rows := cur.fetchmany(self.chunk_rows):
            blobs = [r[gi] for r in rows]
            wkb = [_gpkg_wkb(b) for b in blobs]
            pts = shapely.from_wkb(wkb)
            is_pt = shapely.get_type_id(pts) == 0
            x = np.where(is_pt, shapely.get_x(pts), np.nan)
            y = np.where(is_pt, shapely.get_y(pts), np.nan)
            out = [
                (
                    *tuple(v for j, v in enumerate(r) if j != gi),
                    None if np.isnan(a) else float(a),
                    None if np.isnan(b) else float(b),
                )
                for r, a, b in zip(rows, x, y, strict=True)
            ]
            yield _rows_to_table(self.columns, out, list(range(start, start + len(out))))
            start += len(out)
        con.close()


def _gpkg_wkb(blob: bytes | None) -> bytes | None:
    """Strip the GeoPackage binary header (GP, version, flags, srs id, envelope) from a blob."""
    if blob is None:
        return None
    env = (blob[3] >> 1) & 0b111
    return bytes(blob[8 + (0, 32, 48, 48, 64)[env] :])


def _check_header(path: Path, columns: list[str]) -> None:
    if not columns:
        raise DataError(f"{path.name}: no header row / sin fila de encabezado")
    dup = sorted({c for c in columns if columns.count(c) > 1})
    if dup:
        raise DataError(f"{path.name}: duplicate column names / columnas repetidas: {dup}")


def _cell_text(v: object) -> str | None:
    """Text of a spreadsheet or JSON value: integral floats without ``.0``, ISO timestamps."""
    if v is None:
        return None
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() and abs(v) < 1e15 else repr(v)
    if isinstance(v, dt.datetime):
        return v.isoformat(sep=" ")
    if isinstance(v, dt.date | dt.time):
        return v.isoformat()
    return str(v)


def _rows_to_table(columns: list[str], rows: list[tuple], nums: list[int]) -> pa.Table:
    cols = list(zip(*rows, strict=True)) if rows else [() for _ in columns]
    arrays = [pa.array([_cell_text(v) for v in c], type=pa.string()) for c in cols]
    arrays.append(pa.array(nums, type=pa.int64()))
    return pa.Table.from_arrays(arrays, names=[*columns, "__row"])


def _as_text(tbl: pa.Table) -> pa.Table:
    """Cast every column to string (timestamps as ISO text, integral floats kept as numbers)."""
    out = []
    for col in tbl.columns:
        if pa.types.is_string(col.type):
            out.append(col)
        elif pa.types.is_large_string(col.type) or pa.types.is_dictionary(col.type):
            out.append(col.cast(pa.string()))
        else:
            out.append(col.cast(pa.string()))
    return pa.Table.from_arrays(out, names=tbl.column_names)


def expected_chunks(path: Path, fmt: str, chunk_rows: int = CHUNK_ROWS) -> int | None:
    """About how many chunks :class:`FileReader` yields for a CSV/TSV file (its size over the
    bytes of one chunk, from the mean row length of its first MiB); ``None`` for the other
    formats. A guess, for planning only (:class:`talaia.store.staging.StagedCopy`)."""
    if fmt not in ("csv", "tsv"):
        return None
    per_row = _row_bytes(path)
    rows = _csv_chunk_rows(path, chunk_rows, per_row)
    return max(1, math.ceil(path.stat().st_size / per_row / rows))


def _row_bytes(path: Path) -> float:
    """The mean length of a row of a text file, from its first MiB."""
    with path.open("rb") as fh:
        sample = fh.read(_SAMPLE)
    return max(len(sample), 1) / max(sample.count(b"\n"), 1)


def _csv_chunk_rows(path: Path, chunk_rows: int, per_row: float | None = None) -> int:
    """Rows per chunk: ``chunk_rows``, fewer when the file's rows are long (about
    :data:`CHUNK_BYTES` of the file per chunk; the mean row length from the first MiB)."""
    per_row = _row_bytes(path) if per_row is None else per_row
    return max(1, min(chunk_rows, int(CHUNK_BYTES / per_row)))
