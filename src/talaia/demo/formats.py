"""How each demo agency writes its raw files: columns, Spanish value labels, encodings.

Ingestion profiles for the demo sources read these files; the label maps below are the exact
inverse of what they need (raw label -> canonical vocabulary token). An empty cell is NULL.

- ``policia_nacional``: UTF-8 CSV, ``,``-separated, ISO dates (``fecha_hecho`` YYYY-MM-DD,
  ``hora_hecho`` HH:MM, empty when unknown), ``fecha_registro`` YYYY-MM-DD HH:MM:SS,
  decimal points. One row per incident (one offence, at most one victim and one suspect).
- ``policia_metropolitana``: latin-1 CSV, ``;``-separated, decimal commas, day-first dates
  (``FECHA_HORA`` dd/mm/yyyy HH:MM, or dd/mm/yyyy when the time is unknown).
- ``medicina_legal``: XLSX, one sheet ``Defunciones``, header in row 1; dates are Excel dates.
- ``penitenciario``: JSON lines, one admission per line, ``fecha_ingreso`` ISO 8601.

A police row has a victim when any ``victima_*`` / ``*_VICTIMA`` / ``VINCULO`` / ``LESIONES``
field is filled (victim citizenship is always filled for a victim, even when the sex or age was
left empty), and a suspect when any ``imputado_*`` / ``*_IMPUTADO`` field is; the victim's
relationship to the suspect is also the suspect's (canonical ``perpetrator.relationship``).
Forensic records are deaths: canonical ``attempted = completed`` and ``victim.outcome = killed``.

Personal identifiers (``imputado_cedula``, ``DOC_IMPUTADO``, ``cedula``) are national ID numbers
in clear, as agencies deliver them; canonical records carry only ``person_key``.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Mapping
from datetime import date, datetime
from pathlib import Path
from types import MappingProxyType

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

M = MappingProxyType

#: canonical token -> raw label, per source and variable.
RAW_LABELS: Mapping[str, Mapping[str, Mapping[str, str]]] = M(
    {
        "policia_nacional": M(
            {
                "location_type": M(
                    {
                        "residence": "VIVIENDA",
                        "street": "VIA PUBLICA",
                        "school": "CENTRO EDUCATIVO",
                        "prison": "CENTRO PENITENCIARIO",
                        "institutional_care": "CENTRO DE CUIDADO",
                        "commercial": "ESTABLECIMIENTO COMERCIAL",
                        "other": "OTRO",
                    }
                ),
                "weapon": M(
                    {
                        "firearm": "ARMA DE FUEGO",
                        "sharp_object": "ARMA BLANCA",
                        "other": "OTRO MEDIO",
                        "unknown_means": "DESCONOCIDO",
                        "not_applicable": "NO APLICA",
                    }
                ),
                "attempted": M(
                    {
                        "attempted": "TENTATIVA",
                        "completed": "CONSUMADO",
                        "not_applicable": "NO APLICA",
                    }
                ),
                "situational_context": M(
                    {
                        "organized_crime": "CRIMEN ORGANIZADO",
                        "gang": "PANDILLAS",
                        "intimate_partner_family": "PAREJA O FAMILIA",
                    }
                ),
                "motive": M(
                    {
                        "illicit_gain": "LUCRO",
                        "gender_based": "RAZONES DE GENERO",
                        "interpersonal_conflict": "CONFLICTO INTERPERSONAL",
                    }
                ),
                "sex": M({"male": "HOMBRE", "female": "MUJER"}),
                "citizenship": M({"national": "NACIONAL", "foreign": "EXTRANJERO"}),
                "relationship": M(
                    {
                        "current_partner": "PAREJA ACTUAL",
                        "former_partner": "EXPAREJA",
                        "blood_relative": "FAMILIAR",
                        "household_member": "MIEMBRO DEL HOGAR",
                        "friend": "AMIGO",
                        "acquaintance": "CONOCIDO",
                        "colleague": "COMPAÑERO DE TRABAJO",
                        "authority_care": "AUTORIDAD O CUIDADOR",
                        "other_known": "OTRO CONOCIDO",
                        "stranger": "DESCONOCIDO",
                    }
                ),
                "outcome": M(
                    {
                        "killed": "FALLECIDO",
                        "serious_injury": "LESION GRAVE",
                        "minor_injury": "LESION LEVE",
                        "unharmed": "ILESO",
                    }
                ),
                "bool": M({"true": "SI", "false": "NO"}),
            }
        ),
        "policia_metropolitana": M(
            {
                "location_type": M(
                    {
                        "residence": "Casa de habitación",
                        "street": "Vía pública",
                        "school": "Centro educativo",
                        "prison": "Centro penal",
                        "institutional_care": "Albergue",
                        "commercial": "Comercio",
                        "other": "Otro",
                    }
                ),
                "weapon": M(
                    {
                        "firearm": "Arma de fuego",
                        "sharp_object": "Arma blanca",
                        "other": "Otro",
                        "unknown_means": "Desconocido",
                        "not_applicable": "No aplica",
                    }
                ),
                "attempted": M(
                    {
                        "attempted": "Tentativa",
                        "completed": "Consumado",
                        "not_applicable": "No aplica",
                    }
                ),
                "sex": M({"male": "M", "female": "F"}),
                "citizenship": M({"national": "Nacional", "foreign": "Extranjero"}),
                "relationship": M(
                    {
                        "current_partner": "Cónyuge o compañero",
                        "former_partner": "Excónyuge o excompañero",
                        "blood_relative": "Pariente",
                        "household_member": "Convive",
                        "friend": "Amistad",
                        "acquaintance": "Conocido",
                        "colleague": "Laboral",
                        "authority_care": "Autoridad o cuido",
                        "other_known": "Otro conocido",
                        "stranger": "Ninguno",
                    }
                ),
                "outcome": M(
                    {
                        "killed": "Fallecido",
                        "serious_injury": "Grave",
                        "minor_injury": "Leve",
                        "unharmed": "Sin lesiones",
                    }
                ),
                "bool": M({"true": "S", "false": "N"}),
            }
        ),
        "medicina_legal": M(
            {
                "location_type": M(
                    {
                        "residence": "Vivienda",
                        "street": "Vía pública",
                        "school": "Centro educativo",
                        "prison": "Centro penitenciario",
                        "institutional_care": "Institución de cuidado",
                        "commercial": "Local comercial",
                        "other": "Otro",
                    }
                ),
                "weapon": M(
                    {
                        "firearm": "Proyectil de arma de fuego",
                        "sharp_object": "Arma cortopunzante",
                        "other": "Contundente u otro",
                        "unknown_means": "Indeterminado",
                        "not_applicable": "No aplica",
                    }
                ),
                "sex": M({"male": "Hombre", "female": "Mujer"}),
                "citizenship": M({"national": "Nacional", "foreign": "Extranjera"}),
            }
        ),
        "penitenciario": M(
            {
                "custody_status": M({"pretrial": "PROCESADO", "sentenced": "CONDENADO"}),
                "sex": M({"male": "M", "female": "F"}),
                "citizenship": M({"national": "NACIONAL", "foreign": "EXTRANJERO"}),
            }
        ),
    }
)

#: Raw column names per source (in file order).
RAW_COLUMNS: Mapping[str, tuple[str, ...]] = M(
    {
        "policia_nacional": (
            "numero_denuncia",
            "fecha_hecho",
            "hora_hecho",
            "fecha_registro",
            "codigo_municipio",
            "latitud",
            "longitud",
            "codigo_delito",
            "descripcion_delito",
            "modalidad",
            "tipo_lugar",
            "arma",
            "contexto",
            "movil",
            "delito_informatico",
            "victima_sexo",
            "victima_edad",
            "victima_nacionalidad",
            "victima_relacion",
            "victima_estado",
            "imputado_cedula",
            "imputado_sexo",
            "imputado_edad",
            "imputado_nacionalidad",
            "imputado_reincidente",
        ),
        "policia_metropolitana": (
            "NRO_PARTE",
            "FECHA_HORA",
            "FECHA_REGISTRO",
            "DISTRITO",
            "COORD_X",
            "COORD_Y",
            "ARTICULO",
            "DESCRIPCION",
            "LUGAR",
            "ARMA",
            "GRADO",
            "INFORMATICO",
            "SEXO_VICTIMA",
            "EDAD_VICTIMA",
            "NACIONALIDAD_VICTIMA",
            "VINCULO",
            "LESIONES",
            "DOC_IMPUTADO",
            "SEXO_IMPUTADO",
            "EDAD_IMPUTADO",
            "NACIONALIDAD_IMPUTADO",
            "REINCIDENTE",
        ),
        "medicina_legal": (
            "Protocolo",
            "Fecha del hecho",
            "Hora del hecho",
            "Fecha de ingreso",
            "Código municipio",
            "Manera de muerte",
            "Descripción",
            "Mecanismo",
            "Escenario",
            "Sexo",
            "Edad",
            "Nacionalidad",
        ),
        "penitenciario": (
            "id_ingreso",
            "cedula",
            "fecha_ingreso",
            "centro",
            "codigo_municipio",
            "situacion_juridica",
            "sexo",
            "edad",
            "nacionalidad",
            "delito_codigo",
            "delito",
        ),
    }
)

RAW_FILE_NAMES: Mapping[str, str] = M(
    {
        "policia_nacional": "denuncias_{ym}.csv",
        "policia_metropolitana": "partes_{ym}.csv",
        "medicina_legal": "defunciones_{ym}.xlsx",
        "penitenciario": "ingresos_{ym}.jsonl",
    }
)

FIXED_TIME = datetime(2024, 1, 1, 0, 0, 0)  # XLSX document times (for identical bytes)


def write_csv(table: pa.Table, path: Path, delimiter: str = ",", encoding: str = "utf-8"):
    """Write an all-string table as CSV (nulls as empty cells, quoting only where needed)."""
    buf = io.BytesIO()
    pacsv.write_csv(table, buf, pacsv.WriteOptions(delimiter=delimiter, quoting_style="needed"))
    data = buf.getvalue()
    if encoding != "utf-8":
        data = data.decode("utf-8").encode(encoding)
    path.write_bytes(data)


def write_jsonl(table: pa.Table, path: Path, int_columns: tuple[str, ...] = ()) -> None:
    """Write a table as JSON lines (one object per row, keys in column order)."""
    cols = table.column_names
    data = [table.column(c).to_pylist() for c in cols]
    lines = []
    for row in zip(*data, strict=True):
        obj = {
            c: (int(v) if c in int_columns and v not in (None, "") else v)
            for c, v in zip(cols, row, strict=True)
        }
        lines.append(json.dumps(obj, ensure_ascii=False))
    path.write_text("\n".join(lines) + ("\n" if lines else ""), encoding="utf-8")


_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def write_xlsx(
    table: pa.Table,
    path: Path,
    sheet: str,
    date_columns: tuple[str, ...] = (),
    datetime_columns: tuple[str, ...] = (),
    int_columns: tuple[str, ...] = (),
    title: str | None = None,
):
    """Write an all-string table to XLSX; identical input gives identical bytes.

    openpyxl writes the workbook (styles, workbook, document properties) with the header and a
    sample row, from which the date styles are read; the sheet's rows are then rendered as
    SpreadsheetML with vectorized Arrow string kernels (no Python loop per cell). ISO dates in
    ``date_columns`` become Excel dates (anything else stays text, e.g. an impossible date);
    ``datetime_columns`` hold ``YYYY-MM-DD HH:MM:SS``. Document times are pinned and the ZIP
    entries get a fixed timestamp so the file is reproducible. ``title`` (document property)
    names the delivery, e.g. its month, so that two months without rows are distinct files.
    """
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    wb.properties.creator = "Instituto de Medicina Legal"
    wb.properties.created = FIXED_TIME
    wb.properties.modified = FIXED_TIME
    if title:
        wb.properties.title = title
    ws = wb.create_sheet(sheet)
    cols = table.column_names
    ws.append(cols)
    ws.append(
        [
            date(2000, 1, 1) if c in date_columns else FIXED_TIME if c in datetime_columns else 0
            for c in cols
        ]
    )
    buf = io.BytesIO()
    wb.save(buf)
    template = zipfile.ZipFile(io.BytesIO(buf.getvalue()))
    sheet_name = next(n for n in template.namelist() if n.startswith("xl/worksheets/sheet"))
    xml = template.read(sheet_name).decode("utf-8")
    head = re.search(r"<row r=\"1\".*?</row>", xml, re.S).group(0)
    row2 = re.search(r"<row r=\"2\".*?</row>", xml, re.S).group(0)
    styles = {}
    for j, c in enumerate(cols):
        m = re.search(rf'<c r="{_col_letter(j)}2"[^>]*?s="(\d+)"', row2)
        styles[c] = m.group(1) if m else None
    body = _sheet_rows(table, styles, date_columns, datetime_columns, int_columns)
    start = xml.index("<sheetData>") + len("<sheetData>")
    stop = xml.index("</sheetData>")
    n = table.num_rows + 1
    xml = xml[:start] + head + body + xml[stop:]
    xml = re.sub(
        r'<dimension ref="[^"]*"/>', f'<dimension ref="A1:{_col_letter(len(cols) - 1)}{n}"/>', xml
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in template.infolist():
            content = (
                xml.encode("utf-8") if info.filename == sheet_name else template.read(info.filename)
            )
            dst.writestr(info, content)
    path.write_bytes(_pin_zip(out.getvalue()))


def _col_letter(j: int) -> str:
    s = ""
    j += 1
    while j:
        j, r = divmod(j - 1, 26)
        s = chr(65 + r) + s
    return s


def _esc(a: pa.Array) -> pa.Array:
    for old, new in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;")):
        a = pc.replace_substring(a, old, new)
    return a


def _sheet_rows(table, styles, date_columns, datetime_columns, int_columns) -> str:
    """SpreadsheetML ``<row>`` elements of ``table`` (rows 2..n+1), built column-wise."""
    n = table.num_rows
    if n == 0:
        return ""
    rownum = pa.array(range(2, n + 2)).cast(pa.string())
    empty = pa.scalar("", pa.string())
    cells = []
    for j, c in enumerate(table.column_names):
        v = table.column(c).combine_chunks().cast(pa.string())
        ref = pc.binary_join_element_wise(f'<c r="{_col_letter(j)}', rownum, "")
        text = pc.binary_join_element_wise(
            ref, '" t="inlineStr"><is><t>', _esc(v), "</t></is></c>", ""
        )
        num = None
        if c in date_columns or c in datetime_columns:
            fmt_ = "%Y-%m-%d" if c in date_columns else "%Y-%m-%d %H:%M:%S"
            ts = pc.strptime(v, format=fmt_, unit="s", error_is_null=True)
            secs = pc.cast(ts, pa.int64())
            serial = pc.add(pc.divide(pc.cast(secs, pa.float64()), 86400.0), 25569.0)
            if c in date_columns:
                serial = pc.cast(pc.cast(serial, pa.int64()), pa.string())
            else:
                serial = pc.cast(serial, pa.string())
            num = pc.binary_join_element_wise(ref, f'" s="{styles[c]}"><v>', serial, "</v></c>", "")
        elif c in int_columns:
            num = pc.binary_join_element_wise(ref, '"><v>', v, "</v></c>", "")
        cell = text if num is None else pc.coalesce(num, text)
        cells.append(pc.fill_null(pc.if_else(pc.is_null(v), empty, cell), ""))
    rows = pc.binary_join_element_wise(
        pc.binary_join_element_wise('<row r="', rownum, '">', ""), *cells, "</row>", ""
    )
    return "".join(rows.to_pylist())


def _pin_zip(data: bytes) -> bytes:
    """Rewrite a ZIP with fixed entry timestamps and pinned OOXML document times."""
    stamp = FIXED_TIME.strftime("%Y-%m-%dT%H:%M:%SZ")
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            content = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                text = content.decode("utf-8")
                text = re.sub(
                    r"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms:\2>)",
                    lambda m: m.group(1) + stamp + m.group(3),
                    text,
                )
                content = text.encode("utf-8")
            zi = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = 0o600 << 16
            dst.writestr(zi, content)
    return out.getvalue()
