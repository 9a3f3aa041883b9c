"""Fit the matcher's thresholds on labelled queries and report honest held-out figures.

Labelled file: JSON lines ``{"query", "expected": faq id or null, "lang", "kind"}``.

Held-out figures: folds are made BY FAQ (5 folds over the FAQ ids; every query whose
expected FAQ is in fold k, plus every 5th null query, is the test part of fold k).
Thresholds are fitted on the other folds and applied to fold k; each query is thus
decided once by thresholds that never saw its FAQ, and the pooled decisions are scored.

Two things are fitted, both inside every fold on the training part only:

1. the confidence model's logistic weights (``fit_weights``: L2-regularised logistic
   regression by Newton steps on the POOL candidates of each query, label = "this candidate
   is the expected FAQ"; features standardised for the fit, weights returned in raw units);
2. the answer/margin/clarify thresholds on the resulting probabilities (grid search).

Objective: maximise decision accuracy subject to answered precision >= 0.90, false-answer
rate on null queries <= 0.10 and clarify rate <= 0.10.  A clarify counts as not correct
for accuracy; a clarify whose options include the expected FAQ is reported as "rescued".
"""
from __future__ import annotations

import hashlib
import json
import os
import random
from collections import defaultdict
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from .loader import FaqEntry
from .matcher import CONFIDENCE_WEIGHTS, FEATURES, GENERAL_THRESHOLDS, MatchResult, Matcher, Ranking, Thresholds, decide, rescore

MIN_PRECISION, MAX_FALSE_ANSWER, MAX_CLARIFY = 0.90, 0.10, 0.10
# Thresholds fitted on the training part are optimistic on new data (a fold's held-out
# precision ran ~0.01 below its in-sample precision), so the fit aims this much higher.
FIT_PRECISION_MARGIN = 0.02
# Likewise the clarify rate: the credit for a clarify (RESCUE_CREDIT) pulls the fit towards wide clarify
# zones, whose rate on another knowledge base measured up to twice the in-sample rate; aim at half the cap.
FIT_CLARIFY_SHARE = 0.5
ANSWER_GRID = [round(0.10 + 0.01 * i, 2) for i in range(81)]
MARGIN_GRID = [0.0, 0.02, 0.04, 0.06, 0.08, 0.10, 0.15, 0.20, 0.30]
CLARIFY_GAPS = [0.0, 0.05, 0.10, 0.20]       # answer threshold minus the clarify threshold
CLOSE_GAPS = [0.0, 0.05, 0.10, 0.15]         # Thresholds.clarify_gap: how close the options must be
# A clarify that lists the right FAQ is resolved by the teacher's tap: worth less than a direct answer
# (one more message), more than an escalation (an expert's time, hours).  One that does not list it
# costs the teacher a tap before the escalation.
RESCUE_CREDIT, WASTED_CLARIFY_COST = 0.5, 0.25
L2 = 1.0                 # ridge penalty on the standardised logistic weights (not the bias)


def load_queries(path: str | Path) -> list[dict]:
    rows = []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            row = json.loads(line)
            if "query" not in row or "expected" not in row:
                raise ValueError(f"{path}:{n}: needs 'query' and 'expected'")
            rows.append(row)
    return rows


# --------------------------------------------------------------------------- metrics

def _ratio(a: float, b: float) -> float:
    return a / b if b else 0.0


def metrics(rows: Sequence[dict], results: Sequence[MatchResult]) -> dict:
    n = len(rows)
    correct = sum((r.faq_id if r.decision == "answer" else None) == row["expected"]
                  for row, r in zip(rows, results))
    answered = [(row, r) for row, r in zip(rows, results) if r.decision == "answer"]
    right = sum(r.faq_id == row["expected"] for row, r in answered)
    answerable = sum(row["expected"] is not None for row in rows)
    nulls = [r for row, r in zip(rows, results) if row["expected"] is None]
    clar = [(row, r) for row, r in zip(rows, results) if r.decision == "clarify"]
    rescued = sum(row["expected"] in {c.faq_id for c in r.candidates} for row, r in clar)
    return {
        "n": n, "accuracy": _ratio(correct, n), "precision": _ratio(right, len(answered)),
        "coverage": _ratio(right, answerable),
        "false_answer": _ratio(sum(r.decision == "answer" for r in nulls), len(nulls)),
        "clarify": _ratio(len(clar), n), "rescued": _ratio(rescued, n),
    }


