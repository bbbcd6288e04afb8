"""Render a digest once: subject, text and HTML with its CSS inlined by premailer.

Rendering is a pure function of the articles, the newsletter and the date. Per-subscriber
values are left as ``[[field]]`` markers (PERSONAL_MARKER) that the delivery layer fills
for each recipient, so a digest to 100,000 people is rendered and inlined exactly once.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path

import jinja2
from babel.dates import format_date
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations
from premailer import Premailer

from worker.articles import with_utm
from worker.settings import EMAIL_TEMPLATES_DIR

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
PERSONAL_FIELDS = ("greeting", "name", "email", "unsubscribe_url", "view_url")
PERSONAL_MARKER = re.compile(r"\[\[(" + "|".join(PERSONAL_FIELDS) + r")\]\]")


@dataclass(frozen=True)
class DigestArticle:
    title: str
    link: str
    summary: str = ""
    author: str = ""
    image_url: str = ""


@dataclass(frozen=True)
class RenderedDigest:
    subject: str
    html: str
    text: str


class _Markers:
    """Stands in for the recipient while rendering: each field renders as its marker."""

    def __getattr__(self, field: str) -> str:
        if field not in PERSONAL_FIELDS:
            raise AttributeError(field)
        return f"[[{field}]]"


def render_digest(
    *,
    template: str,
    newsletter_slug: str,
    newsletter_title: str,
    language: str,
    edition: date,
    articles: list[DigestArticle],
    templates_dir: Path = EMAIL_TEMPLATES_DIR,
) -> RenderedDigest:
    campaign = f"{newsletter_slug}-{edition.isoformat()}"
    context = {
        "newsletter_title": newsletter_title,
        "edition_date": format_date(edition, format="full", locale=language),
        "articles": [
            {
                **article.__dict__,
                "link": with_utm(
                    article.link, source="newsletter", medium="email", campaign=campaign
                ),
            }
            for article in articles
        ],
    }
    return render_email(template, language, context, templates_dir=templates_dir)


def render_email(
    template: str,
    language: str,
    context: dict[str, object],
    *,
    templates_dir: Path = EMAIL_TEMPLATES_DIR,
) -> RenderedDigest:
    """One email folder (subject.txt, body.txt, body.html) rendered once in ``language``, its
    CSS inlined; ``recipient.*`` values stay markers that delivery fills per recipient."""
    env = _environment(templates_dir, language)
    context = {**context, "language": language, "recipient": _Markers()}
    subject = env.get_template(f"{template}/subject.txt").render(context)
    text = env.get_template(f"{template}/body.txt").render(context)
    raw_html = env.get_template(f"{template}/body.html").render(context)
    inlined = Premailer(
        raw_html,
        keep_style_tags=True,  # media queries cannot be inlined; mobile layouts need them
        strip_important=False,
        cssutils_logging_level="CRITICAL",
        disable_validation=True,
    ).transform()
    return RenderedDigest(subject=" ".join(subject.split()), html=inlined, text=text.strip() + "\n")


def fill_personal(content: str, values: dict[str, str], escape: Callable[[str], str]) -> str:
    """A rendered part with one reader's values in place of its markers (the web version;
    messages fill their quoted-printable parts the same way, see delivery._message)."""
    return PERSONAL_MARKER.sub(lambda marker: escape(values[marker.group(1)]), content)


def greeting(language: str, name: str) -> str:
    """The per-subscriber salutation ("Bonjour Camille," or "Bonjour,"), from the catalog of
    the newsletter's language; filled in per recipient like the other markers."""
    catalog = translations(language)
    if name:
        return catalog.gettext("Hello %(name)s,") % {"name": name}
    return catalog.gettext("Hello,")


@cache
def _environment(templates_dir: Path, language: str) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates_dir),
        autoescape=jinja2.select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_translations(translations(language), newstyle=True)  # type: ignore[attr-defined]
    return env


@cache
def translations(language: str) -> NullTranslations:
    """Babel catalogs compiled in memory from the .po files, so no build step is needed."""
    po_file = LOCALE_DIR / language.split("_")[0] / "LC_MESSAGES" / "messages.po"
    if not po_file.exists():
        return NullTranslations()
    with po_file.open("rb") as handle:
        catalog = read_po(handle, locale=language)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled)
