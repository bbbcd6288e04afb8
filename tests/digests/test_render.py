"""Rendering a digest once, and the message each subscriber gets from it."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from email import message_from_bytes, policy

import pytest
from premailer import Premailer

from worker.delivery import build_message
from worker.digests import DigestArticle, render_digest

ARTICLES = [
    DigestArticle(
        title="« Budget 2027 » : l’Assemblée adopte la première partie",
        link="https://www.lequotidien.example/politique/budget?from=home",
        summary="Les députés ont voté à 289 voix contre 250. 🗳️",
        author="Camille Martin",
        image_url="https://www.lequotidien.example/img/budget.jpg",
    ),
    DigestArticle(title="Motion de censure", link="https://www.lequotidien.example/censure"),
]


def render(language: str = "fr", articles: list[DigestArticle] = ARTICLES):
    return render_digest(
        template="digest",
        newsletter_slug="la-matinale",
        newsletter_title="La Matinale",
        language=language,
        edition=date(2026, 11, 24),
        articles=articles,
    )


def test_french_digest_is_localized_and_keeps_typography() -> None:
    digest = render()
    assert digest.subject == "La Matinale – mardi 24 novembre 2026"
    assert "« Budget 2027 » : l’Assemblée adopte la première partie" in digest.html
    assert "Les députés ont voté à 289 voix contre 250. 🗳️" in digest.text
    assert "Se désabonner" in digest.html
    # each sentence of the footer on its own line, as the template writes them
    assert "Vous recevez ce courriel car vous êtes abonné·e à La Matinale.\nIl a été" in digest.text
    assert 'src="https://www.lequotidien.example/img/budget.jpg"' in digest.html


def test_english_digest_uses_english_strings_and_dates() -> None:
    digest = render("en")
    assert digest.subject == "La Matinale – Tuesday, November 24, 2026"
    assert "Unsubscribe" in digest.html


def test_links_carry_utm_parameters_and_keep_their_query() -> None:
    digest = render()
    expected = (
        "https://www.lequotidien.example/politique/budget?from=home&utm_source=newsletter"
        "&utm_medium=email&utm_campaign=la-matinale-2026-11-24"
    )
    assert expected in digest.text
    assert expected.replace("&", "&amp;") in digest.html


def test_css_is_inlined_media_queries_kept_and_preheader_hidden() -> None:
    html = render().html
    assert '<h2 style="' in html
    assert "@media only screen and (max-width: 480px)" in html
    assert 'class="preheader"' in html
    assert "display:none" in html.split('class="preheader"')[1].split(">")[0].replace(" ", "")


def test_titles_are_escaped_in_html() -> None:
    hostile = [DigestArticle(title="<script>alert(1)</script>", link="https://x.example/a")]
    html = render(articles=hostile).html
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;" in html


def test_premailer_runs_once_per_digest_never_per_subscriber(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls = []
    original = Premailer.transform
    monkeypatch.setattr(
        Premailer, "transform", lambda self, *a, **k: calls.append(1) or original(self, *a, **k)
    )
    digest = render()
    for n in range(200):
        build_message(
            digest,
            sender="La Matinale <matinale@lequotidien.example>",
            reply_to=None,
            recipient_email=f"r{n}@example.org",
            recipient_name=f"Lecteur {n}",
            unsubscribe_url=f"https://news.example/unsubscribe/{n}",
            unsubscribe_mailto="mailto:unsubscribe@lequotidien.example",
            list_id="La Matinale <la-matinale.lequotidien.example>",
        )
    assert len(calls) == 1


def test_subject_is_encoded_and_cr_lf_never_make_a_header() -> None:
    hostile = [DigestArticle(title="Titre\r\nBcc: victim@example.org", link="https://x.example/a")]
    digest = render(articles=hostile)
    message = build_message(
        replace(digest, subject="Édition\r\nBcc: victim@example.org"),
        sender="La Matinale\r\nX-Evil: 1 <matinale@lequotidien.example>",
        reply_to=None,
        recipient_email="camille@example.org",
        recipient_name="Camille\nBcc: victim@example.org",
        unsubscribe_url="https://news.example/unsubscribe/t",
        unsubscribe_mailto="mailto:unsubscribe@lequotidien.example",
        list_id="La Matinale <la-matinale.lequotidien.example>",
    )
    raw = message.data
    headers = raw.split(b"\r\n\r\n", 1)[0]
    assert b"\r\nBcc:" not in headers
    assert b"\r\nX-Evil:" not in headers
    assert b"Subject: =?utf-8?" in headers
    parsed = message_from_bytes(raw, policy=policy.default)
    assert parsed["Subject"] == "Édition Bcc: victim@example.org"
    assert parsed["Bcc"] is None
    for name in ("Message-ID", "Date", "List-Id", "List-Unsubscribe", "List-Unsubscribe-Post"):
        assert parsed[name], name


@pytest.mark.parametrize(
    ("template", "language", "subject", "preheader"),
    [
        (
            "la-matinale",
            "fr",
            "« Budget 2027 » : l’Assemblée adopte la première partie | La Matinale",
            "« Budget 2027 » : l’Assemblée adopte la première partie — et un autre article",
        ),
        (
            "morning-briefing",
            "en",
            "La Matinale: « Budget 2027 » : l’Assemblée adopte la première partie",
            "« Budget 2027 » : l’Assemblée adopte la première partie, and one more story",
        ),
    ],
)
def test_each_shipped_newsletter_has_its_own_template(
    template: str, language: str, subject: str, preheader: str
) -> None:
    digest = render_digest(
        template=template,
        newsletter_slug=template,
        newsletter_title="La Matinale",
        language=language,
        edition=date(2026, 11, 24),
        articles=ARTICLES,
    )
    assert digest.subject == subject
    assert preheader in digest.html
