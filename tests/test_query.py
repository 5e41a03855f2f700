"""search.query: what an officer types, parsed identically for every backend."""

from __future__ import annotations

import re

import pytest

from search.normalise import pair_keys, word_key
from search.query import (
    MAX_CLAUSES,
    MAX_QUERY_CHARS,
    NAME_SLOP,
    PAIR_BOOST,
    Match,
    ParsedQuery,
    QueryRefused,
    check_query,
    clauses,
    edit_distance,
    fuzzy_edits,
    fuzzy_expand,
    latin_key_of,
    parse_query,
    proximity_boost,
    tolerant_clauses,
)

# A parsed token may hold letters, digits and combining marks only.
_CLEAN = re.compile(r"^[\w\u0900-\u0963\u0971-\u097f]+$")


def _all_tokens(q: ParsedQuery) -> list[str]:
    return [*q.terms, *(t for p in q.phrases for t in p), *q.prefixes, *q.latin_keys]


def test_words_are_folded_terms():
    q = parse_query("रमेश  यादव ज़िला")
    assert q.terms == ["रमेश", "यादव", "जिला"]
    assert q.phrases == [] and q.prefixes == []
    # their keys, and the keys of each adjacent pair joined (रामप्रकाश for राम प्रकाश)
    assert q.latin_keys == ["rmis", "ydb", "jil", "rmisidb", "ydbjil"]
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
    assert [nt.numbers for nt in q.notations] == [("123", "19", "2019"), ("379",)]
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
    # without the section in the second tier, where the crime number's loose readings count
    assert tolerant_clauses(q) == [[*clauses(q)[0], Match("loose", ("cr195y2015",))]]
    assert tolerant_clauses(parse_query("धारा 498A")) == []


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
    assert fuzzy_edits("rmis", "translit") == 0  # a 4-letter key one edit away is another name
    assert fuzzy_edits("ruhit", "translit") == 1
    assert fuzzy_edits("chhibramau") == 2
    q = parse_query("रमेश 2019 धारा 379")
    tol = tolerant_clauses(q)
    # a short word typed alone: found inside a glued token, or by a near key; not as
    # any word one edit away as written (another name), nor by its shape (राजेश's too)
    assert tol[0] == [
        Match("folded", ("रमेश",)),
        Match("translit", ("rmis",)),
        Match("grams", ("रमे", "मेश")),
        Match("grams", ("\ue000rmi", "\ue000mis")),
    ]
    assert tol[1] == [Match("folded", ("2019",))]
    long = tolerant_clauses(parse_query("तिलियानी"))
    assert Match("translit", ("tilini",), fuzzy=1) in long[0]  # a long key: one edit
    assert Match("loose", ("\ue002tilini",)) in long[0]  # and its shape
    # a crime number's second tier is its readings as OCR breaks them
    assert tolerant_clauses(parse_query("123/2019"))[0][-1] == Match("loose", ("cr123y2019",))
    assert tolerant_clauses(parse_query('"रमेश यादव"')) == []  # a phrase is as typed
    assert tolerant_clauses(parse_query("2019 379")) == []  # numbers are as typed


def test_short_name_words_are_fuzzy_only_next_to_each_other():
    tol = tolerant_clauses(parse_query("सुरेश यादव तिलियानीपुर"))
    # keys only (never the word as written), so both scripts find the same pages
    assert Match("translit", ("suris", "ydb"), fuzzy=1, near=NAME_SLOP) in tol[0]
    assert Match("translit", ("suris",), fuzzy=1) not in tol[0]
    assert not any(m.field == "folded" and m.fuzzy for alts in tol for m in alts)
    assert Match("loose", ("\ue002suris", "\ue002ydb"), near=NAME_SLOP) in tol[0]  # shapes, side by side
    # a long word (a village) may be a misreading anywhere on the page
    assert Match("translit", ("tilinipur",), fuzzy=2) in tol[2]
    assert Match("loose", ("\ue002tilinipur",)) in tol[2]
    # the Latin spelling asks for the same keys and shapes
    latin = tolerant_clauses(parse_query("Suresh Yadav Tiliyanipur"))
    assert Match("translit", ("suris", "ydb"), fuzzy=1, near=NAME_SLOP) in latin[0]
    assert Match("loose", ("\ue002suris", "\ue002ydb"), near=NAME_SLOP) in latin[0]


def test_edit_distance_and_expansion():
    assert edit_distance("रमेश", "रमेश", 2) == 0
    assert edit_distance("रमेश", "रमेस", 2) == 1
    assert edit_distance("abcd", "abdc", 2) == 1  # a transposition is one edit
    assert edit_distance("abcdef", "ab", 2) == 3  # beyond the limit: limit + 1
    vocab = ["रमेश", "उमेश", "रमेस", "महेश", "सुरेश", "रमेशा"]
    assert fuzzy_expand("रमेश", 1, vocab) == ["उमेश", "रमेशा", "रमेस"]  # then term order


def test_keys_for_words_in_both_scripts():
    q = parse_query("Ramesh यादव 2019 Kannauj")
    assert q.latin_keys == ["rmis", "ydb", "knuj"]
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


