"""What only the Elasticsearch backend has: the alias over versioned indices, rebuild,
its failure modes, and answering like SqliteIndex (the reference) on the same pages."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from abhilekh.records import BundleMetadata, SearchDocument, SearchFilters
from search.base import QueryRefused, SearchError
from tests.conftest import make_settings

KOTWALI = BundleMetadata(
    thana="कोतवाली", register="जी0डी0", year=2019, file_no="GD-12", title="जनरल डायरी 2019"
)
KANNAUJ = BundleMetadata(
    thana="कन्नौज", register="अपराध रजिस्टर", year=2015, year_to=2017, file_no="CR-7",
    title="अपराध रजिस्टर",
)
ENGLISH = BundleMetadata(thana=" Kotwali ", register="Case Diary", year=1998, title="Case file")

DOCS = [
    SearchDocument("b-gd", 1, "वादी रमेश यादव पुत्र श्याम लाल निवासी ग्राम बरौली ने सूचना दी", KOTWALI, 91.0),
    SearchDocument(
        "b-gd", 2, "मु0अ0सं0 123/2019 धारा 379 भादवि मोटरसाइकिल UP 78 AB 1234 चोरी", KOTWALI,
        42.0, needs_review=True,
    ),
    SearchDocument("b-cr", 1, "अभियुक्त सुरेश कुमार के विरुद्ध धारा 379 में मुकदमा पंजीकृत", KANNAUJ, 88.0),
    SearchDocument("b-cr", 2, "मु० अ० सं० 45/2016 धारा 302 हत्या रमेश", KANNAUJ, 70.0),
    SearchDocument("b-en", 1, "Complainant Ramesh Yadav s/o Shyam Lal, FIR u/s 379 I.P.C.", ENGLISH, 95.0),
    SearchDocument("b-en", 2, "<script>alert(1)</script> चोरी की रिपोर्ट हिन्दी", ENGLISH, 80.0),
]

QUERIES = [
    "रमेश",
    "Ramesh Yadav",
    "धारा 379",
    "मु0अ0सं0 123/2019",
    "मुअसं",
    '"रमेश यादव"',
    "रम*",
    "UP78AB1234",
    "ipc",
    "चोरी",
    "हिंदी",
    "कोतवाली",
    "GD-12",
    "kumar",
    "nothing-matches-this",
]

HOSTILE = [
    "",
    "   ",
    '"',
    '"""',
    "AND (",
    "OR NOT NEAR(",
    "*",
    "**",
    "a*",
    "\\",
    "/.*/",
    "~1",
    "field:value",
    "title:(a OR b)^5",
    '{"query": {"match_all": {}}}',
    "'; DROP TABLE pages; --",
    "<script>alert(1)</script>",
    "\x00\x01\x1f",
    "\u200d\u200c\ufeff",
    "रमेश" * 2000,
    " ".join(["धारा"] * 500),
    "x" * 40_000,
    "[a TO z]",
    "_id:b-gd:1",
    "?",
    "&& || !",
    "मु0",
    "0",
    "🙂 ☃",
]


@pytest.fixture
def es(tmp_path: Path):
    from search.elastic import ElasticIndex

    s = make_settings(tmp_path / "home", index="elastic")
    idx = ElasticIndex.from_settings(s)
    yield idx
    idx.drop()
    idx.close()


@pytest.fixture
def sqlite(tmp_path: Path):
    from search.sqlite import SqliteIndex

    idx = SqliteIndex(tmp_path / "ref.sqlite3")
    yield idx
    idx.close()


def _targets(es) -> list[str]:
    return sorted(es.client.indices.get_alias(name=es.alias).keys())


def _ids(results) -> list[tuple[str, int]]:
    return [(h.bundle_id, h.page) for h in results.hits]


# ----------------------------------------------------------------------------- alias