def breakdown(rows: Sequence[dict], results: Sequence[MatchResult], key: str) -> dict[str, float]:
    groups: dict[str, list[bool]] = defaultdict(list)
    for row, r in zip(rows, results):
        groups[str(row.get(key, "?"))].append((r.faq_id if r.decision == "answer" else None) == row["expected"])
    return {k: sum(v) / len(v) for k, v in sorted(groups.items())}


def feasible(m: dict, precision_margin: float = 0.0, clarify_share: float = 1.0) -> bool:
    return (m["precision"] >= MIN_PRECISION + precision_margin and m["false_answer"] <= MAX_FALSE_ANSWER
            and m["clarify"] <= MAX_CLARIFY * clarify_share)


# --------------------------------------------------------------------------- fitting

def fit_weights(rankings: Sequence[Ranking], rows: Sequence[dict], l2: float = L2,
                iterations: int = 50) -> tuple[float, ...]:
    """Logistic weights (bias first, raw feature units) for P(candidate is the expected FAQ).

    Deterministic: Newton-Raphson on standardised features with an L2 penalty.  Falls back
    to the shipped CONFIDENCE_WEIGHTS when the data hold no feature pools or only one class.
    """
    x, y = [], []
    for r, row in zip(rankings, rows):
        for p in r.pool:
            x.append(p.features)
            y.append(1.0 if p.faq_id == row["expected"] else 0.0)
    if not x or len(set(y)) < 2:
        return tuple(CONFIDENCE_WEIGHTS["lexical"])
    X, Y = np.asarray(x, float), np.asarray(y, float)
    mu, sd = X.mean(0), X.std(0)
    sd[sd < 1e-9] = 1.0
    Z = np.hstack([np.ones((len(X), 1)), (X - mu) / sd])
    w = np.zeros(Z.shape[1])
    pen = np.full(Z.shape[1], l2)
    pen[0] = 0.0
    for _ in range(iterations):
        p = 1 / (1 + np.exp(-np.clip(Z @ w, -30, 30)))
        grad = Z.T @ (p - Y) + pen * w
        hess = (Z * (p * (1 - p))[:, None]).T @ Z + np.diag(pen) + 1e-9 * np.eye(len(w))
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    raw = w[1:] / sd
    bias = w[0] - float(raw @ mu)
    return tuple(round(float(v), 4) for v in (bias, *raw))


def rescore_all(rankings: Sequence[Ranking], weights: Sequence[float]) -> list[Ranking]:
    return [rescore(r, weights) for r in rankings]


def fit_all(rankings: Sequence[Ranking], rows: Sequence[dict]) -> tuple[tuple[float, ...], Thresholds, dict]:
    """Weights, then thresholds on the re-scored rankings (for rankings without feature
    pools, e.g. the plain baselines, only the thresholds)."""
    weights = fit_weights(rankings, rows)
    th, m = fit(rescore_all(rankings, weights), rows)
    return weights, th, m


def grid() -> Iterable[Thresholds]:
    for a in ANSWER_GRID:
        for m in MARGIN_GRID:
            for gap in CLARIFY_GAPS:
                for close in CLOSE_GAPS if gap else (0.0,):
                    yield Thresholds(answer=a, margin=m, clarify=round(a - gap, 2), clarify_gap=close)


def utility(m: dict) -> float:
    """Decision accuracy plus the partial credit of clarifies (see RESCUE_CREDIT)."""
    return m["accuracy"] + RESCUE_CREDIT * m["rescued"] - WASTED_CLARIFY_COST * (m["clarify"] - m["rescued"])


def evaluate(rankings: Sequence[Ranking], rows: Sequence[dict], th: Thresholds) -> dict:
    return metrics(rows, [decide(r, th) for r in rankings])


