"""Time-zone abbreviations: read by a table (daylight saving time where the abbreviation names a
region), an unknown one gives the day and no instant, and a normal run prints no warning per page
(dateutil's UnknownTimezoneWarning once per page was the noise)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings
from datetime import UTC, datetime
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from framestance.normalise.dates import parse_shown_date
from framestance.normalise.profiles import profile_for
from framestance.normalise.records import parse_when

from ..conftest import body

RETRIEVED = datetime(2026, 2, 1, tzinfo=UTC)


@pytest.mark.parametrize("line, at, precision", [
    ("Aug 14, 2025 10:32 AM ET", datetime(2025, 8, 14, 14, 32, tzinfo=UTC), "minute"),  # EDT in August
    ("Jan 14, 2026 10:32 AM ET", datetime(2026, 1, 14, 15, 32, tzinfo=UTC), "minute"),  # EST in January
    ("Aug 14, 2025 10:32 AM PT", datetime(2025, 8, 14, 17, 32, tzinfo=UTC), "minute"),
    ("14 August 2025, 10:32 MESZ", datetime(2025, 8, 14, 8, 32, tzinfo=UTC), "minute"),
    ("14 Aug 2025, 10:32am NZST", datetime(2025, 8, 13, 22, 32, tzinfo=UTC), "minute"),
    ("Aug 14, 2025 11:32 PM QQT", datetime(2025, 8, 14, tzinfo=UTC), "day"),  # unknown zone: the day shown
])
def test_shown_dates_read_their_zone(line, at, precision):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any warning fails the test
        shown = parse_shown_date(line, RETRIEVED, profile_for(""))
    assert shown is not None and (shown.at, shown.precision) == (at, precision)


def test_record_dates_read_their_zone_without_a_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert parse_when("2025-08-14 10:32 ET")[:1] == (datetime(2025, 8, 14, 14, 32, tzinfo=UTC),)
        assert parse_when("2025-08-14 23:10 XYZT") == (datetime(2025, 8, 14, tzinfo=UTC), "2025-08-14 23:10 XYZT", "day")


def test_a_normal_run_prints_no_warning_per_page(tmp_path):
    """Crawler records and text dumps whose dates carry US zone abbreviations, through the real
    command in a fresh interpreter (warnings at their defaults): nothing on stderr mentions a
    warning, and each time is read in its zone."""
    pages = tmp_path / "pages"
    pages.mkdir()
    zones = ["ET", "PT", "CT", "MT", "QQT"]
    records = [{"url": f"https://news.example/a{i}", "title": f"Talks resume in round {i}",
                "text": body(8, f"the talks {i}"), "date": f"2025-08-14 10:32 {z}"} for i, z in enumerate(zones)]
    (pages / "records.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    for i, z in enumerate(zones):
        (pages / f"dump{i}.txt").write_text(f"Leaders meet again on trade {i}\n\nBy Jane Roe\nAug 14, 2025 10:32 AM {z}\n"
                                            f"{body(10, f'the trade meeting {i}')}\n")
    run = subprocess.run([str(Path(sys.executable).parent / "framestance"), "normalise", str(pages), "--out", str(tmp_path / "out"),
                          "--retrieved-at", "2025-08-20T00:00:00Z"], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert "warning" not in run.stderr.lower() and "tzname" not in run.stderr
    arts = pq.read_table(tmp_path / "out" / "articles.parquet", columns=["source_path", "published_at",
                                                                        "date_precision"]).to_pylist()
    by_zone = {}
    for a in arts:
        by_zone.setdefault(a["published_at"].astimezone(UTC).hour if a["date_precision"] != "day" else "day", []).append(a)
    assert len(arts) == 10
    assert {h: len(v) for h, v in by_zone.items()} == {14: 2, 17: 2, 15: 2, 16: 2, "day": 2}  # ET, PT, CT, MT; QQT


def test_the_machine_zone_changes_nothing():
    """dateutil reads a zone name it does not know as local time when the machine's zone has that
    name: "IDT" on a machine in Israel. The table decides, whatever the machine."""
    code = ("from framestance.normalise.records import parse_when; "
            "print(parse_when('2025-08-14 10:32 IDT'), parse_when('2025-08-14 10:32 EDT'))")
    seen = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60,
                           env={**os.environ, "TZ": zone}).stdout for zone in ("UTC", "Asia/Jerusalem", "America/New_York")}
    assert len(seen) == 1 and "'day'" in seen.pop()