def test_pages_live_in_a_versioned_index_behind_the_alias(es):
    assert es.count() == 0  # reading creates nothing
    assert not es.client.indices.exists(index=es.alias)
    assert es.index(DOCS) == len(DOCS)
    targets = _targets(es)
    assert len(targets) == 1
    assert re.fullmatch(re.escape(es.alias) + r"-v\d{20}", targets[0])
    assert es.client.indices.exists_alias(name=es.alias)
    assert es.count() == len(DOCS)
    # deterministic ids: indexing again replaces, never duplicates
    assert es.index(DOCS[:2]) == 2
    assert es.count() == len(DOCS)
    assert es.client.get(index=es.alias, id="b-gd:2")["_source"]["page"] == 2


def test_rebuild_switches_the_alias_and_keeps_the_hits(es):
    es.index(DOCS)
    before = {q: es.search(q, limit=50) for q in QUERIES}
    old = _targets(es)
    assert es.rebuild(iter(DOCS)) == len(DOCS)
    new = _targets(es)
    assert len(new) == 1 and new != old
    assert not es.client.indices.exists(index=old[0])  # the old index is deleted
    for q in QUERIES:
        after = es.search(q, limit=50)
        assert _ids(after) == _ids(before[q]), q
        assert after.total == before[q].total
        assert after.facets == before[q].facets
    assert es.count() == len(DOCS)


def test_rebuild_replaces_the_contents(es):
    es.index(DOCS)
    assert es.rebuild(d for d in DOCS if d.bundle_id == "b-cr") == 2
    assert es.bundle_page_counts() == {"b-cr": 2}


def test_rebuild_into_a_fresh_alias(es):
    assert es.rebuild(DOCS) == len(DOCS)
    assert es.count() == len(DOCS)


def test_failed_rebuild_leaves_the_old_index_serving(es):
    es.index(DOCS)
    old = _targets(es)

    def broken():
        yield DOCS[0]
        raise RuntimeError("storage went away")

    with pytest.raises(RuntimeError):
        es.rebuild(broken())
    assert _targets(es) == old
    assert es.count() == len(DOCS)
    leftovers = es.client.indices.get(index=f"{es.alias}-v*", allow_no_indices=True)
    assert sorted(leftovers) == old


def test_clear_and_drop(es):
    es.index(DOCS)
    es.clear()
    assert es.count() == 0
    assert es.search("रमेश").total == 0
    assert len(_targets(es)) == 1
    es.index(DOCS[:1])
    assert es.count() == 1
    es.drop()
    assert not es.client.indices.exists(index=es.alias)
    assert es.client.indices.get(index=f"{es.alias}-v*", allow_no_indices=True) == {}
    assert es.count() == 0


def test_delete_bundle_and_counts(es):
    es.index(DOCS)
    assert es.bundle_page_counts() == {"b-cr": 2, "b-en": 2, "b-gd": 2}
    es.delete_bundle("b-gd")
    assert es.count("b-gd") == 0
    assert es.count() == 4
    assert es.bundle_page_counts() == {"b-cr": 2, "b-en": 2}
    es.delete_bundle("never-indexed")
    assert es.count() == 4


def test_bundle_page_counts_pages_through_many_bundles(es):
    docs = [SearchDocument(f"b{i:05d}", 1, "पृष्ठ", KOTWALI) for i in range(1203)]
    docs += [SearchDocument("b00007", 2, "पृष्ठ", KOTWALI)]
    es.index(docs)
    counts = es.bundle_page_counts()
    assert len(counts) == 1203
    assert counts["b00007"] == 2
    assert list(counts) == sorted(counts)


# ----------------------------------------------------------------------------- queries


@pytest.mark.parametrize("query", HOSTILE, ids=lambda q: repr(q[:20]))
def test_hostile_queries_do_not_raise(es, query):
    # an answer, or a refusal that says why: never an Elasticsearch error
    es.index(DOCS)
    for filters in (None, SearchFilters(thana=query[:50], register=query[:50], year=2019)):
        try:
            results = es.search(query, filters, limit=5)
        except QueryRefused as exc:
            assert "nothing to search for" in str(exc) or "the limit is" in str(exc)
        else:
            assert results.total >= 0


