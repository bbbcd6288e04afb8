"""Compose an article's post for one account, to the rules of its platform.

Composing is pure: an article and an account's settings in, a `Draft` out, holding the exact
text that will be sent. Each platform limits a post its own way, so the rendered template is
measured the platform's way and, when too long, shortened the same way everywhere: the
trailing run of links and hashtags is kept whole, the text before it is cut after a word
(inside one only when that single word is longer than all the room there is) and marked
with "…"; hashtags are given up one by one, from the last, only when no text at all
would fit beside them (and links past the last one join the text to cut, when even they do
not fit). No cut ever falls inside a URL, a hashtag, a mention or a grapheme (an emoji
sequence, a flag, a letter with its accents).

  X         280 weighted characters as twitter-text counts them (every URL 23, emoji and
            CJK 2); the link is part of the text.
  LinkedIn  3,000 characters of "little text" commentary, counted escaped; the client
            attaches the article as a card, so the text needs no link.
  Facebook  63,206 characters of message; the link goes in its own `link` field.

LinkedIn and Facebook lengths are counted in UTF-16 code units, as their Java and JavaScript
front ends count, so an emoji counts 2: never less than the platform counts.
"""

from __future__ import annotations

import unicodedata
from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import jinja2
import regex

from worker.articles import with_utm
from worker.settings import SOCIAL_TEMPLATES_DIR, SocialAccountConfig
from worker.store import Article

LIMITS: dict[str, int] = {"twitter": 280, "linkedin": 3000, "facebook": 63206}
# What X counts for any URL (its t.co length); twitter-text's transformed_url_length, which a
# test checks. twitter-text itself is imported where it is used, not here: compiling its
# patterns takes about half a second, which every command and worker would pay at start.
X_URL_WEIGHT = 23
_ELLIPSIS = "…"

# A hashtag as X links one: not glued to a word, with at least one letter ("#2027" is none).
_HASHTAG = regex.compile(r"(?<![\w&])#(?=\w*[^\W\d_])\w+")
# A LinkedIn mention, @[Name](urn:li:organization:123), written in a template or by an
# editor: markup, neither escaped nor cut.
_MENTION = regex.compile(r"@\[[^\]\n]*\]\(urn:li:(?:person|organization):[\w-]+\)")
_RESERVED = regex.compile(r"[|{}@\[\]()<>#\\*_~]")
_LITTLE = regex.compile(
    rf"(?P<mention>{_MENTION.pattern})|(?P<hashtag>{_HASHTAG.pattern})|{_RESERVED.pattern}"
)
_WORD = regex.compile(r"\S+")
# Where a post may be broken: any white space but the no-break ones French typography puts
# inside « guillemets » and before : ; ! ?
_BREAK = regex.compile(r"[^\S\u00a0\u2007\u202f]+")
_UNBROKEN = regex.compile(r"(?:\S|[\u00a0\u2007\u202f])+")
# Left before "…" they read as a mistake: "Macron :…", "il a dit «…", "la suite……".
_DANGLING = regex.compile(r"[\s,;:«“‘(\[{–—…-]+")
_SPACE_CONTROLS = regex.compile(r"[\t\v\f\x1c-\x1f\x85]")
_OTHER_CONTROLS = regex.compile(r"[^\P{Cc}\n]|\p{Cs}")
_LINE_EDGES = regex.compile(r"[^\S\n]*\n[^\S\n]*")
_BLANK_LINES = regex.compile(r"\n{3,}")


class TextTooLong(ValueError):
    """A text over its platform's limit that newsroom will not shorten: an editor's words,
    or a template whose links and fixed parts are over the limit by themselves."""

    def __init__(self, platform: str, length: int, limit: int) -> None:
        unit = "weighted characters" if platform == "twitter" else "characters"
        super().__init__(f"{platform}: the text is {length} {unit}, over the limit of {limit}")
        self.platform = platform
        self.length = length
        self.limit = limit


@dataclass(frozen=True)
class Draft:
    platform: str  # "twitter" | "facebook" | "linkedin"
    account: str
    text: str  # exactly what is sent: X text with the link; LinkedIn commentary; FB message
    link: str  # the article URL with this account's UTM parameters
    hashtags: tuple[str, ...]  # as shown, e.g. ("#Élection2027",)
    weighted_length: int | None  # X only: twitter-text weightedLength of text
    has_url: bool  # text contains a URL (X bills those posts more)


