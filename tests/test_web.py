"""The officers' web page, against the real embedded index and store.

The fixtures here (users, a logged-in client) are shared by test_auth.py, test_audit.py
and test_browser.py.
"""

from __future__ import annotations

import hashlib
import io
import re
from pathlib import Path

import pikepdf
import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient

from abhilekh.records import BundleMetadata, SearchDocument
from abhilekh.settings import Settings
from access import users as web_users
from storage.bundles import Manifest, SourceFile, pdf_key, save_manifest
from storage.local import LocalStore
from web.app import create_app

# Cheap hashing for tests only (production keeps argon2-cffi's RFC 9106 defaults).
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
PASSWORDS = {"admin": "admin-pass-1", "ram": "ram-pass-12", "sita": "sita-pass-12",
             "op": "op-pass-123"}


def _bundle_id(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()


GD = _bundle_id("gd-chhibramau-2019")  # has a PDF and a manifest
CR = _bundle_id("cr-kannauj-2018")
XSS = _bundle_id("xss")
MISSING = _bundle_id("never-stored")

CHHIBRAMAU = BundleMetadata(
    thana="छिबरामऊ", register="जी0डी0", year=2019, file_no="GD-12", title="जनरल डायरी 2019"
)
KANNAUJ = BundleMetadata(
    thana="कन्नौज", register="अपराध रजिस्टर", year=2018, file_no="CR-7", title="अपराध रजिस्टर 2018"
)


def _docs() -> list[SearchDocument]:
    docs = [
        SearchDocument(
            GD, 1, "वादी रमेश यादव पुत्र श्याम लाल निवासी ग्राम बरौली थाना छिबरामऊ ने सूचना दी",
            CHHIBRAMAU, confidence=91.0,
        ),
        SearchDocument(
            GD, 2, "मु0अ0सं0 123/2019 धारा 379 भादवि मोटरसाइकिल UP 78 AB 1234 चोरी",
            CHHIBRAMAU, confidence=42.0, needs_review=True,
        ),
        SearchDocument(
            CR, 1, "अभियुक्त सुरेश कुमार के विरुद्ध धारा 379 में मुकदमा पंजीकृत",
            KANNAUJ, confidence=88.0,
        ),
        SearchDocument(
            XSS, 1, "<script>alert(1)</script> चोरी की रिपोर्ट", KANNAUJ, confidence=80.0
        ),
    ]
    # Many pages of one register mentioning the same word, for pagination.
    docs += [
        SearchDocument(
            CR, page, f"पृष्ठ {page} गश्त रवाना हमराह कांस्टेबल", KANNAUJ, confidence=75.0
        )
        for page in range(2, 25)
    ]
    return docs


def _pdf(pages: int = 2) -> bytes:
    pdf = pikepdf.new()
    for _ in range(pages):
        pdf.add_blank_page(page_size=(595, 842))
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


@pytest.fixture(autouse=True)
def fast_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(web_users, "HASHER", FAST_HASHER)


def make_users(settings: Settings) -> None:
    """admin: everything; ram: officer of छिबरामऊ; sita: officer of both stations;
    op: operator without stations."""
    users = web_users.UserStore(settings.users_path)
    try:
        users.add("admin", "admin", PASSWORDS["admin"])
        users.add("ram", "officer", PASSWORDS["ram"], ["छिबरामऊ"])
        users.add("sita", "officer", PASSWORDS["sita"], ["छिबरामऊ", "कन्नौज"])
        users.add("op", "operator", PASSWORDS["op"])
    finally:
        users.close()


def login(client: TestClient, name: str) -> TestClient:
    r = client.post("/api/login", json={"username": name, "password": PASSWORDS[name]})
    assert r.status_code == 200, r.text
    return client


@pytest.fixture
def home(tmp_path: Path) -> Settings:
    from search.sqlite import SqliteIndex

    settings = Settings(home=tmp_path / "home", es_url=None, s3_endpoint=None, database_url=None)
    settings.home.mkdir(parents=True)
    index = SqliteIndex(settings.index_path)
    try:
        index.index(_docs())
    finally:
        index.close()

    store = LocalStore(settings.store_dir)
    store.put(pdf_key(GD), _pdf(2), "application/pdf")
    save_manifest(
        store,
        Manifest(
            bundle_id=GD,
            metadata=CHHIBRAMAU,
            sources=[SourceFile("gd-001.tif", "0" * 64, 1000, pages=2)],
            page_count=2,
            page_confidence=[91.0, 42.0],
            needs_review=[2],
            versions={"tesseract": "5.3.0"},
            created_at="2024-01-01T00:00:00+00:00",
        ),
    )
    store.put(pdf_key(CR), _pdf(24), "application/pdf")
    save_manifest(
        store,
        Manifest(
            bundle_id=CR,
            metadata=KANNAUJ,
            sources=[SourceFile("cr-001.pdf", "1" * 64, 1000, pages=24)],
            page_count=24,
            page_confidence=[88.0] + [75.0] * 23,
            needs_review=[],
            versions={"tesseract": "5.3.0"},
            created_at="2024-01-01T00:00:00+00:00",
        ),
    )
    make_users(settings)
    return settings


@pytest.fixture
def anon(home: Settings):
    """A client without a session."""
    with TestClient(create_app(home)) as c:
        yield c


@pytest.fixture
def client(anon: TestClient) -> TestClient:
    """Logged in as the admin: sees every station."""
    return login(anon, "admin")


def _hit_blocks(html: str) -> list[str]:
    return re.findall(r'<li class="hit[^"]*">(.*?)</li>', html, flags=re.S)


def test_empty_page_is_bilingual_and_offers_examples(client: TestClient) -> None:
    r = client.get("/")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert "charset=utf-8" in r.headers["content-type"]
    html = r.text
    assert '<html lang="hi">' in html
    for hindi, english in [("खोजें", "Search"), ("थाना", "Police station"),
                           ("रजिस्टर", "Register"), ("वर्ष", "Year")]:
        assert hindi in html and english in html
    # Example queries are links that run the search.
    assert 'href="/?q=%E0%A4%B0%E0%A4%AE%E0%A5%87%E0%A4%B6+' in html  # रमेश यादव
    assert "मु0अ0सं0 123/2019" in html and "UP 78 AB 1234" in html
    # Nothing loads from outside: the network is closed and CSP forbids it.
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)


