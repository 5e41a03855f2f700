"""search.query: what an officer types, parsed identically for every backend."""

from __future__ import annotations

import re

import pytest

from search.normalise import pair_keys, word_key
from search.query import (
    Match,
    ParsedQuery,
    clauses,
    edit_distance,
    fuzzy_clauses,
    fuzzy_edits,
    fuzzy_expand,
    highlight_terms,
    latin_key_of,
    parse_query,
    proximity_boost,
)

# A parsed token may hold letters, digits and combining marks only.
_CLEAN = re.compile(r"^[\w\u0900-\u0963\u0971-\u097f]+$")


def _all_tokens(q: ParsedQuery) -> list[str]:
    return [*q.terms, *(t for p in q.phrases for t in p), *q.prefixes, *q.latin_keys]


def test_words_are_folded_terms():
    q = parse_query("रमेश  यादव ज़िला")
    assert q.terms == ["रमेश", "यादव", "जिला"]
    assert q.phrases == [] and q.prefixes == [] and q.latin_keys == []
    assert not q.is_empty


def test_duplicates_dropped():
    assert parse_query("रमेश रमेश Ramesh ramesh").terms == ["रमेश", "ramesh"]


def test_quoted_phrase():
    q = parse_query('"रमेश यादव" थाना')
    assert q.phrases == [["रमेश", "यादव"]]
    assert q.terms == ["थाना"]
    assert parse_query('"रमेश"').terms == ["रमेश"]
    assert parse_query("“Ramesh Yadav”").phrases == [["ramesh", "yadav"]]


def test_unbalanced_quote_reads_plain_words():
    q = parse_query('"रमेश यादव')
    assert q.terms == ["रमेश", "यादव"] and q.phrases == []
    q = parse_query('"a b" "c')
    assert q.phrases == [["a", "b"]] and q.terms == ["c"]


def test_prefix():
    q = parse_query("रमे* Kann*")
    assert q.prefixes == ["रमे", "kann"]
    assert q.terms == []
    # a one-character prefix is read as a word
    assert parse_query("r*").terms == ["r"]


@pytest.mark.parametrize(
    ("typed", "terms", "phrases", "keys"),
    [
        ("123/2019", [], [], ["cr123y2019"]),
        ("१२३/२०१९", [], [], ["cr123y2019"]),
        ("123/19", [], [], ["cr123y2019"]),
        ("123/85", [], [], ["cr123y1985"]),
        ("मु0अ0सं0 123/2019", [], [], ["cr123y2019"]),
        ("मु०अ०सं० १२३/२०१९", [], [], ["cr123y2019"]),
        ("मु0 अ0 सं0 123/2019", [], [], ["cr123y2019"]),
        ("मु.अ.सं. 123/2019", [], [], ["cr123y2019"]),
        ("मु0अ0सं0123/2019", [], [], ["cr123y2019"]),
        ("मुकदमा अपराध संख्या 123 सन 2019", [], [], ["cr123y2019"]),
        ("अपराध संख्या 123/19", [], [], ["cr123y2019"]),
        ("Case Crime No. 123 of 2019", [], [], ["cr123y2019"]),
        ("मु0अ0सं0 123", ["मुअसं", "123"], [], []),  # no year: no crime number
        ("13/01/2019", [], [["13", "01", "2019"]], []),  # a date
        # a vehicle number is one clause: its key or the tokens typed, as a phrase
        ("UP78AB1234", [], [], ["vh78n1234"]),
        ("up-78-ab-1234", [], [], ["vh78n1234"]),
        ("UP 78 AB 1234", [], [], ["vh78n1234"]),
        ("यूपी 78 एबी 1234", [], [], ["vh78n1234"]),
        ("UP78AB1234 रमेश", ["रमेश"], [], ["vh78n1234"]),
        ("रमेश 12 2019", ["रमेश", "12", "2019"], [], []),  # no state: no vehicle
        ("धारा 379", [], [], ["sec379"]),
        ("379 IPC", [], [], ["sec379"]),
        ("379 भादवि", [], [], ["sec379"]),
        ("u/s 379", [], [], ["sec379"]),
        ("धारा 379 भा0द0वि0", [], [], ["sec379"]),
        ("धारा 457/380 भादवि", [], [], ["sec457", "sec380"]),
        ("धारा 498A", [], [], ["sec498a"]),
        ("303(2) BNS", [], [], ["sec303"]),
        ("379", ["379"], [], []),  # a number alone is just a number
        ("धारा", ["धारा"], [], []),
        ("मु0अ0सं0 123/19 धारा 379 रमेश", ["रमेश"], [], ["cr123y2019", "sec379"]),
    ],
)
def test_numbers_abbreviations_and_vehicles(typed, terms, phrases, keys):
    q = parse_query(typed)
    assert q.terms == terms
    assert q.phrases == phrases
    assert [n.key for n in q.notations] == keys
    assert not q.is_empty


