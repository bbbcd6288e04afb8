import json
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from worker.articles import ArticleRecord, RecordError, parse_html_page

PARIS_WINTER = timezone(timedelta(hours=1))
SITE = "https://www.lequotidien.example"
ARTICLE_URL = f"{SITE}/politique/2026/11/24/budget-2027-assemblee-adopte-premiere-partie"
PARAGRAPH = (
    "Les députés ont adopté dans la nuit la première partie du projet de loi de finances, "
    "au terme d’une séance marquée par de nombreuses suspensions et des débats très vifs "
    "sur la fiscalité des entreprises et des ménages les plus aisés."
)


def page(head: str = "", body: str = f"<article><p>{PARAGRAPH}</p></article>") -> str:
    return (
        f'<!DOCTYPE html><html lang="fr"><head><meta charset="utf-8">{head}</head>'
        f"<body>{body}</body></html>"
    )


def json_ld(document: Any) -> str:
    return f'<script type="application/ld+json">{json.dumps(document, ensure_ascii=False)}</script>'


def og(prop: str, content: str) -> str:
    return f'<meta property="{prop}" content="{content}">'


def test_article_page_with_json_ld_and_open_graph(fixture_bytes: Callable[[str], bytes]) -> None:
    result = parse_html_page(fixture_bytes("article_fr.html"), "article_fr.html")

    assert result.errors == []
    [record] = result.records
    assert record == ArticleRecord(
        url=ARTICLE_URL,
        title="Budget 2027\u202f: l’Assemblée adopte la première partie du texte",
        summary="Après «\u00a0une nuit de tractations\u00a0», les députés ont voté la partie "
        "recettes du projet de loi de finances 🗳️.",
        body=record.body,
        author="Émilie Durand, Karim Benali",
        published_at=datetime(2026, 11, 24, 7, 45, tzinfo=PARIS_WINTER),
        tags=("budget", "Assemblée nationale", "49.3"),
        section="Politique",
        image_url=f"{SITE}/images/2026/11/hemicycle.jpg",
        language="fr-FR",
    )


def test_main_text_keeps_typography_and_drops_page_furniture(
    fixture_bytes: Callable[[str], bytes],
) -> None:
    [record] = parse_html_page(fixture_bytes("article_fr.html"), "article_fr.html").records

    assert record.body.startswith("Les députés ont adopté dans la nuit de lundi à mardi")
    assert "«\u00a0C’est une étape, pas une victoire\u00a0», a reconnu la ministre" in record.body
    assert "Les débats s’annoncent longs\u202f: plus de 3 000 amendements" in record.body
    for furniture in ("Partager", "Facebook", "Twitter", "LinkedIn", "À lire aussi", "Accueil"):
        assert furniture not in record.body
    assert "Tous droits réservés" not in record.body


def test_html_entities_for_spaces_survive_in_main_text() -> None:
    body = f"<article><p>{PARAGRAPH} «&nbsp;Non&#160;», dit-il&#x202F;!</p></article>"

    head = og("og:type", "article") + og("og:title", "T")

    [record] = parse_html_page(page(head, body).encode(), "s", ARTICLE_URL).records

    assert record.body.endswith("«\u00a0Non\u00a0», dit-il\u202f!")


def test_homepage_is_not_an_article(fixture_bytes: Callable[[str], bytes]) -> None:
    result = parse_html_page(fixture_bytes("homepage.html"), "https://www.lequotidien.example/")

    assert result.records == []
    [error] = result.errors
    assert (error.source, error.record, error.field) == (
        "https://www.lequotidien.example/",
        "page",
        None,
    )
    assert error.message.startswith("not an article page")


