"""DKIM signing with dkimpy, over the exact bytes that are sent.

The signature covers the List-Unsubscribe headers as RFC 8058 asks, so a mailbox provider
can trust the one-click link; it is computed on the serialized message and prepended to
those same bytes, never re-serialized afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import dkim

SIGNED_HEADERS = (
    b"From",
    b"To",
    b"Subject",
    b"Date",
    b"Message-ID",
    b"Reply-To",
    b"List-Id",
    b"List-Unsubscribe",
    b"List-Unsubscribe-Post",
    b"MIME-Version",
    b"Content-Type",
)


@dataclass(frozen=True)
class DkimSigner:
    selector: str
    domain: str
    private_key: bytes = field(repr=False)

    def sign(self, data: bytes) -> bytes:
        """The DKIM-Signature header line(s) for ``data``, CRLF-terminated."""
        return dkim.sign(
            data,
            self.selector.encode(),
            self.domain.encode(),
            self.private_key,
            canonicalize=(b"relaxed", b"relaxed"),
            include_headers=list(SIGNED_HEADERS),
        )