class _Decisions:
    """The rankings reduced to arrays, so the threshold grid is swept with numpy (the same rules as
    matcher.decide, which the tests check against)."""

    def __init__(self, rankings: Sequence[Ranking], rows: Sequence[dict]) -> None:
        def score(r: Ranking, k: int, missing: float) -> float:
            return r.candidates[k].score if len(r.candidates) > k else missing

        def has(r: Ranking, k: int, row: dict) -> bool:
            return len(r.candidates) > k and r.candidates[k].faq_id == row["expected"]
        self.n = len(rows)
        self.null = np.array([row["expected"] is None for row in rows])
        self.blocked = np.array([not r.has_content or not r.candidates or r.admin_hr or r.cue_blocked
                                 for r in rankings])
        self.b1 = np.array([score(r, 0, 0.0) for r in rankings])
        self.b2 = np.array([score(r, 1, 0.0) for r in rankings])
        self.gap2 = np.array([score(r, 0, 0.0) - score(r, 1, np.inf) for r in rankings])
        self.gap3 = np.array([score(r, 0, 0.0) - score(r, 2, np.inf) for r in rankings])
        self.e = [np.array([has(r, k, row) for r, row in zip(rankings, rows)]) for k in range(3)]

    def metrics(self, th: Thresholds) -> dict:
        open_ = ~self.blocked
        answer = open_ & (self.b1 >= th.answer) & (self.b1 - self.b2 >= th.margin)
        close = max(th.margin, th.clarify_gap, 1e-9)
        clar = open_ & ~answer & (self.b1 >= th.clarify) & (self.gap2 < close)
        listed = self.e[0] | self.e[1] | (self.e[2] & (self.gap3 < close))
        right = answer & self.e[0]
        n, nulls, answerable = self.n, int(self.null.sum()), int((~self.null).sum())
        return {"n": n, "accuracy": _ratio(int(right.sum()) + int((self.null & ~answer).sum()), n),
                "precision": _ratio(int(right.sum()), int(answer.sum())),
                "coverage": _ratio(int(right.sum()), answerable),
                "false_answer": _ratio(int((answer & self.null).sum()), nulls),
                "clarify": _ratio(int(clar.sum()), n), "rescued": _ratio(int((clar & listed).sum()), n)}


def fit(rankings: Sequence[Ranking], rows: Sequence[dict]) -> tuple[Thresholds, dict]:
    """Best feasible thresholds; if none is feasible, the most precise ones (safest)."""
    best_key, best = None, None
    table = _Decisions(rankings, rows)
    for th in grid():
        m = table.metrics(th)
        ok = feasible(m, FIT_PRECISION_MARGIN, FIT_CLARIFY_SHARE)
        key = (ok, round(utility(m), 6) if ok else m["precision"] - m["false_answer"], -m["clarify"], th.answer)
        if best_key is None or key > best_key:
            best_key, best = key, (th, m)
    return best


def folds_by_faq(rows: Sequence[dict], k: int = 5, seed: int = 0) -> list[int]:
    ids = sorted({r["expected"] for r in rows if r["expected"] is not None})
    random.Random(seed).shuffle(ids)
    fold_of = {faq: i % k for i, faq in enumerate(ids)}
    out, null_n = [], 0
    for r in rows:
        if r["expected"] is None:
            out.append(null_n % k)
            null_n += 1
        else:
            out.append(fold_of[r["expected"]])
    return out


@dataclass
class CrossValidation:
    held_out: dict             # pooled held-out metrics
    fold_mean: dict            # mean of per-fold metrics
    results: list[MatchResult]  # held-out decision per query
    fold_thresholds: list[Thresholds]
    fold_weights: list[tuple[float, ...]] | None = None


def cross_validate(rankings: Sequence[Ranking], rows: Sequence[dict], k: int = 5, seed: int = 0) -> CrossValidation:
    fold = folds_by_faq(rows, k, seed)
    results: list[MatchResult | None] = [None] * len(rows)
    per_fold, ths, wts = [], [], []
    for f in range(k):
        train = [i for i, x in enumerate(fold) if x != f]
        test = [i for i, x in enumerate(fold) if x == f]
        if not test:
            continue
        if train:
            weights, th, _ = fit_all([rankings[i] for i in train], [rows[i] for i in train])
        else:
            weights, th = tuple(CONFIDENCE_WEIGHTS["lexical"]), Thresholds()
        ths.append(th)
        wts.append(weights)
        for i in test:
            results[i] = decide(rescore(rankings[i], weights), th)
        per_fold.append(metrics([rows[i] for i in test], [results[i] for i in test]))
    mean = {key: sum(m[key] for m in per_fold) / len(per_fold) for key in per_fold[0]}
    return CrossValidation(metrics(rows, results), mean, results, ths, wts)


def tradeoff(rankings: Sequence[Ranking], rows: Sequence[dict], margin: float, gap: float) -> list[tuple[Thresholds, dict]]:
    """Metrics along the answer threshold with margin/clarify gap fixed (in-sample)."""
    out = []
    for a in ANSWER_GRID[::5]:
        th = Thresholds(answer=a, margin=margin, clarify=round(a - gap, 2))
        out.append((th, evaluate(rankings, rows, th)))
    return out


def rank_all(matcher: Matcher, rows: Sequence[dict]) -> list[Ranking]:
    return [matcher.rank(r["query"]) for r in rows]


# --------------------------------------------------------------------------- report

COLS = ("accuracy", "precision", "coverage", "false_answer", "clarify", "rescued")


