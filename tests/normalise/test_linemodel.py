"""The page-type features and the weights file that must match them."""

from __future__ import annotations

import json
from importlib import resources

import numpy as np
import pytest

from framestance.normalise import linemodel


def test_paragraph_and_link_words_with_omitted_end_tags():
    page = '<p>one two<p class="x">three</p><pre>x y z</pre><param name=a><a href="/">four five</a><path d="m">'
    assert linemodel._element_words(page, "p") == [2, 1]
    assert linemodel._element_words(page, "a") == [2]
    # other tags that begin with the same letter neither open nor close an element
    assert linemodel._element_words("<p>intro <picture>x</picture> and then <pre>some</pre> words</p>", "p") == [6]
    assert linemodel._element_words('<a href=x>read <abbr>un</abbr> report now</a><area href=y>', "a") == [4]
    assert linemodel._element_words("<p" + "<b " * 5000, "p") == []  # the tag never ends: no element


def test_a_tag_match_never_spans_an_open_bracket():
    # "<[^>]+>" tried from every "<" of a run without ">" rescanned the run: quadratic time
    assert linemodel._ANY_TAG.sub("|", "a<b <c>d<e") == "a<b |d<e"
    assert len(linemodel.page_features_html("<p>" + "a<b " * 40000, "a body")) == len(linemodel.HTML_PAGE_NAMES)


def test_feature_rows_match_their_names():
    html = ('<html><head><title>Council votes to close the old bridge | Town Times</title>'
            '<link rel="canonical" href="https://example.org/news/council-votes-to-close-the-old-bridge"></head>'
            '<body><h1>Council votes to close the old bridge</h1><p class="lede">' + "The council said so. " * 20
            + '</p><div class="card"><a href="/a">More</a></div></body></html>')
    features = linemodel.page_features_html(html, "The council said so.\nIt meets again in May.")
    assert features.shape == (len(linemodel.HTML_PAGE_NAMES),)
    named = dict(zip(linemodel.HTML_PAGE_NAMES, features))
    assert named["slug_words"] == 7 and named["slug_in_title"] == 1.0 and named["title_words"] == 7
    assert named["url_known"] == 1.0 and named["said"] > 0
    lines = ["Menu", "Council votes to close the old bridge", "By Sam Field"] + ["The council said it would close the bridge in May."] * 40
    model = linemodel.default_model()
    p, idx, X = model.line_proba(lines)
    assert linemodel.page_features_dump(lines, p, idx, X).shape == (len(linemodel.DUMP_PAGE_NAMES),)
    assert len(linemodel.DUMP_MODEL_NAMES) == len(linemodel.DUMP_PAGE_NAMES) + 1
    assert 0.0 < model.article_score_dump(lines) < 1.0


def test_page_words_keep_short_lines_apart():
    counts = linemodel.page_words(["Add to cart", "", "Add these words to a line that is long enough"], 1 << 20)
    assert sum(counts.values()) == 3 + 9  # words of two letters or more
    short = linemodel.page_words(["Add to cart"], 1 << 20)
    long = linemodel.page_words(["Add to cart and pay with a card"], 1 << 20)
    assert not set(short) & set(long)  # "add" on a button is not "add" in prose
    ids, values = linemodel.page_words_vector(counts)
    assert abs(float(values @ values) - 1.0) < 1e-9 and len(ids) == len(counts)


def test_weights_trained_on_other_features_are_refused(tmp_path):
    weights = json.loads((resources.files("framestance") / "models" / "linemodel.json").read_text(encoding="utf-8"))
    weights["page_html_features"] = weights["page_html_features"][:-1]
    path = tmp_path / "linemodel.json"
    path.write_text(json.dumps(weights), encoding="utf-8")
    with pytest.raises(ValueError, match="html page-type model was trained on other features"):
        linemodel.DumpModel(str(path))


@pytest.mark.parametrize("kind", linemodel.PAGE_KINDS)
def test_a_share_of_articles_maps_to_the_threshold_that_turns_it_away(kind):
    m = linemodel.DumpModel()
    articles, others = m.article_scores[kind], m.other_scores[kind]
    assert len(articles) >= 786 and len(others) >= 695 and (np.diff(articles) >= 0).all()
    last, kept_out = -np.inf, 0.0
    for loss in (0.005, 0.01, 0.017, 0.05, 0.1, 0.25):
        threshold = m.page_threshold(kind, loss)
        assert abs((articles < threshold).mean() - loss) <= 1 / len(articles)  # that share of articles, to one page
        assert threshold > last and m.other_rejection(kind, loss) > kept_out
        last, kept_out = threshold, m.other_rejection(kind, loss)
    assert m.other_rejection(kind) >= 0.15  # at the default, 0.005 (shipped weights: 0.17 dumps, 0.36 HTML)
    assert m.page_threshold(kind, 0.0) == -np.inf and m.other_rejection(kind, 0.0) == 0.0


@pytest.mark.parametrize("loss", [-0.01, 0.3, float("nan")])
def test_a_share_out_of_range_is_refused(loss):
    with pytest.raises(ValueError, match="must be a share from 0 .no page-type check. to 0.25"):
        linemodel.DumpModel().page_threshold("html", loss)


@pytest.mark.parametrize("key", ["page_dump_article_scores", "page_html_other_scores"])
def test_weights_without_out_of_fold_scores_are_refused(tmp_path, key):
    weights = json.loads((resources.files("framestance") / "models" / "linemodel.json").read_text(encoding="utf-8"))
    del weights[key]
    path = tmp_path / "linemodel.json"
    path.write_text(json.dumps(weights), encoding="utf-8")
    with pytest.raises(ValueError, match=f"{key.split('_')[1]} page-type model has no out-of-fold scores"):
        linemodel.DumpModel(str(path))
