"""params.yaml loads once into typed sections; typos and wrong types are one-line errors."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from framestance.config import Config, ConfigError, NormaliseConfig, load_config, override
from framestance.normalise.core import Params

from .conftest import ROOT

FRAMESTANCE = str(Path(sys.executable).with_name("framestance"))


def test_the_repository_params_load_into_every_section():
    cfg = load_config(ROOT / "params.yaml")
    assert cfg.normalise.retrieved_at == datetime(2025, 8, 18, 9, 30, tzinfo=UTC)
    assert cfg.quality.min_alpha["tone"] == 0.3 and cfg.publish.splits["train"] == 0.6
    assert cfg.aggregate.method == "majority" and cfg.pull.project == "sample"
    assert cfg.normalise.page_type_article_loss == NormaliseConfig().page_type_article_loss  # written out, not changed


def test_defaults_are_written_once():
    assert Params().min_words == NormaliseConfig().min_words and Params().num_perm == NormaliseConfig().num_perm
    assert load_config(Path("/nonexistent/params.yaml")) == Config()


@pytest.mark.parametrize("text, message", [
    ("normalise:\n  min_word: 10\n", "params.yaml normalise.min_word: unknown parameter"),
    ("normalise:\n  min_words: many\n", "params.yaml normalise.min_words: expected a whole number"),
    ("normalise:\n  retrieved_at: yesterday\n", "normalise.retrieved_at 'yesterday': not an ISO-8601 date-time"),
    ("quality:\n  min_alpha: 0.3\n", "params.yaml quality.min_alpha: expected a mapping"),
    ("publsh:\n  name: x\n", "publsh: unknown section"),
    ("- a list\n", "expected a mapping of sections"),
])
def test_a_typo_or_a_wrong_type_is_a_config_error(tmp_path, text, message):
    (tmp_path / "params.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=message.replace(".", r"\.").replace("(", r"\(")):
        load_config(tmp_path / "params.yaml")


def test_options_override_only_what_was_given():
    cfg = override(NormaliseConfig(min_words=50), min_words=None, max_bytes=10)
    assert cfg.min_words == 50 and cfg.max_bytes == 10


def test_the_cli_prints_one_line_for_a_bad_params_file(tmp_path):
    (tmp_path / "params.yaml").write_text("normalise:\n  near_dup: 0.9\n", encoding="utf-8")
    (tmp_path / "page.txt").write_text("Title\n\nSome text.\n", encoding="utf-8")
    proc = subprocess.run([FRAMESTANCE, "normalise", "page.txt", "--out", "out"], cwd=tmp_path, capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == ["error: params.yaml normalise.near_dup: unknown parameter (known: engine, max_bytes, "
                                                "min_words, near_dup_threshold, num_perm, page_type_article_loss, "
                                                "retrieved_at, rows_per_file)"]
    assert not (tmp_path / "out").exists()
