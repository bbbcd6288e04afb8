"""Composing an article's posts: each platform's text, hashtags, links and limits."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2
import pytest
import regex
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from twitter_text import extract_urls_with_indices, parse_tweet
from twitter_text.config import config

from worker.settings import SocialAccountConfig
from worker.social import (
    LIMITS,
    Composer,
    TextTooLong,
    edited_text,
    readable_text,
    x_weighted_length,
)
from worker.social._compose import X_URL_WEIGHT, clean, hashtags_for, little_text, shorten
from worker.store import Article

URL = "https://www.lequotidien.fr/politique/2026/11/24/budget-2027-l-assemblee-adopte"
TITLE = "« Budget 2027 » : l’Assemblée adopte la première partie du projet de loi de finances 🗳️"
SUMMARY = (
    "Les députés ont voté à 289 voix contre 250 (après trois jours de débats). La Première "
    "ministre salue « un compromis » ; l’opposition dénonce un texte *injuste*."
)
TAGS = ["Politique", "élection présidentielle", "politique", "2027", "budget de l’État"]
LINK = URL + "?utm_source={}&utm_medium=social&utm_campaign=matinale"
TAIL = " #LeQuotidien #Politique #ÉlectionPrésidentielle"
PLATFORM_FIELDS: dict[str, dict[str, Any]] = {
    "twitter": {},
    "facebook": {"page_id": "1234567890"},
    "linkedin": {"author_urn": "urn:li:organization:2414183"},
}


def article(**fields: Any) -> Article:
    values = {"url": URL, "title": TITLE, "summary": SUMMARY, "tags": TAGS, **fields}
    return Article(**values)


def account(platform: str, **fields: Any) -> SocialAccountConfig:
    values = {
        "platform": platform,
        "post_at": "now",
        "max_hashtags": 2,
        "fixed_hashtags": ["LeQuotidien"],
        "utm_campaign": "matinale",
        **PLATFORM_FIELDS[platform],
        **fields,
    }
    return SocialAccountConfig(**values)


def compose(platform: str, item: Article | None = None, **fields: Any):
    return Composer().compose(item or article(), f"fr_{platform}", account(platform, **fields))


# --- each platform, in full ------------------------------------------------------------


def test_x_post_keeps_the_typography_and_carries_link_and_hashtags() -> None:
    draft = compose("twitter")
    assert draft.text == f"{TITLE}\n{LINK.format('twitter')}{TAIL}"
    assert draft.link == LINK.format("twitter")
    assert draft.hashtags == ("#LeQuotidien", "#Politique", "#ÉlectionPrésidentielle")
    # the title weighs 87 (its ballot box emoji counts 2), then a newline and 23 for the link
    assert draft.weighted_length == 87 + 1 + 23 + len(TAIL) == 159
    assert draft.has_url
    assert (draft.platform, draft.account) == ("twitter", "fr_twitter")


def test_facebook_message_leaves_the_link_to_its_own_field() -> None:
    draft = compose("facebook")
    assert draft.text == f"{TITLE}\n{SUMMARY}\n{TAIL.strip()}"
    assert draft.link == LINK.format("facebook")
    assert draft.weighted_length is None
    assert not draft.has_url


def test_linkedin_commentary_is_escaped_but_for_its_hashtags() -> None:
    draft = compose("linkedin")
    assert draft.text == (
        f"{TITLE}\n"
        r"Les députés ont voté à 289 voix contre 250 \(après trois jours de débats\). La "
        r"Première ministre salue « un compromis » ; l’opposition dénonce un texte \*injuste\*."
        "\n"
        r"{hashtag|\#|LeQuotidien} {hashtag|\#|Politique} {hashtag|\#|ÉlectionPrésidentielle}"
    )
    assert draft.link == LINK.format("linkedin")
    assert draft.hashtags == ("#LeQuotidien", "#Politique", "#ÉlectionPrésidentielle")
    assert not draft.has_url


def test_each_platform_tags_its_link_for_analytics_keeping_the_query() -> None:
    item = article(url=URL + "?from=home&utm_source=rss")
    for platform in PLATFORM_FIELDS:
        draft = compose(platform, item, utm_campaign="legislatives")
        assert draft.link == (
            f"{URL}?from=home&utm_source={platform}&utm_medium=social&utm_campaign=legislatives"
        )


def test_typography_survives_and_is_normalized_to_nfc() -> None:
    decomposed = "Le de\u0301bat sur l\u2019e\u0301cole « laïque » 👨\u200d👩\u200d👧 🇫🇷"
    draft = compose("facebook", article(title=decomposed, summary="", tags=[]))
    assert draft.text == "Le débat sur l’école « laïque » 👨\u200d👩\u200d👧 🇫🇷\n#LeQuotidien"


# --- hashtags ---------------------------------------------------------------------------


def test_hashtags_are_camel_case_with_accents_and_no_duplicates() -> None:
    tags = [
        "élection présidentielle",
        "ÉLECTION PRÉSIDENTIELLE",  # the same, shouted
        "e\u0301lection pre\u0301sidentielle",  # the same, decomposed
        "2027",  # digits only: X would not link it
        "!!!",  # nothing left
        "covid-19",
        "Emmanuel Macron",
        "l’Assemblée nationale",
    ]
    found = hashtags_for(article(tags=tags, title="Titre", summary=""), 10, [])
    assert found == [
        "#ÉlectionPrésidentielle",
        "#Covid19",
        "#EmmanuelMacron",
        "#LAssembléeNationale",
    ]


def test_fixed_hashtags_come_first_and_do_not_count_in_the_maximum() -> None:
    found = hashtags_for(article(tags=["a b", "c", "d"]), 2, ["LeQuotidien", "2027"])
    assert found == ["#LeQuotidien", "#AB", "#C"]
    assert hashtags_for(article(tags=["politique"]), 0, ["LeQuotidien"]) == ["#LeQuotidien"]


def test_no_hashtag_the_title_or_summary_already_carries() -> None:
    item = article(title="#Politique : le budget", summary="#LeQuotidien en direct")
    assert hashtags_for(item, 2, ["lequotidien"]) == ["#ÉlectionPrésidentielle", "#BudgetDeLÉtat"]


def test_article_without_tags_or_summary() -> None:
    draft = compose("linkedin", Article(url=URL, title="Motion de censure"), fixed_hashtags=[])
    assert draft.text == "Motion de censure"
    assert draft.hashtags == ()


# --- templates --------------------------------------------------------------------------


def test_templates_render_strictly_and_collapse_blank_lines(tmp_path: Path) -> None:
    (tmp_path / "twitter.txt").write_text(
        "{{ platform }}/{{ account }}\n\n\n\n{{ article.title }}  \n\n\n{{ link }}\n\n"
    )
    draft = Composer(tmp_path).compose(article(), "fr_x", account("twitter"))
    assert draft.text == f"twitter/fr_x\n\n{TITLE}\n\n{LINK.format('twitter')}"

    (tmp_path / "twitter.txt").write_text("{{ article.headline }}")
    with pytest.raises(jinja2.UndefinedError):
        Composer(tmp_path).compose(article(), "fr_x", account("twitter"))


def test_the_environment_is_built_once_per_templates_folder() -> None:
    assert Composer()._env is Composer()._env


def test_control_and_invalid_characters_are_dropped() -> None:
    draft = compose("twitter", article(title="Budget\u0000\ufeff 2027\u200b\r\n\tvoté\ufffe"))
    assert draft.text.startswith("Budget 2027\u200b\nvoté\n")
    assert parse_tweet(draft.text).valid


# --- X: shortening ----------------------------------------------------------------------


def x_budget(tail: str) -> int:
    """Weighted room left for the headline beside "…", a newline and `tail`."""
    return 280 - x_weighted_length("…\n" + tail)


def test_a_long_x_post_is_cut_after_a_word_keeping_link_and_hashtags() -> None:
    title = "Réforme des retraites : " + "le gouvernement défend son texte, " * 12
    draft = compose("twitter", article(title=title, tags=["retraites"]), max_hashtags=1)
    tail = f"{LINK.format('twitter')} #LeQuotidien #Retraites"
    head = draft.text.removesuffix(f"…\n{tail}")
    assert head != draft.text
    assert title.startswith(head)
    assert title[len(head)] == " "  # a whole word
    assert not head.endswith(",")  # no dangling punctuation before "…"
    assert draft.weighted_length is not None
    assert 280 - 8 < draft.weighted_length <= 280
    assert draft.hashtags == ("#LeQuotidien", "#Retraites")


def test_a_url_in_the_middle_is_kept_whole_or_not_at_all() -> None:
    inner = "https://www.lequotidien.fr/dossiers/budget-2027/les-amendements-adoptes"
    for words in range(40, 60):
        title = "mot " * words + inner + " fin " * 30
        text = compose("twitter", article(title=title, tags=[])).text
        head = text.partition("…")[0]
        assert parse_tweet(text).valid
        assert inner in head or "https" not in head
        assert head.endswith("mot") or head.endswith(inner) or head.endswith("fin")


def test_a_hashtag_in_the_title_is_never_split() -> None:
    title = "Budget " * 35 + "#Budget2027ÀLAssembléeNationale et la suite"
    text = compose("twitter", article(title=title, tags=[])).text
    head = text.partition("…")[0]
    assert head.endswith("#Budget2027ÀLAssembléeNationale") or head.endswith("Budget")


def test_one_giant_word_is_cut_between_graphemes() -> None:
    draft = compose("twitter", article(title="A" * 400, tags=["retraites"]), max_hashtags=1)
    tail = f"{LINK.format('twitter')} #LeQuotidien #Retraites"
    assert draft.text == "A" * x_budget(tail) + f"…\n{tail}"
    assert draft.weighted_length == 280


@pytest.mark.parametrize(
    "grapheme",
    [
        "👨\u200d👩\u200d👧\u200d👦",  # a family: one emoji of seven code points
        "🇫🇷",  # a flag: two regional indicators
        "x\u0323\u0303",  # a letter with two combining accents, in NFC order
        "👍🏽",  # an emoji with a skin tone
        "日",  # CJK, which counts 2
    ],
)
def test_the_cut_never_falls_inside_a_grapheme(grapheme: str) -> None:
    draft = compose("twitter", article(title=grapheme * 300, tags=[]), fixed_hashtags=[])
    tail = LINK.format("twitter")
    head = draft.text.removesuffix(f"…\n{tail}")
    assert head == grapheme * (len(head) // len(grapheme))
    assert x_budget(tail) - x_weighted_length(grapheme) < x_weighted_length(head) <= x_budget(tail)
    assert parse_tweet(draft.text).valid


def test_cjk_counts_double() -> None:
    title = "日本の首相がパリを訪問し、マクロン大統領と会談した。" * 10
    draft = compose("twitter", article(title=title, tags=[]), fixed_hashtags=[])
    head = draft.text.partition("…")[0]
    assert title.startswith(head)
    assert draft.weighted_length is not None
    assert draft.weighted_length >= 279
    assert len(head) == x_budget(LINK.format("twitter")) // 2


def test_trailing_hashtags_are_dropped_only_when_no_text_would_fit() -> None:
    long_tags = ["a" * 120, "b" * 120]  # the link and all three hashtags make 281 already
    item = article(title="Budget : l’accord", tags=long_tags)
    draft = compose("twitter", item, max_hashtags=2)
    assert draft.text == f"Budget : l’accord\n{LINK.format('twitter')} #LeQuotidien #A{'a' * 119}"
    assert draft.hashtags == ("#LeQuotidien", "#A" + "a" * 119)
    assert draft.weighted_length == 176


def test_hashtags_stay_while_some_text_fits_beside_them() -> None:
    title = "Budget : l’accord trouvé en commission mixte paritaire"
    draft = compose("twitter", article(title=title, tags=["a" * 200]), max_hashtags=2)
    assert draft.text.startswith("Budget : l’accord trouvé en commission…\n")
    assert draft.hashtags == ("#LeQuotidien", "#A" + "a" * 199)
    assert draft.weighted_length == 280 - 1


@pytest.mark.parametrize(
    "sentence",
    [
        "Le président a déclaré : « nous irons, dit-il, jusqu’au bout » (enfin)… – sans délai",
        "Le président a déclaré\u00a0: «\u00a0nous irons, dit-il, jusqu’au bout\u00a0» – enfin",
    ],
)
def test_french_punctuation_does_not_dangle_before_the_ellipsis(sentence: str) -> None:
    for limit in range(4, len(sentence)):
        head = shorten("facebook", sentence, limit=limit).removesuffix("…")
        assert sentence.startswith(head)
        assert not regex.search(r"[\s,;:«“‘(\[{–—…-]$", head), head


# --- LinkedIn and Facebook --------------------------------------------------------------


def test_every_reserved_linkedin_character_is_escaped() -> None:
    reserved = "| { } @ [ ] ( ) < > # \\ * _ ~"
    assert little_text(reserved, []) == r"\| \{ \} \@ \[ \] \( \) \< \> \# \\ \* \_ \~"
    assert little_text("C# #1 a_b contact@lequotidien.fr", []) == (
        r"C\# \#1 a\_b contact\@lequotidien.fr"
    )


def test_linkedin_keeps_mentions_and_escapes_urls() -> None:
    text = "Avec @[Le Quotidien](urn:li:organization:2414183) : https://x.fr/a_(b)?utm_source=li"
    assert little_text(text, []) == (
        r"Avec @[Le Quotidien](urn:li:organization:2414183) : https://x.fr/a\_\(b\)?utm\_source=li"
    )


def test_a_long_linkedin_commentary_is_cut_without_breaking_an_escape() -> None:
    summary = "(PLF) " * 700  # each word is 7 characters once escaped
    draft = compose("linkedin", article(summary=summary, tags=[]), fixed_hashtags=["LeQuotidien"])
    assert len(draft.text) <= 3000
    assert draft.text.endswith(r"\(PLF\)…" + "\n" + r"{hashtag|\#|LeQuotidien}")
    assert len(draft.text) > 3000 - 8


def test_a_long_facebook_message_is_cut_at_its_limit() -> None:
    summary = "Un paragraphe sur le budget de l’État 📊. " * 2000
    draft = compose("facebook", article(summary=summary, tags=[]))
    assert draft.text.endswith("…\n#LeQuotidien")
    assert 63206 - 50 < len(draft.text.encode("utf-16-le")) // 2 <= 63206


# --- an editor's text -------------------------------------------------------------------


def test_edited_text_is_made_ready_but_never_shortened() -> None:
    assert edited_text("twitter", " Sans lien : « court »\u0000 ") == ("Sans lien : « court »", 21)
    assert edited_text(
        "linkedin", "Le PLF (enfin) #Budget2027 avec @[LQ](urn:li:organization:1)"
    ) == (
        r"Le PLF \(enfin\) {hashtag|\#|Budget2027} avec @[LQ](urn:li:organization:1)",
        None,
    )
    assert edited_text("facebook", "a\n\n\n\nb") == ("a\n\nb", None)


def test_edited_text_over_the_limit_is_refused_with_the_numbers() -> None:
    with pytest.raises(TextTooLong, match=r"twitter: .*299 weighted characters.*280") as caught:
        edited_text("twitter", "mot " * 75)
    assert (caught.value.platform, caught.value.length, caught.value.limit) == ("twitter", 299, 280)
    with pytest.raises(TextTooLong, match="linkedin: the text is 3002 characters"):
        edited_text("linkedin", "(" * 1501)  # escaping doubles it
    with pytest.raises(TextTooLong, match="facebook"):
        edited_text("facebook", "🗳" * 31604)  # 2 UTF-16 units each
    with pytest.raises(ValueError, match="empty"):
        edited_text("twitter", " \u0000\n ")
    with pytest.raises(ValueError, match="unknown platform"):
        edited_text("mastodon", "Bonjour")


# --- properties -------------------------------------------------------------------------

PIECES = [
    "👨\u200d👩\u200d👧\u200d👦",
    "🇫🇷",
    "x\u0303",
    "é",
    "日本語",
    "« ",
    " »",
    "’",
    " ",
    "\n",
    "\u00a0",
    "\u202f",
    "…",
    "#Budget",
    " #Élection2027 ",
    " https://www.lequotidien.fr/a_(b)?q=1 ",
    " lequotidien.fr ",
    *"|{}@[]()<>#\\*_~",
]
texts = st.lists(st.one_of(st.text(max_size=12), st.sampled_from(PIECES)), max_size=80).map("".join)
tag_lists = st.lists(st.text(max_size=25), max_size=5)
paths = st.text(st.characters(codec="utf-8"), max_size=40)
fast = settings(max_examples=200, deadline=None)


def graphemes_end(text: str) -> set[int]:
    return {0, *(match.end() for match in regex.finditer(r"\X", text))}


def assert_cut_cleanly(source: str, result: str) -> None:
    """`result` is a head of `source`, then the trailing links and hashtags, some dropped.
    A head newsroom shortened ends with "…", between two graphemes and outside any URL."""
    cut = next(
        (i for i, (a, b) in enumerate(zip(source, result, strict=False)) if a != b),
        min(len(source), len(result)),
    )
    if result[cut - 1 : cut] == "…" and source[cut - 1 : cut] == "…":
        cut -= 1  # newsroom's "…" fell where the source had one
    rest = result[cut:]
    if rest.startswith("…"):
        assert cut in graphemes_end(source)
        for url in extract_urls_with_indices(source):
            start, end = url["indices"]
            assert not start < cut < end
        rest = rest[1:]
    else:  # hashtags given up whole: back to the last word both share
        cut = max(result.rfind(" ", 0, cut), result.rfind("\n", 0, cut), 0)
        rest = result[cut:]
    assert set(rest.split()) <= set(source[cut:].split())


@fast
@given(title=texts, summary=texts, tags=tag_lists, path=paths)
def test_x_posts_are_always_valid_and_cut_cleanly(
    title: str, summary: str, tags: list[str], path: str
) -> None:
    item = article(
        url=f"https://www.lequotidien.fr/{path}", title=title * 3, summary=summary, tags=tags
    )
    config = account("twitter", max_hashtags=3)
    composer = Composer()
    draft = composer.compose(item, "fr_x", config)
    parsed = parse_tweet(draft.text)
    assert parsed.valid
    assert draft.weighted_length == parsed.weightedLength <= LIMITS["twitter"]
    hashtags = hashtags_for(item, 3, ["LeQuotidien"])
    source = composer.render(
        "twitter",
        article=item,
        link=draft.link,
        hashtags=hashtags,
        platform="twitter",
        account="fr_x",
    )
    assert_cut_cleanly(source, draft.text)


def unescape_little(text: str) -> str:
    """The text LinkedIn shows, failing on any reserved character left bare."""
    shown, at = [], 0
    token = regex.compile(
        r"\{hashtag\|\\#\|((?:\\.|[^}\\])*)\}|@\[[^\]\n]*\]\(urn:li:\w+:[\w-]+\)|\\(.)|(.)",
        regex.DOTALL,
    )
    for match in token.finditer(text):
        assert match.start() == at
        at = match.end()
        if match[1] is not None:
            shown.append("#" + regex.sub(r"\\(.)", r"\1", match[1]))
        elif match[2] is not None:
            assert match[2] in "|{}@[]()<>#\\*_~"
            shown.append(match[2])
        elif match[3] is not None:
            assert match[3] not in "|{}@[]()<>#\\*_~", text
            shown.append(match[3])
        else:
            shown.append(match[0])
    return "".join(shown)


@fast
@given(text=texts, tags=tag_lists, limit=st.integers(60, 600))
def test_linkedin_text_is_always_escaped_and_cut_cleanly(
    text: str, tags: list[str], limit: int
) -> None:
    hashtags = hashtags_for(article(tags=tags, title="", summary=""), 3, ["LeQuotidien"])
    assume(len(extract_urls_with_indices(text)) <= 2)

    source = clean(f"{text}\n{' '.join(hashtags)}")
    fitted = shorten("linkedin", source, hashtags=hashtags, limit=limit)
    sent = little_text(fitted, hashtags)
    assert len(sent.encode("utf-16-le")) // 2 <= limit
    assert unescape_little(sent) == fitted
    assert_cut_cleanly(source, fitted)


@fast
@given(text=texts, limit=st.integers(100, 600), platform=st.sampled_from(["twitter", "facebook"]))
def test_short_limits_are_met_and_cut_cleanly(text: str, limit: int, platform: str) -> None:

    assume(len(extract_urls_with_indices(text)) <= 3)
    source = clean(f"{text}\n{URL} #LeQuotidien #Politique")
    fitted = shorten(platform, source, limit=limit)
    length = (
        x_weighted_length(fitted) if platform == "twitter" else len(fitted.encode("utf-16-le")) // 2
    )
    assert length <= limit
    assert_cut_cleanly(source, fitted)


@fast
@given(title=texts, summary=texts, tags=tag_lists)
def test_every_post_is_within_its_platform_limit(title: str, summary: str, tags: list[str]) -> None:
    item = article(title=title, summary=summary * 40, tags=tags)
    for platform in PLATFORM_FIELDS:
        draft = compose(platform, item)
        length = (
            draft.weighted_length
            if platform == "twitter"
            else len(draft.text.encode("utf-16-le")) // 2
        )
        assert length is not None
        assert 0 < length <= LIMITS[platform]
        if platform == "linkedin":
            unescape_little(draft.text)


@pytest.mark.parametrize(
    "text",
    [
        "Budget (PLF) : #Politique et @ x_y",
        "« Motion » [vote] {ce soir} <22 h> *urgent* ~ \\ | #Élection2027",
        "Sans caractère réservé, avec ’ et emoji 🇫🇷",
    ],
)
def test_an_editor_reads_back_what_they_typed(text: str) -> None:
    """What the editor sees of a stored LinkedIn post is what edited_text escapes again."""
    stored, _ = edited_text("linkedin", text)
    assert readable_text("linkedin", stored) == text
    assert edited_text("linkedin", readable_text("linkedin", stored))[0] == stored
    assert readable_text("twitter", text) == text


def test_a_url_weighs_what_twitter_text_says() -> None:
    assert config["defaults"]["transformed_url_length"] == X_URL_WEIGHT
    assert x_weighted_length("https://www.lequotidien.fr/" + "a" * 200) == X_URL_WEIGHT