def test_deep_and_odd_paging(es):
    es.index(DOCS)
    assert es.search("धारा", limit=10, offset=50_000).hits == []
    assert es.search("धारा", limit=10, offset=50_000).total == 3
    assert es.search("धारा", limit=0).hits == []
    assert es.search("धारा", limit=-3, offset=-7).hits == []
    assert len(es.search("धारा", limit=20_000).hits) == 3


def test_answers_like_sqlite(es, sqlite):
    """Same pages, same queries: the same pages found, totals, facets and snippets."""
    es.index(DOCS)
    sqlite.index(DOCS)
    filters = [
        None,
        SearchFilters(thana="कोतवाली"),
        SearchFilters(thana="kotwali"),
        SearchFilters(register="अपराध रजिस्टर"),
        SearchFilters(year=2016),
        SearchFilters(year=2019, thana="कोतवाली"),
    ]
    for q in [*QUERIES, ""]:
        for f in filters:
            want = sqlite.search(q, f, limit=50)
            got = es.search(q, f, limit=50)
            assert sorted(_ids(got)) == sorted(_ids(want)), (q, f)
            assert got.total == want.total, (q, f)
            assert got.facets == want.facets, (q, f)
            if not q:  # browsing is ordered by bundle and page in both
                assert _ids(got) == _ids(want)
            snippets = {(h.bundle_id, h.page): (h.snippet, h.snippet_html) for h in want.hits}
            for h in got.hits:
                assert (h.snippet, h.snippet_html) == snippets[(h.bundle_id, h.page)]
                assert h.metadata == next(
                    w.metadata for w in want.hits if (w.bundle_id, w.page) == (h.bundle_id, h.page)
                )
    assert es.bundle_page_counts() == sqlite.bundle_page_counts()


def test_phrase_order_boost(es):
    es.index(
        [
            SearchDocument("p", 1, "यादव रमेश और अन्य लोग", KOTWALI),
            SearchDocument("p", 2, "रमेश यादव और अन्य लोग", KOTWALI),
        ]
    )
    hits = es.search("रमेश यादव").hits
    assert [h.page for h in hits] == [2, 1]
    assert hits[0].score > hits[1].score


def test_cross_script_and_year_ranges(es):
    es.index(DOCS)
    found = {(h.bundle_id, h.page) for h in es.search("Ramesh Yadav").hits}
    assert {("b-gd", 1), ("b-en", 1)} <= found
    # b-cr covers 2015-2017: both its pages count in each of those years
    assert es.search("धारा", SearchFilters(year=2016)).total == 2
    assert es.search("धारा", SearchFilters(year=2018)).total == 0
    assert es.search("धारा").facets["year"] == {"2015": 2, "2016": 2, "2017": 2, "2019": 1}
    assert es.search("379").facets["year"] == {"1998": 1, "2015": 1, "2016": 1, "2017": 1, "2019": 1}
    html = es.search("script").hits[0].snippet_html
    assert "<script>" not in html and "&lt;script&gt;" in html


# ----------------------------------------------------------------------------- failures


def test_check_passes_on_a_healthy_server(es):
    es.check()
    es.index(DOCS[:1])
    es.check()


def test_unreachable_server_says_what_to_do():
    from search.elastic import ElasticIndex

    idx = ElasticIndex("http://127.0.0.1:9", "nowhere")
    for call in (idx.check, idx.count, lambda: idx.search("रमेश"), lambda: idx.index(DOCS)):
        with pytest.raises(SearchError, match=r"cannot reach Elasticsearch .*scripts/services start"):
            call()


def test_invalid_index_name_is_refused():
    from search.elastic import ElasticIndex

    with pytest.raises(SearchError, match="not a valid Elasticsearch index name"):
        ElasticIndex("http://127.0.0.1:9", "Abhilekh Pages")


def test_a_plain_index_under_the_alias_name_is_reported(es):
    es.client.indices.create(index=es.alias)
    try:
        with pytest.raises(SearchError, match="plain index, not an alias"):
            es.check()
        with pytest.raises(SearchError, match="plain index, not an alias"):
            es.index(DOCS)
    finally:
        es.client.indices.delete(index=es.alias)


