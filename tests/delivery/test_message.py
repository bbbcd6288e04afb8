"""The per-recipient MIME layout: exact text after decoding, standard line lengths."""

from __future__ import annotations

from email import message_from_bytes, policy

from hypothesis import given, settings
from hypothesis import strategies as st

from worker.delivery import build_message
from worker.digests import RenderedDigest

MARKERS = st.sampled_from(["[[name]]", "[[email]]", "[[unsubscribe_url]]"])
TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\x00"),
    max_size=300,
)


@settings(max_examples=150, deadline=None)
@given(
    pieces=st.lists(st.tuples(TEXT, MARKERS), max_size=4),
    tail=TEXT,
    name=st.text(max_size=60),
)
def test_decoded_parts_are_the_text_with_the_values_in_place(
    pieces: list[tuple[str, str]], tail: str, name: str
) -> None:
    template = "".join(literal + marker for literal, marker in pieces) + tail
    values = {
        "[[name]]": " ".join(name.split()),  # names are flattened to one line
        "[[email]]": "reader@example.org",
        "[[unsubscribe_url]]": "https://news.example/unsubscribe/abc?x=1&y=2",
    }
    expected = "".join(literal + values[marker] for literal, marker in pieces) + tail
    outgoing = build_message(
        RenderedDigest(subject="Sujet", html=template, text=template),
        sender="La Matinale <matinale@lequotidien.example>",
        reply_to=None,
        recipient_email="reader@example.org",
        recipient_name=name,
        unsubscribe_url=values["[[unsubscribe_url]]"],
        unsubscribe_mailto="mailto:unsubscribe@lequotidien.example",
        list_id="La Matinale <la-matinale.lequotidien.example>",
    )
    body = outgoing.data.split(b"\r\n\r\n", 1)[1]
    assert all(len(line) <= 76 for line in body.split(b"\r\n")), "QP lines stay within 76"
    assert b"\n" not in body.replace(b"\r\n", b"")

    parsed = message_from_bytes(outgoing.data, policy=policy.default)
    text = parsed.get_body(("plain",)).get_payload(decode=True).decode("utf-8")
    assert text.replace("\r\n", "\n") == expected.replace("\r\n", "\n")
    html = parsed.get_body(("html",)).get_payload(decode=True).decode("utf-8")
    escaped_name = (
        values["[[name]]"].replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    )
    escaped_name = escaped_name.replace('"', "&quot;").replace("'", "&#x27;")
    html_values = {**values, "[[name]]": escaped_name}
    html_values["[[unsubscribe_url]]"] = values["[[unsubscribe_url]]"].replace("&", "&amp;")
    html_expected = "".join(lit + html_values[m] for lit, m in pieces) + tail
    assert html.replace("\r\n", "\n") == html_expected.replace("\r\n", "\n")


def test_a_line_of_exactly_76_characters_before_a_marker_stays_within_76() -> None:
    for width in range(70, 80):
        template = "a" * width + "[[name]]" + "b" * width + "\r\nfin\rde ligne"
        outgoing = build_message(
            RenderedDigest(subject="S", html=template, text=template),
            sender="N <n@lequotidien.example>",
            reply_to=None,
            recipient_email="reader@exämple.org",
            recipient_name="Camille",
            unsubscribe_url="https://news.example/u",
            unsubscribe_mailto="mailto:u@lequotidien.example",
            list_id="N <n.lequotidien.example>",
        )
        body = outgoing.data.split(b"\r\n\r\n", 1)[1]
        assert max(len(line) for line in body.split(b"\r\n")) <= 76, width
        assert b"\r" not in body.replace(b"\r\n", b"")
        parsed = message_from_bytes(outgoing.data, policy=policy.default)
        text = parsed.get_body(("plain",)).get_payload(decode=True).decode()
        assert (
            text.replace("\r\n", "\n") == "a" * width + "Camille" + "b" * width + "\nfin\nde ligne"
        )
        assert outgoing.recipient == "reader@xn--exmple-cua.org"
