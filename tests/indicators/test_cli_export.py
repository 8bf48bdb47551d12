import csv

from openpyxl import load_workbook
from typer.testing import CliRunner

from talaia.cli.main import app

runner = CliRunner(env={"COLUMNS": "220"})


def test_list_and_show():
    r = runner.invoke(app, ["indicators", "list"])
    assert r.exit_code == 0 and "homicide_rate" in r.stdout
    r = runner.invoke(app, ["indicators", "show", "homicide_rate", "--lang", "es"])
    assert r.exit_code == 0 and "Tasa de homicidio intencional" in r.stdout


def test_compute_prints_and_exports(wh, tmp_path):
    r = runner.invoke(
        app,
        [
            "indicators",
            "compute",
            "homicide_rate",
            "--period",
            "2023",
            "--area",
            "M1",
            "--by",
            "sex",
            "--warehouse",
            str(wh),
        ],
    )
    assert r.exit_code == 0, r.output
    assert "female" in r.stdout and "6.0" in r.stdout and "partial" in r.stdout
    out = tmp_path / "h.csv"
    r = runner.invoke(
        app,
        [
            "indicators",
            "compute",
            "homicide_rate",
            "--period",
            "2023",
            "--level",
            "3",
            "--warehouse",
            str(wh),
            "--out",
            str(out),
        ],
    )
    assert r.exit_code == 0, r.output
    with out.open(encoding="utf-8") as fh:
        rows = {row["area_code"]: row for row in csv.DictReader(fh)}
    assert float(rows["M3"]["value"]) == 9.5 and rows["M1"]["coverage"] == "partial"
    xlsx = tmp_path / "h.xlsx"
    r = runner.invoke(
        app,
        [
            "indicators",
            "compute",
            "femicide_rate",
            "--period",
            "2023-03",
            "--area",
            "M1",
            "--warehouse",
            str(wh),
            "--out",
            str(xlsx),
        ],
    )
    assert r.exit_code == 0, r.output
    wb = load_workbook(xlsx)
    assert wb.sheetnames == ["data", "metadata"]
    data = list(wb["data"].values)
    head = data[0]
    row = dict(zip(head, data[1], strict=True))
    assert row["coverage"] == "no_data" and row["value"] is None  # never 0
    meta = {r[0]: r for r in wb["metadata"].values}
    assert "pareja" in meta["method note / nota metodológica"][2]


def test_validate_command(wh, tmp_path):
    out = tmp_path / "f.csv"
    r = runner.invoke(
        app,
        [
            "indicators",
            "validate",
            "--period",
            "2023",
            "--warehouse",
            str(wh),
            "--out",
            str(out),
            "--lang",
            "es",
        ],
    )
    assert r.exit_code == 0, r.output
    assert "víctimas" in r.stdout
    with out.open(encoding="utf-8") as fh:
        assert {row["rule"] for row in csv.DictReader(fh)} >= {"outlier", "victims_vs_incidents"}


def test_bad_input_is_one_line_error(wh):
    from talaia.errors import UserInputError

    r = runner.invoke(
        app,
        [
            "indicators",
            "compute",
            "homicide_rate",
            "--period",
            "2023",
            "--by",
            "motive",
            "--warehouse",
            str(wh),
        ],
    )
    assert isinstance(r.exception, UserInputError)
