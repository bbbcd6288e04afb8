import json
import unicodedata
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from worker.articles import ArticleRecord, RecordError, parse_json

SAMPLES = Path(__file__).parents[2] / "samples"
PARIS_WINTER = timezone(timedelta(hours=1))
URL = "https://www.lequotidien.example/politique/2026/11/24/retraites"


def encode(document: Any) -> bytes:
    return json.dumps(document, ensure_ascii=False).encode()


def article(**fields: Any) -> dict[str, Any]:
    return {"url": URL, "title": "Retraites : le débat continue", **fields}


def test_valid_list_gives_every_field(fixture_bytes: Callable[[str], bytes]) -> None:
    result = parse_json(fixture_bytes("articles.json"), "articles.json")

    assert result.errors == []
    assert [record.language for record in result.records] == ["fr", "fr", "en"]
    first = result.records[0]
    assert first == ArticleRecord(
        url="https://www.lequotidien.example/politique/2026/11/24/"
        "budget-2027-assemblee-adopte-premiere-partie",
        title="Budget 2027\u202f: l’Assemblée adopte la première partie du texte",
        summary="Après «\u00a0une nuit de tractations\u00a0», les députés ont voté la partie "
        "recettes du projet de loi de finances par 289 voix contre 251.",
        body=first.body,
        author="Émilie Durand",
        published_at=datetime(2026, 11, 24, 7, 45, tzinfo=PARIS_WINTER),
        tags=("politique", "assemblée nationale", "budget"),
        section="Politique",
        image_url="https://www.lequotidien.example/images/2026/11/hemicycle.jpg",
        language="fr",
    )
    assert first.body.startswith("<p>Les députés ont adopté")
    assert "<p>«\u00a0C’est une étape, pas une victoire\u00a0», a reconnu" in first.body
    assert first.published_at is not None
    assert first.published_at.utcoffset() == timedelta(hours=1)


def test_bundled_samples_are_valid() -> None:
    result = parse_json((SAMPLES / "articles.json").read_bytes(), "samples/articles.json")

    assert result.errors == []
    languages = [record.language for record in result.records]
    assert languages.count("fr") >= 2
    assert languages.count("en") >= 2
    assert len({record.url for record in result.records}) == len(result.records)
    assert any("🗳️" in record.title for record in result.records)


def test_single_object_is_one_record() -> None:
    result = parse_json(encode(article()), "one.json")

    assert result.errors == []
    assert [record.url for record in result.records] == [URL]


def test_typography_survives_byte_for_byte() -> None:
    title = "Motion de censure\u202f: «\u00a0On ne lâchera rien\u00a0», promet l’opposition 🗳️"
    author = "Zoë Lefèvre-Saint-Aubin"

    record = parse_json(encode(article(title=title, author=author)), "s").records[0]

    assert record.title.encode() == title.encode()
    assert record.author.encode() == author.encode()


def test_text_is_normalized_to_nfc() -> None:
    decomposed = unicodedata.normalize("NFD", "Réforme à l’Assemblée")
    assert decomposed != "Réforme à l’Assemblée"

    record = parse_json(
        encode(article(title=decomposed, author="E\u0301milie", tags=["assemble\u0301e"])), "s"
    ).records[0]

    assert record.title == "Réforme à l’Assemblée"
    assert record.author == "Émilie"
    assert record.tags == ("assemblée",)


def test_text_is_stripped_and_tags_deduplicated() -> None:
    record = parse_json(
        encode(article(title="  Titre \n", tags=["politique", " politique ", "", "budget"])), "s"
    ).records[0]

    assert record.title == "Titre"
    assert record.tags == ("politique", "budget")


def test_optional_fields_may_be_absent_or_null() -> None:
    record = parse_json(encode(article(summary=None, published_at=None, tags=None)), "s").records[0]

    assert record.summary == ""
    assert record.published_at is None
    assert record.tags == ()


def test_utc_designator_is_accepted() -> None:
    record = parse_json(encode(article(published_at="2026-11-24T07:30:00Z")), "s").records[0]

    assert record.published_at == datetime(2026, 11, 24, 7, 30, tzinfo=UTC)


def test_utf8_bom_is_accepted() -> None:
    result = parse_json(b"\xef\xbb\xbf" + encode([article()]), "bom.json")

    assert result.errors == []
    assert len(result.records) == 1


def test_non_utf8_bytes_are_a_clear_error() -> None:
    data = json.dumps(article(title="Élection"), ensure_ascii=False).encode("latin-1")

    result = parse_json(data, "latin1.json")

    assert result.records == []
    [error] = result.errors
    assert error.source == "latin1.json"
    assert error.record.startswith("byte ")
    assert "not valid UTF-8" in error.message


