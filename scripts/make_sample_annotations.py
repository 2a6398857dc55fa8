"""Write the bundled annotation snapshot: synthetic annotations of our own making on the sample corpus.

    .venv/bin/python scripts/make_sample_annotations.py [--corpus corpus/normalised] [--out annotations]

Four made-up annotators (already pseudonyms, as `framestance pull` stores them) label every
non-duplicate article of the sample corpus, three per article, in the shape of Label Studio's JSON
export: frames, primary frame, tone, a stance per codebook target, frame-cue and stance-evidence
spans on sentence boundaries. Each annotator departs from a hidden reference label at their own
rate, so the snapshot has realistic disagreement; one annotation is cancelled (skipped) and one
is a draft. One article's reference is "not about the issue": who agrees ticks that box and gives
no other label (as the interface makes them), and now and then an annotator ticks it on another
article. Seeded: the same corpus and codebook give the same bytes.
"""

from __future__ import annotations

import argparse
import random
import re
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

ANNOTATORS = {  # pseudonym -> how often they depart from the reference label
    "ann-0a1b2c3d4e5f": 0.08,
    "ann-1b2c3d4e5f60": 0.15,
    "ann-2c3d4e5f6071": 0.22,
    "ann-3d4e5f607182": 0.30,
}
PROJECT = "sample"
EXPORTED_AT = datetime(2025, 8, 22, 12, 0, tzinfo=UTC)


def sentences(text: str) -> list[tuple[int, int]]:
    return [(m.start(), m.end()) for m in re.finditer(r"[^\s.!?][^.!?\n]*[.!?]", text) if len(m.group().split()) >= 5]


def choice(rng: random.Random, ref, pool, err: float):
    if rng.random() >= err:
        return ref
    others = [p for p in pool if p != ref]
    return rng.choice(others) if others else ref


def ts(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def build(corpus: Path, codebook: Path, seed: int = 2025) -> list[dict]:
    import pyarrow.parquet as pq

    from framestance.codebook import load
    from framestance.labelstudio.push import task_for

    cb = load(codebook)
    rows = [r for r in pq.read_table(corpus / "articles.parquet").to_pylist() if r["duplicate_of"] is None]
    rows.sort(key=lambda r: r["article_id"])
    rng = random.Random(seed)
    relevance_rng = random.Random(seed + 1)  # its own stream: the other labels stay as they were
    off_topic = len(rows) // 2  # the article whose reference is "not about the issue"
    ticked = [{"from_name": cb.RELEVANCE, "to_name": "text", "type": "choices",
               "value": {"choices": [cb.relevance[1].name]}}]
    frames = [f.name for f in cb.frames]
    tones = [t.name for t in cb.tone]
    values = [v.name for v in cb.stance_values]
    names = list(ANNOTATORS)
    tasks, ann_id = [], 0
    for k, row in enumerate(rows):
        task = {"id": k + 1, **task_for(row), "predictions": [], "drafts": [], "annotations": []}
        text = row["text"]
        sents = sentences(text) or [(0, min(len(text), 40))]
        # the hidden reference labels of this article
        ref_frames = rng.sample(frames, rng.choice([2, 3]))
        ref_primary = ref_frames[0]
        ref_tone = rng.choice(tones)
        ref_stance = {t.id: rng.choice(values) for t in cb.targets}
        cue = rng.choice(sents)
        evidence = {t: rng.choice(sents) for t, v in ref_stance.items() if v != "not addressed"}
        start = EXPORTED_AT - timedelta(days=3, hours=k)
        for j, who in enumerate(names[k % 4:] + names[: k % 4]):
            if j == 3:
                break
            err = ANNOTATORS[who]
            picked = sorted({f for f in ref_frames if rng.random() >= err / 2}
                            | ({rng.choice(frames)} if rng.random() < err else set()), key=frames.index)
            primary = choice(rng, ref_primary, frames, err)
            if primary not in picked:
                picked = sorted({*picked, primary}, key=frames.index)
            result = [
                {"from_name": cb.FRAMES, "to_name": "text", "type": "choices", "value": {"choices": picked}},
                {"from_name": cb.PRIMARY, "to_name": "text", "type": "choices", "value": {"choices": [primary]}},
                {"from_name": cb.TONE, "to_name": "text", "type": "choices", "value": {"choices": [choice(rng, ref_tone, tones, err / 2)]}},  # tone: easier to agree on
            ]
            for t in cb.targets:
                result.append({"from_name": cb.stance_control(t.id), "to_name": "text", "type": "choices",
                               "value": {"choices": [choice(rng, ref_stance[t.id], values, err)]}})

            def span(control: str, label: str, se: tuple[int, int], n: int, err: float = err, text: str = text) -> dict:
                s, e = se
                if rng.random() < err:  # a sloppier selection: one word more or less at the start
                    words = [m.start() for m in re.finditer(r"\S+", text[s:e])]
                    s = s + words[1] if len(words) > 2 else s
                return {"id": f"r{n}", "from_name": control, "to_name": "text", "type": "labels",
                        "value": {"start": s, "end": e, "text": text[s:e], "labels": [label]}}

            n = 0
            if rng.random() >= err / 2:
                result.append(span(cb.FRAME_SPANS, primary, cue, n))
                n += 1
            for t in cb.targets:
                if t.id in evidence and rng.random() >= err:
                    result.append(span(cb.EVIDENCE, t.name, evidence[t.id], n))
                    n += 1
            if relevance_rng.random() < (1 - err if k == off_topic else err / 4):
                result = ticked  # the box hides every other question
            ann_id += 1
            created = start + timedelta(minutes=11 * j + rng.randint(0, 9))
            lead = round(rng.uniform(60, 420), 1)
            cancelled = (k, j) == (len(rows) - 1, 2)
            ann = {"id": ann_id, "completed_by": who, "result": [] if cancelled else result,
                   "was_cancelled": cancelled, "ground_truth": False, "lead_time": lead,
                   "created_at": ts(created), "updated_at": ts(created + timedelta(seconds=lead))}
            task["annotations"].append(ann)
        if k == 0:  # someone started a fourth annotation and left it as a draft
            who = names[3]
            task["drafts"].append({"id": 1, "user": who, "result": task["annotations"][0]["result"][:2],
                                   "lead_time": 12.0, "created_at": ts(start), "updated_at": ts(start)})
        tasks.append(task)
    return tasks


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", type=Path, default=ROOT / "corpus" / "normalised")
    ap.add_argument("--codebook", type=Path, default=ROOT / "schemas" / "codebook.yaml")
    ap.add_argument("--out", type=Path, default=ROOT / "annotations")
    args = ap.parse_args()
    from framestance.labelstudio.pull import scrub, write_snapshot

    tasks = build(args.corpus, args.codebook)
    import json

    data = scrub(json.dumps(tasks).encode(), lambda user: user)
    path = write_snapshot(data, args.out, PROJECT, now=EXPORTED_AT)
    print(path)


if __name__ == "__main__":
    main()
