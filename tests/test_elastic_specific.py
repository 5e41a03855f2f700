"""What only the Elasticsearch backend has: the alias over versioned indices, rebuild,
its failure modes; and what both engines must answer on the same pages, written out by
hand below (not taken from SqliteIndex: a bug in the shared normaliser or query builder
would be in both, and the comparison blind to it)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from abhilekh.records import BundleMetadata, SearchDocument, SearchFilters
from search.base import QueryRefused, SearchError
from tests.conftest import make_settings
from tests.test_sqlite_index import CORPUS, FILLER, doc

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


def test_rebuild_loads_in_bulk_mode_and_puts_the_index_shape_back(es):
    """While a rebuild fills its new index: no refreshes, no replicas, an async translog;
    before the switch each is back to what this index's settings ask for."""
    es.index(DOCS)
    old = _targets(es)
    during: dict = {}

    def docs():
        yield from DOCS[:2]
        new = [i for i in es.client.indices.get(index=f"{es.alias}-v*") if i not in old]
        during.update(es.client.indices.get_settings(index=new, flat_settings=True)[new[0]]["settings"])
        yield from DOCS[2:]

    assert es.rebuild(docs()) == len(DOCS)
    assert during["index.refresh_interval"] == "-1"
    assert during["index.translog.durability"] == "async"
    assert during["index.number_of_replicas"] == "0" and during["index.auto_expand_replicas"] == "false"
    after = es.client.indices.get_settings(index=_targets(es), flat_settings=True)[_targets(es)[0]]["settings"]
    assert "index.refresh_interval" not in after and "index.translog.durability" not in after
    assert after["index.auto_expand_replicas"] == es.index_settings.get("auto_expand_replicas", "false")
    assert es.client.cluster.health(index=es.alias)["status"] in ("green", "yellow")
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


# What a hostile query may find: its words, as words (the rest finds nothing).
HOSTILE_FINDS = {
    "~1": {"b-en:2"},  # the 1 of alert(1)
    "<script>alert(1)</script>": {"b-en:2"},  # the phrase script alert 1 script
    " ".join(["धारा"] * 500): {"b-gd:2", "b-cr:1", "b-cr:2"},  # one word, once
}


# Refused with the reason (issue 11): nothing to search for, or over the limits.
HOSTILE_NOTHING = {'"', '"""', "AND (", "OR NOT NEAR(", "*", "**", "\\", "/.*/", "?", "&& || !",
                   "\x00\x01\x1f", "\u200d\u200c\ufeff", "🙂 ☃"}
HOSTILE_TOO_LONG = {"रमेश" * 2000, " ".join(["धारा"] * 500), "x" * 40_000}


@pytest.mark.parametrize("query", HOSTILE, ids=lambda q: repr(q[:20]))
def test_hostile_queries_find_only_their_words(es, query):
    es.index(DOCS)
    stations = SearchFilters(thana=query[:50], register=query[:50], year=2019)
    if query in HOSTILE_NOTHING or query in HOSTILE_TOO_LONG:
        reason = "nothing to search for" if query in HOSTILE_NOTHING else "the limit is"
        for filters in (None, stations):
            with pytest.raises(QueryRefused, match=reason):
                es.search(query, filters, limit=5)
        return
    want = HOSTILE_FINDS.get(query, set())
    results = es.search(query, limit=5)
    assert sorted(_str_ids(results)) == sorted(want) and results.total == len(want)
    # The query as a station and a register as well: no station or register is spelt
    # like that, except the empty one, which filters nothing (the pages of 2019).
    results = es.search(query, stations)
    want = {"b-gd:1", "b-gd:2"} if query == "" else set()
    assert sorted(_str_ids(results)) == sorted(want) and results.total == len(want)


def test_deep_and_odd_paging(es):
    es.index(DOCS)
    assert es.search("धारा", limit=10, offset=50_000).hits == []
    assert es.search("धारा", limit=10, offset=50_000).total == 3
    assert es.search("धारा", limit=0).hits == []
    assert es.search("धारा", limit=-3, offset=-7).hits == []
    assert len(es.search("धारा", limit=20_000).hits) == 3