class Composer:
    """Renders templates/social/<template>.txt and fits the result to the platform."""

    def __init__(self, templates_dir: Path = SOCIAL_TEMPLATES_DIR) -> None:
        self._env = _environment(templates_dir)

    def compose(self, article: Article, account: str, config: SocialAccountConfig) -> Draft:
        platform = config.platform
        link = with_utm(article.url, source=platform, medium="social", campaign=config.utm_campaign)
        hashtags = hashtags_for(article, config.max_hashtags, config.fixed_hashtags)
        rendered = self.render(
            config.template_name,
            article=article,
            link=link,
            hashtags=hashtags,
            platform=platform,
            account=account,
        )
        fitted = shorten(platform, rendered, hashtags=hashtags)
        shown = {_key(tag) for tag in _HASHTAG.findall(fitted)}
        text = little_text(fitted, hashtags) if platform == "linkedin" else fitted
        return Draft(
            platform=platform,
            account=account,
            text=text,
            link=link,
            hashtags=tuple(tag for tag in hashtags if _key(tag) in shown),
            weighted_length=x_weighted_length(text) if platform == "twitter" else None,
            has_url=bool(_url_spans(text)),
        )

    def render(self, template_name: str, **context: Any) -> str:
        """The template rendered and cleaned (see `clean`), before any platform rule."""
        return clean(self._env.get_template(f"{template_name}.txt").render(context))


def edited_text(platform: str, text: str) -> tuple[str, int | None]:
    """An editor's replacement text, as the reader should see it, made ready to send:
    cleaned and, for LinkedIn, escaped with its #hashtags and @[mentions](urn:li:…) kept.

    Never shortened: words someone chose go out whole or are refused with TextTooLong.
    Returns the text and, for X, its weighted length."""
    if platform not in LIMITS:
        raise ValueError(f"unknown platform {platform!r}")
    cleaned = clean(text)
    if not cleaned:
        raise ValueError(f"{platform}: the text is empty")
    sent = little_text(cleaned) if platform == "linkedin" else cleaned
    length = x_weighted_length(sent) if platform == "twitter" else _utf16_length(sent)
    if length > LIMITS[platform]:
        raise TextTooLong(platform, length, LIMITS[platform])
    return sent, length if platform == "twitter" else None


@lru_cache(maxsize=1024)
def x_weighted_length(text: str) -> int:
    """Memoized: a post is measured when fitted and again when reported, and twitter-text
    takes about a millisecond for each."""
    from twitter_text import parse_tweet

    return int(parse_tweet(text).weightedLength)


def clean(text: str) -> str:
    """NFC; no control characters but newlines (tabs become spaces), none of those
    twitter-text calls invalid (U+FFFE, U+FEFF, U+FFFF); no spaces at the ends of lines and
    at most one blank line in a row: what templates leave around their optional parts."""
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    text = _OTHER_CONTROLS.sub("", _SPACE_CONTROLS.sub(" ", text))
    from twitter_text.regexp.invalid_chars import invalid_chars

    text = _LINE_EDGES.sub("\n", invalid_chars.sub("", text))
    return _BLANK_LINES.sub("\n\n", text).strip()


def hashtags_for(article: Article, max_hashtags: int, fixed: Iterable[str]) -> list[str]:
    """The account's fixed hashtags, then at most `max_hashtags` made from the article's
    tags in readable CamelCase, accents kept ("élection présidentielle" gives
    "#ÉlectionPrésidentielle"). None twice, whatever the case, and none the title or the
    summary already carries. Fixed ones come first so that a post too long gives up the
    automatic ones, from the end, before those an editor chose."""
    seen = {_key(tag) for tag in _HASHTAG.findall(f"{article.title}\n{article.summary or ''}")}
    chosen: list[str] = []

    def add(tag: str | None) -> bool:
        if tag is None or _key(tag) in seen:
            return False
        seen.add(_key(tag))
        chosen.append(tag)
        return True

    for word in fixed:
        add(f"#{word}" if _HASHTAG.fullmatch(f"#{word}") else None)
    derived = 0
    for tag in article.tags or []:
        if derived >= max_hashtags:
            break
        derived += add(_camel_case(tag))
    return chosen


