import unicodedata
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from worker.articles import ArticleRecord, RecordError, parse_feed

SAMPLES = Path(__file__).parents[2] / "samples"
GAZETTE = "https://www.gazette-regionale.example/2026/11/24"


def rss(items: str, *, encoding: str = "utf-8", language: str = "fr") -> bytes:
    return (
        f'<?xml version="1.0" encoding="{encoding}"?>\n'
        '<rss version="2.0"><channel><title>Le Quotidien</title>'
        f"<link>https://www.lequotidien.example/</link><language>{language}</language>"
        f"{items}</channel></rss>"
    ).encode(encoding)


def test_latin1_rss_is_decoded_from_its_declaration(
    fixture_bytes: Callable[[str], bytes],
) -> None:
    data = fixture_bytes("feed_latin1.xml")
    assert "é".encode() not in data  # really ISO-8859-1 on disk

    result = parse_feed(data, "feed_latin1.xml")

    assert result.records[0] == ArticleRecord(
        url=f"{GAZETTE}/elections-participation",
        title="Élections régionales : «\u00a0la participation a été très élevée\u00a0»",
        summary="À Rennes, le taux de participation a dépassé 60\u00a0%.\n"
        "Les bureaux de vote ferment à 20 heures.",
        body="<p>À Rennes, le taux de participation <strong>a dépassé</strong> 60\u00a0%.</p>",
        author="Hélène Le Gall",
        published_at=datetime(2026, 11, 24, 7, 30, tzinfo=UTC),
        tags=("élections", "Bretagne"),
        section="",
        image_url="https://www.gazette-regionale.example/img/urnes.jpg",
        language="fr-FR",
    )


def test_entries_without_link_title_or_readable_date_are_errors(
    fixture_bytes: Callable[[str], bytes],
) -> None:
    result = parse_feed(fixture_bytes("feed_latin1.xml"), "feed_latin1.xml")

    assert len(result.records) == 1
    assert result.errors == [
        RecordError("feed_latin1.xml", "entry 2", "link", "is missing"),
        RecordError("feed_latin1.xml", f"entry 3 ({GAZETTE}/sans-titre)", "title", "is missing"),
        RecordError(
            "feed_latin1.xml",
            f"entry 4 ({GAZETTE}/date)",
            "published",
            "unreadable date 'mardi dernier'",
        ),
    ]


def test_windows_1252_rss_is_decoded() -> None:
    item = (
        "<item><title>L’Assemblée vote « à l’arraché » – 5 € par foyer</title>"
        "<link>https://www.lequotidien.example/a</link></item>"
    )

    result = parse_feed(rss(item, encoding="windows-1252"), "cp1252.xml")

    assert result.errors == []
    assert result.records[0].title == "L’Assemblée vote « à l’arraché » – 5 € par foyer"


def test_atom_feed(fixture_bytes: Callable[[str], bytes]) -> None:
    result = parse_feed(fixture_bytes("feed.atom"), "feed.atom")

    assert result.errors == []
    english, french = result.records
    assert english == ArticleRecord(
        url="https://www.lequotidien.example/en/politics/2026/11/24/budget",
        title="French lower house passes first part of 2027 budget",
        summary="Deputies approved the revenue side of the finance bill — 289 votes to 251.",
        body="<p>France’s National Assembly approved the bill.</p>",
        author="Sam Carter, Priya Nair",
        published_at=datetime(2026, 11, 24, 8, 5, tzinfo=UTC),
        tags=("politics", "France"),
        section="",
        image_url="https://www.lequotidien.example/images/2026/11/hemicycle-en-thumb.jpg",
        language="en",
    )
    assert french.title == "Motion de censure\u202f: ce qu’il faut savoir 🗳️"
    assert french.title.encode() == "Motion de censure\u202f: ce qu’il faut savoir 🗳️".encode()
    assert french.language == "fr"
    assert french.summary == ""  # feedparser copies content into summary; not a summary
    assert french.published_at == datetime(2026, 11, 23, 17, 20, tzinfo=UTC)


