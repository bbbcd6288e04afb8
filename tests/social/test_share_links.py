"""The share bar under an article: each network's share page, filled in and tagged."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from hypothesis import given, settings
from hypothesis import strategies as st
from twitter_text import parse_tweet

from worker.social import Composer, ShareLink, share_links
from worker.store import Article

URL = "https://www.lequotidien.fr/politique/2026/11/24/budget-2027-l-assemblee-adopte"
TITLE = "« Budget 2027 » : l’Assemblée adopte la première partie du projet de loi de finances 🗳️"


def tagged(source: str, campaign: str = "share-bar") -> str:
    return f"{URL}?utm_source={source}&utm_medium=social&utm_campaign={campaign}"


def article(**fields: object) -> Article:
    values = {"url": URL, "title": TITLE, "summary": "Résumé.", "tags": ["Politique", "2027"]}
    return Article(**{**values, **fields})


def query(link: ShareLink) -> dict[str, list[str]]:
    return parse_qs(urlsplit(link.url).query)


def test_one_link_per_network_each_with_its_own_utm() -> None:
    links = share_links(article(), Composer())
    assert [link.network for link in links] == ["x", "facebook", "linkedin", "copy"]
    x, facebook, linkedin, copy = links

    text = f"{TITLE}\n#Politique"
    assert x.text == text
    assert x.url == (
        "https://x.com/intent/tweet?text=%C2%AB%20Budget%202027%20%C2%BB%20%3A%20l%E2%80%99"
        "Assembl%C3%A9e%20adopte%20la%20premi%C3%A8re%20partie%20du%20projet%20de%20loi%20de"
        "%20finances%20%F0%9F%97%B3%EF%B8%8F%0A%23Politique&url=https%3A%2F%2Fwww.lequotidien"
        ".fr%2Fpolitique%2F2026%2F11%2F24%2Fbudget-2027-l-assemblee-adopte%3Futm_source%3Dx"
        "%26utm_medium%3Dsocial%26utm_campaign%3Dshare-bar"
    )
    assert query(x) == {"text": [text], "url": [tagged("x")]}

    assert facebook.url.startswith("https://www.facebook.com/sharer/sharer.php?u=")
    assert query(facebook) == {"u": [tagged("facebook")]}
    assert linkedin.url.startswith("https://www.linkedin.com/sharing/share-offsite/?url=")
    assert query(linkedin) == {"url": [tagged("linkedin")]}
    assert copy.url == tagged("copy")
    assert (facebook.text, linkedin.text, copy.text) == ("", "", "")


def test_the_campaign_is_the_callers() -> None:
    links = share_links(article(), Composer(), campaign="newsletter-footer")
    assert links[-1].url == tagged("copy", "newsletter-footer")


def test_the_x_text_leaves_the_link_to_the_url_parameter() -> None:
    x = share_links(article(), Composer())[0]
    assert URL not in x.text
    assert query(x)["url"] == [tagged("x")]


def test_a_long_title_is_shortened_so_text_and_link_fit_together() -> None:
    title = "Réforme des retraites : " + "le gouvernement défend son texte, " * 12
    x = share_links(article(title=title), Composer())[0]
    assert x.text.endswith("…\n#Politique")
    # X appends the URL after a space and counts it 23
    posted = parse_tweet(f"{x.text} {tagged('x')}")
    assert posted.valid
    assert posted.weightedLength > 270


@settings(max_examples=200, deadline=None)
@given(title=st.text(max_size=400), tags=st.lists(st.text(max_size=30), max_size=4))
def test_the_x_intent_always_fits(title: str, tags: list[str]) -> None:
    x = share_links(article(title=title, tags=tags), Composer())[0]
    assert parse_tweet(f"{x.text} {tagged('x')}").weightedLength <= 280
    assert query(x)["url"] == [tagged("x")]