# What each query must find on DOCS, worked out from the pages and the rules in
# search.query / search.normalise (not by running either engine). Pages only the fuzzy
# tier finds (FUZZY_ONLY) come after every exact hit.
DOC_FACTS = {  # page -> (thana facet label, register, years covered)
    "b-gd:1": ("कोतवाली", "जी0डी0", (2019,)),
    "b-gd:2": ("कोतवाली", "जी0डी0", (2019,)),
    "b-cr:1": ("कन्नौज", "अपराध रजिस्टर", (2015, 2016, 2017)),
    "b-cr:2": ("कन्नौज", "अपराध रजिस्टर", (2015, 2016, 2017)),
    "b-en:1": ("Kotwali", "Case Diary", (1998,)),
    "b-en:2": ("Kotwali", "Case Diary", (1998,)),
}
DOCS_FIND = {
    "रमेश": {"b-gd:1", "b-cr:2", "b-en:1"},  # b-en:1 "Ramesh": the same key, rmis
    "Ramesh Yadav": {"b-gd:1", "b-en:1"},  # b-cr:2 has रमेश but no यादव
    "धारा 379": {"b-gd:2", "b-cr:1", "b-en:1"},  # sec379, b-en:1 as "u/s 379"
    "मु0अ0सं0 123/2019": {"b-gd:2"},
    "मुअसं": {"b-gd:2", "b-cr:2"},  # b-cr:2 writes it spaced, with Devanagari zeros
    '"रमेश यादव"': {"b-gd:1"},  # a phrase in Devanagari: folded field only
    "रम*": {"b-gd:1", "b-cr:2"},
    "UP78AB1234": {"b-gd:2"},
    "ipc": {"b-en:1"},  # I.P.C.
    "चोरी": {"b-gd:2", "b-en:2"},
    "हिंदी": {"b-en:2"},  # हिन्दी
    "कोतवाली": {"b-gd:1", "b-gd:2", "b-en:1", "b-en:2"},  # b-en's thana " Kotwali ": kutbli
    "GD-12": {"b-gd:1", "b-gd:2"},  # the file number, as the phrase gd 12
    "kumar": {"b-cr:1"},  # कुमार
    "nothing-matches-this": set(),
}
FUZZY_ONLY = {"रमेश": {"b-en:1"}, "कोतवाली": {"b-en:1", "b-en:2"}}
FILTERS = {  # a filter -> the pages it lets through (DOC_FACTS)
    None: set(DOC_FACTS),
    SearchFilters(thana="कोतवाली"): {"b-gd:1", "b-gd:2"},
    SearchFilters(thana="kotwali"): {"b-en:1", "b-en:2"},  # " Kotwali " is that station
    SearchFilters(register="अपराध रजिस्टर"): {"b-cr:1", "b-cr:2"},
    SearchFilters(year=2016): {"b-cr:1", "b-cr:2"},
    SearchFilters(year=2019, thana="कोतवाली"): {"b-gd:1", "b-gd:2"},
}


def _facets_of(pages: set[str], facts: dict) -> dict[str, dict[str, int]]:
    """The facets of these pages, counted from the hand-written facts."""
    thana: dict[str, int] = {}
    register: dict[str, int] = {}
    year: dict[str, int] = {}
    for page in pages:
        t, r, years = facts[page]
        thana[t] = thana.get(t, 0) + 1
        register[r] = register.get(r, 0) + 1
        for y in years:
            year[str(y)] = year.get(str(y), 0) + 1
    return {"thana": thana, "register": register, "year": year}


def _str_ids(results) -> list[str]:
    return [f"{h.bundle_id}:{h.page}" for h in results.hits]


def test_answers_as_worked_out_by_hand(index):
    """Both engines, the same pages: found pages, totals, facets, fuzzy hits last."""
    index.index(DOCS)
    for q, found in DOCS_FIND.items():
        for f, allowed in FILTERS.items():
            want = found & allowed
            got = index.search(q, f, limit=50)
            assert sorted(_str_ids(got)) == sorted(want), (q, f)
            assert got.total == len(want), (q, f)
            assert got.facets == _facets_of(want, DOC_FACTS), (q, f)
            fuzzy = FUZZY_ONLY.get(q, set()) & want
            ids = _str_ids(got)
            assert set(ids[len(ids) - len(fuzzy):]) == fuzzy, (q, f, ids)
    # browsing (no words) is in bundle and page order
    for f, allowed in FILTERS.items():
        if f is not None:
            got = index.search("", f, limit=50)
            assert _str_ids(got) == sorted(allowed), f
            assert got.facets == _facets_of(allowed, DOC_FACTS), f
    assert index.search("").total == 0
    assert index.bundle_page_counts() == {"b-cr": 2, "b-en": 2, "b-gd": 2}


