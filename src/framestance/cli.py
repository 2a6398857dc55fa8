"""The `framestance` command line: one entry point per pipeline stage.

User mistakes end with one red line naming the file and the reason (exit code 2), never a
traceback. Bad inputs inside a batch are reported one line each and the batch goes on.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, NoReturn, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

app = typer.Typer(
    name="framestance",
    help="Build labelled news corpora for research on media framing and stance.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out_console = Console()
err_console = Console(stderr=True)


@app.callback()
def root() -> None:
    """framestance: normalise -> push -> pull -> validate -> publish."""


def fail(message: str, code: int = 2) -> NoReturn:
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def parse_instant(text: str) -> datetime:
    try:
        at = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        fail(f"--retrieved-at {text!r}: not an ISO-8601 date-time (e.g. 2025-08-18T09:30:00Z)")
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.astimezone(UTC)


def _params(section: str) -> dict:
    """Defaults from params.yaml in the working directory, when there is one."""
    path = Path("params.yaml")
    if not path.exists():
        return {}
    import yaml

    try:
        return (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get(section) or {}
    except yaml.YAMLError as exc:
        fail(f"params.yaml: not valid YAML ({exc.__class__.__name__})")
    return {}


@app.command()
def normalise(
    inputs: Annotated[list[str], typer.Argument(help="Files, directories or globs (text dumps, HTML, JSONL/JSON/Parquet/CSV; .gz too).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder for articles.parquet, rejects.parquet, summary.json.")],
    retrieved_at: Annotated[Optional[str], typer.Option(help="When the pages were retrieved (ISO-8601); resolves '3 days ago'. Default: params.yaml, else each file's modification time.")] = None,
    workers: Annotated[int, typer.Option(min=0, help="Worker processes (default: the local cores).")] = 0,
    force: Annotated[bool, typer.Option("--force", help="Overwrite existing outputs in --out.")] = False,
    min_words: Annotated[Optional[int], typer.Option(help="A body shorter than this is 'not an article'.")] = None,
    max_bytes: Annotated[Optional[int], typer.Option(help="Inputs larger than this are rejected as 'too large'.")] = None,
    near_dup_threshold: Annotated[Optional[float], typer.Option(help="MinHash LSH Jaccard threshold for near-duplicates.")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar, no per-reject lines.")] = False,
) -> None:
    """Normalise scraped pages and crawler records into one Arrow corpus."""
    from .normalise import BadParams, OutputExists
    from .normalise import normalise as run
    from .normalise.readers import InputError

    p = _params("normalise")
    when = parse_instant(retrieved_at or str(p["retrieved_at"])) if (retrieved_at or p.get("retrieved_at")) else None
    workers = workers or os.cpu_count() or 1
    progress = Progress(
        TextColumn("normalising"), BarColumn(), MofNCompleteColumn(), TextColumn("files"),
        TimeElapsedColumn(), TimeRemainingColumn(), console=err_console, disable=quiet, transient=False,
    )
    task = progress.add_task("normalise", total=None)

    started = False

    def on_progress(done: int, total: int) -> None:
        nonlocal started
        if not started:  # the bar appears once work has begun, not before an early error
            progress.start()
            started = True
        progress.update(task, completed=done, total=total)

    def on_reject(rej: dict) -> None:
        if not quiet:
            where = rej["source_path"] + (f" (record {rej['position']})" if rej["input_kind"] == "records" else "")
            progress.console.print(f"[yellow]rejected[/] {where}: {rej['detail']}", highlight=False, soft_wrap=True)

    try:
        summary = run(
            inputs, out, retrieved_at=when, workers=workers, force=force,
            min_words=min_words or int(p.get("min_words", 30)),
            max_bytes=max_bytes or int(p.get("max_bytes", 20_000_000)),
            near_dup_threshold=near_dup_threshold or float(p.get("near_dup_threshold", 0.8)),
            num_perm=int(p.get("num_perm", 128)),
            progress=on_progress, on_reject=on_reject,
        )
    except (InputError, OutputExists, BadParams) as exc:
        fail(str(exc))
    except PermissionError as exc:
        fail(f"{exc.filename}: permission denied")
    finally:
        if started:
            progress.stop()
    table = Table(title=f"normalised into {out}", show_header=True)
    table.add_column("count", justify="left")
    table.add_column("n", justify="right")
    rows = [
        ("inputs", summary.inputs),
        ("  with an article", summary.inputs_with_article),
        ("  rejected", summary.rejected),
        *[(f"    {reason}", n) for reason, n in summary.rejects_by_reason.items()],
        ("articles", summary.articles),
        ("  main", summary.main),
        ("  related", summary.related),
        ("  exact duplicates", summary.exact_duplicates),
        ("  near duplicates", summary.near_duplicates),
        ("  unique", summary.unique),
    ]
    for name, n in rows:
        table.add_row(name, str(n))
    out_console.print(table)


@app.command()
def codebook(
    path: Annotated[Optional[Path], typer.Option("--codebook", help="Codebook YAML (default schemas/codebook.yaml).")] = None,
    out: Annotated[Path, typer.Option(help="Where the generated labeling config is written for review.")] = Path("schemas/labeling_config.xml"),
    check: Annotated[bool, typer.Option("--check", help="Only check that OUT is up to date (exit 1 when stale).")] = False,
) -> None:
    """Validate the codebook and (re)generate the Label Studio labeling config from it."""
    from .labelstudio import check_config, labeling_config

    cb = _codebook(path)
    xml = labeling_config(cb)
    try:
        check_config(xml)
    except Exception as exc:
        fail(f"the generated labeling config is invalid: {exc}")
    if check:
        if not out.exists() or out.read_text(encoding="utf-8") != xml:
            fail(f"{out} is stale: run `framestance codebook` to regenerate it from {cb.source}", code=1)
        out_console.print(f"{out} is up to date with {cb.source}", highlight=False)
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(xml, encoding="utf-8")
    out_console.print(
        f"codebook {cb.name} v{cb.version}: {len(cb.frames)} frames, {len(cb.tone)} tones, {len(cb.targets)} stance targets "
        f"-> {out}", highlight=False)


studio_app = typer.Typer(help="A real local Label Studio server (own venv, SQLite, 127.0.0.1).", no_args_is_help=True)
app.add_typer(studio_app, name="studio")

StudioHome = Annotated[Path, typer.Option("--home", help="Folder for the server's venv, data, env file and log (git-ignored).")]


@studio_app.command("up")
def studio_up(
    home: StudioHome = Path(".studio"),
    port: Annotated[Optional[int], typer.Option(help="Port on 127.0.0.1 (default: a free one).")] = None,
) -> None:
    """Install (once) and start Label Studio; print the URL and how to log in."""
    from .studio import LocalStudio, StudioError

    studio = LocalStudio(home)
    try:
        with err_console.status("starting Label Studio (the first start runs its migrations, ~30 s)"):
            conn = studio.up(port=port, say=lambda m: err_console.print(m, highlight=False))
    except StudioError as exc:
        fail(str(exc))
    out_console.print(f"Label Studio is up at [bold]{conn.url}[/]", highlight=False)
    out_console.print(f"log in as {conn.email}; the password and API key are in {studio.env_file} (mode 600, git-ignored)",
                      highlight=False)
    out_console.print(f"other commands read LABEL_STUDIO_URL / LABEL_STUDIO_API_KEY, else {studio.env_file}", highlight=False)


@studio_app.command("down")
def studio_down(home: StudioHome = Path(".studio")) -> None:
    """Stop the server `studio up` started (and nothing else)."""
    from .studio import LocalStudio

    stopped = LocalStudio(home).down()
    out_console.print("Label Studio stopped" if stopped else "no Label Studio started from this folder is running")


@studio_app.command("status")
def studio_status(home: StudioHome = Path(".studio")) -> None:
    """Is the server installed, running and healthy?"""
    from .studio import LocalStudio

    st = LocalStudio(home).status()
    for k, v in st.items():
        out_console.print(f"{k}: {v}", highlight=False)
    if not st["healthy"]:
        raise typer.Exit(1)


def _client(home: Path):
    from .labelstudio import Client
    from .studio import StudioError, connection_from_env

    try:
        conn = connection_from_env(home)
    except StudioError as exc:
        fail(str(exc))
    return Client(conn.url, conn.api_key)


def _codebook(path: Optional[Path]):
    from .codebook import CodebookError, load

    try:
        return load(path)
    except CodebookError as exc:
        fail(str(exc))


@app.command()
def push(
    corpus_dir: Annotated[Path, typer.Argument(help="Folder with articles.parquet (the normalise output).")],
    project: Annotated[str, typer.Option("--project", help="Label Studio project title (created when missing).")],
    sample_n: Annotated[Optional[int], typer.Option("--sample", help="Push a sample of N articles (default: all).")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the sample.")] = 0,
    stratify: Annotated[Optional[str], typer.Option(help="Stratify the sample by this column (e.g. outlet).")] = None,
    overlap: Annotated[Optional[int], typer.Option(help="Annotators per task.")] = None,
    overlap_share: Annotated[int, typer.Option(min=0, max=100, help="Share of tasks (%) that get --overlap annotators.")] = 100,
    predictions: Annotated[Optional[Path], typer.Option(help="JSON/JSONL of pre-annotations: article_id, model_version, score, result.")] = None,
    codebook: Annotated[Optional[Path], typer.Option(help="Codebook YAML (default schemas/codebook.yaml).")] = None,
    home: StudioHome = Path(".studio"),
) -> None:
    """Push a seeded, stratified sample of the corpus to a Label Studio project (idempotent)."""
    from .labelstudio import StudioAuthError, StudioRequestError, StudioUnavailable
    from .push import PushError
    from .push import push as run

    cb = _codebook(codebook)
    client = _client(home)
    progress = Progress(TextColumn("pushing"), BarColumn(), MofNCompleteColumn(), TextColumn("tasks"),
                        TimeElapsedColumn(), console=err_console)
    task = progress.add_task("push", total=None)
    try:
        with progress:
            report = run(client, corpus_dir, project, cb, n=sample_n, seed=seed, stratify=stratify, overlap=overlap,
                         overlap_share=overlap_share, predictions=predictions,
                         progress=lambda d, t: progress.update(task, completed=d, total=t))
    except (PushError, StudioAuthError, StudioUnavailable, StudioRequestError) as exc:
        fail(str(exc))
    table = Table(title=f"pushed to project {project!r} (id {report.project_id})")
    table.add_column("count")
    table.add_column("n", justify="right")
    for name, n in [("articles (not duplicates)", report.candidates), ("duplicates skipped", report.skipped_duplicates),
                    ("sampled", report.sampled), ("tasks created", report.created),
                    ("already in the project", report.already_present), ("changed since pushed", len(report.changed))]:
        table.add_row(name, str(n))
    out_console.print(table)
    if report.changed:
        err_console.print(f"[yellow]warning:[/] {len(report.changed)} articles changed since they were pushed "
                          f"(not re-pushed): {', '.join(report.changed[:10])}{' ...' if len(report.changed) > 10 else ''}",
                          highlight=False)


@app.command()
def pull(
    project: Annotated[Optional[str], typer.Option("--project", help="Label Studio project title (default: params.yaml pull.project).")] = None,
    out: Annotated[Path, typer.Option("--out", help="Folder of the snapshots (<out>/<project>/<time>-<sha>.json, tracked in git).")] = Path("annotations"),
    tables: Annotated[Path, typer.Option("--tables", help="Folder for annotations/stances/spans.parquet.")] = Path("corpus/annotations"),
    codebook: Annotated[Optional[Path], typer.Option(help="Codebook YAML (default schemas/codebook.yaml).")] = None,
    home: StudioHome = Path(".studio"),
) -> None:
    """Export every task with all annotations to a scrubbed snapshot, then flat tables.

    With no Label Studio configured, the tables are rebuilt from the newest tracked snapshot
    (that is how `dvc repro` reproduces the corpus anywhere)."""
    from .labelstudio import StudioAuthError, StudioRequestError, StudioUnavailable
    from .pull import (
        Pseudonymiser,
        PullError,
        canonical,
        latest_snapshot,
        scrub_tasks,
        slug,
        tables_from_snapshot,
        tables_from_tasks,
        write_snapshot,
        write_tables,
    )
    from .studio import StudioError, connection_from_env

    cb = _codebook(codebook)
    project = project or _params("pull").get("project")
    if not project:
        fail("--project: missing (or set pull.project in params.yaml)")
    try:
        conn = connection_from_env(home)
    except StudioError:
        conn = None
    try:
        if conn is None:
            snap = latest_snapshot(out, project)
            if snap is None:
                fail(f"no Label Studio configured and no snapshot in {out}/{slug(project)}/: "
                     "set LABEL_STUDIO_URL and LABEL_STUDIO_API_KEY, or run `framestance studio up`")
            err_console.print(f"no Label Studio configured: using the snapshot {snap}", highlight=False)
            built = tables_from_snapshot(snap.read_bytes(), cb)
        else:
            from .labelstudio import Client

            client = Client(conn.url, conn.api_key)
            pid = client.find_project(project)
            if pid is None:
                fail(f"project {project!r}: no such project on {client.url}")
            with err_console.status("exporting from Label Studio"):
                raw = client.export_snapshot(pid)
            pseudo = Pseudonymiser(home / "pseudonym.key", home / "annotators.json")
            tasks = scrub_tasks(raw, pseudo)
            pseudo.save()
            snap = write_snapshot(canonical(tasks), out, project)
            out_console.print(f"snapshot {snap}", highlight=False)
            built = tables_from_tasks(tasks, cb)  # the export is parsed once
        paths = write_tables(built, tables)
    except (PullError, StudioAuthError, StudioUnavailable, StudioRequestError) as exc:
        fail(str(exc))
    for name, path in paths.items():
        out_console.print(f"{name}: {built[name].num_rows} rows -> {path}", highlight=False)

CorpusDir = Annotated[Path, typer.Option("--corpus", help="Folder with articles.parquet.")]
AnnotationsDir = Annotated[Path, typer.Option("--annotations", help="Folder with annotations/stances/spans.parquet (the pull output).")]
GoldDir = Annotated[Path, typer.Option("--gold", help="Folder with gold.parquet and gold_spans.parquet (the aggregate output).")]
CodebookOpt = Annotated[Optional[Path], typer.Option("--codebook", help="Codebook YAML (default schemas/codebook.yaml).")]


def _tables(corpus: Path, annotations: Path, gold: Path | None = None, checked: bool = False) -> dict:
    """The tables; with `checked`, a table with a missing column or a wrong dtype ends the command
    with one line (the commands after validate rely on the structure)."""
    from .validate import ValidationInputError, load_tables, structure_problems

    try:
        tables = load_tables({"corpus": corpus, "annotations": annotations, "gold": gold})
    except ValidationInputError as exc:
        fail(str(exc))
    if checked:
        problems = structure_problems(tables)
        if problems:
            fail(problems[0])
    return tables


@app.command()
def validate(
    corpus: CorpusDir = Path("corpus/normalised"),
    annotations: AnnotationsDir = Path("corpus/annotations"),
    gold: Annotated[Optional[Path], typer.Option("--gold", help="Also check gold.parquet and gold_spans.parquet in this folder (the aggregate output).")] = None,
    report: Annotated[Path, typer.Option("--report", help="Folder for failures.parquet.")] = Path("corpus/validation"),
    codebook: CodebookOpt = None,
    min_annotators: Annotated[Optional[int], typer.Option(help="Quality gate (default: params.yaml quality.min_annotators).")] = None,
) -> None:
    """Check every table against its pandera schema and the codebook; report every failure."""
    from .validate import validate as run
    from .validate import write_report

    cb = _codebook(codebook)
    tables = _tables(corpus, annotations, gold)
    try:
        minimum = min_annotators if min_annotators is not None else int(_params("quality").get("min_annotators", 1))
    except (TypeError, ValueError):
        fail("params.yaml quality.min_annotators: not a whole number")
    with err_console.status("validating"):
        result = run(tables, cb, min_annotators=minimum)
    if gold is not None and not any(k in tables for k in ("gold", "gold_spans")):
        err_console.print(f"[yellow]warning:[/] --gold {gold}: no gold.parquet or gold_spans.parquet there; not checked",
                          highlight=False)
    path = write_report(result, report)
    rows = Table(title="validated", show_header=True)
    rows.add_column("table")
    rows.add_column("rows", justify="right")
    for name, n in result.rows.items():
        rows.add_row(name, str(n))
    out_console.print(rows)
    if result.ok:
        out_console.print(f"[green]all checks passed[/] (report: {path})", highlight=False)
        return
    fails = Table(title=f"{result.failures.num_rows} failures (all in {path})", show_header=True)
    for col in ("table", "check", "failures", "first values"):
        fails.add_column(col, justify="right" if col == "failures" else "left")
    df = result.failures.to_pandas()
    for table_name, check, n in result.counts():
        sel = df[(df["table"] == table_name) & (df["check"] == check)]["value"].dropna().astype(str).unique()[:3]
        fails.add_row(table_name, check, str(n), ", ".join(v[:40] for v in sel))
    out_console.print(fails)
    raise typer.Exit(1)


@app.command()
def agreement(
    corpus: CorpusDir = Path("corpus/normalised"),
    annotations: AnnotationsDir = Path("corpus/annotations"),
    metrics: Annotated[Path, typer.Option("--metrics", help="The metrics file (a DVC metric).")] = Path("metrics/agreement.json"),
    plots: Annotated[Path, typer.Option("--plots", help="Folder for the PNG plots and their CSV data (DVC plots).")] = Path("plots"),
    codebook: CodebookOpt = None,
) -> None:
    """Krippendorff's alpha per dimension, span F1 between annotators, per-annotator figures, plots."""
    from . import agreement as ag

    cb = _codebook(codebook)
    tables = _tables(corpus, annotations, checked=True)
    texts = dict(zip(tables["articles"]["article_id"], tables["articles"]["text"]))
    with err_console.status("measuring agreement"):
        result = ag.compute(tables["annotations"], tables["stances"], tables["spans"], cb, texts)
        ag.write_outputs(result, tables["annotations"], tables["stances"], cb, metrics, plots)
    table = Table(title=f"Krippendorff's alpha ({result['counts']['articles']} articles, "
                        f"{result['counts']['annotators']} annotators)", show_header=True)
    table.add_column("dimension")
    table.add_column("alpha", justify="right")
    for row in ag.summary_rows(result):
        if not row["dimension"].startswith("frames:"):
            table.add_row(row["dimension"], "undefined" if row["alpha"] is None else f"{row['alpha']:.3f}")
    for kind, f1 in sorted((result.get("spans") or {}).items()):
        table.add_row(f"span F1: {kind}", "undefined" if f1 is None else f"{f1:.3f}")
    out_console.print(table)
    out_console.print(f"metrics: {metrics}; plots: {plots}/", highlight=False)


