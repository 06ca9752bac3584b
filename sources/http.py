"""The one HTTP client every publisher shares.

Timeouts on connect and read, a bounded retry budget with exponential backoff and jitter (stamina)
for connection errors, timeouts, 429 and 5xx, `Retry-After` honoured, other 4xx not retried.
Conditional requests: the caller passes the validators of the last fetch of the same URL; a 304
comes back as `not_modified`. A descriptive User-Agent names the project and its version.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import functools
import hashlib
import logging
import os
import ssl
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import certifi
import httpx
import stamina
from stamina.instrumentation import RetryDetails, set_on_retry_hooks

from sources.errors import PublisherFormatError, PublisherHTTPError, PublisherUnreachable

try:
    PROJECT_VERSION = version("wm-economic-impact-monitor")
except PackageNotFoundError:  # running from a source tree that was never installed
    PROJECT_VERSION = "0+unknown"

USER_AGENT = (
    f"wm-economic-impact-monitor/{PROJECT_VERSION} "
    "(West Midlands Economic Impact Monitor; automated statistics pipeline)"
)
RETRY_AFTER_CEILING = 120.0  # a Retry-After beyond this is treated as "give up now"
SECRET_PARAMS = frozenset({"uid"})

# httpx logs every request URL at INFO; a Nomis URL carries the `uid` key, which must never be logged.
logging.getLogger("httpx").setLevel(logging.WARNING)
logger = logging.getLogger(__name__)


def _log_retry(details: RetryDetails) -> None:
    """One line per retry naming the host and the cause (stamina's own hook names neither)."""
    cause = details.caused_by
    if isinstance(cause, _RetryableStatus):
        host = cause.response.url.host
    elif isinstance(cause, httpx.RequestError):
        host = cause.request.url.host
    else:
        host = "?"
    logger.info("retrying %s in %.1f s (retry %d) after %s", host, details.wait_for, details.retry_num, cause)


set_on_retry_hooks([_log_retry])


@dataclass(frozen=True)
class HttpConfig:
    timeout: float = 30.0
    attempts: int = 4
    retry_budget: float = 45.0
    backoff_initial: float = 0.5
    backoff_max: float = 10.0


@dataclass(frozen=True)
class Validators:
    """What we remember of the last good response from a URL, for a conditional request."""

    etag: str | None = None
    last_modified: str | None = None

    def headers(self) -> dict[str, str]:
        headers = {}
        if self.etag:
            headers["If-None-Match"] = self.etag
        if self.last_modified:
            headers["If-Modified-Since"] = self.last_modified
        return headers


@dataclass
class FetchedBody:
    """One response, with everything its provenance record needs.

    The body is either in memory (`body`) or, for downloads streamed to disk, in a spool file
    (`spooled`) that the raw archive renames into place, so a large file is never held in memory.
    """

    url: str
    params: dict[str, str]
    status: int
    fetched_at: dt.datetime
    sha256: str
    size: int
    body: bytes | None = None
    spooled: Path | None = None
    etag: str | None = None
    last_modified: str | None = None
    content_type: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    @property
    def request_key(self) -> str:
        return request_key(self.url, self.params)


def request_key(url: str, params: Mapping[str, str]) -> str:
    """The URL with its public parameters, sorted: the key validators are remembered under."""
    return str(httpx.URL(url, params=sorted(params.items())))


# Progress of the download under way, for a terminal progress bar: (what, bytes so far, total).
ProgressHook = Callable[[str, int, int | None], None]
_progress_hook: ContextVar[ProgressHook | None] = ContextVar("eim_http_progress", default=None)
CHUNK_BYTES = 1 << 16


@contextmanager
def reporting_progress(hook: ProgressHook | None) -> Iterator[None]:
    """Report the bytes of every download made inside this block to `hook`."""
    token = _progress_hook.set(hook)
    try:
        yield
    finally:
        _progress_hook.reset(token)


class _RetryableStatus(Exception):
    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        super().__init__(f"HTTP {response.status_code}")


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """One certificate store per process: building it costs ~40 ms, and a run makes a client per dataset."""
    return ssl.create_default_context(cafile=certifi.where())  # what httpx itself would trust


def make_client(config: HttpConfig) -> httpx.Client:
    return httpx.Client(
        timeout=httpx.Timeout(config.timeout),
        verify=_tls_context(),
        headers={"User-Agent": USER_AGENT},
        follow_redirects=True,
    )


def retry_after_seconds(response: httpx.Response) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date), None if absent or bad."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    if value.strip().isdigit():
        return float(value.strip())
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - dt.datetime.now(dt.UTC)).total_seconds())


