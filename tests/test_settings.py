"""Configuration errors name the file, the key and the reason; secrets are never printed."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import TEST_CONFIG, environment
from worker.settings import ConfigError, load_settings

VALID = TEST_CONFIG.read_text()


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "newsroom.toml"
    path.write_text(text, encoding="utf-8")
    return path


def load(tmp_path: Path, config_text: str = VALID, **env: str):
    config = write(tmp_path, config_text)
    return load_settings(environment(tmp_path, NEWSROOM_CONFIG=str(config), **env))


def test_valid_configuration_loads(tmp_path: Path) -> None:
    settings = load(tmp_path)
    assert set(settings.file.newsletters) == {"la-matinale", "morning-briefing"}
    assert settings.file.newsletters["la-matinale"].language == "fr"
    assert settings.database_url == f"sqlite:///{tmp_path / 'data' / 'newsroom.db'}"
    assert settings.embedded_redis
    assert settings.email_backend == "file"


def test_typo_in_a_key_names_file_line_key_and_suggestion(tmp_path: Path) -> None:
    text = VALID.replace('reply_to = "redaction', 'reply_too = "redaction')
    with pytest.raises(ConfigError) as error:
        load(tmp_path, text)
    message = str(error.value)
    line = text.splitlines().index(next(x for x in text.splitlines() if "reply_too" in x)) + 1
    assert f"newsroom.toml:{line}: newsletters.la-matinale.reply_too: unknown key" in message
    assert "did you mean 'reply_to'?" in message


def test_unknown_section_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"newsleters: unknown key \(did you mean 'newsletters'"):
        load(tmp_path, VALID + '\n[newsleters.x]\ntitle = "x"\n')


def test_bad_time_zone_names_its_line(tmp_path: Path) -> None:
    text = VALID.replace('timezone = "Europe/Paris"', 'timezone = "Europe/Pariss"', 1)
    with pytest.raises(ConfigError) as error:
        load(tmp_path, text)
    assert "newsroom.toml:2: site.timezone: 'Europe/Pariss' is not an IANA time zone" in str(
        error.value
    )


def test_wrong_type_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"newsletters.la-matinale.max_items: .*integer"):
        load(tmp_path, VALID.replace("max_items = 5", 'max_items = "five"', 1))


def test_toml_syntax_error_gives_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"newsroom.toml: .*line 2"):
        load(tmp_path, "[site]\ntimezone = \n")


def test_missing_config_file(tmp_path: Path) -> None:
    env = environment(tmp_path, NEWSROOM_CONFIG=str(tmp_path / "absent.toml"))
    with pytest.raises(ConfigError, match=r"absent\.toml: file not found"):
        load_settings(env)


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("DATABASE_URL", "mysql://x/y", "DATABASE_URL: 'mysql://x/y' must start with sqlite://"),
        ("REDIS_URL", "http://localhost", "REDIS_URL: 'http://localhost' must start with redis://"),
        ("SMTP_URL", "smtp://", "SMTP_URL: 'smtp://' has no host"),
        ("EMAIL_BACKEND", "pigeon", "EMAIL_BACKEND: 'pigeon' is not one of smtp, file, console"),
        ("PUBLIC_BASE_URL", "localhost:8000", "PUBLIC_BASE_URL: 'localhost:8000' is not an http"),
    ],
)
def test_bad_environment_values(tmp_path: Path, variable: str, value: str, expected: str) -> None:
    with pytest.raises(ConfigError) as error:
        load(tmp_path, **{variable: value})
    assert expected in str(error.value)


def test_smtp_backend_needs_smtp_url(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="SMTP_URL: required when EMAIL_BACKEND=smtp"):
        load(tmp_path, EMAIL_BACKEND="smtp")


LIVE_X = VALID.replace(
    'platform = "twitter"\npublisher = "dry-run"', 'platform = "twitter"\npublisher = "live"'
)


def test_live_account_without_its_secrets_fails(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as error:
        load(tmp_path, LIVE_X, SOCIAL_TEST_X_API_KEY="k")
    message = str(error.value)
    assert "SOCIAL_TEST_X_API_SECRET: missing, and social account 'test_x' (twitter)" in message
    assert "SOCIAL_TEST_X_ACCESS_TOKEN_SECRET: missing" in message
    assert "SOCIAL_TEST_X_API_KEY" not in message


def test_masked_configuration_hides_every_secret(tmp_path: Path) -> None:
    secrets = {
        "SOCIAL_TEST_X_API_KEY": "key-1111",
        "SOCIAL_TEST_X_API_SECRET": "secret-2222",
        "SOCIAL_TEST_X_ACCESS_TOKEN": "token-3333",
        "SOCIAL_TEST_X_ACCESS_TOKEN_SECRET": "token-secret-4444",
    }
    settings = load(
        tmp_path,
        LIVE_X,
        DATABASE_URL="postgresql+psycopg://newsroom:pg-pass-5555@db:5432/newsroom",
        SMTP_URL="smtp://mailer:smtp-pass-6666@mail.example:587",
        SECRET_KEY="signing-key-7777",
        **secrets,
    )
    printed = repr(settings.masked()) + repr(settings)
    for secret in [*secrets.values(), "pg-pass-5555", "smtp-pass-6666", "signing-key-7777"]:
        assert secret not in printed
    assert "postgresql+psycopg://newsroom:********@db:5432/newsroom" in printed
    assert settings.social_secrets["test_x"]["API_KEY"] == "key-1111"


def test_dotenv_file_is_read_and_environment_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("EMAIL_BACKEND=console\nPUBLIC_BASE_URL=https://from-dotenv.example\n")
    for key, value in environment(tmp_path).items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("EMAIL_BACKEND")
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://from-env.example")
    settings = load_settings(env_file=env_file)
    assert settings.email_backend == "console"
    assert settings.public_base_url == "https://from-env.example"


def test_local_secret_key_is_stable_per_data_dir(tmp_path: Path) -> None:
    env = environment(tmp_path)
    del env["SECRET_KEY"]
    first = load_settings(env).secret_key
    assert len(first) > 40
    assert load_settings(env).secret_key == first
    assert (tmp_path / "data" / "secret_key").stat().st_mode & 0o777 == 0o600


def test_bad_sender_and_missing_template_are_named(tmp_path: Path) -> None:
    text = VALID.replace(
        'sender = "La Matinale <matinale@lequotidien.example>"', 'sender = "La Matinale"'
    ).replace("max_items = 5\n", 'max_items = 5\ntemplate = "nope"\n', 1)
    with pytest.raises(ConfigError) as error:
        load(tmp_path, text)
    message = str(error.value)
    assert "newsletters.la-matinale.sender: 'La Matinale' is not an address" in message
    assert "newsletters.la-matinale.template: templates/email/nope/ lacks subject.txt" in message
