"""What a fault does to the response: built here, applied by ``hook``.

- ``error``: the provider's own error body for that status (``Provider.render_error`` of an
  ``InjectedFault``), exactly what that provider's real errors look like.
- ``throttle``: the same with 429 and ``Retry-After: <seconds>``.
- ``latency``: a real (wall-clock) pause, then the request is served normally.
- ``drop``: the connection is closed without a byte of response (see ``DroppedResponse``).
- ``truncate``: the response is served with the ``Content-Length`` of its whole body, but only the
  first ``fraction`` of the body is sent, then the connection is closed: the client sees an
  incomplete read (``requests``: ``ChunkedEncodingError``/``IncompleteRead``).

Limitations: ``drop`` closes the connection under the servers the sandbox runs on, waitress
(``fattura-sandbox serve``) and werkzeug's development server. Other WSGI servers, and in-process
clients such as Flask's test client, see the exception the response's body raises when read:
``DroppedConnection`` (a ``ConnectionAbortedError``), which the test client raises from the call
(``client.get(...)``) itself. ``truncate`` needs a server that closes the connection when an
application sends fewer bytes than its ``Content-Length`` (both do); in-process the test client
sees the status, the whole body's ``Content-Length`` and only the first part of the body.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from http import HTTPStatus
from typing import Any

from flask import Response

from emulator.core.errors import SandboxError
from emulator.providers.base import Provider

# The status the journal records for a dropped connection (no status reaches the client):
# nginx's "444 No Response", a connection closed without a response.
DROPPED_STATUS = 444


class InjectedFault(SandboxError):
    """An error the control API asked for: rendered in the provider's own error format."""

    status = 503
    code = "injected_fault"


class InjectedThrottle(InjectedFault):
    status = 429
    code = "too_many_requests"


class DroppedConnection(ConnectionAbortedError):
    """Raised by the body of a dropped response where the server gives no way to close the socket."""


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def error_response(provider: Provider, effect: dict[str, Any], rule_id: int) -> Response:
    status = int(effect["status"])
    message = effect.get("message") or (
        f"{_phrase(status)} (fault injected by fattura-sandbox, rule {rule_id})"
    )
    return provider.render_error(InjectedFault(message, status=status))


def throttle_response(provider: Provider, effect: dict[str, Any], rule_id: int) -> Response:
    retry_after = int(effect["retry_after"])
    message = effect.get("message") or (
        f"Too many requests: retry after {retry_after} seconds "
        f"(fault injected by fattura-sandbox, rule {rule_id})"
    )
    response = provider.render_error(InjectedThrottle(message))
    response.status_code = 429
    response.headers["Retry-After"] = str(retry_after)
    return response


class DroppedResponse:
    """A WSGI body that closes the connection before the server writes anything.

    Servers send the status line and headers with the first chunk of the body, so raising from the
    first ``next`` leaves nothing written. Then:

    - werkzeug's server (``environ["werkzeug.socket"]``): the socket is shut down and a
      ``ConnectionAbortedError`` raised, which werkzeug treats as a dropped connection (no 500);
    - waitress (``environ["waitress.client_disconnected"]``): ``waitress.channel.ClientDisconnected``
      is raised, and waitress closes the connection without answering (it logs one INFO line);
    - anything else: ``DroppedConnection`` propagates to whoever reads the body.
    """

    def __init__(self, environ: dict[str, Any], rule_id: int) -> None:
        self._environ = environ
        self._message = f"connection dropped by fattura-sandbox fault rule {rule_id}"

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        sock = self._environ.get("werkzeug.socket")
        if isinstance(sock, socket.socket):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            raise ConnectionAbortedError(self._message)
        if "waitress.client_disconnected" in self._environ:
            from waitress.channel import ClientDisconnected

            raise ClientDisconnected(self._message)
        raise DroppedConnection(self._message)


def drop_response(environ: dict[str, Any], rule_id: int) -> Response:
    return Response(DroppedResponse(environ, rule_id), status=DROPPED_STATUS)


def truncate(response: Response, fraction: float) -> Response:
    """Keep the whole body's Content-Length, send only its first ``fraction`` (an empty body stays)."""
    if response.direct_passthrough:  # a file sent by send_file: read it (the sandbox's are small)
        response.direct_passthrough = False
    data = response.get_data()
    if not data:
        return response
    response.set_data(data[: int(len(data) * fraction)])
    response.headers["Content-Length"] = str(len(data))
    return response
