"""Every backend behind the same contract; SMTP against a real aiosmtpd server."""

from __future__ import annotations

import socket
from email import message_from_bytes, policy
from pathlib import Path

import pytest

from tests.conftest import SmtpSink, free_port
from worker.delivery import (
    ConnectionFailedError,
    ConsoleBackend,
    FileBackend,
    Outgoing,
    PermanentDeliveryError,
    RejectedMessageError,
    SmtpBackend,
    TemporaryDeliveryError,
    UncertainDeliveryError,
    build_message,
)
from worker.digests import RenderedDigest


def message(to: str = "camille@example.org") -> Outgoing:
    return build_message(
        RenderedDigest(
            subject="« Budget » : l’Assemblée vote",
            html="<p>Bonjour, voici l’essentiel.</p>",
            text="Bonjour, voici l’essentiel.",
        ),
        sender="La Matinale <matinale@lequotidien.example>",
        reply_to=None,
        recipient_email=to,
        recipient_name="",
        unsubscribe_url="https://news.example/unsubscribe/t",
        unsubscribe_mailto="mailto:unsubscribe@lequotidien.example?subject=t",
        list_id="La Matinale <la-matinale.lequotidien.example>",
    )


def test_smtp_sends_many_messages_over_one_connection(smtp_server: SmtpSink) -> None:
    with SmtpBackend(smtp_server.url) as backend:
        first = backend._connection
        for n in range(3):
            backend.send(message(f"r{n}@example.org"))
        assert backend._connection is first
    assert smtp_server.per_recipient() == {f"r{n}@example.org": 1 for n in range(3)}
    received = smtp_server.messages[0][1]
    assert received["Subject"] == "« Budget » : l’Assemblée vote"


def test_smtp_reconnects_when_the_server_dropped_the_connection(smtp_server: SmtpSink) -> None:
    with SmtpBackend(smtp_server.url, idle_check_after=0) as backend:
        backend.send(message("a@example.org"))
        assert backend._connection is not None
        backend._connection.sock.shutdown(
            socket.SHUT_RDWR
        )  # as an idle timeout on the server side would
        backend.send(message("b@example.org"))
    assert smtp_server.per_recipient() == {"a@example.org": 1, "b@example.org": 1}


def test_smtp_5xx_is_permanent_and_4xx_temporary(smtp_server: SmtpSink) -> None:
    smtp_server.refuse["gone@example.org"] = "550 5.1.1 No such user"
    smtp_server.refuse["busy@example.org"] = "451 4.3.0 Try again later"
    with SmtpBackend(smtp_server.url) as backend:
        with pytest.raises(PermanentDeliveryError, match=r"550 5\.1\.1 No such user"):
            backend.send(message("gone@example.org"))
        with pytest.raises(TemporaryDeliveryError, match="451"):
            backend.send(message("busy@example.org"))
        backend.send(message("ok@example.org"))
    assert smtp_server.per_recipient() == {"ok@example.org": 1}


def test_smtp_unreachable_server_fails_the_connection() -> None:
    backend = SmtpBackend(f"smtp://127.0.0.1:{free_port()}", timeout=2)
    with pytest.raises(ConnectionFailedError, match="cannot connect"):
        backend.open()


def test_an_idle_connection_answering_421_is_replaced(smtp_server: SmtpSink) -> None:
    with SmtpBackend(smtp_server.url, idle_check_after=0) as backend:
        backend.send(message("a@example.org"))
        first = backend._connection
        smtp_server.noop_reply = "421 4.4.2 Idle timeout, closing channel"
        backend.send(message("b@example.org"))
        assert backend._connection is not first
    assert smtp_server.per_recipient() == {"a@example.org": 1, "b@example.org": 1}


def test_a_connection_lost_before_the_message_is_only_temporary(smtp_server: SmtpSink) -> None:
    with SmtpBackend(smtp_server.url) as backend:
        backend.send(message("a@example.org"))
        assert backend._connection is not None
        backend._connection.sock.shutdown(socket.SHUT_RDWR)  # dies with no idle spell
        with pytest.raises(TemporaryDeliveryError, match="before the message"):
            backend.send(message("b@example.org"))
        backend.send(message("b@example.org"))  # nothing left: safe to send, reconnects
    assert smtp_server.per_recipient() == {"a@example.org": 1, "b@example.org": 1}