def test_index_from_another_normaliser_is_emptied(es):
    from search.elastic import ElasticIndex

    es.index(DOCS)
    name = _targets(es)[0]
    es.client.indices.put_mapping(index=name, meta={"schema_version": 1, "normalise_version": -1})
    fresh = ElasticIndex(es.url, es.alias)
    try:
        with pytest.raises(SearchError, match="abhilekh reindex"):
            fresh.check()
        assert fresh.count() == 0  # replaced by an empty index, as SqliteIndex does
        assert fresh.bundle_page_counts() == {}
        assert _targets(es) != [name]
        fresh.check()
    finally:
        fresh.close()


# ----------------------------------------------------------------------------- the
# reference corpus of tests/test_sqlite_index.py, searched both ways

REFERENCE_QUERIES = [
    "रमेश यादव", "123/2019", "मु0अ0सं0 123/2019", "मु०अ०सं० १२३/२०१९", "मु0 अ0 सं0 123/2019",
    "मु.अ.सं. 123/2019", '"मुअसं 123 2019"', "१२३/२०१९", "123/2020", "45/2019",
    "मु0अ0सं0 45/2019", "उ०नि० श्याम", "भादवि", "भा.द.वि.", "Ramesh Yadav", "ramesh yadav",
    '"Ramesh Yadav"', "RAMESH", "Ramesh Yadaw", "Gursahaiganj", "Chhibramau Mohammad",
    "Bahadurpur", "Rajesh Kumar Singh", "ipc 420", "UP78AB1234", "UP 78 AB 1234",
    "up-78-ab-1234", "UP74AB9999", "General Diary", "सौरिख", "धारा", "थाना", "arrested",
    '"रमेश', "NEAR(रमेश यादव)", "folded:रमेश", "श्याम", "रम*", "gen*", "the",
]


def test_reference_corpus_answers_like_sqlite(es, sqlite):
    reference = pytest.importorskip("tests.test_sqlite_index")
    corpus = reference.CORPUS
    es.index(corpus)
    sqlite.index(corpus)
    for q in REFERENCE_QUERIES:
        for f in (None, SearchFilters(thana="tirwa"), SearchFilters(year=2020)):
            want = sqlite.search(q, f, limit=50)
            got = es.search(q, f, limit=50)
            assert sorted(_ids(got)) == sorted(_ids(want)), (q, f)
            assert (got.total, got.facets) == (want.total, want.facets), (q, f)
            if len(want.hits) > 1 and want.hits[0].score > want.hits[1].score * 1.5:
                assert _ids(got)[0] == _ids(want)[0], (q, f)  # a clear winner wins in both


def test_ranking_like_sqlite(es, sqlite):
    reference = pytest.importorskip("tests.test_sqlite_index")
    doc, filler = reference.doc, reference.FILLER
    corpora = {
        "phrase": [
            doc("rank", 1, "रमेश यादव ने बताया कि वह घर पर सो रहा था तभी आवाज सुनाई दी"),
            doc("rank", 2, "यादव ने रमेश को देखा"),
        ],
        "occurrences": [
            doc("r", 1, "तमंचा बरामद हुआ " + "साक्ष्य " * 10),
            doc("r", 2, "तमंचा तमंचा तमंचा बरामद " + "साक्ष्य " * 10),
        ],
    }
    queries = {"phrase": ["रमेश यादव", "Ramesh Yadav"], "occurrences": ["तमंचा"]}
    for name, docs in corpora.items():
        docs = docs + [doc("other", i + 1, text) for i, text in enumerate(filler)]
        es.clear()
        sqlite.clear()
        es.index(docs)
        sqlite.index(docs)
        for q in queries[name]:
            assert _ids(es.search(q)) == _ids(sqlite.search(q)), (name, q)


def test_writing_after_someone_else_dropped_the_alias(es):
    from search.elastic import ElasticIndex

    es.index(DOCS)
    other = ElasticIndex(es.url, es.alias)
    other.drop()
    other.close()
    assert es.index(DOCS[:2]) == 2  # recreated as a versioned index behind the alias
    assert es.client.indices.exists_alias(name=es.alias)
    assert es.count() == 2