_LITTLE_HASHTAG = regex.compile(r"\{hashtag\|\\#\|([^}]*)\}")
_LITTLE_ESCAPE = regex.compile(r"\\([|{}@\[\]()<>#\\*_~])")


def readable_text(platform: str, text: str) -> str:
    """A stored post as its reader sees it, and as an editor types it back (edited_text
    escapes again): LinkedIn's little text undone, other platforms' text as is."""
    if platform != "linkedin":
        return text
    return _LITTLE_ESCAPE.sub(r"\1", _LITTLE_HASHTAG.sub(r"#\1", text))


def little_text(text: str, intended: Iterable[str] | None = None) -> str:
    """`text` as LinkedIn "little text": each reserved character escaped with a backslash,
    but for mentions and for the hashtags meant as such: those in `intended`, or every
    #word when it is None (an editor's text).

    https://learn.microsoft.com/en-us/linkedin/marketing/community-management/shares/little-text-format
    reserves | { } @ [ ] ( ) < > # \\ * _ ~, which "must be escaped to be treated as
    plaintext" (clients report that LinkedIn otherwise cuts the post at the first one,
    silently). It documents a hashtag two ways, the element #hashtag and the template
    {hashtag|\\#|MyHashtag}; we send the template, which says where the tag ends instead of
    leaving it to LinkedIn's undocumented reading of a bare # before "É" or "’". little has
    no element for links: a URL is plain text, escaped like the rest of it ("utm\\_source"
    reads as "utm_source").
    """
    return _escape(text, None if intended is None else {_key(tag) for tag in intended})


def _escape(text: str, keep: set[str] | None) -> str:
    def escape(match: regex.Match[str]) -> str:
        if match["mention"]:
            return match[0]
        if match["hashtag"] and (keep is None or _key(match[0]) in keep):
            return "{hashtag|\\#|" + _RESERVED.sub(r"\\\g<0>", match[0][1:]) + "}"
        return _RESERVED.sub(r"\\\g<0>", match[0])

    return _LITTLE.sub(escape, text)


def shorten(
    platform: str, text: str, *, hashtags: Iterable[str] = (), limit: int | None = None
) -> str:
    """`text` fitted to the platform's limit, or to `limit`, as the module docstring says.
    `hashtags` are those newsroom added: LinkedIn's escaped length depends on them."""
    limit = LIMITS[platform] if limit is None else limit
    length = _measure(platform, {_key(tag) for tag in hashtags})
    if length(text) <= limit:
        return text
    body, tail = _split_tail(text, {*_url_spans(text), *_spans(_HASHTAG, text)})
    cuttable = _Cuttable(body)
    longest = _x_longest_prefix if platform == "twitter" else _longest_prefix(length)
    while True:
        after = _ELLIPSIS + "".join(tail)
        budget = limit - length(after)
        room = min(longest(body, budget), len(body) - 1)
        for cut in cuttable.cuts(room, giant=_giant(body, room, length, budget)):
            kept = body[: cuttable.trimmed(cut)]
            if kept and length(kept + after) <= limit:
                return kept + after
        hashtags_left = [i for i, piece in enumerate(tail) if _HASHTAG.fullmatch(piece.lstrip())]
        if hashtags_left:
            del tail[hashtags_left[-1]]
            whole = (body + "".join(tail)).strip()
            if length(whole) <= limit:
                return whole
        elif len(tail) > 1:  # links only, too many to keep: the first joins the text to cut
            body += tail.pop(0)
            cuttable = _Cuttable(body)
        else:
            break
    links = "".join(tail).strip()
    if links and length(links) <= limit:
        return links
    raise TextTooLong(platform, length(text), limit)


def _measure(platform: str, keep: set[str]) -> Callable[[str], int]:
    """The length the platform counts, of a text before LinkedIn's escaping; `keep` holds
    the keys of the hashtags LinkedIn is sent as such."""
    if platform == "twitter":
        return x_weighted_length
    if platform == "linkedin":
        return lambda text: _utf16_length(_escape(text, keep))
    return _utf16_length


