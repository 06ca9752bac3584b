"""Settings: environment variables with the `EIM_` prefix, then an optional `eim.toml`, then defaults.

Every publisher's base URL is a setting, so tests, the demo and a local mirror point the same code at
a loopback server. Secrets are `SecretStr`: their repr and str are masked, so they never reach a log.

The two sources are read by the few lines below and validated by a plain pydantic model, not through
pydantic-settings: that library's import (asyncio, argparse, python-dotenv and its cloud secret
providers, none of which these settings use) cost more than the rest of `eim status`'s start-up.
Every value is still validated and converted by pydantic, with its messages.
"""

from __future__ import annotations

import functools
import os
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from warehouse.geography import packaged_area_names

if TYPE_CHECKING:
    from reports.delivery.mail import MailConfig
    from reports.delivery.smtp import SmtpSettings
    from sources.http import HttpConfig

ENV_PREFIX = "eim_"
TOML_FILE = Path("eim.toml")

PUBLISHER_URL_SETTINGS = {
    "nomis": "nomis_url",
    "ons_api": "ons_api_url",
    "ons_web": "ons_web_url",
    "ons_datasets": "ons_web_url",  # the same website: its dataset pages and their spreadsheets
    "landregistry": "landregistry_url",
    "govuk": "govuk_url",
    "els": "els_url",
}


def from_environment() -> dict[str, str]:
    """`EIM_`-prefixed variables by setting name, in any case (`EIM_DATA_DIR`, `eim_data_dir`)."""
    lowered = {key.lower(): value for key, value in os.environ.items()}
    return {
        key.removeprefix(ENV_PREFIX): value for key, value in lowered.items() if key.startswith(ENV_PREFIX)
    }


