"""Digests: choosing and rendering the articles of one newsletter edition."""

from worker.digests._editions import (
    GMAIL_CLIP_BYTES,
    DigestTooLarge,
    Edition,
    NothingToSend,
    compose_edition,
    next_edition,
    prepare_digest,
)
from worker.digests._links import read_view_token, view_token, view_url
from worker.digests._overview import newsletters_overview
from worker.digests._progress import Progress, progress
from worker.digests._render import (
    PERSONAL_FIELDS,
    PERSONAL_MARKER,
    DigestArticle,
    RenderedDigest,
    fill_personal,
    greeting,
    render_digest,
    render_email,
    translations,
)
from worker.digests._schedule import latest_slot, next_slot, queue_scheduled

__all__ = [
    "GMAIL_CLIP_BYTES",
    "PERSONAL_FIELDS",
    "PERSONAL_MARKER",
    "DigestArticle",
    "DigestTooLarge",
    "Edition",
    "NothingToSend",
    "Progress",
    "RenderedDigest",
    "compose_edition",
    "fill_personal",
    "greeting",
    "latest_slot",
    "newsletters_overview",
    "next_edition",
    "next_slot",
    "prepare_digest",
    "progress",
    "queue_scheduled",
    "read_view_token",
    "render_digest",
    "render_email",
    "translations",
    "view_token",
    "view_url",
]