def test_hindi_query_finds_the_page_with_highlight(client: TestClient) -> None:
    html = client.get("/", params={"q": "रमेश यादव"}).text
    hits = _hit_blocks(html)
    assert len(hits) == 1
    hit = hits[0]
    assert "<mark>" in hit and "रमेश" in hit
    assert f'href="/bundles/{GD}/document.pdf?page=1#page=1"' in hit
    # The viewer link carries the query, so the viewer can box it on the page.
    q = "%E0%A4%B0%E0%A4%AE%E0%A5%87%E0%A4%B6+%E0%A4%AF%E0%A4%BE%E0%A4%A6%E0%A4%B5"
    assert f'href="/bundles/{GD}/pages/1?q={q}&amp;back=%2F%3Fq%3D{q.replace("%", "%25").replace("+", "%2B")}"' in hit
    assert f'src="/bundles/{GD}/pages/1/thumb.jpg"' in hit
    assert "पृष्ठ खोलें" in hit and "Open page" in hit
    assert "छिबरामऊ" in hit and "GD-12" in hit and "जनरल डायरी 2019" in hit
    assert "परिणाम" in html and "Results" in html


def test_low_confidence_hit_is_flagged_for_review(client: TestClient) -> None:
    hits = _hit_blocks(client.get("/", params={"q": "मोटरसाइकिल"}).text)
    assert len(hits) == 1
    assert "समीक्षा हेतु" in hits[0] and "needs review" in hits[0]
    assert "#page=2" in hits[0]
    good = _hit_blocks(client.get("/", params={"q": "रमेश"}).text)
    assert "समीक्षा हेतु" not in good[0]


def test_no_results_says_so(client: TestClient) -> None:
    html = client.get("/", params={"q": "नामौजूदशब्द"}).text
    assert "कोई परिणाम नहीं" in html and "No results" in html
    assert _hit_blocks(html) == []


def test_a_query_that_finds_nothing_offers_the_indexed_spelling(client: TestClient) -> None:
    body = client.get("/api/search", params={"q": "श्यान"}).json()  # म typed as न
    assert body["total"] == 0 and body["did_you_mean"] == "श्याम"
    html = client.get("/", params={"q": "श्यान"}).text
    link = re.search(r'id="did-you-mean" href="([^"]+)">([^<]+)<', html)
    assert link and link.group(2) == "श्याम"
    assert _hit_blocks(client.get(link.group(1).replace("&amp;", "&")).text)


