"""The editors' API for subscribers: page through and count the lists, add, import, remove,
export, and answer a person's access and erasure requests. The same functions as
``newsroom subscribers`` behind it.

An address never appears in a URL, where access logs and browser histories would keep it:
the routes about one person take it in a JSON body. The audit log names a person by the
start of their address's hash, which still matches the suppression list after an erasure.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Form, HTTPException, Query, UploadFile
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from worker.dispatch import subscribe_rows
from worker.settings import Settings
from worker.store import Newsletter, SubscriptionStatus, editors, newsletters, subscribers
from worker.subscribers import (
    ImportReport,
    InvalidField,
    Row,
    UnreadableFile,
    clean_name,
    counts_per_newsletter,
    csv_text,
    export_data,
    forget,
    parse_csv,
    subscription_rows,
    unsubscribe,
)
from worker.web._api import (
    SessionsDep,
    SettingsDep,
    audit,
    known_newsletter,
    refusals,
    valid_address,
)
from worker.web._auth import EditorDep

# An import larger than this is refused whole (413); 100,000 lines are about 5 MB.
MAX_IMPORT_BYTES = 50 * 1024 * 1024

router = APIRouter(
    prefix="/api/subscribers", tags=["editors"], responses=refusals(400, 401, 403, 422)
)
Address = Annotated[str, Field(max_length=320, description="An email address.")]
# a newsletter's name as configured; no control character (PostgreSQL refuses a NUL)
NewsletterName = Annotated[str, Field(max_length=100, pattern=r"^[^\x00-\x1f\x7f]+$")]


class Subscription(BaseModel):
    email: str
    name: str
    language: str
    newsletter: str
    status: SubscriptionStatus
    subscribed_at: datetime


class Person(BaseModel):
    email: Address


class NewSubscriber(BaseModel):
    email: Address
    newsletter: NewsletterName
    name: Annotated[str, Field(max_length=1000)] = ""
    confirmed: bool = Field(False, description="Consent was confirmed elsewhere: no email.")


class Added(BaseModel):
    email: str
    newsletter: str
    status: Literal["pending", "confirmed", "already subscribed"]


class Removal(BaseModel):
    email: Address
    newsletter: NewsletterName | None = Field(None, description="Every newsletter if absent.")


class ImportProblem(BaseModel):
    line: int
    reason: str


class Imported(BaseModel):
    imported: int
    already: int = Field(description="Pending or confirmed already: left as they were.")
    suppressed: int = Field(description="Left, bounced, complained or erased: not imported.")
    duplicates: int
    rejected: int
    problems: list[ImportProblem]


def _newsletter_row(session: Session, settings: Settings, slug: str) -> Newsletter:
    """The row of a configured newsletter: a 404 for any other name."""
    return newsletters.synced(session, known_newsletter(settings, slug))


def _rows(
    session: Session,
    settings: Settings,
    newsletter: str | None,
    status: SubscriptionStatus | None,
    limit: int | None = None,
    offset: int = 0,
) -> Iterator[dict[str, str]]:
    return subscription_rows(
        session,
        newsletter_id=_newsletter_row(session, settings, newsletter).id if newsletter else None,
        status=status,
        limit=limit,
        offset=offset,
    )


@router.get("", responses=refusals(404))
def list_subscriptions(
    editor: EditorDep,
    settings: SettingsDep,
    sessions: SessionsDep,
    newsletter: Annotated[str | None, Query(max_length=100)] = None,
    status: SubscriptionStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
) -> list[Subscription]:
    """Subscriptions, oldest first, a page at a time."""
    with sessions.begin() as session:
        rows = _rows(session, settings, newsletter, status, limit=limit, offset=offset)
        return [Subscription.model_validate(row) for row in rows]


@router.get("/counts")
def count_subscriptions(
    editor: EditorDep, settings: SettingsDep, sessions: SessionsDep
) -> dict[str, dict[str, int]]:
    """Subscriptions per newsletter and status."""
    with sessions.begin() as session:
        ids = {
            slug: _newsletter_row(session, settings, slug).id for slug in settings.file.newsletters
        }
        return counts_per_newsletter(session, ids)


@router.get(
    "/export",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"text/csv": {"schema": {"type": "string"}}}},
        **refusals(404),
    },
)
def export_subscriptions(
    editor: EditorDep,
    settings: SettingsDep,
    sessions: SessionsDep,
    newsletter: Annotated[str | None, Query(max_length=100)] = None,
    status: SubscriptionStatus | None = None,
) -> StreamingResponse:
    """CSV: email,name,language,newsletter,status,subscribed_at (names spreadsheet-safe),
    streamed from the database a thousand lines at a time."""
    if newsletter:
        known_newsletter(settings, newsletter)
    audit(sessions, editor, "subscribers.export", newsletter or "every newsletter")

    def lines() -> Iterator[str]:
        with sessions.begin() as session:
            yield from csv_text(_rows(session, settings, newsletter, status))

    name = f"subscribers-{newsletter or 'all'}.csv"
    return StreamingResponse(
        lines(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.post("", status_code=201, responses=refusals(404, 409))
def add_subscriber(
    body: NewSubscriber, editor: EditorDep, settings: SettingsDep, sessions: SessionsDep
) -> Added:
    """Subscribe one address, as an import of one line would: pending with a confirmation
    email, or confirmed. An address that left, bounced, complained or was erased is
    refused (409)."""
    address = valid_address(body.email, "email")
    try:
        row = Row(line=0, email=address, name=clean_name(body.name))
    except InvalidField as exc:
        raise HTTPException(422, str(exc)) from None
    with sessions.begin() as session:
        target = _newsletter_row(session, settings, body.newsletter)
        outcome = subscribe_rows(
            session, [row], target.id, confirmed=body.confirmed, detail=f"API, {editor.label}"
        )
    if outcome.suppressed:
        raise HTTPException(409, "email: suppressed (left, bounced, complained or erased)")
    status = "confirmed" if body.confirmed else "pending"
    if outcome.already:
        status = "already subscribed"
    else:
        audit(
            sessions, editor, "subscriber.add", editors.person(address), newsletter=body.newsletter
        )
    return Added(email=address, newsletter=body.newsletter, status=status)


@router.post("/import", responses=refusals(404, 413))
def import_subscribers(
    file: Annotated[UploadFile, Form(description="CSV, UTF-8, header email[,name][,language]")],
    newsletter: Annotated[str, Form(max_length=100)],
    editor: EditorDep,
    settings: SettingsDep,
    sessions: SessionsDep,
    confirmed: Annotated[bool, Form(description="Consent was confirmed elsewhere.")] = False,
    source: Annotated[str, Form(description="Where the list comes from.")] = "",
) -> Imported:
    """Import a CSV file into a newsletter. Each rejected line is reported with its number
    and reason, and the other lines are imported; addresses that left, bounced, complained
    or were erased are never brought back."""
    known_newsletter(settings, newsletter)
    try:
        detail = clean_name(source or f"import: {file.filename or 'upload'}")
    except InvalidField as exc:
        raise HTTPException(422, f"source: {exc}") from None
    data = file.file.read(MAX_IMPORT_BYTES + 1)
    if len(data) > MAX_IMPORT_BYTES:
        raise HTTPException(413, f"file: larger than {MAX_IMPORT_BYTES // 2**20} MB; split it")
    try:
        parsed = parse_csv(data)
    except UnreadableFile as exc:
        raise HTTPException(422, f"file: {exc}") from None
    with sessions.begin() as session:
        target = _newsletter_row(session, settings, newsletter)
        outcome = subscribe_rows(
            session, parsed.rows, target.id, confirmed=confirmed, detail=detail
        )
    report = ImportReport.of(parsed, outcome)
    audit(
        sessions,
        editor,
        "subscribers.import",
        newsletter,
        imported=len(outcome.imported),
        rejected=report.rejected,
        confirmed=confirmed,
    )
    return Imported.model_validate(report.as_dict())


@router.post("/lookup", responses=refusals(404))
def look_up(body: Person, editor: EditorDep, sessions: SessionsDep) -> dict[str, Any]:
    """One person: their details, subscriptions and suppressions (404 if none is held)."""
    address = valid_address(body.email, "email")
    with sessions.begin() as session:
        data = export_data(session, address)
    if data["subscriber"] is None and not data["suppressions"]:
        raise HTTPException(404, "email: no subscriber with this address")
    return {key: data[key] for key in ("email", "subscriber", "subscriptions", "suppressions")}


@router.post("/remove", responses=refusals(404))
def remove(
    body: Removal, editor: EditorDep, settings: SettingsDep, sessions: SessionsDep
) -> dict[str, str]:
    """Unsubscribe an address from one newsletter, or from every newsletter."""
    address = valid_address(body.email, "email")
    with sessions.begin() as session:
        newsletter_id = (
            _newsletter_row(session, settings, body.newsletter).id if body.newsletter else None
        )
        subscriber = subscribers.get_by_email(session, address)
        if subscriber is None:
            raise HTTPException(404, "email: no subscriber with this address")
        unsubscribe(session, subscriber.id, newsletter_id)
    scope = body.newsletter or "every newsletter"
    audit(sessions, editor, "subscriber.remove", editors.person(address), newsletter=scope)
    return {"email": address, "unsubscribed_from": scope}


@router.post("/export-data")
def export_person(body: Person, editor: EditorDep, sessions: SessionsDep) -> dict[str, Any]:
    """Everything held on a person (a GDPR access request): details, subscriptions,
    consents, deliveries and suppressions."""
    address = valid_address(body.email, "email")
    with sessions.begin() as session:
        data = export_data(session, address)
    audit(sessions, editor, "subscriber.export-data", editors.person(address))
    return data


@router.post("/forget")
def erase(body: Person, editor: EditorDep, sessions: SessionsDep) -> dict[str, Any]:
    """Erase a person's data (a GDPR erasure request); only a hash of the address stays, on
    the suppression list, so that no import or form adds it again."""
    address = valid_address(body.email, "email")
    with sessions.begin() as session:
        erased = forget(session, address)
    audit(sessions, editor, "subscriber.forget", editors.person(address), erased=erased)
    return {"email": address, "erased": erased}