def test_notation_clauses():
    q = parse_query("123/19 धारा 379")
    assert clauses(q) == [
        [Match("folded", ("cr123y2019",)), Match("translit", ("cr123y2019",))],
        [Match("folded", ("sec379",))],
    ]
    assert highlight_terms(q) == {"123", "19", "2019", "379"}
    # inside quotes a crime number stays the words typed
    assert parse_query('"मु0अ0सं0 123/2019"').phrases == [["मुअसं", "123", "2019"]]


def test_vehicle_and_stray_digit_clauses():
    q = parse_query("UP 80 EA 88")
    assert clauses(q) == [
        [Match("folded", ("vh80n0088",)), Match("folded", ("up", "80", "ea", "88"))],
    ]
    # a crime number also matches its stray-leading-digit key, in translit
    q = parse_query("195/2015 धारा 498A")
    assert clauses(q)[0] == [Match("folded", ("cr195y2015",)), Match("translit", ("cr195y2015",))]
    # without the section in the second tier
    assert fuzzy_clauses(q) == [clauses(q)[0]]
    assert fuzzy_clauses(parse_query("धारा 498A")) == []


def test_joined_latin_words_meet_compounds():
    q = parse_query("Ram Prakash")
    # "ramprakash": the initial r, then its consonants (a dropped, sh -> s), m before p -> n
    joined = "rnprks"
    assert clauses(q) == [
        [Match("folded", ("ram",)), Match("translit", ("rm",)), Match("translit", (joined,))],
        [Match("folded", ("prakash",)), Match("translit", ("prks",)), Match("translit", (joined,))],
    ]
    assert q.latin_keys == ["rm", "prks", joined]
    # the key an index holds for रामप्रकाश (one word) and for राम प्रकाश (a pair)
    assert word_key("रामप्रकाश") == joined
    assert pair_keys("राम प्रकाश") == [joined]


def test_fuzzy_clauses_only_for_words():
    assert fuzzy_edits("रमेश") == 1  # 4 code points
    assert fuzzy_edits("राम") == 0
    assert fuzzy_edits("तिलियानी") == 2
    assert fuzzy_edits("2019") == 0
    assert fuzzy_edits("rmis", "translit") == 1  # a 4-letter key: one edit
    assert fuzzy_edits("sym", "translit") == 0
    assert fuzzy_edits("chhibramau") == 2
    q = parse_query("रमेश 2019 धारा 379")
    fz = fuzzy_clauses(q)
    # a Devanagari word also by its transliteration key (गुड्डू misread as गुडू: both gudu)
    assert fz[0] == [
        Match("folded", ("रमेश",)),
        Match("folded", ("रमेश",), fuzzy=1),
        Match("translit", ("rmis",)),
    ]
    assert fz[1] == [Match("folded", ("2019",))]
    assert fuzzy_clauses(parse_query("123/2019")) == []
    assert fuzzy_clauses(parse_query('"रमेश यादव"')) == []


def test_edit_distance_and_expansion():
    assert edit_distance("रमेश", "रमेश", 2) == 0
    assert edit_distance("रमेश", "रमेस", 2) == 1
    assert edit_distance("abcd", "abdc", 2) == 1  # a transposition is one edit
    assert edit_distance("abcdef", "ab", 2) == 3  # beyond the limit: limit + 1
    vocab = ["रमेश", "उमेश", "रमेस", "महेश", "सुरेश", "रमेशा"]
    assert fuzzy_expand("रमेश", 1, vocab) == ["उमेश", "रमेशा", "रमेस"]  # then term order


def test_latin_keys_for_latin_terms_only():
    q = parse_query("Ramesh यादव 2019 Kannauj")
    assert q.latin_keys == ["rmis", "knuj"]
    assert latin_key_of("ramesh") == "rmis"
    assert latin_key_of("रमेश") is None
    assert latin_key_of("2019") is None
    assert parse_query('"Ramesh Yadav"').latin_keys == ["rmis", "ydb"]


