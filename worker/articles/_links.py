"""Links to articles as newsroom hands them out: tagged for the site's analytics."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit


def with_utm(url: str, *, source: str, medium: str, campaign: str) -> str:
    """The article link tagged for analytics, keeping any query it already has (and
    replacing any utm_* parameters, which would otherwise credit the wrong channel)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if not k.startswith("utm_")]
    query += [("utm_source", source), ("utm_medium", medium), ("utm_campaign", campaign)]
    return urlunsplit(parts._replace(query=urlencode(query)))
