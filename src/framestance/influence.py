"""Stage 4f: what the suggestions did to the labels, measured on the randomised control arm.

Contract. `arms(annotations, answers, stances, cb)` reads the submitted annotations whose
assignment was drawn into an arm (`suggested` true: shown the model's suggestion; false: the
control arm, shown none; null: no arm drawn, left out) and returns, per arm and dimension:
- `alpha`: Krippendorff's alpha among the annotators of that arm, its 95 % interval and n (the
  articles two or more of the arm's annotators coded), as `agreement.compute` gives it;
- `kept`: of the labels the page suggested, the share the annotator submitted unchanged;
- `shift`: each class's share among the suggested arm's labels minus the control arm's, with a
  95 % interval (for yes/no dimensions the class is yes): the suggestion's pull on the labels;
- `time`: seconds per annotation (Label Studio's lead time), the geometric mean per arm and the
  ratio suggested / control, with an interval (a geometric mean: an annotation left open over
  lunch does not swamp it).
Every interval is a seeded percentile bootstrap over articles (an article drawn brings all its
annotations in both arms), `resamples` draws; every figure has its n. None when no annotation was
drawn into an arm. Randomisation makes the arms comparable: a difference is the suggestion's.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

import numpy as np
import pandas as pd

from .codebook import Codebook
from .schema import submitted

RESAMPLES = 2000


def _long(annotations: pd.DataFrame, answers: pd.DataFrame | None, stances: pd.DataFrame, cb: Codebook
          ) -> dict[str, pd.DataFrame]:
    """Per dimension: one row per label (annotation_id, article_id, suggested, value), over the
    annotations with an arm that found the article relevant."""
    ann = annotations[annotations["relevance"] == "relevant"]
    base = ann[["annotation_id", "article_id", "suggested"]].reset_index(drop=True)
    out: dict[str, pd.DataFrame] = {}
    for f in cb.frame_ids():
        out[f"frames:{f}"] = base.assign(value=[cb.YES if fs is not None and f in set(fs) else cb.NO
                                                for fs in ann["frames"]])
    if cb.primary:
        out["primary_frame"] = base.assign(value=ann["primary_frame"].to_numpy())
    if cb.tone:
        out["tone"] = base.assign(value=ann["tone"].to_numpy())
    keep = ann.set_index("annotation_id")["suggested"]

    def labels(rows: pd.DataFrame, value: str) -> pd.DataFrame:  # a table of one row per label, with its arm
        return pd.DataFrame({"annotation_id": rows["annotation_id"].to_numpy(), "article_id": rows["article_id"].to_numpy(),
                             "suggested": keep.loc[rows["annotation_id"]].to_numpy(), "value": rows[value].to_numpy()})

    st = stances[stances["annotation_id"].isin(keep.index)]
    for t in cb.targets:
        out[f"stance:{t.id}"] = labels(st[st["target"] == t.id], "value")
    if cb.questions and answers is not None:
        an = answers[answers["annotation_id"].isin(keep.index)]
        for q in cb.question_ids():
            out[f"question:{q}"] = labels(an[an["question"] == q], "answer")
    return {k: v[v["value"].notna()].reset_index(drop=True) for k, v in out.items()}


def _suggested_values(suggestion: str | None, cb: Codebook) -> dict[str, str]:
    """The suggestion recorded on an annotation (JSON: control -> its choices, as the page shows
    them) as dimension -> codebook id."""
    if not isinstance(suggestion, str) or not suggestion:
        return {}
    shown = json.loads(suggestion)
    covered = shown.pop("dimensions", None)  # the dimensions the suggestion covered (older records: not said)
    frames = {f.name: f.id for f in cb.frames}
    tones = {t.name: t.id for t in cb.tone}
    values = {v.name: v.id for v in cb.stance_values}
    out: dict[str, str] = {}
    for control, choices in shown.items():
        choices = choices or []
        if control == cb.FRAMES:  # unmarked frames are suggested "no" only where the suggestion covered them
            for name, f in frames.items():
                if name in choices or (covered is not None and f"frames:{f}" in covered):
                    out[f"frames:{f}"] = cb.YES if name in choices else cb.NO
        elif control == cb.PRIMARY and choices:
            out["primary_frame"] = frames.get(choices[0], choices[0])
        elif control == cb.TONE and choices:
            out["tone"] = tones.get(choices[0], choices[0])
        elif choices:
            for t in cb.targets:
                if control == cb.stance_control(t.id):
                    out[f"stance:{t.id}"] = values.get(choices[0], choices[0])
            for q in cb.question_ids():
                if control == cb.question_control(q):
                    out[f"question:{q}"] = choices[0].lower()
    return out if covered is None else {k: v for k, v in out.items() if k in set(covered)}


def _ci(x: np.ndarray, digits: int = 4) -> list[float] | None:
    x = x[np.isfinite(x)]
    if not len(x):
        return None
    return [round(float(np.percentile(x, 2.5)), digits), round(float(np.percentile(x, 97.5)), digits)]


def _share(mask: np.ndarray, article: np.ndarray, n_articles: int, W: np.ndarray) -> tuple[float, np.ndarray]:
    """The share of rows where `mask` holds, and its bootstrap draws (weights W over articles)."""
    hits = np.bincount(article, weights=mask.astype(float), minlength=n_articles)
    rows = np.bincount(article, minlength=n_articles).astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(hits.sum() / rows.sum()) if rows.sum() else float("nan"), (W @ hits) / (W @ rows)


def arms(annotations: pd.DataFrame, answers: pd.DataFrame | None, stances: pd.DataFrame, spans: pd.DataFrame,
         cb: Codebook, resamples: int = RESAMPLES, seed: int = 0) -> dict | None:
    """The influence figures (module docstring); None when no annotation was drawn into an arm."""
    from . import agreement as ag

    if "suggested" not in annotations:
        return None
    sub = submitted(annotations)
    sub = sub[sub["suggested"].notna()].reset_index(drop=True)
    if sub.empty:
        return None
    sub["suggested"] = sub["suggested"].astype(bool)
    articles = sorted(sub["article_id"].unique())
    index = {a: i for i, a in enumerate(articles)}
    W = ag.draw_articles(np.random.default_rng(seed), len(articles), np.empty((resamples, len(articles))))
    out: dict = {"counts": {}, "alpha": {}, "kept": {}, "shift": {}, "time": {},
                 "bootstrap": {"resamples": resamples, "seed": seed, "unit": "article (in sorted id order)",
                               "interval": "percentile 95%"}}
    for arm, flag in (("suggested", True), ("control", False)):
        part = sub[sub["suggested"] == flag]
        ids = set(part["annotation_id"])
        out["counts"][arm] = {"annotations": int(len(part)), "articles": int(part["article_id"].nunique()),
                              "annotators": int(part["annotator"].nunique())}
        if part.empty:
            continue
        m = ag.compute(part, stances[stances["annotation_id"].isin(ids)], spans.iloc[0:0], cb, None,
                       resamples=resamples, seed=seed,
                       answers=answers[answers["annotation_id"].isin(ids)] if answers is not None else None)
        out["alpha"][arm] = {r["dimension"]: {"alpha": r["alpha"], "ci95": r["ci95"], "n": r["n_units"]}
                             for r in ag.summary_rows(m)}
    out["counts"]["articles_in_both_arms"] = int(sub.groupby("article_id")["suggested"].nunique().eq(2).sum())

    long = _long(sub, answers, submitted(stances), cb)
    shown = {aid: _suggested_values(s, cb) for aid, s, flag in zip(sub["annotation_id"], sub["suggestion"],
                                                                   sub["suggested"]) if flag}
    for name, rows in sorted(long.items()):
        article = rows["article_id"].map(index).to_numpy()
        arm = rows["suggested"].to_numpy(bool)
        value = rows["value"].astype(str).to_numpy()
        said = np.array([shown.get(a, {}).get(name) for a in rows["annotation_id"]], dtype=object)
        on = arm & (said != None)  # noqa: E711 (elementwise)
        if on.any():
            share, draws = _share(value[on] == said[on], article[on], len(articles), W)
            out["kept"][name] = {"share": round(share, 4), "ci95": _ci(draws), "n": int(on.sum())}
        if arm.all() or not arm.any():
            continue
        classes = sorted(set(value)) if len(set(value)) > 2 or cb.YES not in set(value) else [cb.YES]
        shift = {}
        for c in classes:
            s_share, s_draws = _share(value[arm] == c, article[arm], len(articles), W)
            c_share, c_draws = _share(value[~arm] == c, article[~arm], len(articles), W)
            shift[c] = {"suggested": round(s_share, 4), "control": round(c_share, 4),
                        "difference": round(s_share - c_share, 4), "ci95": _ci(s_draws - c_draws)}
        out["shift"][name] = {"classes": shift, "n": {"suggested": int(arm.sum()), "control": int((~arm).sum())}}

    lead = sub[sub["lead_time"].notna() & (sub["lead_time"] > 0)]
    if len(lead) and lead["suggested"].nunique() == 2:
        article = lead["article_id"].map(index).to_numpy()
        logt = np.log(lead["lead_time"].to_numpy(float))
        arm = lead["suggested"].to_numpy(bool)
        means = {}
        for name, mask in (("suggested", arm), ("control", ~arm)):
            tot = np.bincount(article[mask], weights=logt[mask], minlength=len(articles))
            cnt = np.bincount(article[mask], minlength=len(articles)).astype(float)
            with np.errstate(divide="ignore", invalid="ignore"):
                means[name] = (float(tot.sum() / cnt.sum()), (W @ tot) / (W @ cnt))
            out["time"][name] = {"geometric_mean_s": round(float(np.exp(means[name][0])), 1),
                                 "ci95": _ci(np.exp(means[name][1]), 1), "n": int(mask.sum())}
        ratio = np.exp(means["suggested"][1] - means["control"][1])
        out["time"]["ratio"] = {"suggested_over_control": round(float(np.exp(means["suggested"][0] - means["control"][0])), 3),
                                "ci95": _ci(ratio, 3)}
    return out


def headline(result: Mapping) -> list[str]:
    """One line per finding a reader should see first: each shift whose interval excludes 0, the
    time ratio; the arms' sizes."""
    c = result["counts"]
    lines = [f"arms: suggested {c['suggested']['annotations']} annotations, control {c['control']['annotations']} "
             f"({c['articles_in_both_arms']} articles in both)"]
    for name, s in sorted(result["shift"].items()):
        for cls, v in s["classes"].items():
            if v["ci95"] and (v["ci95"][0] > 0 or v["ci95"][1] < 0):
                lines.append(f"{name}: {cls} {v['difference']:+.1%} in the suggested arm "
                             f"[{v['ci95'][0]:+.1%}, {v['ci95'][1]:+.1%}]")
    t = result["time"].get("ratio")
    if t:
        lines.append(f"time per annotation, suggested / control: {t['suggested_over_control']:.2f} "
                     f"[{t['ci95'][0]:.2f}, {t['ci95'][1]:.2f}]" if t["ci95"] else "")
    return [x for x in lines if x]


__all__ = ["RESAMPLES", "arms", "headline"]