def format_row(label: str, m: dict) -> str:
    return f"{label:<34}" + "".join(f"{m[c]:>10.3f}" for c in COLS)


def header(label: str = "") -> str:
    return f"{label:<34}" + "".join(f"{c:>10}" for c in COLS)


def report(matcher: Matcher, rows: Sequence[dict], k: int = 5) -> tuple[str, Thresholds]:
    raw = rank_all(matcher, rows)
    weights, th, fitted = fit_all(raw, rows)
    rankings = rescore_all(raw, weights)
    cv = cross_validate(raw, rows, k)
    lines = [header("thresholds (answer/margin/clarify)")]
    for t, m in tradeoff(rankings, rows, th.margin, round(th.answer - th.clarify, 2)):
        lines.append(format_row(f"{t.answer:.2f}/{t.margin:.2f}/{t.clarify:.2f} in-sample", m))
    lines += ["", header("summary"), format_row(f"held-out ({k} folds by FAQ, pooled)", cv.held_out),
              format_row("held-out (mean of folds)", cv.fold_mean), format_row("in-sample (fit on all)", fitted)]
    for key in ("lang", "kind"):
        parts = ", ".join(f"{g} {v:.2f}" for g, v in breakdown(rows, cv.results, key).items())
        lines.append(f"held-out accuracy by {key}: {parts}")
    lines.append("fold thresholds: " + "; ".join(f"{t.answer:.2f}/{t.margin:.2f}/{t.clarify:.2f}" for t in cv.fold_thresholds))
    lines.append(f"fitted confidence weights ({', '.join(('bias',) + FEATURES)}):")
    lines.append(f"CONFIDENCE_WEIGHTS = {weights!r}")
    lines.append(f"fitted thresholds: Thresholds(answer={th.answer}, margin={th.margin}, clarify={th.clarify})"
                 + ("" if feasible(fitted) else "  [constraints not met]"))
    return "\n".join(lines), th


# --------------------------------------------------------------------------- self-calibration

SELF_FOLDS = 5


# How teachers' messages differ from a knowledge base's clean phrasings, for the self-calibration probes:
# a sentence of context before the question, SMS-style typos, a word left out.  Our own generic text in
# each language (never evaluation wording); the matcher must already treat the context as context.
CONTEXT_LINES = {
    "en": ("Sir, I teach class 6 in a government school.", "Good morning, I am a primary teacher.",
           "I have a question about my class."),
    "roman-ur": ("Sir main sarkari school mein class 6 ko parhata hoon.", "Assalam o alaikum, main primary teacher hoon.",
                 "Meri class ke baare mein ek sawal hai."),
    "ur": ("میں سرکاری اسکول میں چھٹی جماعت کو پڑھاتا ہوں۔", "السلام علیکم، میں پرائمری ٹیچر ہوں۔",
           "میری کلاس کے بارے میں ایک سوال ہے۔"),
}
PERTURBED_PROBES = True   # set False to calibrate on the listed phrasings alone


def _typo(word: str, rnd: random.Random) -> str:
    """One SMS-style slip: a dropped vowel, two letters swapped, or a letter dropped."""
    if len(word) < 5:
        return word
    vowels = [k for k, ch in enumerate(word[1:-1], 1) if ch in "aeiou"]
    kind = rnd.random()
    if vowels and kind < 0.5:
        k = rnd.choice(vowels)
        return word[:k] + word[k + 1:]
    k = rnd.randrange(1, len(word) - 2)
    if kind < 0.8:
        return word[:k] + word[k + 1] + word[k] + word[k + 2:]
    return word[:k] + word[k + 1:]


def perturb(text: str) -> str:
    """A teacher-like variant of a listed phrasing (deterministic per text): typos in about one word in
    four, sometimes a word left out, and half the time a context sentence before it."""
    from .normalize import detect_language

    rnd = random.Random(hashlib.sha1(text.encode("utf-8")).hexdigest())
    words = text.split()
    if len(words) > 4 and rnd.random() < 0.4:
        del words[rnd.randrange(1, len(words))]
    words = [_typo(w, rnd) if w.isascii() and rnd.random() < 0.25 else w for w in words]
    out = " ".join(words)
    if rnd.random() < 0.5:
        out = f"{rnd.choice(CONTEXT_LINES[detect_language(text)])} {out}"
    return out


