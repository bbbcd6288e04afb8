"""Digests: choosing and rendering the articles of one newsletter edition."""

from worker.digests._editions import NothingToSend, prepare_digest
from worker.digests._render import (
    PERSONAL_FIELDS,
    DigestArticle,
    RenderedDigest,
    personalize,
    render_digest,
    with_utm,
)

__all__ = [
    "PERSONAL_FIELDS",
    "DigestArticle",
    "NothingToSend",
    "RenderedDigest",
    "personalize",
    "prepare_digest",
    "render_digest",
    "with_utm",
]
