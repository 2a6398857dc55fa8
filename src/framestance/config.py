"""One typed configuration: `params.yaml` loaded once into dataclasses, every default written once.

Each pipeline stage has its section and its dataclass here; a stage's functions take their
defaults from these fields, and command-line options override fields (`dataclasses.replace`).
Unknown keys and values of the wrong type are a `ConfigError` naming `section.key`, so a typo
in params.yaml cannot silently fall back to a default.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .errors import FramestanceError
from .isodate import parse_iso

PARAMS_FILE = Path("params.yaml")


class ConfigError(FramestanceError, ValueError):
    """params.yaml (or an option) holds an unknown key or a value of the wrong type."""


@dataclass(frozen=True)
class StudyConfig:
    """What the study is and who made it: every stage reads its paths from here, the card its facts.

    Nothing here has a value taken from another study: `framestance init` writes it, the researcher
    fills it, and the card asks (in a "to fill" line) for what is left empty rather than inventing it."""

    name: str = "framestance"  # the dataset's name (dist/<name>/) and the default Label Studio project
    title: str = ""  # the dataset's title on its card
    issue: str = ""  # the issue in a few words (the codebook states it in full, with its query)
    inputs: str = "corpus/raw"  # the folder of input pages (dvc.yaml reads it as ${study.inputs})
    codebook: str = "schemas/codebook.yaml"  # the codebook every stage reads (dvc.yaml: ${study.codebook})
    source: str = ""  # where the pages came from and when (a crawl, a database, a hand collection)
    authors: list[str] = field(default_factory=list)  # "Family, Given" as BibTeX wants them
    year: int | None = None  # of the release, for the citation
    url: str = ""  # where the dataset (or the paper describing it) lives
    citation: str = ""  # a BibTeX entry of the paper to cite instead of the generated one
    license: str = ""  # of the annotations (a Hub licence id: cc-by-4.0, ...; `other` needs license_file)
    license_file: str = ""  # the licence's text (a file in the study); the release carries it as LICENSE
    texts_license: str = ""  # of the article texts; empty: not known, so the texts are not republished
    release_unannotated: bool = False  # also release articles nobody annotated (identifiers only, unless texts may go)
    release_extra: list[str] = field(default_factory=list)  # crawler fields (articles.parquet `extra`) to release by name
    annotators: str = ""  # who the annotators were and how they were trained (the card asks when empty)
    adjudicators: str = ""  # who decided the disputes
    annotations_creators: list[str] = field(default_factory=lambda: ["expert-generated"])  # Hub vocabulary
    language_min_share: float = 0.05  # a language below this share of the released articles is not claimed


@dataclass(frozen=True)
class NormaliseConfig:
    retrieved_at: datetime | None = None  # resolves relative dates; None: each file's modification time
    min_words: int = 30  # a body shorter than this is "not an article"
    # share of real articles the page-type check may turn away as "not an article" (estimated out of
    # fold on extraction-dev); more turns away more product, listing, forum and service pages; 0: no check
    page_type_article_loss: float = 0.005
    max_bytes: int = 20_000_000  # an input (or one record) larger than this is "too large"
    near_dup_threshold: float = 0.8  # MinHash LSH Jaccard threshold
    num_perm: int = 128  # MinHash permutations
    engine: str = "local"  # local (processes on this machine) or ray (Ray Data: a local Ray or a cluster)
    rows_per_file: int = 0  # 0: one file per table; else a folder of part files of this many rows


@dataclass(frozen=True)
class SelectConfig:
    design: str = "sample"  # sample (a probability sample of the hits) | model (a relevance model in the loop)
    rounds: int = 1  # the rounds drawn so far: raise it (after pulling a round's labels) to draw the next
    round_size: int = 50  # articles a round sends to annotation
    probability_share: float = 0.2  # design `model`: the least share of every round drawn by probability sample
    stratify: str | None = None  # outlet | month | language | page_type: the order of the systematic sample
    seed: int = 0


@dataclass(frozen=True)
class PullConfig:
    project: str | None = None


@dataclass(frozen=True)
class QualityConfig:
    min_annotators: int = 1
    min_alpha: dict[str, float] = field(default_factory=dict)
    max_unresolved_share: float = 1.0
    gate_on: str = "point"  # point | lower: gate alpha on its estimate or on the lower end of its 95% interval
    min_gold_accuracy: float | None = None  # each annotator's share of right labels on hidden gold questions


@dataclass(frozen=True)
class AggregateConfig:
    method: str = "majority"  # majority | dawid-skene
    tie: str = "unresolved"  # the only rule: a tie is `unresolved`, never guessed
    min_support: float = 0.0  # a label with less support (the chance one more annotator gives it) is `unresolved`
    ds_min_items: int = 20  # dawid-skene refuses annotators with fewer items
    adjudicate_below: float = 0.5  # `adjudicate` also sends labels with less support than this
    assisted: str = "exclude"  # exclude | include: gold from annotations shown a suggestion too


@dataclass(frozen=True)
class SuggestConfig:
    min_gold: int = 30  # relevant articles with a decided gold label a model needs (fewer: refused)
    seed: int = 0
    share: float = 0.5  # push --predictions: the share of (annotator, article) assignments shown the suggestion


@dataclass(frozen=True)
class PublishConfig:
    version: str = ""
    splits: dict[str, float] = field(default_factory=lambda: {"train": 0.8, "validation": 0.1, "test": 0.1})
    salt: str = "framestance"
    max_shard_bytes: int = 100_000_000


@dataclass(frozen=True)
class Config:
    study: StudyConfig = field(default_factory=StudyConfig)
    normalise: NormaliseConfig = field(default_factory=NormaliseConfig)
    select: SelectConfig = field(default_factory=SelectConfig)
    pull: PullConfig = field(default_factory=PullConfig)
    quality: QualityConfig = field(default_factory=QualityConfig)
    aggregate: AggregateConfig = field(default_factory=AggregateConfig)
    suggest: SuggestConfig = field(default_factory=SuggestConfig)
    publish: PublishConfig = field(default_factory=PublishConfig)

    @property
    def project(self) -> str:
        """The Label Studio project the study pulls: pull.project, else the study's name."""
        return self.pull.project or self.study.name


