"""Issue 11: finding the entry through OCR damage, the same in both scripts, showing why.

Every test runs against both backends (the ``index`` fixture: SQLite FTS5 and, with
`scripts/services env` exported, Elasticsearch), through ``SearchIndex.search`` only.
The pages are OCR output as Tesseract gives it on our registers: glued words, letters
for digits, marks for letters, slashes lost.
"""

from __future__ import annotations

import re

import pytest

from abhilekh.records import BundleMetadata, SearchDocument, SearchFilters
from search.base import QueryRefused
from search.query import MAX_CLAUSES, MAX_QUERY_CHARS

MD = BundleMetadata(thana="Saurikh", register="अपराध रजिस्टर", year=2013, title="रजिस्टर")

FILLER = [
    "दौरान विवेचना वादी व गवाहों के बयान लिए गए तथा साक्ष्य संकलन की कार्यवाही की जा रही है।",
    "अतः आख्या सेवा में सादर प्रेषित है। थाना हाजा पर तहरीर दी गई।",
    "The Case Diary is being maintained as per rules. Kindly peruse.",
    "माननीय न्यायालय के समक्ष प्रस्तुत किया गया तथा नक्शा नजरी तैयार किया गया।",
    "General Diary entry at 10:30 hrs refers. Charge sheet submitted.",
]


def doc(bundle: str, page: int, text: str) -> SearchDocument:
    return SearchDocument(bundle_id=bundle, page=page, text=text, metadata=MD)


def ids(results) -> list[str]:
    return [f"{h.bundle_id}:{h.page}" for h in results.hits]


def fill(index, *pages: SearchDocument) -> None:
    index.index([*pages, *(doc("f", i + 1, t) for i, t in enumerate(FILLER))])


def hit_text(index) -> str:
    return "थाना सौरिख वर्ष २०१९\n२२४१ २२४१/२०१९ ३७९ ०३-०६-२०१९\n२४५ २४५/२०१९ ३२३ भादवि ०५-०६-२०१९ वादी रमेश"


def marked(hit) -> list[str]:
    return re.findall(r"<mark>(.*?)</mark>", hit.snippet_html)


# -- the character n-gram tier ---------------------------------------------------------


def test_a_word_glued_into_a_longer_token_is_found_below_whole_words(index):
    fill(
        index,
        doc("g", 1, "अभि0- रमेश यादव निवासीग्रामजलालाबादथानासौरिख जनपद कन्नौज"),
        doc("w", 1, "अभि0- रमेश यादव निवासी ग्राम जलालाबाद थाना सौरिख"),
        doc("n", 1, "अभि0- सुरेश निवासीग्रामजलालाबादथानासौरिख"),  # no रमेश
    )
    r = index.search("जलालाबाद")
    assert ids(r)[0] == "w:1" and set(ids(r)[1:]) == {"g:1", "n:1"}  # the whole word first
    assert r.hits[0].score > max(h.score for h in r.hits[1:])
    # every query word must still be there: n:1 has no रमेश
    assert ids(index.search("रमेश जलालाबाद")) == ["w:1", "g:1"]
    # and through the Latin spelling, by its key inside the glued token's key
    latin = ids(index.search("Jalalabad"))
    assert latin[0] == "w:1" and set(latin[1:]) == {"g:1", "n:1"}
    assert marked(index.search("रमेश जलालाबाद").hits[1]) == ["रमेश", "निवासीग्रामजलालाबादथानासौरिख"]


def test_short_words_are_not_looked_for_inside_tokens(index):
    fill(index, doc("g", 1, "निवासीग्रामजलालाबादथानासौरिख"))
    assert ids(index.search("ग्राम")) == ["g:1"]  # 5 code points
    assert index.search("राम").total == 0  # 3: inside too many words to mean anything
    assert index.search("Ram").total == 0