@app.command()
def aggregate(
    corpus: CorpusDir = Path("corpus/normalised"),
    annotations: AnnotationsDir = Path("corpus/annotations"),
    out: Annotated[Path, typer.Option("--out", help="Folder for gold.parquet and gold_spans.parquet.")] = Path("corpus/gold"),
    method: Annotated[Optional[str], typer.Option(help="majority | dawid-skene (default: params.yaml aggregate.method).")] = None,
    tie: Annotated[Optional[str], typer.Option(help="unresolved | codebook_order (default: params.yaml aggregate.tie).")] = None,
    codebook: CodebookOpt = None,
) -> None:
    """Gold labels per annotated article (majority or Dawid-Skene), consolidated spans, quality gates."""
    from . import agreement as ag
    from .aggregate import AggregateError, gate_failures, gold_labels, gold_spans, unresolved_shares
    from .pull import write_tables

    cb = _codebook(codebook)
    p = _params("aggregate")
    quality = _params("quality")
    tables = _tables(corpus, annotations, checked=True)
    texts = dict(zip(tables["articles"]["article_id"], tables["articles"]["text"]))
    try:
        with err_console.status("aggregating"):
            gold = gold_labels(tables["annotations"], tables["stances"], cb, method=method or p.get("method", "majority"),
                               tie=tie or p.get("tie", "unresolved"))
            spans = gold_spans(tables["annotations"], tables["spans"], texts)
            metrics = ag.compute(tables["annotations"], tables["stances"], tables["spans"], cb, None)
    except AggregateError as exc:
        fail(str(exc))
    alphas = {r["dimension"]: r["alpha"] for r in ag.summary_rows(metrics)}
    problems = gate_failures(alphas, unresolved_shares(gold, cb), quality)
    if problems:
        for msg in problems:
            err_console.print(f"[bold red]error:[/] {msg}", highlight=False, soft_wrap=True)
        raise typer.Exit(1)
    from .validate import nullable_ints
    from .validate import validate as check

    own = check({"articles": tables["articles"], "gold": gold.to_pandas(types_mapper=nullable_ints),
                 "gold_spans": spans.to_pandas(types_mapper=nullable_ints)}, cb)
    wrong = [c for c in own.counts() if c[0] in ("gold", "gold_spans")]  # the corpus is validate's business
    if wrong:  # a bug, not a user mistake: say which check failed
        fail(f"the gold labels fail their own schema: {wrong[:5]}")
    write_tables({"gold": gold, "gold_spans": spans}, out)
    out_console.print(f"gold labels for {gold.num_rows} articles -> {out / 'gold.parquet'}; "
                      f"{spans.num_rows} consolidated spans -> {out / 'gold_spans.parquet'}", highlight=False)