def test_hits_carry_their_page_snippet_and_metadata(index):
    index.index(DOCS)
    (hit,) = index.search('"रमेश यादव"').hits
    assert hit.snippet == "वादी रमेश यादव पुत्र श्याम लाल निवासी ग्राम बरौली ने सूचना दी"
    assert hit.snippet_html == (
        "वादी <mark>रमेश</mark> <mark>यादव</mark> पुत्र श्याम लाल निवासी ग्राम बरौली ने सूचना दी")
    assert (hit.metadata, hit.confidence, hit.needs_review) == (KOTWALI, 91.0, False)
    (hit,) = index.search("मु0अ0सं0 123/2019").hits
    assert hit.snippet_html == (
        "मु0अ0सं0 <mark>123/2019</mark> धारा 379 भादवि मोटरसाइकिल UP 78 AB 1234 चोरी")
    assert (hit.confidence, hit.needs_review) == (42.0, True)
    hits = {f"{h.bundle_id}:{h.page}": h for h in index.search("Ramesh").hits}
    assert "Complainant <mark>Ramesh</mark> Yadav" in hits["b-en:1"].snippet_html
    assert "वादी <mark>रमेश</mark> यादव" in hits["b-gd:1"].snippet_html  # by its key
    assert hits["b-en:1"].metadata == ENGLISH


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


def test_check_passes_on_a_healthy_server_and_changes_nothing(es):
    assert es.check() is None
    assert not es.client.indices.exists(index=es.alias)  # checking creates no index
    es.index(DOCS[:1])
    targets = _targets(es)
    assert es.check() is None
    assert _targets(es) == targets and es.count() == 1
    # and it looks at the index it passed: the same index marked by another normaliser
    es.client.indices.put_mapping(index=targets[0], meta={"schema_version": 1, "normalise_version": -1})
    with pytest.raises(SearchError, match="another version of the text normaliser"):
        es.check()


def test_unreachable_server_says_what_to_do():
    from search.elastic import ElasticIndex

    idx = ElasticIndex("http://127.0.0.1:9", "nowhere")
    for call in (idx.check, idx.count, lambda: idx.search("रमेश"), lambda: idx.index(DOCS)):
        with pytest.raises(SearchError, match=r"cannot reach Elasticsearch .*scripts/services start"):
            call()


def test_a_dead_node_is_one_warning_line_not_a_traceback():
    """A node down in a cluster (tests/test_cluster.py) made the client log each retry
    with the whole urllib3 traceback chain (60 lines a request) into the ingest's log.
    Run as a program with logging configured, as the CLI and Prefect do: each retry is
    one line naming the node's error, and the failure is the one clear SearchError."""
    import subprocess
    import sys

    program = (
        "import logging; logging.basicConfig(level=logging.WARNING)\n"
        "from search.elastic import ElasticIndex\n"
        "from search.base import SearchError\n"
        "try:\n"
        "    ElasticIndex('http://127.0.0.1:9,http://127.0.0.1:10', 'nowhere').count()\n"
        "except SearchError as exc:\n"
        "    print('ERROR', exc)\n"
    )
    root = Path(__file__).resolve().parents[1]
    run = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, cwd=root, timeout=60, check=False)
    out = run.stdout + run.stderr
    assert run.returncode == 0, out
    assert "Traceback" not in out and "File \"" not in out, out
    retries = [ln for ln in out.splitlines() if "Retrying request" in ln]
    assert len(retries) == 2, out
    assert all("Connection refused" in ln for ln in retries), out
    assert len([ln for ln in out.splitlines() if ln.startswith("ERROR ") and "cannot reach Elasticsearch" in ln]) == 1, out
    assert len(out.splitlines()) <= 6, out


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
# reference corpus of tests/test_sqlite_index.py, searched by both engines; what each
# query finds is worked out by hand from the pages (REFERENCE_FACTS: their metadata)

