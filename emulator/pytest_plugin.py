"""pytest plugin (entry point ``fattura_sandbox``): a sandbox per test session, reset for every test.

Once the package is installed, a test asks for the ``fattura_sandbox`` fixture::

    def test_my_client_sees_a_rejection(fattura_sandbox):
        client = MyClient(fattura_sandbox.provider_url("aruba"), **credentials)
        ...
        fattura_sandbox.force(file_name, "NS", errors=["00305"])

The fixture is a :class:`FatturaSandbox` — a :class:`emulator.client.SandboxClient` of a sandbox
served on a free port of 127.0.0.1 with in-memory state, plus ``url``, ``client`` and the account
helpers. One server runs per test session (started by the first test that uses the fixture, stopped
at the end); before each test it is reset (``POST /_sandbox/reset``: invoices, journal, faults and
callbacks are gone, the default accounts are seeded again) and its virtual clock is set back to the
start instant, so tests neither see each other's state nor depend on their order.

The clock is frozen by default: virtual time moves only when a test calls ``advance(seconds)``.
It starts at 09:00 Europe/Rome of the day the session starts (a date your client's "today" agrees
with); ``--fattura-sandbox-clock-start`` / ini ``fattura_sandbox_clock_start`` pins another instant
(ISO-8601 with offset) for runs that repeat to the second, and ``--fattura-sandbox-flowing-clock`` /
ini ``fattura_sandbox_clock = flowing`` lets it flow with the wall clock from there.

The FatturaPA schemas: ``--fattura-sandbox-xsd-dir=DIR`` (with ``=``: a directory standing alone on
the command line is taken for a test path and moves pytest's rootdir) / ini ``fattura_sandbox_xsd_dir`` / the
``FATTURA_SANDBOX_XSD_DIR`` variable (without them invoices get the SDI's other checks only). Any
other setting of :class:`emulator.config.Config`: override the session fixture
``fattura_sandbox_settings`` in a conftest.py, e.g. ``return {"aruba_sla": False, "seed": 7}``.

Importing this module is cheap and has no side effects: Flask and the sandbox are imported when a
test first uses the fixture (pytest loads entry-point plugins in every project of the environment).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import pytest

from emulator.client import Account, SandboxClient

if TYPE_CHECKING:
    from werkzeug.serving import BaseWSGIServer

    from emulator.state import Sandbox

__all__ = ["FatturaSandbox"]

ROME = ZoneInfo("Europe/Rome")
XSD_ENV = "FATTURA_SANDBOX_XSD_DIR"


class FatturaSandbox(SandboxClient):
    """What the ``fattura_sandbox`` fixture gives a test: the control API client of a fresh sandbox.

    ``url`` is the sandbox's root (``http://127.0.0.1:<port>``); ``provider_url("aruba")`` the base
    URL a client of that provider configures; ``account(provider, tenant)`` / ``credentials(...)``
    the seeded account a client logs in with; every :class:`SandboxClient` method (``advance``,
    ``force``, ``incoming_invoices``, ``journal``, ``add_fault``, ...) is available directly.
    """

    def __init__(self, url: str, start: datetime) -> None:
        super().__init__(url)
        self.start = start

    @property
    def url(self) -> str:
        return self.base_url

    @property
    def client(self) -> SandboxClient:
        """The typed control API client (this object itself)."""
        return self

    def credentials(self, provider: str, tenant: str = "sandbox") -> Account:
        """The seeded account: ``username``, ``password``, ``email``, ``token``, ``vat``."""
        return self.account(provider, tenant)


@dataclass
class _Server:
    url: str
    sandbox: Sandbox
    server: BaseWSGIServer
    thread: threading.Thread
    start: datetime

    def rewind(self) -> None:
        """Set the virtual clock back to the session's start instant (after a reset: no state left
        that could have fallen due). The control API only moves time forward; the sandbox is in
        this process, so the plugin sets its clock directly."""
        self.sandbox.set_clock(self.start)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)
        self.sandbox.close()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("fattura_sandbox", "fattura-sandbox (the fattura_sandbox fixture)")
    group.addoption(
        "--fattura-sandbox-xsd-dir",
        dest="fattura_sandbox_xsd_dir",
        metavar="DIR",
        default=None,
        help="directory of the official FatturaPA schemas (ini fattura_sandbox_xsd_dir, "
        f"env {XSD_ENV}); without it the SDI's other checks only",
    )
    group.addoption(
        "--fattura-sandbox-clock-start",
        dest="fattura_sandbox_clock_start",
        metavar="INSTANT",
        default=None,
        help="virtual instant every test starts at, ISO-8601 with offset "
        "(ini fattura_sandbox_clock_start; default 09:00 Europe/Rome of today)",
    )
    group.addoption(
        "--fattura-sandbox-flowing-clock",
        dest="fattura_sandbox_flowing_clock",
        action="store_true",
        default=None,
        help="virtual time flows with the wall clock (ini fattura_sandbox_clock = flowing); "
        "default frozen: it moves only through advance()",
    )
    parser.addini("fattura_sandbox_xsd_dir", "directory of the official FatturaPA schemas", default="")
    parser.addini(
        "fattura_sandbox_clock_start", "virtual instant every test starts at (ISO-8601)", default=""
    )
    parser.addini("fattura_sandbox_clock", "frozen (default) or flowing", default="frozen")


def _setting(config: pytest.Config, name: str) -> str | None:
    value = config.getoption(name)
    if value not in (None, ""):
        return str(value)
    ini = config.getini(name)
    return str(ini) if ini not in (None, "") else None


def _xsd_dir(config: pytest.Config) -> Path | None:
    raw = _setting(config, "fattura_sandbox_xsd_dir") or os.environ.get(XSD_ENV) or None
    if raw is None:
        return None
    path = Path(raw).expanduser()
    if not path.is_absolute() and config.getoption("fattura_sandbox_xsd_dir") in (None, ""):
        path = config.rootpath / path  # an ini or env value: relative to the rootdir
    if not path.is_dir():
        raise pytest.UsageError(f"fattura-sandbox: the XSD directory {path} does not exist")
    return path


def _clock_start(config: pytest.Config) -> datetime:
    raw = _setting(config, "fattura_sandbox_clock_start")
    if raw is None:
        today = datetime.now(ROME).date()
        return datetime(today.year, today.month, today.day, 9, 0, tzinfo=ROME)
    try:
        start = datetime.fromisoformat(raw)
    except ValueError:
        start = None
    if start is None or start.tzinfo is None:
        raise pytest.UsageError(
            f"fattura-sandbox: clock start {raw!r} is not an ISO-8601 instant with its offset"
        )
    return start


def _frozen(config: pytest.Config) -> bool:
    if config.getoption("fattura_sandbox_flowing_clock"):
        return False
    mode = str(config.getini("fattura_sandbox_clock")).strip().lower()
    if mode not in ("frozen", "flowing"):
        raise pytest.UsageError(f"fattura-sandbox: fattura_sandbox_clock is frozen or flowing, not {mode!r}")
    return mode == "frozen"


def _serve(overrides: dict[str, Any]) -> _Server:
    # Imported here: a project that never uses the fixture never imports Flask or the sandbox.
    from werkzeug.serving import WSGIRequestHandler, make_server

    from emulator.app import create_app
    from emulator.config import Config

    config = Config(db=":memory:").with_overrides(**overrides)
    if config.db != ":memory:":
        raise pytest.UsageError("fattura-sandbox: the fixture's sandbox keeps its state in memory")
    app = create_app(config)
    sandbox: Sandbox = app.extensions["fattura_sandbox"]

    class QuietHandler(WSGIRequestHandler):
        def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
            """Requests are not logged: the journal (``journal()``) has every provider request."""

    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=QuietHandler)
    thread = threading.Thread(target=server.serve_forever, name="fattura-sandbox-server", daemon=True)
    thread.start()
    if not config.clock_frozen:
        sandbox.start_ticker()  # flowing time: pushes and retries happen without requests
    start = datetime.fromisoformat(config.clock_start) if config.clock_start else sandbox.clock.now()
    return _Server(f"http://127.0.0.1:{server.server_port}", sandbox, server, thread, start)


@pytest.fixture(scope="session")
def fattura_sandbox_settings() -> dict[str, Any]:
    """Extra :class:`emulator.config.Config` settings of the session's sandbox (override in a
    conftest.py: ``{"aruba_sla": False, "seed": 7, "sdi_delays": {...}}``)."""
    return {}


@pytest.fixture(scope="session")
def fattura_sandbox_server(
    pytestconfig: pytest.Config, fattura_sandbox_settings: dict[str, Any]
) -> Iterator[_Server]:
    """The session's sandbox: in memory, on a free port of 127.0.0.1, stopped at the end."""
    start = _clock_start(pytestconfig)
    overrides: dict[str, Any] = {
        "xsd_dir": _xsd_dir(pytestconfig),
        "clock_start": start.isoformat(),
        "clock_frozen": _frozen(pytestconfig),
    }
    overrides.update(fattura_sandbox_settings)
    server = _serve(overrides)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def fattura_sandbox(fattura_sandbox_server: _Server) -> FatturaSandbox:
    """A reset sandbox for this test (clock at the session's start instant); see the module doc."""
    sandbox = FatturaSandbox(fattura_sandbox_server.url, fattura_sandbox_server.start)
    sandbox.reset()
    fattura_sandbox_server.rewind()
    return sandbox
