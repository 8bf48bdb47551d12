"""Accuracy of the ICCS mapping assistant on a labelled set of national offence labels.

Usage::

    .venv/bin/python benchmarks/classification_assistant.py [--split heldout|tuning|all] [--misses]

The set (``tests/classification/data/assistant_eval.csv``) holds national offence labels in
Spanish and Portuguese written from Latin American penal codes and police statistics (Mexico,
Colombia, Brazil, Chile, Argentina, Peru, Central America, ...) with the ICCS code a statistician
would assign; the split (``tuning`` / ``heldout``) is fixed by a hash of the label. The demo
agencies' labels and their crosswalk codes (``talaia.demo.catalogue``) are added as a third
group, ``demo``, when the demo package is present.

``assistant_external.csv`` (split ``external``) holds labels that were *not* written for this
set: the offence categories and sub-categories of Mexico's national crime-incidence reporting
format (SESNSP/CNSP, as listed in a public GitHub seeder of those categories) and of Mexico
City's prosecutor's open data (FGJ CDMX ``categoria_delito``), minus the labels already in the
written set and minus those whose ICCS code cannot be decided from the label (e.g. a Mexican
"robo" category that mixes robbery with and without violence). The gold codes were assigned
before the assistant was first run on them, and the lexicon was not changed afterwards.

A suggestion is correct at ICCS level L when its code, cut to level L, equals the gold code cut
to level L; labels whose gold code is above level L are left out of level-L figures. Top-3:
any of the first three suggestions is correct (distinct codes).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import sys
from pathlib import Path

from talaia.classification.assistant import Assistant, default_assistant
from talaia.classification.iccs import LEVEL_DIGITS, load_iccs

DATA = Path(__file__).resolve().parents[1] / "tests" / "classification" / "data"


def load_set() -> list[dict[str, str]]:
    with open(DATA / "assistant_eval.csv", encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    with open(DATA / "assistant_external.csv", encoding="utf-8", newline="") as fh:
        rows += list(csv.DictReader(fh))
    try:
        from talaia.demo.catalogue import CODE_LISTS
    except Exception:  # demo package absent or changed: evaluate the written set only
        return rows
    seen = {(r["national_label"], r["language"]) for r in rows}
    for cl in CODE_LISTS.values():
        by_code: dict[str, set[str]] = {}
        labels = {}
        for code, label, iccs, *_ in cl.crosswalk:
            by_code.setdefault(code, set()).add(iccs)
            labels[code] = label
        for code, golds in by_code.items():
            # a split code's gold is the common ICCS ancestor of its targets
            gold = min(golds, key=len) if len(golds) == 1 else _common(golds)
            label = labels[code]
            if gold and (label, "es") not in seen:
                seen.add((label, "es"))
                rows.append(
                    {
                        "national_label": label,
                        "language": "es",
                        "country": "demo",
                        "iccs_code": gold,
                        "split": "demo",
                    }
                )
    return rows


def _common(codes: set[str]) -> str:
    iccs = load_iccs()
    for lv in (4, 3, 2, 1):
        n = LEVEL_DIGITS[lv]
        cut = {c[:n] for c in codes if len(c) >= n}
        if len(cut) == 1 and all(len(c) >= n for c in codes) and iccs.is_code(next(iter(cut))):
            return next(iter(cut))
    return ""


def evaluate(
    rows: list[dict[str, str]], show_misses: bool = False, assistant: Assistant | None = None
) -> dict[str, float]:
    assistant = assistant or default_assistant()
    hits = {(lv, k): 0 for lv in (1, 2) for k in (1, 3)}
    totals = {1: 0, 2: 0}
    for r in rows:
        gold = r["iccs_code"]
        sugg = [s.iccs_code for s in assistant.suggest(r["national_label"], k=3)]
        for lv in (1, 2):
            n = LEVEL_DIGITS[lv]
            if len(gold) < n:
                continue
            totals[lv] += 1
            cut = [s[:n] for s in sugg if len(s) >= n]
            if cut[:1] == [gold[:n]]:
                hits[(lv, 1)] += 1
            if gold[:n] in cut[:3]:
                hits[(lv, 3)] += 1
            elif show_misses and lv == 2:
                print(f"  miss L2: {r['national_label']!r} gold {gold} got {sugg}")
    return {
        f"top{k}_l{lv}": hits[(lv, k)] / totals[lv] if totals[lv] else float("nan")
        for lv in (1, 2)
        for k in (1, 3)
    } | {"n_l1": totals[1], "n_l2": totals[2]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument(
        "--split", default="all", choices=["all", "tuning", "heldout", "demo", "external"]
    )
    ap.add_argument("--misses", action="store_true", help="print level-2 top-3 misses")
    ap.add_argument(
        "--no-lexicon",
        action="store_true",
        help="title similarity only (baseline without the lexicon)",
    )
    args = ap.parse_args(argv)
    rows = load_set()
    assistant = Assistant(lexicon=()) if args.no_lexicon else default_assistant()
    if args.no_lexicon:
        print("baseline: ICCS title similarity only, no lexicon")
    digest = hashlib.sha256((DATA / "assistant_eval.csv").read_bytes()).hexdigest()[:12]
    print(f"evaluation set: {len(rows)} labels (assistant_eval.csv sha256 {digest}...)")
    splits = ["tuning", "heldout", "demo", "external"] if args.split == "all" else [args.split]
    print(
        f"{'split':8} {'n':>4} {'top1 L1':>8} {'top3 L1':>8} {'n L2':>5} {'top1 L2':>8} "
        f"{'top3 L2':>8}"
    )
    for sp in splits:
        part = [r for r in rows if r["split"] == sp]
        if not part:
            continue
        m = evaluate(part, show_misses=args.misses and sp == "tuning", assistant=assistant)
        print(
            f"{sp:8} {m['n_l1']:>4} {m['top1_l1']:>8.1%} {m['top3_l1']:>8.1%} "
            f"{m['n_l2']:>5} {m['top1_l2']:>8.1%} {m['top3_l2']:>8.1%}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