def test_ocr_text_and_query_echo_are_escaped(client: TestClient) -> None:
    html = client.get("/", params={"q": "alert"}).text
    assert len(_hit_blocks(html)) == 1
    assert "<script>alert" not in html
    assert "&lt;script&gt;" in html
    # The officer's own query is echoed, escaped, in the box and the summary.
    evil = '"><script>alert(2)</script>'
    html = client.get("/", params={"q": evil}).text
    assert "<script>alert(2)" not in html
    assert "&#34;&gt;&lt;script&gt;alert(2)" in html or "&quot;&gt;&lt;script&gt;" in html
    assert "<script" not in html.replace('<script src="/static/app.js" defer></script>', "")


def test_filter_narrows_and_facets_show_counts(client: TestClient) -> None:
    html = client.get("/", params={"q": "धारा 379"}).text
    assert len(_hit_blocks(html)) == 2
    assert re.search(r">छिबरामऊ \(1\)</option>", html)
    assert re.search(r">कन्नौज \(1\)</option>", html)
    assert re.search(r">2019 \(1\)</option>", html) and re.search(r">2018 \(1\)</option>", html)

    html = client.get("/", params={"q": "धारा 379", "thana": "कन्नौज"}).text
    hits = _hit_blocks(html)
    assert len(hits) == 1 and "सुरेश" in hits[0]
    assert re.search(r'<option value="कन्नौज" selected>', html)

    hits = _hit_blocks(client.get("/", params={"q": "धारा 379", "year": "2019"}).text)
    assert len(hits) == 1 and "123/2019" in hits[0]
    # An empty filter (the "All" option) means no filter, not an error.
    r = client.get("/", params={"q": "धारा 379", "thana": "", "register": "", "year": ""})
    assert r.status_code == 200 and len(_hit_blocks(r.text)) == 2


def test_pagination(client: TestClient) -> None:
    first = client.get("/", params={"q": "गश्त"}).text
    assert len(_hit_blocks(first)) == 10
    assert "<strong>23</strong>" in first
    assert 'rel="next" href="/?q=%E0%A4%97%E0%A4%B6%E0%A5%8D%E0%A4%A4&amp;offset=10"' in first
    assert 'rel="prev"' not in first

    last = client.get("/", params={"q": "गश्त", "offset": "20"}).text
    assert len(_hit_blocks(last)) == 3
    assert 'rel="prev"' in last and 'rel="next"' not in last
    assert "3 / 3" in last

    pages_seen: set[str] = set()
    for offset in (0, 10, 20):
        html = client.get("/", params={"q": "गश्त", "offset": offset}).text
        pages_seen |= set(re.findall(r"document\.pdf\?page=(\d+)#page=", html))
    assert len(pages_seen) == 23

    small = client.get("/", params={"q": "गश्त", "limit": "5"}).text
    assert len(_hit_blocks(small)) == 5
    # Nonsense numbers fall back to defaults instead of failing.
    r = client.get("/", params={"q": "गश्त", "limit": "abc", "offset": "-4"})
    assert r.status_code == 200 and len(_hit_blocks(r.text)) == 10


def test_pdf_opens_inline(client: TestClient) -> None:
    r = client.get(f"/bundles/{GD}/document.pdf")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/pdf"
    assert r.headers["content-disposition"].startswith("inline")
    assert r.content.startswith(b"%PDF")
    assert len(pikepdf.open(io.BytesIO(r.content)).pages) == 2


@pytest.mark.parametrize(
    "path",
    [
        f"/bundles/{MISSING}/document.pdf",
        f"/bundles/{GD.upper()}/document.pdf",
        "/bundles/xyz/document.pdf",
        f"/bundles/{GD}0/document.pdf",  # 65 hex digits
        "/bundles/..%2f..%2fetc%2fpasswd/document.pdf",
        "/bundles/..%2fmanifest.json/document.pdf",
        f"/bundles/..%2f{GD}/document.pdf",
        "/bundles/%2e%2e/document.pdf",
        f"/bundles/{MISSING}",
        "/bundles/..%2f..",
    ],
)
def test_unknown_or_invalid_bundle_is_a_bilingual_404(client: TestClient, path: str) -> None:
    r = client.get(path)
    assert r.status_code == 404
    assert "%PDF" not in r.text and "root:" not in r.text
    assert "नहीं मिल" in r.text
    assert "No such bundle" in r.text or "Page not found" in r.text


