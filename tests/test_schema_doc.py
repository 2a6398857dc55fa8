import re

from framestance.schema import ARTICLE, REJECT

from .conftest import ROOT


def _documented(section: str) -> list[str]:
    text = (ROOT / "schemas" / "articles.md").read_text(encoding="utf-8")
    part = text.split(f"## `{section}`")[1].split("\n## ")[0]
    return re.findall(r"^\| `([a-z_0-9]+)` \|", part, flags=re.MULTILINE)


def test_every_article_column_is_documented_in_order():
    assert _documented("articles.parquet") == ARTICLE.names


def test_every_reject_column_is_documented_in_order():
    assert _documented("rejects.parquet") == REJECT.names


def _documented_in(page: str, section: str) -> list[str]:
    text = (ROOT / "schemas" / page).read_text(encoding="utf-8")
    part = text.split(f"## `{section}`")[1].split("\n## ")[0]
    return re.findall(r"^\| `([a-z_0-9]+)` \|", part, flags=re.MULTILINE)


def test_annotation_gold_and_failure_tables_are_documented_in_order():
    from framestance.schema import ANNOTATION, ANSWER, FAILURE, GOLD_SPAN, SPAN, STANCE, TASK

    for section, schema in [("annotations.parquet", ANNOTATION), ("stances.parquet", STANCE),
                            ("spans.parquet", SPAN), ("tasks.parquet", TASK), ("answers.parquet", ANSWER),
                            ("gold_spans.parquet", GOLD_SPAN),
                            ("failures.parquet", FAILURE)]:
        assert _documented_in("annotations.md", section) == schema.names, section