@pytest.mark.parametrize("pipelining", [True, False])
def test_a_connection_lost_after_the_message_is_uncertain(
    smtp_server: SmtpSink, pipelining: bool
) -> None:
    smtp_server.pipelining = pipelining
    smtp_server.hang_up_after_data.add("lost@example.org")
    with SmtpBackend(smtp_server.url) as backend:
        with pytest.raises(UncertainDeliveryError):
            backend.send(message("lost@example.org"))
        backend.send(message("c@example.org"))  # the next message reconnects
    assert smtp_server.per_recipient() == {"lost@example.org": 1, "c@example.org": 1}


@pytest.mark.parametrize("pipelining", [True, False])
def test_replies_are_classified_by_the_step_they_answer(
    smtp_server: SmtpSink, pipelining: bool
) -> None:
    smtp_server.pipelining = pipelining
    smtp_server.refuse["gone@example.org"] = "550 5.1.1 No such user"
    smtp_server.refuse["full@example.org"] = "452 4.2.2 Mailbox full"
    smtp_server.reject_data["spam@example.org"] = "554 5.7.1 Message refused by policy"
    smtp_server.refuse["blocked@example.org"] = "550 5.7.1 Service unavailable, client blocked"
    with SmtpBackend(smtp_server.url) as backend:
        assert backend._connection is not None
        assert backend._connection.has_extn("pipelining") == pipelining
        with pytest.raises(PermanentDeliveryError, match="550"):
            backend.send(message("gone@example.org"))
        with pytest.raises(TemporaryDeliveryError, match="452"):
            backend.send(message("full@example.org"))
        with pytest.raises(RejectedMessageError, match="554"):
            backend.send(message("spam@example.org"))
        with pytest.raises(RejectedMessageError, match="client blocked"):
            backend.send(message("blocked@example.org"))  # policy: the address is not at fault
        backend.send(message("ok@example.org"))
        smtp_server.refuse_sender = "553 5.7.1 Sender not allowed"
        with pytest.raises(ConnectionFailedError, match="sender refused: 553"):
            backend.send(message("ok@example.org"))
    assert smtp_server.per_recipient() == {"ok@example.org": 1}


def test_list_unsubscribe_header_is_never_encoded_or_folded() -> None:
    rendered = RenderedDigest(subject="La Matinale – mardi", html="<p>[[name]]</p>", text="x")
    url = "https://www.lequotidien.example/unsubscribe/" + "A" * 120
    built = build_message(
        rendered,
        sender="La Matinale <matinale@lequotidien.example>",
        reply_to=None,
        recipient_email="camille@example.org",
        recipient_name="Camille [[email]]",
        unsubscribe_url=url,
        unsubscribe_mailto="mailto:unsubscribe@lequotidien.example?subject=" + "B" * 120,
        list_id="La Matinale <la-matinale.lequotidien.example>",
    )
    raw = built.data
    assert f"List-Unsubscribe: <{url}>, <mailto:unsubscribe@".encode() in raw
    assert b"List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n" in raw
    assert b"=?utf-8?" not in raw.split(b"List-Unsubscribe:")[1].split(b"\r\n")[0]
    # a value that looks like a marker is not expanded a second time
    parsed = message_from_bytes(raw, policy=policy.default)
    assert "Camille [[email]]" in parsed.get_body(("html",)).get_content()


def test_smtp_url_options() -> None:
    backend = SmtpBackend("smtp://user%40x:p%3Ass@mail.example:587?starttls=true")
    assert (backend.host, backend.port, backend.starttls) == ("mail.example", 587, True)
    assert (backend.username, backend.password) == ("user@x", "p:ss")
    implicit = SmtpBackend("smtps://mail.example")
    assert (implicit.implicit_tls, implicit.port) == (True, 465)


def test_file_backend_writes_one_eml_per_message(tmp_path: Path) -> None:
    with FileBackend(tmp_path / "outbox") as backend:
        backend.send(message("a@example.org"))
        backend.send(message("b@example.org"))
    files = sorted((tmp_path / "outbox").glob("*.eml"))
    assert len(files) == 2
    assert files[0].read_bytes().startswith(b"To: a@example.org\r\n")


def test_console_backend_prints(capsys: pytest.CaptureFixture[str]) -> None:
    with ConsoleBackend() as backend:
        backend.send(message())
    assert "To: camille@example.org" in capsys.readouterr().out