def test_bundle_page_lists_pages(client: TestClient) -> None:
    r = client.get(f"/bundles/{GD}")
    assert r.status_code == 200
    html = r.text
    assert "जनरल डायरी 2019" in html and "छिबरामऊ" in html and "GD-12" in html
    assert f'href="/bundles/{GD}/document.pdf?page=1#page=1"' in html
    assert f'href="/bundles/{GD}/pages/2"' in html
    assert f'href="/bundles/{GD}/document.pdf?download=1"' in html
    assert "समीक्षा हेतु" in html and "needs review" in html


def test_api_search_shape(client: TestClient) -> None:
    r = client.get("/api/search", params={"q": "धारा 379", "limit": 1})
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"total", "hits", "facets", "did_you_mean"}
    assert body["total"] == 2 and len(body["hits"]) == 1
    hit = body["hits"][0]
    assert set(hit) == {
        "bundle_id", "page", "score", "snippet", "snippet_html", "metadata", "confidence", "pdf",
        "thumbnail", "near",
    }
    assert hit["near"] is False and body["did_you_mean"] is None
    b, n = hit["bundle_id"], hit["page"]
    assert hit["pdf"] == f"/bundles/{b}/document.pdf?page={n}#page={n}"
    assert hit["thumbnail"] == f"/bundles/{b}/pages/{n}/thumb.jpg"
    assert "<mark>" in hit["snippet_html"]
    assert set(hit["metadata"]) >= {"thana", "register", "year", "file_no", "title"}
    assert body["facets"]["thana"] == {"छिबरामऊ": 1, "कन्नौज": 1}

    narrowed = client.get("/api/search", params={"q": "धारा 379", "year": "2018"}).json()
    assert narrowed["total"] == 1 and narrowed["hits"][0]["bundle_id"] == CR

    assert client.get("/api/search", params={"q": "x", "limit": 0}).status_code == 422
    assert client.get("/api/search", params={"q": "x", "year": "20x9"}).status_code == 422


def test_openapi_describes_search(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert "/api/search" in spec["paths"]
    params = {p["name"] for p in spec["paths"]["/api/search"]["get"]["parameters"]}
    assert params == {"q", "thana", "register", "year", "limit", "offset"}
    assert "SearchOut" in spec["components"]["schemas"]
    # How API clients authenticate is part of the description.
    assert spec["components"]["securitySchemes"]["APIKeyCookie"]["name"] == "abhilekh_session"
    assert spec["paths"]["/api/search"]["get"]["security"] == [{"APIKeyCookie": []}]
    assert "/api/login" in spec["paths"]


def test_healthz(anon: TestClient, home: Settings) -> None:
    body = anon.get("/healthz").json()
    assert body["ok"] is True  # (where the store and index are: only for admins, test_web_edges.py)


@pytest.mark.parametrize(
    "path", ["/", "/?q=रमेश", f"/bundles/{GD}/document.pdf", "/api/search?q=x",
             "/static/style.css", "/nowhere"]
)
def test_security_headers(client: TestClient, path: str) -> None:
    r = client.get(path)
    csp = r.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'self'" in csp
    assert "object-src 'self'" in csp and "img-src 'self' data:" in csp
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "same-origin"


def test_templates_have_no_inline_script_or_style(client: TestClient) -> None:
    html = client.get("/", params={"q": "धारा 379"}).text
    assert not re.search(r"<script(?![^>]*\bsrc=)", html)
    assert " style=" not in html and "<style" not in html
    assert not re.search(r"<[^>]+\son[a-z]+=", html)


def test_example_queries_find_their_pages(client: TestClient) -> None:
    for query, page in [("मु0अ0सं0 123/2019", 2), ("UP 78 AB 1234", 2), ("Ramesh Yadav", 1)]:
        hits = _hit_blocks(client.get("/", params={"q": query}).text)
        assert hits, query
        assert f'href="/bundles/{GD}/document.pdf?page={page}#page={page}"' in hits[0], query


def test_filter_without_words_browses(client: TestClient) -> None:
    html = client.get("/", params={"thana": "छिबरामऊ"}).text
    assert len(_hit_blocks(html)) == 2 and "<strong>2</strong>" in html
    assert client.get("/api/search", params={"year": "2019"}).json()["total"] == 2
    # Neither words nor filters: the page invites a search and runs none.
    html = client.get("/").text
    assert _hit_blocks(html) == [] and "परिणाम" not in html