def test_clauses_and_boost():
    q = parse_query('Ramesh रमेश "Ramesh Yadav" "123 2019" Kann*')
    assert clauses(q) == [
        [Match("folded", ("ramesh",)), Match("translit", ("rmis",))],
        # a Devanagari word meets its Latin spellings on its key, as a Latin one does
        [Match("folded", ("रमेश",)), Match("translit", ("rmis",))],
        [Match("folded", ("ramesh", "yadav")), Match("translit", ("rmis", "ydb"))],
        [Match("folded", ("123", "2019"))],
        [Match("folded", ("kann",), prefix=True), Match("translit", ("kn",), prefix=True)],
    ]
    # names as names: each pair of typed words side by side (in order), or near each
    # other in any order (half the weight), in either script
    latin = proximity_boost(parse_query("Ramesh Yadav"))
    assert latin == [
        (PAIR_BOOST, [Match("folded", ("ramesh", "yadav")), Match("translit", ("rmis", "ydb"))]),
        (PAIR_BOOST / 2, [Match("folded", ("ramesh", "yadav"), near=NAME_SLOP),
                          Match("translit", ("rmis", "ydb"), near=NAME_SLOP)]),
    ]
    dev = proximity_boost(parse_query("रमेश यादव"))
    assert dev[0][1][0] == Match("folded", ("रमेश", "यादव"))
    assert [alts[1] for _, alts in latin] == [alts[1] for _, alts in dev]  # the same keys
    assert len(proximity_boost(parse_query("राम किशोर यादव"))) == 4
    assert proximity_boost(parse_query("रमेश")) == []
    assert proximity_boost(parse_query("रमेश 2019")) == []


def test_the_phrase_boost_orders_pages_bm25_alone_would_reverse(index, monkeypatch):
    """Both engines multiply the score of a page holding the words side by side, in the
    order typed, by 1 + PAIR_BOOST, and of one holding them near each other by half of
    that more: here it puts the longer page first."""
    from abhilekh.records import BundleMetadata, SearchDocument

    md = BundleMetadata(thana="Tirwa", year=2019)
    index.index([
        SearchDocument("b", 1, "वादी रमेश यादव ने बताया कि वह रात में घर पर सो रहा था, उसी समय "
                       "गाँव के कुछ लोग शोर मचाते हुए उसके दरवाजे पर आए", md),
        SearchDocument("b", 2, "यादव ने रमेश को देखा", md),  # shorter: BM25 alone ranks it first
        *[SearchDocument("f", i, f"भरने वाला पन्ना संख्या {i} थाना हाजा", md) for i in range(1, 6)],
    ])
    boosted = index.search("रमेश यादव")
    assert [h.page for h in boosted.hits] == [1, 2]
    monkeypatch.setattr("search.query.PAIR_BOOST", 0.0)
    plain = index.search("रमेश यादव")
    assert [h.page for h in plain.hits] == [2, 1]
    by_page = {h.page: h.score for h in plain.hits}
    # page 1: side by side in the order typed (PAIR_BOOST) and so also within NAME_SLOP
    # (half of it); page 2: near each other in the other order (the half only)
    assert boosted.hits[0].score == pytest.approx((1 + 1.5 * PAIR_BOOST) * by_page[1], rel=1e-4)
    assert boosted.hits[1].score == pytest.approx((1 + 0.5 * PAIR_BOOST) * by_page[2], rel=1e-4)


@pytest.mark.parametrize(
    ("typed", "phrase", "loose"),
    [
        ("HA10EJ0444777", ("ha", "10", "ej", "0444777"), "ckh410e10444777"),
        ("ME4JF50ALAY21529", ("me", "4", "jf", "50", "alay", "21529"), "ct21529"),
        ("98765 43210", ("98765", "43210"), "ck9876543210"),
        ("+91 9876543210", ("91", "9876543210"), "ck9876543210"),
        ("SP/KNJ/PRO/2013/989", ("sp", "knj", "pro", "2013", "989"), "dg2013n989"),
        ("SP KNJ PRO 2013 989", ("sp", "knj", "pro", "2013", "989"), "dg2013n989"),
    ],
)
def test_codes_are_one_clause_with_their_skeleton(typed, phrase, loose):
    q = parse_query(typed)
    assert q.terms == [] and len(q.notations) == 1
    code = q.notations[0]
    assert code.key is None and code.phrase == phrase and loose in code.loose
    assert clauses(q) == [[Match("folded", phrase)]]  # the exact reading, first tier
    assert Match("loose", (loose,)) in tolerant_clauses(q)[0]


def test_a_chassis_is_not_read_as_a_vehicle_number():
    assert [nt.kind for nt in parse_query("ME4JF50ALAY21529").notations] == ["code"]
    assert [nt.kind for nt in parse_query("UP 80 EA 0088").notations] == ["vehicle"]
    assert parse_query("Ram Prakash 2019").terms == ["ram", "prakash", "2019"]


@pytest.mark.parametrize("typed", ["/", "*", "AND", "((", "OR NOT", "।", '"', "- + :", "NEAR()"])
def test_nothing_to_search_for_is_refused(typed):
    with pytest.raises(QueryRefused, match="nothing to search for"):
        check_query(typed)


def test_long_queries_are_refused_with_the_limit():
    with pytest.raises(QueryRefused, match=f"501 characters long; the limit is {MAX_QUERY_CHARS}"):
        check_query("क" * (MAX_QUERY_CHARS + 1))
    words = " ".join(f"w{i}" for i in range(MAX_CLAUSES + 6))
    with pytest.raises(QueryRefused, match=f"has {MAX_CLAUSES + 6} words and numbers; the limit is {MAX_CLAUSES}"):
        check_query(words)
    assert not check_query("क" * MAX_QUERY_CHARS).is_empty  # at the limit: searched
    assert check_query("   ").is_empty and check_query("").is_empty  # no query: no refusal