def test_capital_operators_are_dropped_lowercase_words_kept():
    q = parse_query("Ramesh AND Yadav OR NOT NEAR(Kumar)")
    assert q.terms == ["ramesh", "yadav", "kumar"]
    assert parse_query("and or").terms == ["and", "or"]


@pytest.mark.parametrize(
    "hostile",
    [
        '"',
        '""',
        '"""',
        "AND (",
        "*",
        "**",
        "NEAR(",
        "NEAR(a b, 5)",
        "'; DROP TABLE pages; --",
        "<script>alert(1)</script>",
        "folded : x",
        "translit:rmes",
        "{folded translit} : x",
        "a OR b NOT c",
        "- + ( ) : ^ *",
        "^रमेश",
        "col:रमेश*",
        "\x00\x01 \\ ` ~",
        "\u200d\u200c",
        "१२३' OR '1'='1",
        "x" * 5000,
        " ".join(f"w{i}" for i in range(200)),
    ],
)
def test_hostile_input_gives_only_clean_tokens(hostile):
    q = parse_query(hostile)
    for tok in _all_tokens(q):
        assert _CLEAN.match(tok), tok
    assert len(q.terms) + len(q.phrases) + len(q.prefixes) <= 24


def test_empty_queries():
    for text in ["", "   ", '"', "AND (", "*", "।", "NEAR()", None]:
        assert parse_query(text).is_empty  # type: ignore[arg-type]


def test_script_tag_is_just_a_word():
    q = parse_query("<script>alert(1)</script>")
    assert q.phrases == [["script", "alert", "1", "script"]] and q.terms == []
    assert parse_query("<script> x").terms == ["script", "x"]


def test_highlight_terms():
    q = parse_query('रमेश "उ0नि0 श्याम" 123/2019 Kann*')
    assert highlight_terms(q) == {"रमेश", "उनि", "श्याम", "123", "2019"}
    q = parse_query('रमेश "उ0नि0 श्याम" "123 2019" Kann*')
    assert highlight_terms(q) == {"रमेश", "उनि", "श्याम", "123", "2019"}


def test_clauses_and_boost():
    q = parse_query('Ramesh रमेश "Ramesh Yadav" "123 2019" Kann*')
    assert clauses(q) == [
        [Match("folded", ("ramesh",)), Match("translit", ("rmis",))],
        [Match("folded", ("रमेश",))],
        [Match("folded", ("ramesh", "yadav")), Match("translit", ("rmis", "ydb"))],
        [Match("folded", ("123", "2019"))],
        [Match("folded", ("kann",), prefix=True), Match("translit", ("kn",), prefix=True)],
    ]
    assert proximity_boost(parse_query("Ramesh Yadav")) == [
        Match("folded", ("ramesh", "yadav")),
        Match("translit", ("rmis", "ydb")),
    ]
    assert proximity_boost(parse_query("रमेश यादव")) == [Match("folded", ("रमेश", "यादव"))]
    assert proximity_boost(parse_query("रमेश")) == []


def test_the_phrase_boost_orders_pages_bm25_alone_would_reverse(index, monkeypatch):
    """Both engines multiply the score of a page holding the words side by side, in the
    order typed, by PHRASE_BOOST: here it puts the longer page first."""
    from abhilekh.records import BundleMetadata, SearchDocument

    md = BundleMetadata(thana="Tirwa", year=2019)
    index.index([
        SearchDocument("b", 1, "वादी रमेश यादव ने बताया कि वह रात में घर पर सो रहा था", md),
        SearchDocument("b", 2, "यादव ने रमेश को देखा", md),  # shorter: BM25 alone ranks it first
        *[SearchDocument("f", i, f"भरने वाला पन्ना संख्या {i} थाना हाजा", md) for i in range(1, 6)],
    ])
    boosted = index.search("रमेश यादव")
    assert [h.page for h in boosted.hits] == [1, 2]
    monkeypatch.setattr("search.sqlite.PHRASE_BOOST", 1.0)
    monkeypatch.setattr("search.elastic.PHRASE_BOOST", 1.0)
    plain = index.search("रमेश यादव")
    assert [h.page for h in plain.hits] == [2, 1]
    by_page = {h.page: h.score for h in plain.hits}
    assert boosted.hits[0].score == pytest.approx(2.0 * by_page[1], rel=1e-4)
    assert boosted.hits[1].score == pytest.approx(by_page[2], rel=1e-4)
