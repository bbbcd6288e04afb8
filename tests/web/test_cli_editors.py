"""newsroom editors, run as processes: an editor, a token that the API accepts, revoking
it, deactivating the editor."""

from __future__ import annotations

import httpx

from tests.cli import SHELL_USER, audit_log, newsroom
from tests.conftest import SQLITE_ONLY
from tests.web.conftest import EditorLogin
from tests.web.test_pages import log_in

pytestmark = SQLITE_ONLY


def test_an_editor_gets_a_token_the_api_accepts_until_it_is_revoked(
    settings_env: dict[str, str], web: httpx.Client
) -> None:
    env = {**settings_env, "NEWSROOM_EDITOR_PASSWORD": "correct horse battery"}
    added = newsroom(env, "editors", "add", "Claire@Lequotidien.example", "--name", "Claire")
    assert added.returncode == 0, added.stderr
    again = newsroom(env, "editors", "add", "claire@lequotidien.example")
    assert again.returncode == 1
    assert "exists already" in again.stderr
    short = newsroom({**env, "NEWSROOM_EDITOR_PASSWORD": "short"}, "editors", "add", "x@y.org")
    assert short.returncode == 2
    assert "at least 12 characters" in short.stderr

    made = newsroom(env, "editors", "token", "claire@lequotidien.example", "--name", "cms")
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip()
    assert token.startswith("nrt_")
    headers = {"Authorization": f"Bearer {token}"}
    assert web.get("/api/newsletters", headers=headers).status_code == 200

    revoked = newsroom(env, "editors", "revoke", "claire@lequotidien.example", "--name", "cms")
    assert "1 token(s) revoked" in revoked.stdout
    assert web.get("/api/newsletters", headers=headers).status_code == 401
    assert newsroom(env, "editors", "token", "nobody@x.org", "--name", "a").returncode == 2

    assert audit_log(env) == [
        (SHELL_USER, "token.revoke", "claire@lequotidien.example"),
        (SHELL_USER, "token.add", "claire@lequotidien.example"),
        (SHELL_USER, "editor.add", "claire@lequotidien.example"),
    ]
    audited = newsroom(env, "editors", "audit", "--json").stdout
    assert token not in audited  # the token itself is never recorded


def test_a_deactivated_editor_loses_their_session_and_tokens_until_activated(
    settings_env: dict[str, str], web: httpx.Client, editor: EditorLogin
) -> None:
    log_in(web, editor)
    token = {"Authorization": f"Bearer {editor.token}"}
    assert web.get("/").status_code == 200
    assert web.get("/api/newsletters", headers=token).status_code == 200

    deactivated = newsroom(settings_env, "editors", "deactivate", editor.email)
    assert deactivated.returncode == 0, deactivated.stderr
    assert web.get("/").status_code == 303  # back to the login page
    assert web.get("/api/newsletters", headers=token).status_code == 401
    refused = web.post("/login", data={"email": editor.email, "password": editor.password})
    assert refused.status_code != 303

    assert newsroom(settings_env, "editors", "activate", editor.email).returncode == 0
    assert web.get("/api/newsletters", headers=token).status_code == 200
    assert web.get("/").status_code == 303  # the old session stays ended
    log_in(web, editor)
    assert web.get("/").status_code == 200
    assert [action for _, action, _ in audit_log(settings_env)[:2]] == [
        "editor.activate",
        "editor.deactivate",
    ]
