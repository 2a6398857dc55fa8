"""Resolving duplicates: the driver's memory as the number of colliding articles grows.

    .venv/bin/python scripts/bench_resolve.py --articles 200000 1000000            # in the cluster
    .venv/bin/python scripts/bench_resolve.py --articles 200000 1000000 --driver   # as it was: on the driver
    .venv/bin/python scripts/bench_resolve.py --articles 200000 --chain            # one chain of near copies

In the cluster (`collisions.resolve_in_cluster`, Ray on this machine's 2 CPUs): Ray tasks write
the key rows of N colliding articles (each article's id, text key and 9 band keys, as the map's
`shuffle_keys` gives them) into the object store, 20 blocks; the driver then runs the resolution
and the growth of its peak resident memory is measured. `--driver`: the former way, all shared
keys handed to `collisions.resolve` in the driver's own process.

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

import pyarrow as pa


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
    return {"colliding_articles": n, "where": "driver", "seconds": round(seconds, 1), "peak_growth_MB": round(grew / 1e6),
            "bytes_per_article": round(grew / n), "table_MB": round(shared.nbytes / 1e6),
            "exact": res.exact, "near": res.near}


def key_rows(first: int, n: int) -> pa.Table:
    """The key rows of articles first .. first + n - 1 (pairs of copies: 2k and 2k + 1 share their
    text key and all 9 band keys; ids all differ), as `ray_engine.shuffle_keys` gives them."""
    import numpy as np

    from framestance.normalise.collisions import BAND, ID, TEXT

    order = np.arange(first, first + n, dtype=np.int64)
    pair = order // 2
    ids = pa.array([f"{o:020x}" for o in order], pa.string())
    kinds = np.concatenate([np.full(n, ID, np.int8), np.full(n, TEXT, np.int8)] + [np.full(n, BAND, np.int8)] * 9)
    keys = np.concatenate([order] + [pair * 11 + k for k in range(10)]).astype(np.int64)
    full = pa.concat_arrays([ids, pa.array([f"{p:032x}" for p in pair], pa.string()), pa.nulls(9 * n, pa.string())])
    return pa.table({"kind": kinds, "key": keys, "full": full, "order": np.tile(order, 11),
                     "source_sha256": pa.concat_arrays([pa.array(["0" * 64] * n, pa.string()), pa.nulls(10 * n, pa.string())]),
                     "position": pa.concat_arrays([pa.array(np.zeros(n, np.int32)), pa.nulls(10 * n, pa.int32())]),
                     "article_id": pa.concat_arrays([ids] * 11)})


def chain_rows(first: int, n: int) -> pa.Table:
    """As key_rows, but one chain of near copies: article i shares one band key with i - 1 and
    another with i + 1, and nothing else (ids and text keys all differ)."""
    import numpy as np

    from framestance.normalise.collisions import BAND, ID, TEXT

    order = np.arange(first, first + n, dtype=np.int64)
    ids = pa.array([f"{o:020x}" for o in order], pa.string())
    kinds = np.concatenate([np.full(n, ID, np.int8), np.full(n, TEXT, np.int8), np.full(2 * n, BAND, np.int8)])
    keys = np.concatenate([order, order, order // 2, (order + 1) // 2 + (1 << 40)]).astype(np.int64)
    full = pa.concat_arrays([ids, pa.array([f"{o:032x}" for o in order], pa.string()), pa.nulls(2 * n, pa.string())])
    return pa.table({"kind": kinds, "key": keys, "full": full, "order": np.tile(order, 4),
                     "source_sha256": pa.concat_arrays([pa.array(["0" * 64] * n, pa.string()), pa.nulls(3 * n, pa.string())]),
                     "position": pa.concat_arrays([pa.array(np.zeros(n, np.int32)), pa.nulls(3 * n, pa.int32())]),
                     "article_id": pa.concat_arrays([ids] * 4)})


def in_cluster(n: int, shape: str = "pairs") -> dict:
    import numpy as np
    import ray

    from framestance.normalise.collisions import resolve_in_cluster

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    blocks_n = 20
    make = ray.remote(key_rows if shape == "pairs" else chain_rows)
    step = -(-n // blocks_n) // 2 * 2
    blocks = [make.remote(a, min(step, n - a)) for a in range(0, n, step)]
    ray.wait(blocks, num_returns=len(blocks), fetch_local=False)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    res = resolve_in_cluster(blocks, lambda t: t, np.arange(0, n, step, dtype=np.int64), 4)
    seconds = time.perf_counter() - started
    grew = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) * 1024
    ray.shutdown()
    return {"colliding_articles": n, "where": "cluster" if shape == "pairs" else "cluster, one chain", "seconds": round(seconds, 1), "rounds": res.rounds, **res.counts,
            "peak_growth_MB": round(grew / 1e6, 1), "bytes_per_article": round(grew / n, 2),
            "exact": res.exact, "near": res.near}


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        n = int(sys.argv[3])
        print(json.dumps(child(n) if sys.argv[2] == "driver" else in_cluster(n, sys.argv[2])))
        return
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--articles", type=int, nargs="+", default=[200_000, 1_000_000])
    ap.add_argument("--driver", action="store_true", help="the former way: every shared key on the driver")
    ap.add_argument("--chain", action="store_true", help="in the cluster, the articles as one chain of near copies")
    args = ap.parse_args()
    for n in args.articles:
        out = subprocess.run([sys.executable, __file__, "--child", "driver" if args.driver else "chain" if args.chain else "pairs", str(n)],
                             capture_output=True, text=True, check=True)
        print(out.stdout.strip(), flush=True)


if __name__ == "__main__":
    main()
