"""Mapping assistant: ranked ICCS suggestions for national offence labels (issue 3, item 5).

Two kinds of evidence, both accent- and case-insensitive (:func:`talaia.classification.iccs.fold`):

1. **Lexicon** (``data/lexicon.yaml``): legal and police terms in Spanish, Portuguese and
   English mapped to ICCS codes. A term matches when its words appear in the label in order,
   with at most :data:`MAX_GAP` other words between consecutive term words; a term word of five
   or more letters also matches a label word that begins with it (``lesion`` ~ ``lesiones``) or
   is within edit similarity 88 of it (typos). Stop words (articles, most prepositions) are
   ignored; ``con``/``sin``/``com``/``sem`` are kept because they change the offence. Score:
   ``70 + 10 * min(words, 3)`` (one word 80, three or more 100), so specific terms beat general
   ones (``robo con violencia`` over ``robo``).
2. **Title similarity**: rapidfuzz ``token_set_ratio`` between the label and every ICCS title in
   English and Spanish, scaled by 0.8 (at most 80).

Each ICCS code keeps its best evidence; suggestions are ranked by score, then by ICCS level
(deeper first) and code. Scores are 0-100 and comparable between labels.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import yaml
from rapidfuzz import fuzz, process

from talaia.classification.crosswalk import COLUMNS
from talaia.classification.iccs import Iccs, fold, load_iccs

MAX_GAP = 2
#: Suggestions below this score are not written into review files.
MIN_REVIEW_SCORE = 40.0
TITLE_WEIGHT = 0.8
_STOP_TEXT = (
    "de del la las el los lo a al en y e o u por para un una unos unas su sus que se "
    "da das do dos na nas no nos ao aos as os um uma pelo pela ou "
    "of the an in on by to and or for"
)
STOPWORDS = frozenset(_STOP_TEXT.split(" "))


@dataclass(frozen=True, slots=True)
class LexiconTerm:
    """One lexicon entry: ``term`` (as written), its language, its folded words, ICCS code."""

    term: str
    lang: str
    words: tuple[str, ...]
    iccs_code: str


@dataclass(frozen=True, slots=True)
class Suggestion:
    """One ranked suggestion for a label.

    Attributes
    ----------
    iccs_code, label_en, label_es
        The suggested ICCS category.
    score
        0-100.
    reason, reason_es
        Why, in English and Spanish (the lexicon term or the similar ICCS title).
    """

    iccs_code: str
    label_en: str
    label_es: str
    score: float
    reason: str
    reason_es: str


def words_of(text: str) -> tuple[str, ...]:
    """Folded words of ``text`` without punctuation and stop words."""
    return tuple(w for w in re.split(r"[^0-9a-z]+", fold(text)) if w and w not in STOPWORDS)


def _word_match(term_word: str, label_word: str) -> bool:
    if term_word == label_word:
        return True
    if len(term_word) >= 5:
        if label_word.startswith(term_word):
            return True
        if len(label_word) >= 5 and fuzz.ratio(term_word, label_word) >= 88:
            return True
    return False


def term_matches(term: Sequence[str], label: Sequence[str]) -> bool:
    """Whether the term's words occur in ``label`` in order with gaps of at most MAX_GAP."""

    def from_pos(ti: int, start: int, limit: int) -> bool:
        if ti == len(term):
            return True
        for j in range(start, min(len(label), limit)):
            if _word_match(term[ti], label[j]) and from_pos(ti + 1, j + 1, j + 2 + MAX_GAP):
                return True
        return False

    return from_pos(0, 0, len(label))


def load_lexicon(text: str | None = None, iccs: Iccs | None = None) -> tuple[LexiconTerm, ...]:
    """Parse the lexicon YAML (default: the shipped ``data/lexicon.yaml``).

    Raises
    ------
    ValueError
        For a code that is not an ICCS v1.0 code or a malformed entry.
    """
    iccs = iccs or load_iccs()
    if text is None:
        text = (
            resources.files("talaia.classification")
            .joinpath("data", "lexicon.yaml")
            .read_text("utf-8")
        )
    data = yaml.safe_load(text) or {}
    out = []
    for lang, entries in data.items():
        if not isinstance(entries, Mapping):
            raise ValueError(f"lexicon: section {lang!r} is not a mapping")
        for term, code in entries.items():
            code = str(code)
            if not iccs.is_code(code):
                raise ValueError(f"lexicon ({lang}): {term!r} -> {code!r} is not an ICCS code")
            w = words_of(str(term))
            if not w:
                raise ValueError(f"lexicon ({lang}): empty term {term!r}")
            out.append(LexiconTerm(str(term), str(lang), w, code))
    return tuple(out)