# -- codes on their skeleton -------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "page"),
    [
        ("SP/KNJ/PRO/2013/989", "c:1"),  # OCR: SP/KNJ/PR0/2O13/989
        ("SP KNJ PRO 2013 989", "c:1"),
        ("sp/knj/pro/2013/989", "c:1"),
        ("HA10EJ0444777", "c:2"),  # OCR: HAIOEJ 0444777
        ("MBLHA10AUUR81501", "c:2"),  # OCR: MBLHATOAUUR81501
        ("ME4JF50ALAY21529", "c:2"),  # OCR: MEAJF5SOALAY21529 (letters garbled, serial kept)
        ("9876543210", "c:3"),  # OCR: 98765 43210
        ("+91 98765 43210", "c:3"),
        ("UP75UY6855", "c:3"),  # OCR: UP7SUY6855
        ("331/2015", "c:4"),  # OCR: 331 3312015 (slash lost, glued)
        ("मु0अ0सं0 447/2023", "c:4"),  # OCR: 4474 2023 (slash read as a 4)
    ],
)
def test_codes_found_on_their_skeleton_when_ocr_misread_them(index, typed, page):
    fill(
        index,
        doc("c", 1, "पत्रांक: SP/KNJ/PR0/2O13/989 दिनांक 12-03-2013"),
        doc("c", 2, "214 60/2012 UP 74 GE 8894 HAIOEJ 0444777 MBLHATOAUUR81501 MEAJF5SOALAY21529"),
        doc("c", 3, "मोबाइल नं0 98765 43210 वाहन UP7SUY6855"),
        doc("c", 4, "331 3312015 457 भादवि वादी- राजू\n447 4474 2023 379 भादवि वादी- अमित"),
    )
    r = index.search(typed)
    assert ids(r) == [page], typed


@pytest.mark.parametrize(
    ("typed", "page"),
    [
        ("MD2A11CZAYJ12832", "m:1"),  # OCR: MD2A11CZAY}12832
        ("HA10EJ3566315", "m:1"),  # OCR: HA10E)3566315
        ("UP78MR9651", "m:2"),  # OCR: UPT8MR9651 (T for 7; T is also read for 1)
        ("UP80EA0088", "m:2"),  # OCR: UPB0 EA 0088 (B for 8)
        ("UP78E9146", "m:2"),  # OCR: UP78 E 914G (G for 6)
        ("मु0अ0सं0 890/2023", "m:3"),  # OCR: 890; 2023 (the slash read as a semicolon)
        ("259/2011", "m:3"),  # OCR: 259% 2011
        ("MBLHA10AFXR56491", "m:4"),  # OCR: MBLHA‘1 0AFXR56491 (a quote inside the code)
    ],
)
def test_codes_through_the_marks_and_letters_ocr_reads_for_their_characters(index, typed, page):
    fill(
        index,
        doc("m", 1, "चेसिस नं0 MD2A11CZAY}12832 इंजन नं0 HA10E)3566315"),
        doc("m", 2, "वाहन UPT8MR9651 तथा UPB0 EA 0088 व UP78 E 914G"),
        doc("m", 3, "251 890; 2023 379 भादवि वादी- राजू\n259 259% 2011 323 भादवि वादी- अमित"),
        doc("m", 4, "चेसिस नं0 MBLHA‘1 0AFXR56491 दिनांक 06.05.2011"),
    )
    assert ids(index.search(typed)) == [page], typed
    # a digit off is still another code, through those readings too
    for other in ("UP79MR9651", "UP80EA0089", "UP81EA0088", "UP78E9147", "891/2023", "890/2022"):
        assert index.search(other).total == 0, other


def test_an_exact_reading_ranks_first_and_a_wrong_number_finds_nothing(index):
    fill(
        index,
        doc("e", 1, "इंजन नं0 HA10EJ0444777 चेसिस नं0 MBLHA10AUUR81501"),  # read right
        doc("e", 2, "इंजन नं0 HAIOEJ0444777 चेसिस नं0 MBLHATOAUUR81501"),  # misread
        doc("e", 3, "मु0अ0सं0 447/2023 धारा 379"),
        doc("e", 4, "447 4474 2023 धारा 379"),
    )
    r = index.search("HA10EJ0444777")
    assert ids(r) == ["e:1", "e:2"]
    assert r.hits[0].score > r.hits[1].score
    assert ids(index.search("447/2023")) == ["e:3", "e:4"]
    # a digit wrong is another crime number, another plate
    assert index.search("448/2023").total == 0
    assert index.search("UP80EA0089").total == 0
    # a long code one character off is taken for a misreading (of either reading)
    assert set(ids(index.search("HA10EJ0444778"))) == {"e:1", "e:2"}