class SettingsError(ValueError):
    """A setting or `eim.toml` that cannot be used: one line per problem, naming where it was set,
    the value and what is expected (the CLI prints them and exits 2)."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def from_toml() -> dict[str, Any]:
    """`eim.toml` in the working directory, if there is one; a malformed file fails loudly."""
    try:
        with TOML_FILE.open("rb") as file:
            return tomllib.load(file)
    except FileNotFoundError:
        return {}
    except tomllib.TOMLDecodeError as error:
        raise SettingsError([f"{TOML_FILE.resolve()} is not valid TOML: {error}"]) from None
    except OSError as error:
        raise SettingsError([f"{TOML_FILE.resolve()} cannot be read: {error.strerror}"]) from None


def _problems(error: ValidationError, environment: dict[str, str]) -> list[str]:
    """pydantic's errors as lines an operator can act on: where the value came from, the value, and
    what the setting expects."""
    problems = []
    for item in error.errors(include_url=False):
        name = str(item["loc"][0]) if item["loc"] else "settings"
        value = item["input"]
        setting = (
            f"EIM_{name.upper()}={value!r}" if name in environment else f"{TOML_FILE}: {name} = {value!r}"
        )
        expected = item["msg"].removeprefix("Value error, ").replace("Input should be", "it should be")
        problems.append(f"{setting} is not valid: {expected}")
    return problems


class Settings(BaseModel):
    model_config = ConfigDict(
        extra="ignore",  # other EIM_ variables and eim.toml keys are not settings
        frozen=True,  # load_settings hands the same object to every caller
    )

    def __init__(self, **values: Any) -> None:
        """Arguments first, then the environment, then `eim.toml`, then the defaults below."""
        environment = from_environment()
        try:
            super().__init__(**{**from_toml(), **environment, **values})
        except ValidationError as error:
            raise SettingsError(_problems(error, environment)) from None

    data_dir: Path = Field(Path("data"), description="Where the warehouse, raw archive and site live.")
    nomis_url: str = "https://www.nomisweb.co.uk"
    ons_api_url: str = "https://api.beta.ons.gov.uk/v1"
    ons_web_url: str = "https://www.ons.gov.uk"
    landregistry_url: str = "https://publicdata.landregistry.gov.uk"
    govuk_url: str = "https://www.gov.uk"
    # ONS Explore Local Statistics: the raw files of its public data repository's main branch.
    els_url: str = "https://raw.githubusercontent.com/ONSdigital/explore-local-statistics-data/main"
    nomis_uid: SecretStr | None = Field(None, description="Optional Nomis API key (raises the row limit).")
    nomis_page_size: int | None = Field(
        None,
        gt=0,
        description="Rows per Nomis page; default 25,000 as a guest, 100,000 with a key.",
    )
    http_timeout: float = Field(30.0, gt=0, description="Seconds to wait to connect and per read.")
    http_retries: int = Field(4, ge=1, description="Attempts per request, first one included.")
    http_retry_budget: float = Field(
        45.0, gt=0, description="Seconds one request may spend retrying before it gives up."
    )
    area: str = Field("west-midlands", description="Packaged area file to use.")
    area_file: Path | None = Field(None, description="An area file of your own (overrides `area`).")
    quiet: bool = Field(False, description="No progress bars.")
    contact: str | None = Field(None, description="The bulletin's contact line (team and email).")
    site_url: str | None = Field(None, description="Public address of the site, for links and the feed.")
    smtp_host: str | None = Field(None, description="SMTP server that sends the edition emails.")
    smtp_port: int = Field(587, ge=1, le=65535, description="SMTP port (587 STARTTLS, 465 TLS, 25 none).")
    smtp_security: Literal["none", "starttls", "tls"] = Field(
        "starttls", description="Transport security to the SMTP server: none, starttls or tls."
    )
    smtp_user: str | None = Field(None, description="SMTP login (none: send without logging in).")
    smtp_password: SecretStr | None = Field(None, description="SMTP password.")
    mail_from: str | None = Field(None, description="From address of the edition emails.")
    unsubscribe_secret: SecretStr | None = Field(
        None, description="Key of the unsubscribe links' HMAC (at least 16 random characters)."
    )
    unsubscribe_previous_secrets: SecretStr | None = Field(
        None,
        description="Retired unsubscribe secrets, comma-separated: links they signed keep working "
        "(see reports/delivery/tokens.py for the rotation policy).",
    )
    send_rate_per_minute: float = Field(60.0, gt=0, description="Most messages sent per minute.")
    alert_email: str | None = Field(None, description="Where operators' alerts go (same SMTP settings).")
    full_refresh: bool = Field(
        False,
        description="Ask for every dataset's whole window, the older periods of those fetched by their "
        "recent months (`recent` in the catalog) included. Set by `eim run --full-refresh`.",
    )
    demo: bool = Field(False, description="Set by `eim demo`: the data are illustrative samples.")
    demo_port: int = Field(
        47860, ge=0, le=65535, description="Loopback port of the demo's replay server (0: any free port)."
    )

    @field_validator("area")
    @classmethod
    def _packaged_area(cls, name: str) -> str:
        if name not in (names := packaged_area_names()):
            raise ValueError(
                f"there is no packaged area of that name; packaged areas: {', '.join(names)} "
                "(or set EIM_AREA_FILE to an area file of your own)"
            )
        return name

    @field_validator("area_file")
    @classmethod
    def _area_file_exists(cls, path: Path | None) -> Path | None:
        if path is not None and not path.is_file():
            raise ValueError(f"there is no file at {path.resolve()}")
        return path

    @property
    def warehouse_path(self) -> Path:
        return self.data_dir / "warehouse.duckdb"

    @property
    def snapshot_path(self) -> Path:
        return self.data_dir / "published" / "warehouse.duckdb"

    @property
    def parquet_dir(self) -> Path:
        return self.data_dir / "published" / "parquet"

    @property
    def raw_dir(self) -> Path:
        return self.data_dir / "raw"

    @property
    def site_dir(self) -> Path:
        return self.data_dir / "site"

    def base_url(self, publisher: str) -> str:
        return getattr(self, PUBLISHER_URL_SETTINGS[publisher]).rstrip("/")

    def http_config(self) -> HttpConfig:
        # Imported here: httpx is slow to import and the read-only commands never need it.
        from sources.http import HttpConfig

        return HttpConfig(
            timeout=self.http_timeout,
            attempts=self.http_retries,
            retry_budget=self.http_retry_budget,
        )

    def previous_unsubscribe_secrets(self) -> tuple[str, ...]:
        value = (
            self.unsubscribe_previous_secrets.get_secret_value() if self.unsubscribe_previous_secrets else ""
        )
        return tuple(secret.strip() for secret in value.split(",") if secret.strip())

    def smtp(self) -> SmtpSettings:
        """The SMTP server the edition emails and the alerts go through; MailError when unset."""
        from reports.delivery.smtp import MailError, SmtpSettings

        if not self.smtp_host:
            raise MailError("sending mail needs EIM_SMTP_HOST (the SMTP server)")
        return SmtpSettings(
            host=self.smtp_host,
            port=self.smtp_port,
            security=self.smtp_security,
            user=self.smtp_user,
            password=self.smtp_password.get_secret_value() if self.smtp_password else None,
        )

    def mail_config(self) -> MailConfig:
        """What sending an edition needs; MailError naming every setting that is missing."""
        from reports.delivery.mail import MailConfig
        from reports.delivery.smtp import MailError

        required = {
            "EIM_SMTP_HOST": self.smtp_host,
            "EIM_MAIL_FROM": self.mail_from,
            "EIM_UNSUBSCRIBE_SECRET": self.unsubscribe_secret,
            "EIM_SITE_URL": self.site_url,
        }
        if missing := [name for name, value in required.items() if not value]:
            raise MailError(f"sending the edition needs {', '.join(missing)}")
        return MailConfig(
            smtp=self.smtp(),
            mail_from=self.mail_from,
            unsubscribe_secret=self.unsubscribe_secret.get_secret_value(),
            site_url=self.site_url,
            send_rate_per_minute=self.send_rate_per_minute,
        )


def load_settings(**overrides: object) -> Settings:
    """The settings in force now; every task of a run asks, so the answer is reused until the
    environment or `eim.toml` changes (reading them costs ~6 ms, ~50 times a run)."""
    if overrides:
        return Settings(**overrides)
    toml = TOML_FILE
    stamp = toml.stat().st_mtime_ns if toml.exists() else None
    environment = tuple(sorted(from_environment().items()))
    return _settings_for(environment, str(Path.cwd()), stamp)


@functools.lru_cache(maxsize=8)
def _settings_for(environment: tuple, cwd: str, toml_stamp: int | None) -> Settings:
    return Settings()
