"""search.snippet: snippets cut from the raw OCR text, marked and HTML-escaped."""

from __future__ import annotations

from search.query import parse_query
from search.snippet import ELLIPSIS, make_snippet

FILLER = "यह पत्र थाना तिरवा से सूचनार्थ प्रेषित है। " * 12
PAGE = (
    FILLER
    + "वादी रमेश यादव पुत्र श्री राम निवासी ग्राम बहादुरपुर ने मु0 अ0 सं0 123/2019 धारा 379 "
    + "भा0द0वि0 में वाहन UP78AB1234 की चोरी दर्ज कराई। "
    + FILLER
)


def test_marks_query_words_in_raw_text():
    plain, html = make_snippet(PAGE, parse_query("रमेश यादव"))
    assert "<mark>रमेश</mark> <mark>यादव</mark>" in html
    assert "रमेश यादव पुत्र" in plain
    assert "<mark>" not in plain


def test_window_around_matches_with_ellipses():
    plain, html = make_snippet(PAGE, parse_query("बहादुरपुर"), width=80)
    assert plain.startswith(ELLIPSIS) and plain.endswith(ELLIPSIS)
    assert "बहादुरपुर" in plain
    assert len(plain) <= 80 + 2 * len(ELLIPSIS)
    assert html.count("<mark>") == 1


def test_window_prefers_the_densest_cluster():
    text = "रमेश " + "अन्य " * 100 + "रमेश यादव मौजूद " + "अन्य " * 100
    plain, html = make_snippet(text, parse_query("रमेश यादव"), width=60)
    assert html.count("<mark>") == 2
    assert "रमेश यादव" in plain


def test_latin_query_marks_devanagari_words():
    _, html = make_snippet(PAGE, parse_query("Ramesh Yadav"))
    assert "<mark>रमेश</mark> <mark>यादव</mark>" in html
    # and a Devanagari query its Latin spelling: both scripts meet on the key
    _, html = make_snippet("Accused Ramesh Yadav arrested", parse_query("रमेश"))
    assert "<mark>Ramesh</mark> Yadav" in html


def test_crime_number_in_any_form_is_marked():
    for typed in ["मु0अ0सं0 123/2019", "मु०अ०सं० १२३/२०१९", "123/2019"]:
        _, html = make_snippet(PAGE, parse_query(typed))
        assert "<mark>123/2019</mark>" in html
    _, html = make_snippet(PAGE, parse_query("मु0अ0सं0"))
    assert "<mark>मु0</mark> <mark>अ0</mark> <mark>सं0</mark>" in html


def test_vehicle_number_and_prefix_marked():
    _, html = make_snippet(PAGE, parse_query("up 78 ab 1234"))
    assert "<mark>UP78AB1234</mark>" in html
    _, html = make_snippet(PAGE, parse_query("बहादु*"))
    assert "<mark>बहादुरपुर</mark>" in html


def test_untrusted_text_is_escaped():
    text = 'रमेश <script>alert("x")</script> & <img src=x onerror=alert(1)> यादव'
    plain, html = make_snippet(text, parse_query("रमेश script"))
    assert "<script>" not in html and "<img" not in html
    assert "&lt;script&gt;" in html and "&amp;" in html and "&quot;" in html
    assert "<mark>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;</mark>" in html
    assert "<script>" in plain  # plain text is the text; escaping is the HTML's job


def test_html_in_query_cannot_inject():
    _, html = make_snippet("abc <b>def</b>", parse_query("<b>"))
    assert "<b>" not in html
    assert html.replace("<mark>", "").replace("</mark>", "") == "abc &lt;b&gt;def&lt;/b&gt;"


def test_no_match_gives_start_of_page():
    plain, html = make_snippet(PAGE, parse_query("xyzzy"), width=60)
    assert plain.startswith("यह पत्र थाना")
    assert plain.endswith(ELLIPSIS)
    assert "<mark>" not in html
    plain, _ = make_snippet("छोटा पन्ना", parse_query(""))
    assert plain == "छोटा पन्ना"


def test_whitespace_collapsed_and_empty_text():
    plain, html = make_snippet("रमेश\n\n   यादव\tगया", parse_query("यादव"))
    assert plain == "रमेश यादव गया"
    assert html == "रमेश <mark>यादव</mark> गया"
    assert make_snippet("", parse_query("x")) == ("", "")
    assert make_snippet("   \n", parse_query("x")) == ("", "")


def test_very_long_word_is_clipped():
    plain, _ = make_snippet("x" * 1000, parse_query("y"), width=50)
    assert len(plain) <= 52


REGISTER = (
    "थाना तिर्वा अपराध रजिस्टर वर्ष २०१९\n"
    "२२४० २२४०/२०१९ ३७९ भादवि वादी- सुरेश यादव पुत्र राम यादव दिनांक ०३-०६-२०१९\n"
    "२४१ २२४१/२०१९ ३२३ भादवि वादी- महेश यादव पुत्र श्याम ०५-०६-२०१९\n"
    "245 245/2019 379 भादवि वादी- रमेश यादव पुत्र किशन यादव 07-06-2019\n"
    "२४६ २४६/२०१९ ३८० भादवि वादी- रमेश कुमार पुत्र दिनेश यादव ०९-०६-२०१९\n"
)


def _marked(html: str) -> list[str]:
    import re

    return re.findall(r"<mark>(.*?)</mark>", html)


def test_a_crime_number_marks_its_reading_not_every_number_of_its_year():
    # issue 11: "मु0अ0सं0 245/2019" marked २०१९, २२४१/२०१९ and ०३-०६-२०१९
    for typed in ["मु0अ0सं0 245/2019", "245/19", "अपराध संख्या 245 सन 2019"]:
        _, html = make_snippet(REGISTER, parse_query(typed))
        assert _marked(html) == ["245/2019"], typed


def test_a_name_marks_where_its_words_stand_together():
    # issue 11: "रमेश यादव" marked only यादव, on other Yadavs
    _, html = make_snippet(REGISTER, parse_query("रमेश यादव"), width=400)
    assert _marked(html) == ["रमेश", "यादव"]
    _, html = make_snippet(REGISTER, parse_query("Ramesh Yadav"), width=400)
    assert _marked(html) == ["रमेश", "यादव"]


def test_a_word_alone_marks_every_place():
    _, html = make_snippet(REGISTER, parse_query("यादव"), width=400)
    assert _marked(html) == ["यादव"] * 6


def test_the_snippet_starts_at_the_row_of_the_match():
    plain, _ = make_snippet(REGISTER, parse_query("245/2019"), width=120)
    assert plain.lstrip(ELLIPSIS).startswith("245 245/2019")


def test_a_code_marks_its_reading_even_when_ocr_split_it():
    text = "वाहन UP 76 TA 5601 इंजन HAIOEJ 0444777 चेसिस MBLHATOAUUR81501 मोबाइल 98765 43210"
    _, html = make_snippet(text, parse_query("HA10EJ0444777"))
    assert _marked(html) == ["HAIOEJ", "0444777"]
    _, html = make_snippet(text, parse_query("MBLHA10AUUR81501"))
    assert _marked(html) == ["MBLHATOAUUR81501"]
    _, html = make_snippet(text, parse_query("9876543210"))
    assert _marked(html) == ["98765", "43210"]
