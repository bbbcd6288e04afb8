"""The share bar under an article: links that open each network's own share page, filled in.

Nothing is posted by newsroom here: the reader's browser opens the network with the article
link, each tagged with its own utm_source so the site's analytics tell the buttons apart.

  X         https://x.com/intent/tweet?text=…&url=…, the intent documented at
            docs.x.com/x-for-websites/post-button/guides/web-intent. The text is the X
            template's, without the link: X appends `url` after a space and counts it 23,
            so the text is fitted to 280 - 24.
  Facebook  https://www.facebook.com/sharer/sharer.php?u=…, the sharer that needs no app id
            (the documented /dialog/share requires one); Facebook reads the page's Open
            Graph tags for the card.
  LinkedIn  https://www.linkedin.com/sharing/share-offsite/?url=…, where LinkedIn's own
            share plugin sends readers; it too builds the card from the page.
  copy      the plain link, for the "copy link" button.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from urllib.parse import quote, urlencode

import regex

from worker.articles import with_utm
from worker.social._compose import LIMITS, X_URL_WEIGHT, Composer, clean, hashtags_for, shorten
from worker.store import Article

X_INTENT = "https://x.com/intent/tweet"
FACEBOOK_SHARER = "https://www.facebook.com/sharer/sharer.php"
LINKEDIN_SHARE = "https://www.linkedin.com/sharing/share-offsite/"
# A reader's post is theirs: a couple of topic hashtags to start from, no house ones.
SHARE_HASHTAGS = 2
# %20 for spaces, as the intents' documentation writes them, rather than form encoding's "+".
_query = partial(urlencode, quote_via=quote)


@dataclass(frozen=True)
class ShareLink:
    network: str  # "x", "facebook", "linkedin", "copy"
    url: str  # what the button opens (or the plain link to copy)
    text: str  # the text prefilled (X only; "" otherwise)


def share_links(
    article: Article, composer: Composer, campaign: str = "share-bar"
) -> list[ShareLink]:
    def tagged(source: str) -> str:
        return with_utm(article.url, source=source, medium="social", campaign=campaign)

    x_link = tagged("x")
    text = _x_text(article, composer, x_link)
    return [
        ShareLink("x", f"{X_INTENT}?{_query({'text': text, 'url': x_link})}", text),
        ShareLink("facebook", f"{FACEBOOK_SHARER}?{_query({'u': tagged('facebook')})}", ""),
        ShareLink("linkedin", f"{LINKEDIN_SHARE}?{_query({'url': tagged('linkedin')})}", ""),
        ShareLink("copy", tagged("copy"), ""),
    ]


def _x_text(article: Article, composer: Composer, link: str) -> str:
    """The X template's text with the link taken out (X adds it back from `url`)."""
    rendered = composer.render(
        "twitter",
        article=article,
        link=link,
        hashtags=hashtags_for(article, SHARE_HASHTAGS, ()),
        platform="twitter",
        account="",  # the share bar is no account
    )
    without_link = clean(regex.sub(rf"[^\S\n]*{regex.escape(link)}[^\S\n]*", " ", rendered))
    return shorten("twitter", without_link, limit=LIMITS["twitter"] - X_URL_WEIGHT - 1)