def test_open_graph_alone_fills_the_record() -> None:
    head = "".join(
        [
            og("og:type", "article"),
            og("og:title", "Retraites : «\u00a0le débat continue\u00a0»"),
            og("og:description", "Le Sénat reprend l’examen du texte."),
            og("og:url", "/politique/retraites"),
            og("og:image", "/images/senat.jpg"),
            og("og:locale", "fr_FR"),
            og("article:published_time", "2026-11-23T18:00:00+01:00"),
            og("article:section", "Politique"),
            og("article:tag", "retraites"),
            og("article:tag", "Sénat"),
        ]
    )

    result = parse_html_page(page(head).encode(), "s", url=f"{SITE}/politique/retraites?utm=x")

    assert result.errors == []
    [record] = result.records
    assert record.url == f"{SITE}/politique/retraites"
    assert record.title == "Retraites : «\u00a0le débat continue\u00a0»"
    assert record.summary == "Le Sénat reprend l’examen du texte."
    assert record.image_url == f"{SITE}/images/senat.jpg"
    assert record.language == "fr-FR"
    assert record.published_at == datetime(2026, 11, 23, 18, tzinfo=PARIS_WINTER)
    assert record.section == "Politique"
    assert record.tags == ("retraites", "Sénat")
    assert record.body == PARAGRAPH


def test_url_falls_back_to_canonical_then_fetch_address() -> None:
    head = og("og:type", "article") + og("og:title", "Titre")
    canonical = f'<link rel="canonical" href="{SITE}/canonique">'

    with_canonical = parse_html_page(page(head + canonical).encode(), "s", url=f"{SITE}/x?a=1")
    fetched_only = parse_html_page(page(head).encode(), "s", url=f"{SITE}/x?a=1")

    assert with_canonical.records[0].url == f"{SITE}/canonique"
    assert fetched_only.records[0].url == f"{SITE}/x?a=1"


def test_article_without_any_url_is_an_error() -> None:
    result = parse_html_page(
        page(og("og:type", "article") + og("og:title", "T")).encode(), "f.html"
    )

    assert result.records == []
    assert [(e.source, e.record, e.field) for e in result.errors] == [("f.html", "page", "url")]


def test_article_heading_alone_makes_an_article() -> None:
    body = f"<article><h1>Un titre d’article</h1><p>{PARAGRAPH}</p></article>"

    [record] = parse_html_page(page(body=body).encode(), "s", url=ARTICLE_URL).records

    assert record.title == "Un titre d’article"
    assert record.language == "fr"  # from <html lang>


@pytest.mark.parametrize(
    ("extra", "field", "expected"),
    [
        ({"author": "Émilie Durand"}, "author", "Émilie Durand"),
        ({"author": {"@type": "Person", "name": "Émilie Durand"}}, "author", "Émilie Durand"),
        (
            {"author": [{"name": "A. Martin"}, {"name": "B. Nguyen"}, {"name": "A. Martin"}]},
            "author",
            "A. Martin, B. Nguyen",
        ),
        ({"image": f"{SITE}/a.jpg"}, "image_url", f"{SITE}/a.jpg"),
        ({"image": [f"{SITE}/a.jpg", f"{SITE}/b.jpg"]}, "image_url", f"{SITE}/a.jpg"),
        ({"image": {"@type": "ImageObject", "url": "/a.jpg"}}, "image_url", f"{SITE}/a.jpg"),
        ({"keywords": ["budget", "Sénat"]}, "tags", ("budget", "Sénat")),
        ({"keywords": "budget , Sénat,"}, "tags", ("budget", "Sénat")),
        ({"articleSection": ["Politique", "Économie"]}, "section", "Politique"),
        ({"inLanguage": {"@type": "Language", "alternateName": "en"}}, "language", "en"),
        ({"mainEntityOfPage": f"{SITE}/main"}, "url", f"{SITE}/main"),
        ({"url": f"{SITE}/ld", "mainEntityOfPage": f"{SITE}/main"}, "url", f"{SITE}/ld"),
    ],
)
def test_json_ld_value_shapes(extra: dict[str, Any], field: str, expected: object) -> None:
    document = {"@context": "https://schema.org", "@type": "NewsArticle", "headline": "T", **extra}

    result = parse_html_page(page(json_ld(document)).encode(), "s", url=f"{SITE}/fetched")

    assert result.errors == []
    assert getattr(result.records[0], field) == expected


