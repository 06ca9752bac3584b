"""The crash-safety suite's seeded kill points and the launcher that applies one to a real `eim run`.

Kept apart from the test module (as `faults.py` is from the fault matrix) so that
`python -m tests.reliability.report` can list the kill points without importing pytest fixtures.

A kill point names what to hook and on which call to die:

- "call": the Nth call of a function or method (`module:qualname`);
- "execute": the Nth statement a function runs on the DuckDB connection it is given;
- "replace": the Nth `os.replace` onto a path matching `pattern`, before it (or, with "after", once it
  has happened): the write-then-rename steps where a kill is most likely to tear something.

The launcher (run with `python -c LAUNCHER run --quiet`) installs the hook, then runs the real command
line, `eim run`, through Prefect; on the chosen call it SIGKILLs its own process. Production code is
not touched.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass

SEED = 20261127
STAGES = ("fetch", "load", "model", "snapshot", "render", "publish", "send")


@dataclass(frozen=True)
class KillPoint:
    id: str
    stage: str
    kind: str  # "call", "execute" or "replace"
    n: int
    target: str | None = None  # "module:qualname", for "call" and "execute"
    pattern: str | None = None  # regular expression on the destination path, for "replace"
    when: str = "before"  # for "replace": die before the rename or just after it

    @property
    def what(self) -> str:
        """What is killed, in words, for docs/reliability.md."""
        nth = _ordinal(self.n)
        if self.kind == "call":
            return f"{nth} call of `{self.target}`"
        if self.kind == "execute":
            return f"{nth} SQL statement of `{self.target}`"
        return f"{self.when} the {nth} `os.replace` onto `{self.pattern}`"

    def as_json(self) -> dict:
        return asdict(self)


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


# (stage, short name, kind, target or pattern, n, when); n is drawn from the seeded generator where the
# call happens many times in a run, and fixed where there is exactly one call worth killing.
def _specs(rng: random.Random) -> list[tuple[str, str, str, str, int, str]]:
    specs = []
    for n in sorted(rng.sample(range(1, 30), 2)):
        specs.append(("fetch", "fetch_page", "call", "sources.archive:fetch_page", n, "before"))
    specs.append(("fetch", "raw-archive", "replace", r"/raw/", rng.randint(1, 12), "before"))
    for n in sorted(rng.sample(range(2, 30), 2)):
        specs.append(("load", "load_vintage", "execute", "warehouse.load:load_vintage", n, "before"))
    for n in sorted(rng.sample(range(1, 6), 2)):
        specs.append(("model", "build_models", "execute", "warehouse.modelling:build_models", n, "before"))
    specs += [
        ("snapshot", "snapshot-file", "replace", r"published/warehouse\.duckdb$", 1, "before"),
        ("snapshot", "snapshot-file-done", "replace", r"published/warehouse\.duckdb$", 1, "after"),
        ("snapshot", "parquet-link", "replace", r"published/parquet$", 1, "before"),
        (
            "render",
            "render_chart",
            "call",
            "reports.bulletin.charts:render_chart",
            rng.randint(1, 9),
            "before",
        ),
        ("render", "render_files", "call", "reports.bulletin.render:render_files", 1, "before"),
        ("publish", "site-link", "replace", r"site/\d{4}-\d{2}$", 1, "before"),
        ("publish", "pin-snapshot", "replace", r"editions/[\d-]+/snapshot\.duckdb$", 1, "before"),
        ("publish", "manifest", "replace", r"editions/[\d-]+/manifest\.json$", 1, "before"),
        ("publish", "manifest-done", "replace", r"editions/[\d-]+/manifest\.json$", 1, "after"),
        ("publish", "site-index", "replace", r"site/(index\.html|feed\.atom)$", rng.randint(1, 2), "before"),
        # Three subscribers: the message of the 1st is handed over after `record` call 1 (pending) and
        # recorded by call 2 (sent); call 3 is the 2nd subscriber's pending, and so on.
        ("send", "smtp-send", "call", "reports.delivery.smtp:SmtpConnection.send", 1, "before"),
        ("send", "record-sent", "call", "reports.delivery.subscribers:SubscriberStore.record", 2, "before"),
        (
            "send",
            "between-deliveries",
            "call",
            "reports.delivery.subscribers:SubscriberStore.record",
            rng.choice([3, 5]),
            "before",
        ),
    ]
    return specs


def kill_points() -> list[KillPoint]:
    """The seeded kill points, at least 20, over every stage of a run from fetch to send."""
    points = []
    for i, (stage, name, kind, where, n, when) in enumerate(_specs(random.Random(SEED))):
        target, pattern = (None, where) if kind == "replace" else (where, None)
        points.append(KillPoint(f"{i:02d}-{stage}-{name}-{n}", stage, kind, n, target, pattern, when))
    return points


LAUNCHER = r"""
import importlib, json, os, re, signal, sys

point = json.loads(os.environ.get("EIM_TEST_KILL_POINT") or "null")
calls = 0


def maybe_kill():
    global calls
    calls += 1
    if calls == point["n"]:
        sys.stdout.flush(); sys.stderr.flush()
        os.kill(os.getpid(), signal.SIGKILL)


class KillingConnection:
    def __init__(self, con):
        self._con = con

    def execute(self, *args, **kwargs):
        maybe_kill()
        return self._con.execute(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._con, name)


def patch_everywhere(original, replacement):
    # `from x import f` copies the function into other modules: replace every copy.
    for module in list(sys.modules.values()):
        if getattr(module, "__name__", "") == "__main__":
            continue
        for name, value in list(getattr(module, "__dict__", {}).items()):
            if value is original:
                setattr(module, name, replacement)


import flows.steps, reports.bulletin.charts, reports.bulletin.publish, reports.bulletin.render  # noqa
import reports.delivery.mail, reports.delivery.subscribers  # noqa
import sources.archive, warehouse.load, warehouse.modelling, warehouse.snapshot  # noqa
from sources import ons_api
ons_api.RATE_LIMITS = ()  # the replay server on loopback needs no politeness limits

if point and point["kind"] == "replace":
    real_replace = os.replace
    def killing_replace(src, dst, *a, **k):
        hit = re.search(point["pattern"], str(dst))
        if hit and point["when"] == "before":
            maybe_kill()
        real_replace(src, dst, *a, **k)
        if hit and point["when"] == "after":
            maybe_kill()
    os.replace = killing_replace
elif point:
    module_name, qualname = point["target"].split(":")
    owner = importlib.import_module(module_name)
    *path, attr = qualname.split(".")
    for name in path:
        owner = getattr(owner, name)
    original = getattr(owner, attr)
    if point["kind"] == "call":
        def wrapper(*a, _original=original, **k):
            maybe_kill()
            return _original(*a, **k)
    else:  # "execute"
        def wrapper(con, *a, _original=original, **k):
            return _original(KillingConnection(con), *a, **k)
    if path:
        setattr(owner, attr, wrapper)
    else:
        patch_everywhere(original, wrapper)

from flows.cli import app
app(sys.argv[1:], prog_name="eim")
"""