def _backoff_hook(error: Exception) -> bool | float:
    if isinstance(error, _RetryableStatus):
        wait = retry_after_seconds(error.response)
        if wait is None:
            return True
        return wait if wait <= RETRY_AFTER_CEILING else False
    if isinstance(error, httpx.ConnectError) and "Name or service not known" in str(error):
        return False  # the name does not exist: asking again in a second will not change that
    return isinstance(error, httpx.TransportError)


def public_params(params: Mapping[str, str]) -> dict[str, str]:
    """Parameters safe to record: secrets such as the Nomis `uid` are dropped."""
    return {k: v for k, v in params.items() if k not in SECRET_PARAMS}


def get(
    client: httpx.Client,
    config: HttpConfig,
    url: str,
    params: Mapping[str, str],
    *,
    publisher: str,
    dataset: str,
    validators: Validators | None = None,
    spool_dir: Path | None = None,
) -> FetchedBody:
    """GET with retries; returns the body (or a 304) or raises a PublisherError naming the problem.

    With `spool_dir` the body streams to a file there (hashed on the way), not into memory.
    """
    headers = validators.headers() if validators else {}
    host = httpx.URL(url).host
    try:
        for attempt in stamina.retry_context(
            on=_backoff_hook,
            attempts=config.attempts,
            timeout=config.retry_budget,
            wait_initial=config.backoff_initial,
            wait_max=config.backoff_max,
        ):
            with attempt:
                response, digest, size, body, spooled = _receive(
                    client, url, params, headers, spool_dir, label=f"{host}{httpx.URL(url).path}"
                )
    except _RetryableStatus as error:
        status = error.response.status_code
        raise PublisherHTTPError(
            publisher, dataset, f"HTTP {status} from {host} after retrying", status
        ) from None
    except httpx.DecodingError as error:
        raise PublisherFormatError(
            publisher, dataset, f"the body from {host} cannot be decoded ({error})"
        ) from None
    except httpx.TransportError as error:
        reason = type(error).__name__ if not str(error) else f"{type(error).__name__}: {error}"
        raise PublisherUnreachable(publisher, dataset, host, reason) from None

    if response.status_code >= 400:
        raise PublisherHTTPError(
            publisher,
            dataset,
            f"HTTP {response.status_code} from {host} for {response.url.copy_with(query=None)}",
            response.status_code,
        )
    return FetchedBody(
        url=str(response.url.copy_with(query=None)),
        params=public_params(params),
        status=response.status_code,
        fetched_at=dt.datetime.now(dt.UTC),
        sha256=digest,
        size=size,
        body=body,
        spooled=spooled,
        etag=response.headers.get("ETag"),
        last_modified=response.headers.get("Last-Modified"),
        content_type=response.headers.get("Content-Type"),
        headers=dict(response.headers),
    )


def _receive(
    client: httpx.Client,
    url: str,
    params: Mapping[str, str],
    headers: Mapping[str, str],
    spool_dir: Path | None,
    *,
    label: str,
) -> tuple[httpx.Response, str, int, bytes | None, Path | None]:
    """One attempt: stream the body (to memory or a spool file), hashing and reporting progress."""
    hook = _progress_hook.get()
    digest = hashlib.sha256()
    size = 0
    with client.stream("GET", url, params=dict(params), headers=dict(headers)) as response:
        if response.status_code == 429 or response.status_code >= 500:
            response.read()
            raise _RetryableStatus(response)
        if response.status_code >= 300:
            response.read()
            return response, hashlib.sha256(response.content).hexdigest(), 0, response.content, None
        total = int(response.headers["Content-Length"]) if "Content-Length" in response.headers else None
        chunks: list[bytes] = []
        sink = None
        if spool_dir is not None:
            spool_dir.mkdir(parents=True, exist_ok=True)
            sink = tempfile.NamedTemporaryFile(dir=spool_dir, prefix=".incoming-", delete=False)  # noqa: SIM115
        try:
            for chunk in response.iter_bytes(CHUNK_BYTES):
                digest.update(chunk)
                size += len(chunk)
                if sink is None:
                    chunks.append(chunk)
                else:
                    sink.write(chunk)
                if hook:
                    hook(label, size, total)
            if sink is not None:
                sink.flush()
                os.fsync(sink.fileno())
                sink.close()
        except BaseException:
            if sink is not None:
                sink.close()
                Path(sink.name).unlink(missing_ok=True)
            raise
    spooled = Path(sink.name) if sink is not None else None
    return response, digest.hexdigest(), size, None if sink else b"".join(chunks), spooled