@app.command()
def publish(
    version: Annotated[Optional[str], typer.Option("--version", help="MAJOR.MINOR.PATCH (default: params.yaml publish.version).")] = None,
    out: Annotated[Path, typer.Option("--out", help="Folder of published datasets: <out>/<name>/<version>/.")] = Path("dist"),
    name: Annotated[Optional[str], typer.Option("--name", help="Dataset name (default: params.yaml publish.name).")] = None,
    corpus: CorpusDir = Path("corpus/normalised"),
    annotations: AnnotationsDir = Path("corpus/annotations"),
    gold: GoldDir = Path("corpus/gold"),
    metrics: Annotated[Path, typer.Option("--metrics", help="Agreement metrics for the card.")] = Path("metrics/agreement.json"),
    codebook: CodebookOpt = None,
    push_to_hub: Annotated[Optional[str], typer.Option("--push-to-hub", help="Also upload to this Hub dataset repo (token: HF_TOKEN), tagged v<version>.")] = None,
) -> None:
    """Write an immutable, versioned Hugging Face dataset (parquet shards, card, manifest)."""
    from .publish import Options, PublishError, check_name_and_version, read_inputs
    from .publish import publish as run
    from .publish import push_to_hub as upload

    cb = _codebook(codebook)
    p = _params("publish")
    given = {"ratios": p.get("splits"), "salt": p.get("salt"), "max_shard_bytes": p.get("max_shard_bytes"),
             "license": p.get("license"), "pretty_name": p.get("pretty_name"), "tie": _params("aggregate").get("tie")}
    try:  # params.yaml overrides the defaults of Options only where it says something
        opts = Options(name=str(name or p.get("name") or "framestance"), version=str(version or p.get("version") or ""),
                       **{k: v for k, v in given.items() if v is not None})
        opts.max_shard_bytes = int(opts.max_shard_bytes)
    except (TypeError, ValueError) as exc:
        fail(f"params.yaml publish: {exc}")
    if not opts.version:
        fail("--version: missing (or set publish.version in params.yaml)")
    try:
        check_name_and_version(opts)
        inp = read_inputs(corpus, annotations, gold, metrics)
        with err_console.status(f"publishing {opts.name} {opts.version}"):
            path, created = run(inp, cb, out, opts, Path(cb.source).read_text(encoding="utf-8"))
    except PublishError as exc:
        fail(str(exc))
    except KeyError as exc:
        fail(f"column {exc} missing from an input table (run `framestance validate --gold {gold}`)")
    if created:
        out_console.print(f"published {opts.name} {opts.version} -> {path}", highlight=False)
    else:
        out_console.print(f"{path} is already published with identical content: nothing to do", highlight=False)
    out_console.print(f'load it with: datasets.load_dataset("{path}")', highlight=False)
    if push_to_hub:
        from huggingface_hub.errors import HfHubHTTPError

        try:
            res = upload(path, push_to_hub, opts.version, token=os.environ.get("HF_TOKEN"))
        except (HfHubHTTPError, OSError, ValueError) as exc:
            fail(f"--push-to-hub {push_to_hub}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}")
        out_console.print(f"pushed to the Hub: {res['repo_id']} tag {res['tag']} (commit {res['commit']})", highlight=False)


def main() -> None:  # pragma: no cover - console script wrapper
    app()


if __name__ == "__main__":  # pragma: no cover
    app()