def _utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _x_longest_prefix(body: str, budget: int) -> int:
    """How many code points of `body` fit in `budget` weighted characters: twitter-text
    tells, as validRangeEnd in UTF-16 units, when the budget is its maximum length."""
    if budget <= 0:
        return 0
    from twitter_text import parse_tweet
    from twitter_text.config import config

    parsed = parse_tweet(body, {**config["defaults"], "max_weighted_tweet_length": budget})
    if parsed.weightedLength <= budget:
        return len(body)
    units = parsed.validRangeEnd + 1
    for count, char in enumerate(body):
        units -= 2 if ord(char) > 0xFFFF else 1
        if units < 0:
            return count
    return len(body)


def _longest_prefix(length: Callable[[str], int]) -> Callable[[str, int], int]:
    def longest(body: str, budget: int) -> int:
        return bisect_right(range(len(body) + 1), budget, key=lambda n: length(body[:n])) - 1

    return longest


def _split_tail(text: str, links_and_tags: set[tuple[int, int]]) -> tuple[str, list[str]]:
    """The text before its trailing run of URLs and hashtags, and that run in pieces that
    each start with the white space before them, so that one goes with its space."""
    words = list(_WORD.finditer(text))
    first = len(words)
    while first > 0 and words[first - 1].span() in links_and_tags:
        first -= 1
    if first == len(words):
        return text, []
    starts = [words[first - 1].end() if first else 0] + [w.end() for w in words[first:-1]]
    pieces = [text[start : word.end()] for start, word in zip(starts, words[first:], strict=True)]
    return text[: starts[0]], pieces


def _giant(body: str, room: int, length: Callable[[str], int], budget: int) -> range | None:
    """The span of the word running over `room`, when it is longer than the whole budget
    and so can only be cut inside."""
    word = next((w for w in _UNBROKEN.finditer(body) if w.start() < room < w.end()), None)
    return range(*word.span()) if word is not None and length(word[0]) > budget else None


class _Cuttable:
    """Where a text may be cut: between graphemes, never inside an atom (a URL, a hashtag
    or a mention)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.atoms = [*_url_spans(text), *_spans(_HASHTAG, text), *_spans(_MENTION, text)]
        self.boundaries = [0, *(match.end() for match in regex.finditer(r"\X", text))]

    def allowed(self, cut: int) -> bool:
        return not any(start < cut < end for start, end in self.atoms)

    def cuts(self, room: int, giant: range | None) -> Iterator[int]:
        """Cuts keeping at most `room` code points, longest first: inside the `giant` word
        if there is one, then after each word."""
        if giant is not None:
            inside = [b for b in self.boundaries if giant.start < b <= room]
            yield from (cut for cut in reversed(inside) if self.allowed(cut))
        graphemes = set(self.boundaries)
        for gap in reversed(list(_BREAK.finditer(self.text, 0, room + 1))):
            cut = gap.start()
            if cut > 0 and cut in graphemes and self.allowed(cut):
                yield cut

    def trimmed(self, cut: int) -> int:
        """`cut` moved back over the graphemes that would dangle before "…" (space,
        "«", ":"…), but never into an atom that happens to end with one."""
        floor = max((end for _, end in self.atoms if end <= cut), default=0)
        index = bisect_right(self.boundaries, cut) - 1
        while index > 0 and self.boundaries[index - 1] >= floor:
            previous = self.boundaries[index - 1]
            if not _DANGLING.fullmatch(self.text[previous:cut]):
                break
            cut, index = previous, index - 1
        return cut


def _url_spans(text: str) -> list[tuple[int, int]]:
    from twitter_text import extract_urls_with_indices

    return [(url["indices"][0], url["indices"][1]) for url in extract_urls_with_indices(text)]


def _spans(pattern: regex.Pattern[str], text: str) -> list[tuple[int, int]]:
    return [match.span() for match in pattern.finditer(text)]


def _camel_case(words: str) -> str | None:
    parts = regex.findall(r"[^\W_]+", unicodedata.normalize("NFC", words))
    tag = "#" + "".join(part[0].upper() + part[1:] for part in parts)
    return tag if _HASHTAG.fullmatch(tag) else None


def _key(hashtag: str) -> str:
    """Caseless the Unicode way: "#ÉLECTION" and "#élection" are one hashtag, whether the É
    came composed or as an E and a combining accent."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", hashtag).casefold())


@cache
def _environment(templates_dir: Path) -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates_dir),
        autoescape=False,  # noqa: S701 - plain text for social APIs, never HTML
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