def parse_instant(text: str, where: str) -> datetime:
    """An ISO-8601 date-time; a naive one is taken as UTC only when it says so (a "Z")."""
    parsed = parse_iso(text)
    if parsed is None:
        raise ConfigError(f"{where} {text!r}: not an ISO-8601 date-time (e.g. 2025-08-18T09:30:00Z)")
    return parsed[0]


def _coerce(value: Any, hint: Any, where: str) -> Any:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (types.UnionType, typing.Union):
        if value is None and type(None) in args:
            return None
        (inner,) = [a for a in args if a is not type(None)]
        return _coerce(value, inner, where)
    if hint is datetime:
        if isinstance(value, datetime):
            return value if value.tzinfo else value.replace(tzinfo=UTC)
        return parse_instant(str(value), where)
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a mapping, got {value!r}")
        return {str(k): _coerce(v, args[1], f"{where}.{k}") for k, v in value.items()}
    if hint is bool or isinstance(value, bool):
        if hint is not bool or not isinstance(value, bool):
            raise ConfigError(f"{where}: expected {getattr(hint, '__name__', hint)}, got {value!r}")
        return value
    if origin is list:
        if not isinstance(value, list):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        return [_coerce(v, args[0], f"{where}[{i}]") for i, v in enumerate(value)]
    if hint is int:
        if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
            return int(value)
        raise ConfigError(f"{where}: expected a whole number, got {value!r}")
    if hint is float:
        if isinstance(value, (int, float)):
            return float(value)
        raise ConfigError(f"{where}: expected a number, got {value!r}")
    if hint is str:
        if isinstance(value, (str, int, float)):
            return str(value)
        raise ConfigError(f"{where}: expected text, got {value!r}")
    return value


def build(cls: type, values: dict | None, section: str) -> Any:
    """A section's dataclass from a mapping: unknown keys and wrong types are ConfigErrors."""
    values = values or {}
    if not isinstance(values, dict):
        raise ConfigError(f"params.yaml {section}: expected a mapping of parameters")
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(map(str, values)) - known)
    if unknown:
        raise ConfigError(f"params.yaml {section}.{unknown[0]}: unknown parameter (known: {', '.join(sorted(known))})")
    return cls(**{k: _coerce(v, hints[k], f"params.yaml {section}.{k}") for k, v in values.items()})


def load_config(path: Path = PARAMS_FILE) -> Config:
    """params.yaml -> Config; every section optional, defaults where it says nothing."""
    if not path.exists():
        return Config()
    import yaml

    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc.__class__.__name__})") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping of sections")
    hints = typing.get_type_hints(Config)
    unknown = sorted(set(map(str, raw)) - set(hints))
    if unknown:
        raise ConfigError(f"{path} {unknown[0]}: unknown section (known: {', '.join(sorted(hints))})")
    return Config(**{name: build(hints[name], raw.get(name), name) for name in hints})


def override(config: Any, **options: Any) -> Any:
    """The config with the options that were given (not None) put in."""
    return dataclasses.replace(config, **{k: v for k, v in options.items() if v is not None})


__all__ = ["Config", "ConfigError", "StudyConfig", "NormaliseConfig", "SelectConfig", "PullConfig", "QualityConfig", "AggregateConfig", "SuggestConfig",
           "PublishConfig",
           "load_config", "override", "parse_instant"]
