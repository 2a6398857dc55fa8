"""The ray engine's one step on the driver: `ray_engine.resolve` over the shuffle's shared keys.

    .venv/bin/python scripts/bench_resolve.py --articles 200000 1000000

For N colliding articles (pairs that share their exact-duplicate key and all 9 LSH band keys, the
shape of a corpus of near and exact copies), builds the table the shuffle hands the driver and
times `resolve` on it; prints seconds, the growth of this process's peak resident memory while it
runs (bytes per colliding article) and the table's own size. Each size runs in a child process so
that peaks do not carry over.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time


def child(n: int) -> dict:
    import numpy as np
    import pyarrow as pa

    from framestance.normalise.collisions import BAND, TEXT, resolve

    order = np.arange(n, dtype=np.int64)
    pair = order // 2
    kinds = np.concatenate([np.full(n, TEXT, np.int8)] + [np.full(n, BAND, np.int8)] * 9)
    keys = np.concatenate([pair * 11 + k for k in range(10)]).astype(np.int64)
    full = pa.concat_arrays([pa.array([f"{p:032x}" for p in pair], pa.string()), pa.nulls(9 * n, pa.string())])
    shared = pa.table({"kind": kinds, "key": keys, "full": full, "order": np.tile(order, 10),
                       "source_sha256": pa.nulls(10 * n, pa.string()), "position": pa.nulls(10 * n, pa.int32())})
    shared = shared.sort_by([("order", "ascending")])
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    res = resolve(shared)
    seconds = time.perf_counter() - started
    grew = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) * 1024
    return {"colliding_articles": n, "seconds": round(seconds, 1), "peak_growth_MB": round(grew / 1e6),
            "bytes_per_article": round(grew / n), "table_MB": round(shared.nbytes / 1e6),
            "exact": res.exact, "near": res.near}


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        print(json.dumps(child(int(sys.argv[2]))))
        return
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--articles", type=int, nargs="+", default=[200_000, 1_000_000])
    for n in ap.parse_args().articles:
        out = subprocess.run([sys.executable, __file__, "--child", str(n)], capture_output=True, text=True, check=True)
        print(out.stdout.strip(), flush=True)


if __name__ == "__main__":
    main()