class Assistant:
    """Suggests ICCS codes for national labels (see the module docstring for the method)."""

    def __init__(self, iccs: Iccs | None = None, lexicon: Sequence[LexiconTerm] | None = None):
        self.iccs = iccs or load_iccs()
        self.lexicon = tuple(lexicon) if lexicon is not None else load_lexicon(iccs=self.iccs)
        cats = list(self.iccs)
        self._titles = [fold(c.label_en) for c in cats] + [fold(c.label_es) for c in cats]
        self._title_codes = [c.code for c in cats] * 2
        self._title_lang = ["en"] * len(cats) + ["es"] * len(cats)

    def suggest(self, label: str, k: int = 3) -> tuple[Suggestion, ...]:
        """Up to ``k`` ranked suggestions for ``label`` (empty for an empty label)."""
        lw = words_of(label or "")
        if not lw:
            return ()
        best: dict[str, tuple[float, str, str]] = {}

        def offer(code: str, score: float, en: str, es: str) -> None:
            if code not in best or score > best[code][0]:
                best[code] = (score, en, es)

        for t in self.lexicon:
            if term_matches(t.words, lw):
                score = 70.0 + 10.0 * min(len(t.words), 3) + min(len(" ".join(t.words)), 30) / 100
                offer(
                    t.iccs_code,
                    score,
                    f"lexicon term '{t.term}' ({t.lang})",
                    f"término del léxico '{t.term}' ({t.lang})",
                )
        folded = " ".join(lw)
        for title, sim, idx in process.extract(
            folded, self._titles, scorer=fuzz.token_set_ratio, limit=max(10, 3 * k)
        ):
            code = self._title_codes[idx]
            lang = self._title_lang[idx]
            offer(
                code,
                TITLE_WEIGHT * sim,
                f"ICCS title '{title}' ({lang}) {sim:.0f}% similar",
                f"título ICCS '{title}' ({lang}) similar al {sim:.0f}%",
            )
        ranked = sorted(
            best.items(), key=lambda kv: (-round(kv[1][0], 2), -self.iccs.level(kv[0]), kv[0])
        )
        out = []
        for code, (score, en, es) in ranked[:k]:
            cat = self.iccs.lookup(code)
            out.append(
                Suggestion(code, cat.label_en, cat.label_es, round(min(score, 100.0), 1), en, es)
            )
        return tuple(out)


@lru_cache(maxsize=1)
def default_assistant() -> Assistant:
    """The assistant with the shipped lexicon (cached)."""
    return Assistant()


REVIEW_COLUMNS: tuple[str, ...] = (
    *COLUMNS,
    "suggested_label",
    "score",
    "reason",
    "alternatives",
)


def review_rows(
    items: Sequence[tuple[str | None, str | None]],
    assistant: Assistant | None = None,
    k: int = 3,
    min_score: float = MIN_REVIEW_SCORE,
) -> tuple[dict[str, str | None], ...]:
    """Rows of a reviewable crosswalk: ``(national_code, national_label)`` -> suggestions.

    ``iccs_code`` holds the best suggestion and ``mapping_type`` is left empty: the reviewer
    accepts a row by filling ``mapping_type`` (and corrects ``iccs_code`` where needed); the
    file then loads with ``talaia crosswalk load`` (the extra columns are ignored with a
    warning). Suggestions scoring below ``min_score`` are dropped; labels left without any
    keep ``iccs_code`` empty.
    """
    assistant = assistant or default_assistant()
    out = []
    for code, label in items:
        sugg = tuple(s for s in assistant.suggest(label or "", k=k) if s.score >= min_score)
        top = sugg[0] if sugg else None
        alts = "; ".join(f"{s.iccs_code} {s.label_en} ({s.score:.0f})" for s in sugg[1:])
        out.append(
            {
                "national_code": code,
                "national_label": label,
                "iccs_code": top.iccs_code if top else None,
                "mapping_type": None,
                "condition": None,
                "sets": None,
                "valid_from": None,
                "valid_to": None,
                "notes": None,
                "suggested_label": f"{top.label_en} / {top.label_es}" if top else None,
                "score": f"{top.score:.1f}" if top else None,
                "reason": top.reason if top else "no suggestion / sin sugerencia",
                "alternatives": alts or None,
            }
        )
    return tuple(out)


def write_review_file(rows: Sequence[Mapping[str, str | None]], path: str) -> None:
    """Write review rows as XLSX (``.xlsx``, ICCS codes stored as text) or UTF-8 CSV."""
    import csv

    if str(path).lower().endswith(".xlsx"):
        import openpyxl

        wb = openpyxl.Workbook()
        ws = wb.active
        ws.title = "crosswalk"
        ws.append(list(REVIEW_COLUMNS))
        for r in rows:
            ws.append([r.get(c) for c in REVIEW_COLUMNS])
        for row in ws.iter_rows(min_row=1):
            for cell in row:
                cell.number_format = "@"  # text: keep leading zeros of codes
        wb.save(path)
        return
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(REVIEW_COLUMNS)
        for r in rows:
            w.writerow(["" if r.get(c) is None else r.get(c) for c in REVIEW_COLUMNS])
