"""What a post costs where the platform bills per request (X's pay-per-use API)."""

from __future__ import annotations

from worker.settings import XPrices


def x_post_cost(prices: XPrices, text: str, link: str = "") -> float:
    """X bills a create-post request by what it carries: a post with a URL costs more. The
    article's link counts even where twitter-text does not take its domain for one (the
    sample site's .example)."""
    from twitter_text import extract_urls  # slow to import: see _compose.X_URL_WEIGHT

    carries_url = bool(extract_urls(text)) or bool(link and link in text)
    return prices.post_with_url if carries_url else prices.post
