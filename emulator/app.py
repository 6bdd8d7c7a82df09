"""create_app(config): the only place that wires the sandbox together."""

from __future__ import annotations

import logging

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException

from emulator.config import Config, config_from_env
from emulator.control.faults_routes import faults_blueprint
from emulator.control.journal_routes import journal_blueprint
from emulator.control.routes import CONTROL_PREFIX, control_blueprint, render_control_error
from emulator.core.clock import WallClock, system_wall_clock
from emulator.core.errors import SandboxError
from emulator.core.http import SafeJSONProvider
from emulator.faults import models as _fault_models  # noqa: F401  (table before the store)
from emulator.faults.hook import install as install_faults
from emulator.journal import models as _journal_models  # noqa: F401  (table before the store)
from emulator.journal.recorder import install as install_journal
from emulator.providers import PROVIDERS
from emulator.providers.base import Provider, provider_for
from emulator.state import Sandbox
from emulator.ui import UI_PREFIX, ui_blueprint

log = logging.getLogger("fattura_sandbox")


def create_app(config: Config | None = None, *, wall_clock: WallClock = system_wall_clock) -> Flask:
    config = config or config_from_env()
    sandbox = Sandbox(config, wall_clock=wall_clock)
    app = Flask("fattura_sandbox")
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024 * 1024
    app.json = SafeJSONProvider(app)
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.extensions["fattura_sandbox"] = sandbox
    for provider in PROVIDERS:
        app.register_blueprint(provider.blueprint(sandbox), url_prefix=provider.prefix)
        sandbox.invoice_resolvers.append(provider.resolve_invoice)
        sandbox.provider_names.append(provider.name)
    app.register_blueprint(control_blueprint(sandbox), url_prefix=CONTROL_PREFIX)
    app.register_blueprint(journal_blueprint(sandbox), url_prefix=CONTROL_PREFIX)
    app.register_blueprint(faults_blueprint(sandbox), url_prefix=CONTROL_PREFIX)
    app.register_blueprint(ui_blueprint(sandbox), url_prefix=UI_PREFIX)
    if config.journal:
        install_journal(app, sandbox, PROVIDERS, wall_clock=wall_clock)  # first before_request hook
    _install_time(app, sandbox)
    install_faults(app, sandbox, PROVIDERS)  # after the time hook: due events happen first
    _install_error_handlers(app, PROVIDERS)
    return app


def _install_time(app: Flask, sandbox: Sandbox) -> None:
    @app.before_request
    def _apply_due_events() -> None:
        # Delays are data: whatever fell due since the last request happens before this one is served.
        if request.path.startswith(CONTROL_PREFIX + "/health"):
            return
        if request.path.startswith(CONTROL_PREFIX):
            sandbox.settle()  # the control API and the inspector read every request answered so far
        sandbox.process_due()


def _render(error: SandboxError, providers: tuple[Provider, ...]) -> Response:
    provider = provider_for(request.path, providers)
    if provider is not None:
        return provider.render_error(error)
    return render_control_error(error)


def _install_error_handlers(app: Flask, providers: tuple[Provider, ...]) -> None:
    @app.errorhandler(SandboxError)
    def _domain_error(error: SandboxError) -> Response:
        return _render(error, providers)

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException) -> Response:
        mapped = SandboxError(
            error.description or error.name,
            status=error.code or 500,
            code=error.name.lower().replace(" ", "_"),
        )
        response = _render(mapped, providers)
        # What the exception says in headers (Allow on a 405, Content-Range on a 416) stays.
        for name, value in error.get_headers():
            if name.lower() != "content-type":
                response.headers[name] = value
        return response

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> Response:
        log.exception("unexpected error serving %s %s", request.method, request.path)
        mapped = SandboxError(
            "Internal error of the sandbox; it has been logged", status=500, code="internal_error"
        )
        return _render(mapped, providers)