@pytest.mark.parametrize(
    "type_", ["Article", "AnalysisNewsArticle", ["WebPage", "ReportageNewsArticle"], "BlogPosting"]
)
def test_article_types_are_recognised(type_: object) -> None:
    document = [
        {"@type": "Organization", "name": "Le Quotidien"},
        {"@type": type_, "headline": "T"},
    ]

    result = parse_html_page(page(json_ld(document)).encode(), "s", url=ARTICLE_URL)

    assert [record.title for record in result.records] == ["T"]


def test_broken_json_ld_block_does_not_hide_the_others() -> None:
    head = '<script type="application/ld+json">{"@type": "NewsArticle", oops</script>' + json_ld(
        {"@type": "NewsArticle", "headline": "Le bon bloc"}
    )

    [record] = parse_html_page(page(head).encode(), "s", url=ARTICLE_URL).records

    assert record.title == "Le bon bloc"


@pytest.mark.parametrize("date", ["2026-11-24", "2026-11-24T07:45:00", "hier soir"])
def test_unusable_date_is_an_error_naming_the_field(date: str) -> None:
    document = {"@type": "NewsArticle", "headline": "T", "datePublished": date}

    result = parse_html_page(page(json_ld(document)).encode(), "p.html", url=ARTICLE_URL)

    assert result.records == []
    assert result.errors == [
        RecordError(
            "p.html",
            f"page ({ARTICLE_URL})",
            "datePublished",
            f"expected an ISO 8601 date-time with UTC offset, got {date!r}",
        )
    ]


def test_declared_latin1_charset_is_honoured() -> None:
    html = page(og("og:type", "article") + og("og:title", "Élection à l’Élysée ?"))
    data = (
        html.replace("’", "'").replace('charset="utf-8"', 'charset="iso-8859-1"').encode("latin-1")
    )

    [record] = parse_html_page(data, "s", url=ARTICLE_URL).records

    assert record.title == "Élection à l'Élysée ?"
    assert record.body == PARAGRAPH.replace("’", "'")


def test_latin1_label_is_read_as_windows_1252_like_browsers() -> None:
    html = page(og("og:type", "article") + og("og:title", "L’Élysée « répond »"))
    data = html.replace('charset="utf-8"', 'charset="ISO-8859-1"').encode("cp1252")

    [record] = parse_html_page(data, "s", url=ARTICLE_URL).records

    assert record.title == "L’Élysée « répond »"


def test_http_equiv_charset_is_honoured() -> None:
    html = page(og("og:type", "article") + og("og:title", "Élection")).replace(
        '<meta charset="utf-8">',
        '<meta http-equiv="Content-Type" content="text/html; charset=windows-1252">',
    )

    [record] = parse_html_page(html.encode("cp1252"), "s", url=ARTICLE_URL).records

    assert record.title == "Élection"


def test_utf8_page_without_charset_keeps_its_accents() -> None:
    html = page(og("og:type", "article") + og("og:title", "Élection à l’Élysée 🗳️"))
    data = html.replace('<meta charset="utf-8">', "").encode()

    [record] = parse_html_page(data, "s", url=ARTICLE_URL).records

    assert record.title == "Élection à l’Élysée 🗳️"
    assert record.body == PARAGRAPH


def test_xhtml_with_xml_declaration() -> None:
    data = (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        + page(og("og:type", "article") + og("og:title", "Été"))
    ).encode()

    [record] = parse_html_page(data, "s", url=ARTICLE_URL).records

    assert record.title == "Été"


def test_empty_document() -> None:
    assert parse_html_page(b"", "empty.html").errors == [
        RecordError("empty.html", "page", None, "not an HTML page: Document is empty")
    ]
