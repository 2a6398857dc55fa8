"""A new study on real data, as a researcher would start it: `framestance init`, framing-dev's 304
climate articles as crawler records (with fields framestance does not read: an outlet-bias
rating, an opinion flag) and --pages of extraction-dev's real HTML pages, then `dvc repro select`.

Prints the time of each step and what the study's card would state from this corpus: outlets by
spelling and by key, the crawler fields kept, where retrieval times came from, the languages
detected and those a card claims at the 5 % share, and the query's hits.

    .venv/bin/python scripts/bench_study.py --pages 300
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import yaml

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
BIN = Path(sys.executable).parent


def run(args: list[str], cwd: Path) -> float:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", "DVC_NO_ANALYTICS": "1",
           "LABEL_STUDIO_URL": "", "LABEL_STUDIO_API_KEY": ""}
    start = time.perf_counter()
    res = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True)
    if res.returncode:
        sys.exit(f"{' '.join(args)} failed:\n{res.stdout}\n{res.stderr}")
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pages", type=int, default=300, help="extraction-dev HTML pages added to the crawl")
    args = ap.parse_args()
    from framestance.card import released_languages

    with tempfile.TemporaryDirectory(prefix="bench-study-") as tmp:
        study = Path(tmp) / "climate"
        t_init = run([str(BIN / "framestance"), "init", str(study), "--issue", "climate change",
                      "--statement", "Policies to limit climate change.",
                      "--query", 'climate OR "global warming" OR emissions OR carbon'], Path(tmp))
        raw = study / "corpus" / "raw"
        with (SHARED / "framing-dev" / "articles.jsonl").open(encoding="utf-8") as src, \
                (raw / "framing-dev.jsonl").open("w", encoding="utf-8") as out:
            for line in src:
                a = json.loads(line)
                # the record a crawler would give: the annotators' answers are not crawl data
                out.write(json.dumps({"id": a["id"], "maintext": a["text"], "date_publish": a["date"],
                                      "source_domain": a["outlet"], "mbfc_bias": a["mbfc_bias"],
                                      "opinion": a["opinion"]}) + "\n")
        for path in sorted((SHARED / "extraction-dev" / "html").glob("*.html.gz"))[: args.pages]:
            (raw / path.name.removesuffix(".gz")).write_bytes(gzip.decompress(path.read_bytes()))
        params = yaml.safe_load((study / "params.yaml").read_text())
        params["select"]["round_size"] = 100
        (study / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
        run(["git", "add", "-A"], study)
        t_select = run([str(BIN / "dvc"), "repro", "select"], study)

        arts = pq.read_table(study / "corpus" / "normalised" / "articles.parquet").to_pylist()
        summary = json.loads((study / "corpus" / "normalised" / "summary.json").read_text())
        rounds = json.loads((study / "corpus" / "selection" / "rounds.json").read_text())
        records = [a for a in arts if a["input_kind"] == "records"]
        spellings = {a["outlet"] for a in records if a["outlet"]}
        keys = {a["outlet_key"] for a in records if a["outlet_key"]}
        extra = Counter(e["name"] for a in records for e in a["extra"])
        retrieved = Counter(a["retrieved_at"].strftime("%Y-%m-%d") for a in arts)
        claimed, counts = released_languages([a["language"] for a in arts], 0.05)
        print(f"inputs: {summary['inputs']} ({len(records)} crawler records, {args.pages} HTML pages); "
              f"articles {summary['articles']}, rejected {summary['rejected']}")
        print(f"init {t_init:.1f} s; dvc repro select (normalise, index, pull, select) {t_select:.1f} s")
        print(f"outlets of the crawl: {len(spellings)} spellings -> {len(keys)} keys")
        print(f"crawler fields kept in `extra`: {dict(extra)}")
        print(f"retrieval days: {dict(retrieved)} (no record has a download date and the init template sets no "
              "retrieved_at: each file's modification time, here the copy's)")
        print(f"languages detected: {dict(counts.most_common())}; claimed at 5 %: {claimed}")
        print(f"query hits {rounds[0]['hits']}; "
              f"round 1 took {sum(1 for _ in pq.read_table(study / 'corpus' / 'selection' / 'round-001.parquet').to_pylist())}")


if __name__ == "__main__":
    main()
