"""The ray engine on a cluster of several nodes on this machine: a head that runs no task and two
worker nodes, each a real raylet with its own object store and its own temporary folder
(`ray.cluster_utils.Cluster`). The map and the part writes land on the worker nodes, the rows
cross between nodes' object stores in the shuffle, and the outputs are the local engine's bytes.
An S3 API (moto's server, a process of its own) holds inputs and outputs in one test: the workers
read the inputs from it and write the article parts to it, reaching it through the environment
they inherit from the node (AWS_*), as on a real cluster."""

from __future__ import annotations

import pytest

from framestance.normalise import normalise

from ..conftest import RETRIEVED
from .s3server import bucket, objects, s3_server, upload
from .test_engines import _inputs

ray = pytest.importorskip("ray")


@pytest.fixture(scope="module")
def s3(tmp_path_factory):
    """The S3 server, started before the nodes so that their workers inherit its environment."""
    pytest.importorskip("moto")
    with s3_server(tmp_path_factory.mktemp("moto") / "moto.log") as env:
        yield env


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, s3):
    from ray.cluster_utils import Cluster

    base = tmp_path_factory.mktemp("ray")
    c = Cluster(initialize_head=True, head_node_args={"num_cpus": 0, "object_store_memory": 100 << 20,
                                                      "include_dashboard": False, "temp_dir": str(base / "h")})
    workers = [c.add_node(num_cpus=1, object_store_memory=100 << 20, temp_dir=str(base / f"w{k}")) for k in range(2)]
    c.wait_for_nodes()
    ray.init(address=c.address, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    yield c, workers
    ray.shutdown()
    c.shutdown()


def test_three_nodes_give_the_local_engines_bytes_and_the_workers_did_the_work(cluster, tmp_path, monkeypatch):
    from framestance.normalise import collisions, ray_engine

    c, workers = cluster
    nodes = {n["NodeID"]: n for n in ray.nodes() if n["Alive"]}
    head, worker_ids = c.head_node.node_id, {w.node_id for w in workers}
    assert len(nodes) == 3 and head in nodes and worker_ids < set(nodes)
    assert len({w.get_temp_dir_path() for w in workers} | {c.head_node.get_temp_dir_path()}) == 3  # a folder each
    assert nodes[head]["Resources"].get("CPU", 0) == 0  # the head runs no task: work must cross to a worker

    monkeypatch.setattr(ray_engine, "FILES_PER_TASK", 2)  # many map tasks: duplicates meet only in the shuffle
    monkeypatch.setattr(collisions, "PIECE_BYTES", 1)  # shuffles in as many pieces as there are CPUs, between the nodes
    monkeypatch.setattr(collisions, "DECISION_PIECE_BYTES", 1)  # and the decisions in ranges of single map tasks
    inputs = _inputs(tmp_path / "in")
    local = normalise([str(inputs)], tmp_path / "local", workers=1, retrieved_at=RETRIEVED, rows_per_file=3)
    on_ray = normalise([str(inputs)], tmp_path / "ray", engine="ray", address=c.address, retrieved_at=RETRIEVED,
                       rows_per_file=3)
    assert local.exact_duplicates and local.near_duplicates  # the planted duplicates were found across tasks
    for name in ("articles.parquet", "rejects.parquet"):
        files = sorted(p.name for p in (tmp_path / "local" / name).iterdir())
        assert files == sorted(p.name for p in (tmp_path / "ray" / name).iterdir()) and files, name
        for f in files:
            assert (tmp_path / "local" / name / f).read_bytes() == (tmp_path / "ray" / name / f).read_bytes(), (name, f)
    assert (tmp_path / "local" / "summary.json").read_bytes() == (tmp_path / "ray" / "summary.json").read_bytes()

    # which node did what: every input file was read, and every article part written, on a worker node
    placed = on_ray.placement
    print("input files read per node:", {n[:8]: k for n, k in placed["files"].items()})
    print("part written by node:", {p: n[:8] for p, n in placed["parts"].items()})
    files_in = sum(1 for p in inputs.rglob("*") if p.is_file())
    assert set(placed["files"]) <= worker_ids and sum(placed["files"].values()) == files_in
    assert len(placed["files"]) == 2  # the map ran on both workers
    assert sorted(placed["parts"]) == list(range(len(list((tmp_path / "ray" / "articles.parquet").iterdir()))))
    assert set(placed["parts"].values()) <= worker_ids and head not in placed["parts"].values()
    print("collision graph:", placed["collisions"])
    assert placed["collisions"]["graph_parts"] == 4 and placed["collisions"]["ranges"] > 2  # 2 × the CPUs; of single map tasks
    assert local.placement == {}  # the local engine has no nodes


def test_a_worker_node_dying_mid_run_leaves_the_former_output_or_the_same_one(cluster, tmp_path, monkeypatch):
    """A worker node killed while the ray engine runs (--force over a former output): Ray retries
    the lost work on the node left, or the run fails; either way the folder holds whole outputs,
    the former ones or the same bytes again, never a mix, and nothing is left aside."""
    import threading
    import time

    from framestance.normalise import ray_engine

    c, workers = cluster
    monkeypatch.setattr(ray_engine, "FILES_PER_TASK", 1)  # many small tasks: some still to run when the node dies
    inputs = _inputs(tmp_path / "in")
    out = tmp_path / "out"
    normalise([str(inputs)], out, engine="ray", address=c.address, retrieved_at=RETRIEVED, rows_per_file=3)
    before = {p.relative_to(out): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}

    failure: list[BaseException] = []

    def again() -> None:
        try:
            normalise([str(inputs)], out, engine="ray", address=c.address, retrieved_at=RETRIEVED, rows_per_file=3,
                      force=True)
        except BaseException as exc:  # whatever Ray raises: the run failed
            failure.append(exc)

    run = threading.Thread(target=again)
    run.start()
    time.sleep(1.5)  # the map is under way
    assert run.is_alive()  # the node dies during the run, not after it
    c.remove_node(workers[1], allow_graceful=False)
    run.join(timeout=240)
    assert not run.is_alive()
    after = {p.relative_to(out): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}
    print("the run", f"failed: {type(failure[0]).__name__}" if failure else "retried and finished")
    assert after == before  # the same inputs: the same bytes whether the run finished or failed
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # nothing left aside
    workers[1] = c.add_node(num_cpus=1, object_store_memory=100 << 20)  # the cluster as it was, for any test after
    c.wait_for_nodes()


def test_inputs_on_s3_and_the_parts_the_workers_write_there_are_the_local_engines_bytes(cluster, tmp_path, monkeypatch):
    from framestance.normalise import ray_engine

    c, workers = cluster
    worker_ids = {w.node_id for w in workers}
    crawl = bucket("crawl")
    n_files = upload(crawl, _inputs(tmp_path / "in"), "crawl/raw")
    fs = bucket("corpus")
    monkeypatch.setattr(ray_engine, "FILES_PER_TASK", 2)
    normalise(["s3://crawl/raw"], tmp_path / "local", workers=1, retrieved_at=RETRIEVED, rows_per_file=3)
    on_ray = normalise(["s3://crawl/raw"], "s3://corpus/run", engine="ray", address=c.address, retrieved_at=RETRIEVED,
                       rows_per_file=3)
    local = {p.relative_to(tmp_path / "local").as_posix(): p.read_bytes() for p in (tmp_path / "local").rglob("*") if p.is_file()}
    assert objects(fs, "corpus/run") == local
    placed = on_ray.placement
    print("S3: input files read per node:", {n[:8]: k for n, k in placed["files"].items()})
    print("S3: part written by node:", {p: n[:8] for p, n in placed["parts"].items()})
    assert set(placed["files"]) <= worker_ids and sum(placed["files"].values()) == n_files
    parts = sorted(k for k in local if k.startswith("articles.parquet/"))
    assert sorted(placed["parts"]) == list(range(len(parts))) and set(placed["parts"].values()) <= worker_ids