# -- names as names ------------------------------------------------------------------------

NAMES = [
    doc("p", 1, "वादी सुरेश यादव पुत्र रमेश चन्द्र निवासी ग्राम मदनपुर दिनांक 05-06-2019"),  # scattered
    doc("p", 2, "अभि0- रमेश यादव पुत्र किशन लाल निवासी ग्राम बरौली"),  # side by side
    doc("p", 3, "वादी रमेश कुमार यादव पुत्र श्री राम निवासी अटेना"),  # one word between
]


def test_a_name_ranks_where_its_words_stand_together(index):
    fill(index, *NAMES)
    assert ids(index.search("रमेश यादव")) == ["p:2", "p:3", "p:1"]
    assert ids(index.search("Ramesh Yadav")) == ["p:2", "p:3", "p:1"]


@pytest.mark.parametrize("typed", ["Ramesh Yadav", "Ramesh Yadaw", "RAMESH YADAV", "Rames Yadav"])
def test_latin_and_devanagari_names_give_the_same_pages(index, typed):
    fill(index, *NAMES)
    assert set(ids(index.search(typed))) == set(ids(index.search("रमेश यादव"))) == {"p:1", "p:2", "p:3"}


@pytest.mark.parametrize(
    ("typed", "written"),
    [
        ("Sarma", "शर्मा"),
        ("Kushvaha", "कुशवाहा"),
        ("Narendr Kumar", "नरेन्द्र कुमार"),
        ("Dharmender", "धर्मेन्द्र"),
        ("Mohd Arif", "मोहम्मद आरिफ"),
    ],
)
def test_common_variant_spellings(index, typed, written):
    fill(index, doc("v", 1, f"अभि0- {written} पुत्र राम निवासी मदनपुर"))
    assert ids(index.search(typed)) == ["v:1"]


def test_a_name_misread_by_ocr_is_found_next_to_its_other_word(index):
    fill(
        index,
        doc("o", 1, "वादी- उमेञ्ञ शर्मा पुत्र राजेश कुमार शर्मा"),  # श read as ञ्ञ
        doc("o", 2, "वादी- उमेद सिंह पुत्र श्याम शर्मा"),  # उमेद: one edit, but not beside शर्मा
    )
    assert ids(index.search("उमेश शर्मा")) == ["o:1"]


def test_a_name_marks_its_words_together_not_every_other_yadav(index):
    fill(index, doc("y", 1, "वादी सुरेश यादव पुत्र राम यादव\nअभि0- रमेश यादव पुत्र किशन यादव नि0 बरौली"))
    hit = index.search("रमेश यादव").hits[0]
    assert marked(hit) == ["रमेश", "यादव"]
    hit = index.search("Ramesh Yadav").hits[0]
    assert marked(hit) == ["रमेश", "यादव"]


def test_a_crime_number_marks_its_row_not_every_number_of_its_year(index):
    fill(index, doc("r", 1, hit_text(index)))
    hit = index.search("मु0अ0सं0 245/2019").hits[0]
    assert marked(hit) == ["२४५/२०१९"]
    from search.query import parse_query
    from search.snippet import make_snippet

    # a narrow snippet starts at its row (the results use the same cut, wider)
    plain, _ = make_snippet(hit_text(index), parse_query("मु0अ0सं0 245/2019"), width=40)
    assert plain.lstrip("…").startswith("२४५ २४५/२०१९")


# -- empty and hostile queries ----------------------------------------------------------------


@pytest.mark.parametrize("typed", ["/", "*", "AND", "((", "OR NOT", "- : ^"])
def test_nothing_to_search_for_is_said_not_every_page_listed(index, typed):
    fill(index, *NAMES)
    # issue 11: "/", "*", "AND", "((" listed every page of the station
    with pytest.raises(QueryRefused, match="nothing to search for"):
        index.search(typed, SearchFilters(stations=("Saurikh",)))