def test_bundled_sample_feed(fixture_bytes: Callable[[str], bytes]) -> None:
    result = parse_feed((SAMPLES / "feed.xml").read_bytes(), "samples/feed.xml")

    assert result.errors == []
    assert len(result.records) == 2
    first = result.records[0]
    assert first.summary == (
        "Après «\u00a0une nuit de tractations\u00a0», les députés ont voté la partie recettes "
        "du projet de loi de finances."
    )
    assert first.author == "Émilie Durand"
    assert first.image_url.endswith("/hemicycle.jpg")
    assert result.records[1].image_url.endswith("/bancs-gouvernement.jpg")  # enclosure


def test_text_is_normalized_to_nfc() -> None:
    title = unicodedata.normalize("NFD", "Élysée : réunion à l’Hôtel de Matignon")
    item = f"<item><title>{title}</title><link>https://www.lequotidien.example/a</link></item>"

    [record] = parse_feed(rss(item), "s").records

    assert record.title == "Élysée : réunion à l’Hôtel de Matignon"


def test_html_summary_becomes_plain_text_keeping_typography() -> None:
    item = (
        "<item><title>T</title><link>https://www.lequotidien.example/a</link>"
        "<description>&lt;p&gt;«&amp;nbsp;Non&amp;nbsp;», dit-il&amp;#8239;!&lt;/p&gt;"
        "&lt;p&gt;Suite &lt;a href='/x'&gt;ici&lt;/a&gt;&lt;/p&gt;</description></item>"
    )

    [record] = parse_feed(rss(item), "s").records

    assert record.summary == "«\u00a0Non\u00a0», dit-il\u202f!\nSuite ici"


def test_relative_link_without_base_is_an_error() -> None:
    feed = (
        b'<feed xmlns="http://www.w3.org/2005/Atom"><title>x</title>'
        b'<entry><title>T</title><link href="/a"/><id>1</id></entry></feed>'
    )

    result = parse_feed(feed, "s")

    assert result.records == []
    assert [(e.record, e.field) for e in result.errors] == [("entry 1 (/a)", "link")]
    assert "not an absolute http(s) URL" in result.errors[0].message


def test_malformed_xml_is_one_error(fixture_bytes: Callable[[str], bytes]) -> None:
    result = parse_feed(fixture_bytes("malformed_feed.xml"), "malformed_feed.xml")

    assert result.records == []
    [error] = result.errors
    assert (error.source, error.record, error.field) == (
        "malformed_feed.xml",
        "line 7, column 0",
        None,
    )
    assert error.message.startswith("not a valid RSS/Atom feed: ")


def test_html_page_is_not_a_feed(fixture_bytes: Callable[[str], bytes]) -> None:
    result = parse_feed(fixture_bytes("homepage.html"), "homepage.html")

    assert result.records == []
    [error] = result.errors
    assert error.source == "homepage.html"
    assert error.message.startswith("not a valid RSS/Atom feed")


def test_entries_recovered_from_a_small_xml_defect_are_kept() -> None:
    item = "<item><title>Retraites & santé</title><link>https://www.lequotidien.example/a</link>"

    result = parse_feed(rss(item + "</item>"), "s")

    assert [record.title for record in result.records] == ["Retraites & santé"]


def test_empty_feed_is_not_an_error() -> None:
    assert parse_feed(rss(""), "s").records == []
    assert parse_feed(rss(""), "s").errors == []


def test_data_is_never_opened_as_a_path(tmp_path: Path) -> None:
    feed = tmp_path / "feed.xml"
    feed.write_bytes(rss("<item><title>T</title><link>https://a.example/</link></item>"))

    result = parse_feed(str(feed).encode(), "s")

    assert result.records == []
    assert len(result.errors) == 1
