import json
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from worker.articles import RecordError, SourceError, parse_source, read_source

SITE = "https://www.lequotidien.example"
ARTICLE = {"url": f"{SITE}/politique/a", "title": "L’Assemblée «\u00a0vote\u00a0»"}
JSON_BYTES = json.dumps([ARTICLE], ensure_ascii=False).encode()
RSS_BYTES = (
    b'<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel><title>x</title>'
    b"<item><title>Depuis le flux</title><link>https://www.lequotidien.example/f</link></item>"
    b"</channel></rss>"
)


@pytest.fixture
def client_for() -> Iterator[Callable[[httpx.MockTransport], httpx.Client]]:
    clients: list[httpx.Client] = []

    def make(transport: httpx.MockTransport) -> httpx.Client:
        clients.append(httpx.Client(transport=transport, timeout=5))
        return clients[-1]

    yield make
    for client in clients:
        client.close()


def serving(body: bytes, content_type: str | None, status: int = 200) -> httpx.MockTransport:
    headers = {"content-type": content_type} if content_type else {}
    return httpx.MockTransport(
        lambda request: httpx.Response(status, headers=headers, content=body)
    )


def raising(exc: Exception) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc

    return httpx.MockTransport(handler)


def test_local_file_is_read(tmp_path: Path, client_for: Callable[..., httpx.Client]) -> None:
    path = tmp_path / "export.json"
    path.write_bytes(JSON_BYTES)
    client = client_for(raising(AssertionError("no network for files")))

    assert read_source(str(path), client) == (JSON_BYTES, "", str(path))
    result = parse_source(str(path), client)

    assert result.errors == []
    assert [record.title for record in result.records] == ["L’Assemblée «\u00a0vote\u00a0»"]


def test_missing_file(tmp_path: Path, client_for: Callable[..., httpx.Client]) -> None:
    missing = str(tmp_path / "absent.json")
    client = client_for(raising(AssertionError("no network for files")))

    with pytest.raises(SourceError) as raised:
        read_source(missing, client)
    assert raised.value.source == missing
    assert raised.value.message == "cannot read file: No such file or directory"
    assert parse_source(missing, client).errors == [
        RecordError(missing, "source", None, "cannot read file: No such file or directory")
    ]


@pytest.mark.parametrize(
    ("body", "content_type", "path", "title"),
    [
        (
            JSON_BYTES,
            "application/json; charset=utf-8",
            "/api/articles",
            "L’Assemblée «\u00a0vote\u00a0»",
        ),
        (RSS_BYTES, "application/rss+xml", "/rss", "Depuis le flux"),
        (RSS_BYTES, "text/xml", "/politique/feed/", "Depuis le flux"),  # generic type: sniffed
        (JSON_BYTES, "application/octet-stream", "/export.json", "L’Assemblée «\u00a0vote\u00a0»"),
        (JSON_BYTES, "application/json", "/export.xml", "L’Assemblée «\u00a0vote\u00a0»"),
        (JSON_BYTES, None, "/export", "L’Assemblée «\u00a0vote\u00a0»"),
    ],
)
def test_format_is_detected(
    body: bytes,
    content_type: str | None,
    path: str,
    title: str,
    client_for: Callable[..., httpx.Client],
) -> None:
    client = client_for(serving(body, content_type))

    result = parse_source(SITE + path, client)

    assert result.errors == []
    assert [record.title for record in result.records] == [title]


def test_html_page_uses_final_url_after_redirect(
    fixture_bytes: Callable[[str], bytes], client_for: Callable[..., httpx.Client]
) -> None:
    page = fixture_bytes("article_fr.html").replace(b'property="og:url"', b'property="og:x"')
    page = page.replace(b'rel="canonical"', b'rel="alternate"').replace(b"mainEntityOfPage", b"x")

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/court":
            return httpx.Response(301, headers={"location": f"{SITE}/politique/long"})
        return httpx.Response(
            200, headers={"content-type": "text/html; charset=utf-8"}, content=page
        )

    client = client_for(httpx.MockTransport(handler))

    data, content_type, final = read_source(f"{SITE}/court", client)
    result = parse_source(f"{SITE}/court", client)

    assert (data, content_type, final) == (
        page,
        "text/html; charset=utf-8",
        f"{SITE}/politique/long",
    )
    assert result.errors == []
    assert result.records[0].url == f"{SITE}/politique/long"
    assert result.records[0].title.startswith("Budget 2027\u202f: l’Assemblée")


@pytest.mark.parametrize(
    ("transport", "message"),
    [
        (serving(b"not here", "text/html", status=404), "HTTP 404 Not Found"),
        (serving(b"oops", "text/html", status=503), "HTTP 503 Service Unavailable"),
        (
            raising(httpx.ConnectError("[Errno -2] Name or service not known")),
            "cannot connect: [Errno -2] Name or service not known",
        ),
        (raising(httpx.ReadTimeout("")), "timed out: ReadTimeout"),
    ],
)
def test_unreadable_url_is_one_error(
    transport: httpx.MockTransport, message: str, client_for: Callable[..., httpx.Client]
) -> None:
    source = f"{SITE}/flux.xml"
    client = client_for(transport)

    with pytest.raises(SourceError) as raised:
        read_source(source, client)
    assert raised.value.message == message
    assert str(raised.value) == f"{source}: {message}"
    assert parse_source(source, client).errors == [RecordError(source, "source", None, message)]


def test_unsupported_scheme(client_for: Callable[..., httpx.Client]) -> None:
    client = client_for(raising(AssertionError("not fetched")))

    result = parse_source("ftp://www.lequotidien.example/export.json", client)

    assert [(e.record, e.message) for e in result.errors] == [
        ("source", "unsupported URL scheme 'ftp': use http(s) or a file path")
    ]


@pytest.mark.parametrize(
    ("content", "expected_title"),
    [
        (b'\xef\xbb\xbf  \n[{"url": "https://a.example/x", "title": "JSON"}]', "JSON"),
        (
            b'<?xml version="1.0"?>\n<!-- flux -->\n<feed xmlns="http://www.w3.org/2005/Atom">'
            b'<title>x</title><entry><title>Atom</title><link href="https://a.example/x"/>'
            b"<id>1</id></entry></feed>",
            "Atom",
        ),
        (
            b'\n<!DOCTYPE html>\n<html><head><meta property="og:type" content="article">'
            b'<meta property="og:title" content="HTML">'
            b'<meta property="og:url" content="https://a.example/x"></head><body></body></html>',
            "HTML",
        ),
    ],
)
def test_format_is_sniffed_without_type_or_extension(
    content: bytes,
    expected_title: str,
    tmp_path: Path,
    client_for: Callable[..., httpx.Client],
) -> None:
    path = tmp_path / "export"
    path.write_bytes(content)

    result = parse_source(str(path), client_for(raising(AssertionError("not fetched"))))

    assert result.errors == []
    assert [record.title for record in result.records] == [expected_title]


def test_undetectable_format(client_for: Callable[..., httpx.Client]) -> None:
    client = client_for(serving(b"title,url\nx,y\n", "text/plain"))

    result = parse_source(f"{SITE}/export", client)

    assert result.records == []
    assert result.errors == [
        RecordError(
            f"{SITE}/export",
            "source",
            None,
            "unrecognised format (content type 'text/plain'): expected JSON, RSS/Atom or HTML",
        )
    ]