REFERENCE_FACTS = {
    **dict.fromkeys(["tirwa-2019:1", "tirwa-2019:2"], ("Tirwa", "अपराध रजिस्टर", (2019,))),
    **dict.fromkeys(["saurikh-gd:1", "saurikh-gd:2"], ("सौरिख", "जी0डी0", (2018, 2019, 2020, 2021))),
    **dict.fromkeys(["kannauj-2020:1", *(f"filler:{i}" for i in range(1, 7))],
                    ("Kotwali Kannauj", "अपराध रजिस्टर", (2020,))),
}
T1, T2, S1, S2, K1 = "tirwa-2019:1", "tirwa-2019:2", "saurikh-gd:1", "saurikh-gd:2", "kannauj-2020:1"
REFERENCE_FIND = {
    "रमेश यादव": {T1},
    "123/2019": {T1}, "मु0अ0सं0 123/2019": {T1}, "मु०अ०सं० १२३/२०१९": {T1},
    "मु0 अ0 सं0 123/2019": {T1}, "मु.अ.सं. 123/2019": {T1}, '"मुअसं 123 2019"': {T1},
    "१२३/२०१९": {T1},
    "123/2020": {K1},  # मुकदमा अपराध संख्या 123/2020
    "45/2019": {T2}, "मु0अ0सं0 45/2019": {T2},  # मु०अ०सं० ४५/२०१९
    "उ०नि० श्याम": {T2},  # उ0नि0 श्याम
    "भादवि": {T1, T2}, "भा.द.वि.": {T1, T2},  # भा0द0वि0 and भादवि
    "Ramesh Yadav": {T1}, "ramesh yadav": {T1}, '"Ramesh Yadav"': {T1},
    # S1's Rajesh is one letter off, but a lone short word is not matched loosely (the
    # second tier lets a four-letter key differ only beside its typed neighbour)
    "RAMESH": {T1},
    "Gursahaiganh": {S2},  # one letter off a long word: the fuzzy tier
    "Ramesh Yadaw": {T1},
    "Gursahaiganj": {S2}, "Chhibramau Mohammad": {S2}, "Bahadurpur": {T1},
    "Rajesh Kumar Singh": {S1},
    "ipc 420": {S1},  # u/s 420 IPC: sec420
    "UP78AB1234": {T1}, "UP 78 AB 1234": {T1}, "up-78-ab-1234": {T1},
    "UP74AB9999": {S1},  # written UP 74 AB 9999
    "General Diary": {S1, S2, "filler:6"},  # the title of S1 and S2; filler:3 has no General
    "सौरिख": {S1, S2},  # the thana of both
    "धारा": {T1, T2, K1},
    "थाना": {T1, S2, "filler:2"},
    "arrested": {S1},
    '"रमेश': {T1}, "NEAR(रमेश यादव)": {T1},
    "folded:रमेश": set(),  # "folded" is a word, on no page
    "श्याम": {T2},
    "रम*": {T1}, "gen*": {S1, S2, "filler:6"},
    "the": {"filler:3"},
}
REFERENCE_FUZZY_ONLY = {"Gursahaiganh": {S2}}
REFERENCE_FILTERS = {
    None: set(REFERENCE_FACTS),
    SearchFilters(thana="tirwa"): {T1, T2},
    SearchFilters(year=2020): {S1, S2, K1, *(f"filler:{i}" for i in range(1, 7))},
}


def test_reference_corpus_answers_as_worked_out_by_hand(index):
    index.index(CORPUS)
    for q, found in REFERENCE_FIND.items():
        for f, allowed in REFERENCE_FILTERS.items():
            want = found & allowed
            got = index.search(q, f, limit=50)
            assert sorted(_str_ids(got)) == sorted(want), (q, f)
            assert (got.total, got.facets) == (len(want), _facets_of(want, REFERENCE_FACTS)), (q, f)
            fuzzy = REFERENCE_FUZZY_ONLY.get(q, set()) & want
            ids = _str_ids(got)
            assert set(ids[len(ids) - len(fuzzy):]) == fuzzy, (q, f, ids)


def test_ranking_as_worked_out_by_hand(index):
    corpora = {
        "phrase": [  # the phrase outranks the shorter page with the words apart
            doc("rank", 1, "रमेश यादव ने बताया कि वह घर पर सो रहा था तभी आवाज सुनाई दी"),
            doc("rank", 2, "यादव ने रमेश को देखा"),
        ],
        "occurrences": [  # three times the word outranks once, at the same length
            doc("r", 1, "तमंचा बरामद हुआ " + "साक्ष्य " * 10),
            doc("r", 2, "तमंचा तमंचा तमंचा बरामद " + "साक्ष्य " * 10),
        ],
    }
    queries = {
        "phrase": {"रमेश यादव": ["rank:1", "rank:2"], "Ramesh Yadav": ["rank:1", "rank:2"]},
        "occurrences": {"तमंचा": ["r:2", "r:1"]},
    }
    for name, docs in corpora.items():
        docs = docs + [doc("other", i + 1, text) for i, text in enumerate(FILLER)]
        index.clear()
        index.index(docs)
        for q, order in queries[name].items():
            assert _str_ids(index.search(q)) == order, (name, q)


def test_writing_after_someone_else_dropped_the_alias(es):
    from search.elastic import ElasticIndex

    es.index(DOCS)
    other = ElasticIndex(es.url, es.alias)
    other.drop()
    other.close()
    assert es.index(DOCS[:2]) == 2  # recreated as a versioned index behind the alias
    assert es.client.indices.exists_alias(name=es.alias)
    assert es.count() == 2
