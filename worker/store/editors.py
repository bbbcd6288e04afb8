"""Queries on editors, their API tokens, and the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from worker.store._models import ApiToken, AuditEntry, Editor, address_hash, utcnow


def get_by_email(session: Session, email: str) -> Editor | None:
    return session.scalar(select(Editor).where(Editor.email == email))


def is_active(session: Session, editor_id: int) -> bool:
    editor = session.get(Editor, editor_id)
    return editor is not None and editor.active


def add(session: Session, email: str, name: str, password_hash: str) -> Editor:
    editor = Editor(email=email, name=name, password_hash=password_hash)
    session.add(editor)
    session.flush()
    return editor


def add_token(session: Session, editor: Editor, name: str, token_hash: str) -> ApiToken:
    token = ApiToken(editor=editor, name=name, token_hash=token_hash)
    session.add(token)
    session.flush()
    return token


def token_by_hash(session: Session, token_hash: str) -> ApiToken | None:
    """A live token (not revoked, its editor active), stamped as used now."""
    token = session.scalar(
        select(ApiToken)
        .options(joinedload(ApiToken.editor))
        .where(ApiToken.token_hash == token_hash, ApiToken.revoked_at.is_(None))
    )
    if token is None or not token.editor.active:
        return None
    token.last_used_at = utcnow()
    return token


def revoke_tokens(session: Session, editor: Editor, name: str, now: datetime) -> int:
    tokens = session.scalars(
        select(ApiToken).where(
            ApiToken.editor_id == editor.id, ApiToken.name == name, ApiToken.revoked_at.is_(None)
        )
    ).all()
    for token in tokens:
        token.revoked_at = now
    return len(tokens)


def record(
    session: Session, actor: str, action: str, target: str = "", **detail: Any
) -> AuditEntry:
    entry = AuditEntry(actor=actor, action=action, target=target, detail=detail)
    session.add(entry)
    session.flush()
    return entry


def person(address: str) -> str:
    """How the audit log names a person: no address, which an erasure must not leave."""
    return f"subscriber {address_hash(address)[:16]}"


def audit_log(session: Session, limit: int = 100) -> list[AuditEntry]:
    return list(session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)))