def self_calibration_set(entries: Sequence[FaqEntry], folds: int = SELF_FOLDS):
    """Labelled probes made from the knowledge base alone, one (kept entries, probes) pair per fold.

    Fold f leaves out every FAQ whose position is f modulo ``folds`` (their phrasings become questions
    this knowledge base cannot answer: topically close, so they test the escalate side where it is
    hardest) and one phrasing of every other FAQ that has two or more (that phrasing must find its own
    FAQ from the others, as a teacher's new wording must)."""
    ordered = sorted(entries, key=lambda e: e.id)
    for f in range(folds):
        kept, probes = [], []
        for pos, e in enumerate(ordered):
            if pos % folds == f:
                probes += [{"query": q, "expected": None, "kind": "left-out-faq"} for q in e.questions]
                if PERTURBED_PROBES:
                    probes += [{"query": perturb(q), "expected": None, "kind": "left-out-faq-perturbed"}
                               for q in e.questions[:1]]
                continue
            if len(e.questions) >= 2:
                out = 1 + (f % (len(e.questions) - 1))   # never the canonical first question
                probes.append({"query": e.questions[out], "expected": e.id, "kind": "left-out-phrasing"})
                if PERTURBED_PROBES:
                    probes.append({"query": perturb(e.questions[out]), "expected": e.id,
                                   "kind": "left-out-phrasing-perturbed"})
                e = replace(e, questions=tuple(q for k, q in enumerate(e.questions) if k != out))
            kept.append(e)
        yield kept, probes


def self_calibrate(entries: Sequence[FaqEntry], build, weights: Sequence[float] | None = None,
                   folds: int = SELF_FOLDS) -> tuple[Thresholds, dict, list[dict], list[Ranking]]:
    """Thresholds for this knowledge base from its own phrasings, no labelled queries.

    ``build(entries) -> Matcher`` builds a matcher the way the service does (with or without the
    semantic signal).  The confidence weights stay the general ones; only the thresholds are fitted
    here, with the same objective and constraints as ``fit``."""
    rows, rankings = [], []
    for kept, probes in self_calibration_set(entries, folds):
        matcher = build(kept)
        w = tuple(weights or matcher.weights)
        rows += probes
        rankings += [rescore(matcher.rank(p["query"]), w) for p in probes]
    th, m = fit(rankings, rows)
    return th, m, rows, rankings


# The self-calibrated thresholds are a noisy estimate (one probe per FAQ and fold, written in the
# knowledge base's own clean style, left-out FAQs closer than most real off-topic questions), the
# general thresholds a prior fitted on another knowledge base; the service uses their mean.
SELF_WEIGHT = 0.5


def blend(general: Thresholds, own: Thresholds, weight: float = SELF_WEIGHT) -> Thresholds:
    def mix(a: float, b: float) -> float:
        return round((1 - weight) * a + weight * b, 3)
    return Thresholds(mix(general.answer, own.answer), mix(general.margin, own.margin),
                      mix(general.clarify, own.clarify), mix(general.clarify_gap, own.clarify_gap))


# Part of the saved thresholds' key: bump it when the calibration itself changes (probes, grid, objective),
# so a thresholds file written by older code is not reused.  2: clarify_gap, perturbed probes.
CALIBRATION_VERSION = 2


def _fingerprint(entries: Sequence[FaqEntry], mode: str) -> str:
    parts = [f"v{CALIBRATION_VERSION}", mode, repr(GENERAL_THRESHOLDS[mode]), repr(CONFIDENCE_WEIGHTS[mode])]
    for e in sorted(entries, key=lambda e: e.id):
        parts += [e.id, *e.questions, *e.keywords, *(e.answer.get(k, "") for k in ("en", "ur"))]
    return hashlib.sha1("\x00".join(parts).encode("utf-8")).hexdigest()[:16]


def kb_thresholds(entries: Sequence[FaqEntry], build) -> tuple[Thresholds, Thresholds, dict]:
    """(thresholds the service uses, the self-calibrated ones, their metrics on the probes).

    Kept beside the embedding cache by a hash of the knowledge base, so a restart or a second worker
    does not redo the ~5 matcher builds and probe rankings."""
    directory = getattr(getattr(build, "cache", None), "directory", None)
    path = Path(directory) / f"thresholds-{_fingerprint(entries, build.mode)}.json" if directory else None
    if path is not None and path.exists():
        try:
            saved = json.loads(path.read_text(encoding="utf-8"))
            return Thresholds(**saved["used"]), Thresholds(**saved["own"]), saved["metrics"]
        except (ValueError, KeyError, TypeError):
            pass
    own, m, _, _ = self_calibrate(entries, build)
    used = blend(GENERAL_THRESHOLDS[build.mode], own)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}")
        tmp.write_text(json.dumps({"used": asdict(used), "own": asdict(own), "metrics": m}), encoding="utf-8")
        os.replace(tmp, path)
    return used, own, m