def test_a_long_query_is_refused_with_its_limit_never_cut(index):
    fill(index, *NAMES)
    long = "रमेश यादव " + "क" * MAX_QUERY_CHARS
    with pytest.raises(QueryRefused, match=f"the limit is {MAX_QUERY_CHARS}"):
        index.search(long)
    many = " ".join(["रमेश"] + [f"शब्द{i}" for i in range(MAX_CLAUSES)])
    with pytest.raises(QueryRefused, match=f"the limit is {MAX_CLAUSES}"):
        index.search(many)
    assert ids(index.search(" रमेश  यादव ")) == ["p:2", "p:3", "p:1"]  # blanks are no problem


def test_a_long_code_one_misread_character_off_is_found_a_short_one_is_not(index):
    fill(
        index,
        doc("k", 1, "चेसिस नं0 MBLHA10AVUR81501 इंजन JF50ETYX0l543"),  # U read as V; 1 as l
        doc("k", 2, "वाहन UP 80 EA 0089 मोबाइल 9876543219"),
    )
    assert ids(index.search("MBLHA10AUUR81501")) == ["k:1"]  # 16 characters: one letter off
    assert ids(index.search("JF50ETYX01543")) == ["k:1"]
    # a plate or a mobile number one digit off is another vehicle, another phone
    assert index.search("UP80EA0088").total == 0
    assert index.search("9876543210").total == 0


def test_a_name_whose_first_letters_ocr_lost_is_found_before_its_surname(index):
    # a register cell's first letters lost at its ruling: गीता शर्मा read as "ता शर्मा"
    fill(index, doc("l", 1, "वादी- ता शर्मा पत्नी सुरेश शर्मा नि0 चौधरियापुर"),
         doc("l", 2, "वादी- हित राजपूत पुत्र मोहन"))
    assert ids(index.search("रोहित राजपूत")) == ["l:2"]
    assert ids(index.search("Rohit Rajput")) == ["l:2"]
    assert index.search("अमित राजपूत").total == 0  # another name: "it" is no word there


def test_a_relation_word_typed_between_names_is_not_required(index):
    fill(index, doc("s", 1, "अभि0- राजू पु0 कमलेश नि0 मदनपुर"), doc("s", 2, "वादी- राजू S/o कमलेश"),
         doc("s", 3, "राजू पुत्र महेश तथा कमलेश"))
    r = index.search("राजू पुत्र कमलेश")
    assert set(ids(r)[:2]) == {"s:1", "s:2"} and ids(r)[2:] == ["s:3"]  # side by side first


def test_a_digit_read_into_a_crime_number_is_undone_by_its_rows_serial_number(index):
    # a crime register numbers its rows by crime number: "११२ १९१२/२०२०" is row 112
    fill(index, doc("r", 1, "११२ १९१२/२०२० ४४७, ३८० वादी- कृष्ण कुमार दीक्षित\n११३ ११३/२०२० ३७९ वादी- इरफान"))
    assert ids(index.search("112/2020")) == ["r:1"]
    assert ids(index.search("मु0अ0सं0 112/20")) == ["r:1"]
    assert index.search("114/2020").total == 0  # another row, on no page


def test_a_year_no_register_holds_is_read_as_the_pages_own_year(index):
    # a typewriter face's dotted zero read as 9 ("274/2911"), or a digit read into the
    # year ("734/20913"), on a register page of 2011 / 2013
    fill(
        index,
        doc("y", 1, "अपराध रजिस्टर थाना तिर्वा वर्ष 2011\n231 274/2911 457/380 भादवि वादी ओमप्रकाश"),
        doc("y", 2, "अपराध रजिस्टर वर्ष 2013\n245 734/20913 392 भादवि वादी बलवीर"),
        doc("y", 3, "अपराध रजिस्टर वर्ष 2011\n232 601/2012 379 भादवि वादी कमलेश"),
    )
    assert ids(index.search("274/2011")) == ["y:1"]
    assert ids(index.search("मु0अ0सं0 734/2013")) == ["y:2"]
    assert ids(index.search("274/2911")) == ["y:1"]  # the reading itself, exactly
    # a year a register can hold is never re-read: 2012 on a page of 2011 is a case of 2012
    assert index.search("601/2011").total == 0
    # and a misread year is read only as the page's own years
    assert index.search("274/2012").total == 0
