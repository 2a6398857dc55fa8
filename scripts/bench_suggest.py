"""Suggestions replayed on real annotators: framing-dev (`../shared/framing-dev/`) with the
generic-frames codebook (schemas/codebooks/generic-frames.yaml), in rounds of 50 articles.

Round r (r >= 2): `framestance suggest` trains on the gold of rounds 1..r-1 (majority of the real
annotators, as `aggregate` makes it) and suggests round r's answers; those are set against each
real annotator's own answers in round r. Per round and frame: the macro-F1 of the frame the
suggested answers imply (by the codebook's rule) against each annotator's frame, with a 95 %
bootstrap interval over articles, and the best constant predictor's; which frames `suggest` would
have suggested (its cross-validated check); and the actions an annotator would save by keeping
each correct suggested answer (one click per question). Then, with --scale N, the time to train
and to suggest at N gold articles (texts resampled from framing-dev and extraction-dev, each
answered as framing-dev published its source, one answer in ten flipped).

    .venv/bin/python scripts/bench_suggest.py [--plot docs/suggest-rounds.png] [--scale 100000]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from framestance.aggregate import gold_labels  # noqa: E402
from framestance.codebook import load as load_codebook  # noqa: E402
from framestance.relevance import document  # noqa: E402
from framestance.suggest import _quality, train  # noqa: E402
from framing_dev import NO_STANCES, articles_table, generic_tables, load  # noqa: E402

CB = load_codebook(ROOT / "schemas" / "codebooks" / "generic-frames.yaml")
ROUND = 50


def replay(seed: int = 0) -> list[dict]:
    rows = load()
    if rows is None:
        raise SystemExit("bench_suggest: ../shared/framing-dev/articles.jsonl is absent")
    ann, answers = generic_tables(rows, CB)
    arts = articles_table()
    order = list(np.random.default_rng(seed).permutation(sorted(r["id"] for r in rows)))
    rounds = [order[i : i + ROUND] for i in range(0, len(order) - len(order) % ROUND, ROUND)]
    rounds[-1] += order[len(order) - len(order) % ROUND :]  # the few left over join the last round
    own = {(r["id"], who): {q for q in CB.question_ids() if r["answers"][q].get(who) == "yes"}
           for r in rows for who in r["coders"]}
    out = []
    for k in range(1, len(rounds)):
        seen = {a for rnd in rounds[:k] for a in rnd}
        t = time.perf_counter()
        gold = gold_labels(ann[ann["article_id"].isin(seen)], NO_STANCES, CB).to_pandas()
        try:
            s = train(arts, gold, answers[answers["article_id"].isin(seen)], CB, min_gold=30, seed=seed,
                      every_model=True)
        except Exception as exc:  # too little gold: nothing suggested this round
            out.append({"round": k + 1, "gold": len(seen), "error": str(exc)})
            continue
        trained = time.perf_counter() - t
        nxt = arts[arts["article_id"].isin(rounds[k])].sort_values("article_id").reset_index(drop=True)
        # every question's model (suggested or not) says what it would suggest; the page shows the suggested ones
        X = s.vectorizer.transform([document(ti, tx) for ti, tx in zip(nxt["title"], nxt["text"])])
        predicted = {name: {a: s.dimensions[name].classes[int(c)] for a, c in zip(nxt["article_id"], m.predict(X))}
                     for name, m in s.fitted.items()}
        for q in CB.question_ids():  # a question everyone answered the same way so far: that answer
            if f"question:{q}" not in predicted:
                votes = s.dimensions[f"question:{q}"].votes
                only = max(CB.NO, CB.YES, key=lambda c: sum(v.get(c, 0) for v in votes.values()))
                predicted[f"question:{q}"] = dict.fromkeys(nxt["article_id"], only)
        suggested_q = [q for q in CB.question_ids() if f"question:{q}" in s.models]
        per_frame = {}
        pairs = [(a, who) for a in nxt["article_id"] for (aa, who) in own if aa == a]
        for frame, _k, of in CB.rules:
            truth = np.array([int(frame in CB.frames_of(own[p])) for p in pairs])
            yes_of = {p: {q for q in of if predicted[f"question:{q}"][p[0]] == CB.YES} for p in pairs}
            pred = np.array([int(frame in CB.frames_of(yes_of[p])) for p in pairs])
            q = _quality(truth, pred, [CB.NO, CB.YES], seed) if len(np.unique(truth)) > 1 else None
            cv = s.quality.get(f"frames:{frame}")
            constant = max(float(np.mean(truth)), 1 - float(np.mean(truth)))  # the best constant's macro-F1:
            constant = round(constant / (1 + constant), 4)  # F1 of the class it always says, halved
            per_frame[frame] = {"n": len(pairs), "macro_f1": q and q.macro_f1, "ci95": q and q.ci95,
                                "bar": q and q.bar_macro_f1, "constant": constant,
                                "above_bar": bool(q and q.suggested),
                                "above_constant": bool(q and q.ci95[0] > constant),
                                "suggested_by_cv": bool(cv and cv.suggested),
                                "suggested_and_above_constant": bool(cv and cv.suggested and q and q.ci95[0] > constant)}
        kept = [sum(predicted[f"question:{q}"][a] == (CB.YES if q in own[(a, who)] else CB.NO) for q in suggested_q)
                for a, who in pairs]
        wrong = [len(suggested_q) - k_ for k_ in kept]
        out.append({"round": k + 1, "gold": len(seen), "articles": len(nxt), "annotations": len(pairs),
                    "train_s": round(trained, 1), "questions_suggested": len(suggested_q), "frames": per_frame,
                    "actions_saved_per_annotation": round(float(np.mean(kept)), 2),
                    "suggestions_to_change_per_annotation": round(float(np.mean(wrong)), 2),
                    "actions_without": len(CB.questions) + 1})
        print(json.dumps(out[-1]), flush=True)
    return out


def plot(results: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.0, 4.2), dpi=130)
    done = [r for r in results if "frames" in r]
    for i, (frame, _k, _of) in enumerate(CB.rules):
        xs = [r["round"] + (i - 2) * 0.08 for r in done if r["frames"][frame]["macro_f1"] is not None]
        ys = [r["frames"][frame]["macro_f1"] for r in done if r["frames"][frame]["macro_f1"] is not None]
        lo = [r["frames"][frame]["ci95"][0] for r in done if r["frames"][frame]["macro_f1"] is not None]
        hi = [r["frames"][frame]["ci95"][1] for r in done if r["frames"][frame]["macro_f1"] is not None]
        const = [r["frames"][frame]["constant"] for r in done if r["frames"][frame]["macro_f1"] is not None]
        line = ax.errorbar(xs, ys, yerr=[np.subtract(ys, lo), np.subtract(hi, ys)], marker="o", capsize=2, label=frame)
        ax.plot(xs, const, ls=":", color=line[0].get_color())
    ax.set_xlabel(f"round ({ROUND} articles each; trained on the gold of the rounds before)")
    ax.set_ylabel("macro-F1 against each annotator's frame")
    ax.axhline(0.5, color="grey", lw=0.8, ls="--")
    ax.set_title("framing-dev, generic frames: the frames suggested answers imply\n(dotted: each frame's best constant "
                 "predictor; dashed: chance, 0.5)", fontsize=9)
    ax.set_ylim(0.2, 1.0)
    ax.legend(fontsize=7, ncol=5, loc="lower right")
    fig.tight_layout()
    fig.savefig(path)


def scale(n: int, seed: int = 0) -> dict:
    """Train and suggest at N gold articles: texts resampled from the real articles (framing-dev
    and extraction-dev bodies, a marker word added to each copy), answered as framing-dev
    published the source."""
    rows = load()
    texts = list(articles_table()["text"])
    dev = ROOT.parent / "shared" / "extraction-dev"
    for p in sorted(dev.glob("**/*.json"))[:2000]:
        try:
            body = json.loads(p.read_text()).get("body")
        except (ValueError, OSError, AttributeError):
            continue
        if isinstance(body, str) and len(body) > 400:
            texts.append(body)
    rng = np.random.default_rng(seed)
    ids = [f"s{i:06d}" for i in range(n)]
    pick = rng.integers(0, len(texts), n)
    arts = pd.DataFrame({"article_id": ids, "title": [f"story {i}" for i in range(n)],
                         "text": [texts[j] + f" ref{i}" for i, j in enumerate(pick)], "duplicate_of": None})
    # each copy answered as framing-dev published its source (an extraction-dev text: all no), one answer in
    # ten flipped: labels a model can learn, at the data set's rates
    published = [r["published"] for r in rows]
    ans = pd.DataFrame([{"article_id": a, "annotation_id": i, "annotator": "a1", "status": "submitted",
                         "question": q, "answer": "yes" if ((j < len(published) and published[j][q] == "yes")
                                                            != (rng.random() < 0.1)) else "no"}
                        for i, (a, j) in enumerate(zip(ids, pick)) for q in CB.question_ids()])
    gold = pd.DataFrame({"article_id": ids, "relevance": "relevant", "frames": [[] for _ in ids],
                         "frames_unresolved": [[] for _ in ids]})
    t = time.perf_counter()
    s = train(arts, gold, ans, CB, min_gold=30, seed=seed)
    trained = time.perf_counter() - t
    from framestance.suggest import predictions

    t = time.perf_counter()
    preds = predictions(s, arts.head(10_000), CB)
    suggested = time.perf_counter() - t
    import resource

    return {"gold_articles": n, "train_s": round(trained, 1), "suggest_10k_s": round(suggested, 1),
            "predictions": len(preds), "dimensions_suggested": len(s.models),
            "peak_rss_gb_so_far": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--plot", type=Path)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--scale", type=int, nargs="*", default=[])
    args = ap.parse_args()
    results = replay()
    if args.plot:
        plot(results, args.plot)
    scaled = []
    for n in args.scale:
        scaled.append(scale(n))
        print(json.dumps(scaled[-1]), flush=True)
    if args.json:
        args.json.write_text(json.dumps({"rounds": results, "scale": scaled}, indent=2) + "\n")


if __name__ == "__main__":
    main()
