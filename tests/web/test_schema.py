"""schemathesis against the app's own OpenAPI schema, as an editor with an API token: no
500 anywhere, and each answer is one the schema documents (status code, content type,
body), for valid input and for input the schema rules out: the editors' API, the CMS
webhook, the readers' pages and /health (503 here, where no worker or beat runs). A few
examples per operation keep the file fast; the seeded rows (ids 1 and 2) give the
generated ids something to find.

Operations are walked here rather than through schemathesis' pytest plugin, whose
``from_fixture`` does not run on pytest 9."""

from __future__ import annotations

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.schemas import APIOperation
from schemathesis.specs.openapi.checks import positive_data_acceptance
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import SQLITE_ONLY
from tests.web.conftest import EditorLogin
from tests.web.test_pages import ACCOUNTS, seed
from worker.settings import Settings

# SQLite only: this fuzzes the HTTP layer; the routes themselves run on both databases in
# test_api.py and test_api_subscribers.py.
pytestmark = [SQLITE_ONLY, pytest.mark.newsroom_config(ACCOUNTS)]
EXAMPLES = 15


def exercise(operation: APIOperation, mode: GenerationMode, token: str) -> None:
    # /health answers its documented 503 while no worker or beat runs, as here
    unhealthy_here = [not_a_server_error] if operation.path == "/health" else []

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def answers_as_documented(case: Case) -> None:
        # Schema-valid input may still be refused with a documented 422 that names the
        # field: a text over X's weighted limit or empty once cleaned, an address with no
        # domain. Those are answers, not valid data rejected.
        case.call_and_validate(
            headers={"Authorization": f"Bearer {token}"},
            excluded_checks=[positive_data_acceptance, *unhealthy_here],
        )

    try:
        answers_as_documented()
    except Unsatisfiable:
        # no input breaks the schema (a free-form path string, say): nothing to rule out
        if mode is GenerationMode.POSITIVE:
            raise


def test_the_api_answers_as_its_schema_says(
    api: httpx.Client,
    editor: EditorLogin,
    settings: Settings,
    sessions: sessionmaker[Session],
    subtests: pytest.Subtests,
) -> None:
    seed(settings, sessions)
    schema = schemathesis.openapi.from_url(str(api.base_url.join("/openapi.json")))
    for result in schema.get_all_operations():
        operation = result.ok()
        # input the schema rules out exists only where there is input
        inputs = any(operation.iter_parameters()) or bool(operation.body)
        modes = list(GenerationMode) if inputs else [GenerationMode.POSITIVE]
        for mode in modes:
            with subtests.test(operation=operation.label, mode=mode.value):
                exercise(operation, mode, editor.token)
