"""Mapping assistant: lexicon, ranking, review files that load back as crosswalks."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from talaia.classification.assistant import (
    Assistant,
    default_assistant,
    load_lexicon,
    review_rows,
    term_matches,
    words_of,
    write_review_file,
)
from talaia.classification.iccs import load_iccs
from talaia.classification.validation import validate_file

DATA = Path(__file__).parent / "data"


def test_lexicon_is_valid_and_covers_the_brief():
    lex = load_lexicon()
    iccs = load_iccs()
    assert len(lex) > 400 and all(iccs.is_code(t.iccs_code) for t in lex)
    assert {t.lang for t in lex} == {"es", "pt", "en"}
    terms = {t.term for t in lex}
    for required in (
        "hurto",
        "furto",
        "robo con violencia",
        "sicariato",
        "feminicidio",
        "extorsion",
        "lesiones",
        "estupro",
        "abigeato",
        "trata personas",
        "narcomenudeo",
        "portacion arma",
    ):
        assert required in terms, required
    with pytest.raises(ValueError, match="not an ICCS code"):
        load_lexicon("es:\n  robo: '9999'\n")


def test_term_matching():
    assert words_of("Robo a Casa-Habitación, con violencia") == (
        "robo",
        "casa",
        "habitacion",
        "con",
        "violencia",
    )
    assert term_matches(("robo", "con", "violencia"), words_of("Robo agravado con violencia"))
    assert not term_matches(("robo", "con", "violencia"), words_of("Robo sin violencia"))
    assert term_matches(("lesion",), words_of("Lesiones"))  # prefix of 5+ letters
    assert term_matches(("homicidio",), words_of("homisidio"))  # typo
    assert not term_matches(("robo",), words_of("Roborativo"))  # short words match whole only
    assert not term_matches(("robo", "violencia"), words_of("robo a b c d violencia"))  # gap > 2


@pytest.mark.parametrize(
    ("label", "top"),
    [
        ("Robo con violencia", "0401"),
        ("ROBO CON VIOLENCIA", "0401"),
        ("Furto de veículo", "050211"),
        ("Feminicidio", "0101"),
        ("Sicariato", "0101"),
        ("Tentativa de homicidio", "0102"),
        ("Extorsión", "02051"),
        ("Abigeato", "05025"),
        ("Trata de personas", "0204"),
        ("Narcomenudeo", "06012"),
        ("Portación de arma de fuego", "090111"),
        ("Lesiones graves", "020111"),
        ("Estupro de vulnerável", "030113"),
        ("Money laundering", "07041"),
    ],
)
def test_top_suggestion(label, top):
    s = default_assistant().suggest(label)
    assert s[0].iccs_code == top
    assert s[0].reason.startswith("lexicon term") and s[0].reason_es.startswith("término")


def test_ranking_scores_and_fallback_to_titles():
    s = default_assistant().suggest("Tentativa de homicidio", k=3)
    assert [x.iccs_code for x in s][:2] == ["0102", "0101"]  # 2-word term beats 1-word term
    assert s[0].score > s[1].score and len({x.iccs_code for x in s}) == 3
    # no lexicon: title similarity only, still finds the ICCS title
    bare = Assistant(lexicon=())
    t = bare.suggest("Robo de ganado")
    assert t[0].iccs_code == "04014" and "ICCS title" in t[0].reason
    assert bare.suggest("") == () and bare.suggest("  ¡! ") == ()


def test_evaluation_sets_are_well_formed():
    iccs = load_iccs()
    with open(DATA / "assistant_eval.csv", encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) >= 200
    assert {r["split"] for r in rows} == {"tuning", "heldout"}
    assert sum(r["split"] == "heldout" for r in rows) >= 100
    assert {r["language"] for r in rows} == {"es", "pt"}
    assert all(iccs.is_code(r["iccs_code"]) for r in rows)
    with open(DATA / "assistant_external.csv", encoding="utf-8", newline="") as fh:
        ext = list(csv.DictReader(fh))
    assert all(iccs.is_code(r["iccs_code"]) for r in ext) and len(ext) >= 50


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_review_file_round_trip(tmp_path, suffix):
    rows = review_rows(
        [("R1", "Robo con violencia"), ("H1", "Homicidio doloso"), ("Q1", "zzzz qqqq")]
    )
    assert rows[0]["iccs_code"] == "0401" and rows[0]["mapping_type"] is None
    assert rows[2]["iccs_code"] is None  # nothing scores above the review threshold
    out = tmp_path / f"review{suffix}"
    write_review_file(rows, str(out))
    # unreviewed: mapping_type empty -> rejected
    assert "invalid_mapping_type" in validate_file(out).kinds()
    # the reviewer accepts two rows and corrects nothing; drops the third
    accepted = [dict(r, mapping_type="exact") for r in rows[:2]]
    write_review_file(accepted, str(out))
    r = validate_file(out)
    assert r.ok, r.errors
    assert [(x.national_code, x.iccs_code) for x in r.crosswalk.rows] == [
        ("R1", "0401"),
        ("H1", "0101"),
    ]
    assert {w.kind for w in r.warnings} == {"unknown_column"}