def test_malformed_json_reports_line_and_column(fixture_bytes: Callable[[str], bytes]) -> None:
    result = parse_json(fixture_bytes("malformed.json"), "malformed.json")

    assert result.records == []
    assert result.errors == [
        RecordError(
            "malformed.json", "line 5, column 5", None, "malformed JSON: Expecting ',' delimiter"
        )
    ]


def test_bad_records_do_not_hide_good_ones(fixture_bytes: Callable[[str], bytes]) -> None:
    result = parse_json(fixture_bytes("mixed.json"), "mixed.json")

    assert [record.title for record in result.records] == [
        "Retraites\u202f: «\u00a0le débat continue\u00a0»"
    ]
    site = "https://www.lequotidien.example/politique"
    assert [(error.record, error.field) for error in result.errors] == [
        (f"record 2 ({site}/sans-titre)", "title"),
        (f"record 3 ({site}/date)", "published_at"),
    ]
    assert result.errors[0].message == "is required"
    assert "no UTC offset" in result.errors[1].message
    assert str(result.errors[0]) == (
        f"mixed.json: record 2 ({site}/sans-titre): field 'title': is required"
    )


def test_record_without_url_is_identified_by_number() -> None:
    result = parse_json(encode([article(), {"title": "Sans URL"}]), "s")

    assert len(result.records) == 1
    assert [(error.record, error.field, error.message) for error in result.errors] == [
        ("record 2", "url", "is required")
    ]


def test_every_faulty_field_of_a_record_is_reported() -> None:
    result = parse_json(encode({"url": "/relative", "title": "", "publised_at": "x"}), "s")

    assert result.records == []
    assert sorted(error.field or "" for error in result.errors) == ["publised_at", "title", "url"]


def test_unknown_field_is_rejected_with_a_suggestion() -> None:
    result = parse_json(encode(article(publised_at="2026-11-24T08:30:00+01:00")), "cms.json")

    assert result.records == []
    [error] = result.errors
    assert (error.source, error.record, error.field) == (
        "cms.json",
        f"record 1 ({URL})",
        "publised_at",
    )
    assert "did you mean 'published_at'?" in error.message


def test_record_that_is_not_an_object() -> None:
    result = parse_json(encode(["https://www.lequotidien.example/a", article()]), "s")

    assert len(result.records) == 1
    assert result.errors == [
        RecordError("s", "record 1", None, "expected a JSON object, got string")
    ]


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"title": 42}, "title", "expected a string, got number"),
        ({"title": "   "}, "title", "must not be empty"),
        ({"summary": ["a"]}, "summary", "expected a string, got array"),
        ({"url": "/politique/retraites"}, "url", "expected an absolute http(s) URL"),
        ({"url": "ftp://www.lequotidien.example/a"}, "url", "expected an absolute http(s) URL"),
        ({"url": "https://"}, "url", "expected an absolute http(s) URL"),
        ({"image_url": "images/a.jpg"}, "image_url", "expected an absolute http(s) URL"),
        ({"tags": "politique"}, "tags", "expected an array of strings, got string"),
        ({"tags": ["politique", 3, None]}, "tags", "item 2 is number, item 3 is null"),
        ({"published_at": "demain matin"}, "published_at", "expected an ISO 8601 date-time"),
        ({"published_at": "2026-11-24"}, "published_at", "has no UTC offset"),
        ({"published_at": 1795000000}, "published_at", "expected a string, got number"),
        ({"language": "français"}, "language", "expected a language tag"),
        ({"language": True}, "language", "expected a string, got boolean"),
    ],
)
def test_field_errors_name_the_field(fields: dict[str, Any], field: str, message: str) -> None:
    result = parse_json(encode([article(**fields)]), "export.json")

    assert result.records == []
    [error] = result.errors
    assert (error.source, error.field) == ("export.json", field)
    assert error.record.startswith("record 1")
    assert message in error.message


@pytest.mark.parametrize("language", ["fr", "en", "fr-FR", "pt-BR", "zh-Hant-TW"])
def test_language_tags_are_accepted(language: str) -> None:
    assert parse_json(encode(article(language=language)), "s").records[0].language == language


@given(st.text())
def test_any_title_round_trips_as_its_nfc_form(title: str) -> None:
    expected = unicodedata.normalize("NFC", title).strip()
    assume(expected)

    result = parse_json(encode([article(title=title)]), "s")

    assert result.errors == []
    assert result.records[0].title == expected
