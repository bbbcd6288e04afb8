"""The editors' subscriber pages: the lists with their counts, a person found by address
(never put in a URL), adding, importing, exporting, unsubscribing and erasing. Each page
calls the subscriber API's route functions, as the other pages call theirs."""

from __future__ import annotations

import json
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, HTTPException, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, Response

from worker.store import SubscriptionStatus
from worker.web import _api_subscribers as api
from worker.web._api import SessionsDep, SettingsDep
from worker.web._auth import EditorDep
from worker.web._pages import refused, render

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50
STATUSES = tuple(status.value for status in SubscriptionStatus)


@router.get("/subscribers", response_class=HTMLResponse)
def lists(
    request: Request,
    editor: EditorDep,
    settings: SettingsDep,
    sessions: SessionsDep,
    newsletter: Annotated[str, Query(max_length=100)] = "",
    status: Annotated[str, Query(max_length=20)] = "",
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
) -> Response:
    """Counts per newsletter and status, then the subscriptions a page at a time."""
    chosen_status = status if status in STATUSES else None
    try:
        rows = api.list_subscriptions(
            editor,
            settings,
            sessions,
            newsletter=newsletter or None,
            status=SubscriptionStatus(chosen_status) if chosen_status else None,
            limit=PAGE_SIZE + 1,  # one more tells whether there is a next page
            offset=(page - 1) * PAGE_SIZE,
        )
    except HTTPException as exc:
        return refused(request, editor, exc)
    filters = {
        key: value for key, value in (("newsletter", newsletter), ("status", status)) if value
    }

    def page_url(number: int) -> str:
        return "/subscribers?" + urlencode({**filters, "page": number})

    return render(
        request,
        editor,
        "subscribers.html",
        counts=api.count_subscriptions(editor, settings, sessions),
        newsletters=list(settings.file.newsletters),
        statuses=STATUSES,
        rows=rows[:PAGE_SIZE],
        newsletter=newsletter,
        status=chosen_status or "",
        page=page,
        previous_url=page_url(page - 1) if page > 1 else "",
        next_url=page_url(page + 1) if len(rows) > PAGE_SIZE else "",
        export_url="/api/subscribers/export?" + urlencode(filters),
    )


@router.post("/subscribers/find", response_class=HTMLResponse)
def find(
    request: Request,
    editor: EditorDep,
    settings: SettingsDep,
    sessions: SessionsDep,
    email: Annotated[str, Form(max_length=320)],
) -> Response:
    return _person_page(request, editor, settings, sessions, email)


@router.post("/subscribers/add", response_class=HTMLResponse)
def add(
    request: Request,
    editor: EditorDep,
    settings: SettingsDep,
    sessions: SessionsDep,
    email: Annotated[str, Form(max_length=320)],
    newsletter: Annotated[str, Form(max_length=100)],
    name: Annotated[str, Form(max_length=1000)] = "",
    confirmed: Annotated[bool, Form()] = False,
) -> Response:
    body = api.NewSubscriber(email=email, newsletter=newsletter, name=name, confirmed=confirmed)
    try:
        added = api.add_subscriber(body, editor, settings, sessions)
    except HTTPException as exc:
        return refused(request, editor, exc)
    notice = f"{added.email}: {added.status} on {added.newsletter}."
    return _person_page(request, editor, settings, sessions, added.email, notice)


@router.post("/subscribers/remove", response_class=HTMLResponse)
def remove(
    request: Request,
    editor: EditorDep,
    settings: SettingsDep,
    sessions: SessionsDep,
    email: Annotated[str, Form(max_length=320)],
    newsletter: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    body = api.Removal(email=email, newsletter=newsletter or None)
    try:
        removed = api.remove(body, editor, settings, sessions)
    except HTTPException as exc:
        return refused(request, editor, exc)
    notice = f"Unsubscribed from {removed['unsubscribed_from']}."
    return _person_page(request, editor, settings, sessions, email, notice)


@router.post("/subscribers/export-data")
def export_data(
    request: Request,
    editor: EditorDep,
    sessions: SessionsDep,
    email: Annotated[str, Form(max_length=320)],
) -> Response:
    """The person's data as a JSON file to hand over (a GDPR access request)."""
    try:
        data = api.export_person(api.Person(email=email), editor, sessions)
    except HTTPException as exc:
        return refused(request, editor, exc)
    return Response(
        json.dumps(data, ensure_ascii=False, indent=2),
        media_type="application/json",
        headers={"Content-Disposition": 'attachment; filename="subscriber-data.json"'},
    )


@router.post("/subscribers/forget", response_class=HTMLResponse)
def forget(
    request: Request,
    editor: EditorDep,
    sessions: SessionsDep,
    email: Annotated[str, Form(max_length=320)],
    understood: Annotated[bool, Form()] = False,
) -> Response:
    """Erase a person, once the editor has ticked that it cannot be undone."""
    if not understood:
        return refused(request, editor, HTTPException(422, "Tick the box to confirm the erasure."))
    try:
        erased = api.erase(api.Person(email=email), editor, sessions)
    except HTTPException as exc:
        return refused(request, editor, exc)
    state = "erased" if erased["erased"] else "not held, now on the suppression list"
    return render(
        request, editor, "subscriber.html", person=None, notice=f"{erased['email']}: {state}."
    )


@router.post("/subscribers/import", response_class=HTMLResponse)
def import_file(
    request: Request,
    editor: EditorDep,
    settings: SettingsDep,
    sessions: SessionsDep,
    file: UploadFile,
    newsletter: Annotated[str, Form(max_length=100)],
    confirmed: Annotated[bool, Form()] = False,
    source: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    """Import, then show the counts and each rejected line with its number."""
    try:
        report = api.import_subscribers(
            file, newsletter, editor, settings, sessions, confirmed=confirmed, source=source
        )
    except HTTPException as exc:
        return refused(request, editor, exc)
    return render(
        request,
        editor,
        "subscribers_import.html",
        report=report,
        newsletter=newsletter,
        filename=file.filename or "upload",
    )


def _person_page(
    request: Request,
    editor: EditorDep,
    settings: SettingsDep,
    sessions: SessionsDep,
    email: str,
    notice: str = "",
) -> Response:
    try:
        person = api.look_up(api.Person(email=email), editor, sessions)
    except HTTPException as exc:
        return refused(request, editor, exc)
    return render(
        request,
        editor,
        "subscriber.html",
        person=person,
        notice=notice,
        newsletters=list(settings.file.newsletters),
    )
