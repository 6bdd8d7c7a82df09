"""How each provider issues a bearer token, called on the URL under test (no Schemathesis here).

Easy Tracking: ``POST /api/Token/AccessToken`` with the documented client identity and the user's
username and password, answered with the JWT as a JSON string. Aruba: ``POST /auth/signin``
(form, ``grant_type=password``) → ``access_token``. A-Cube: ``POST /login`` ``{email, password}``
→ ``token``. Openapi.it: ``POST /oauth/tokens`` with Basic ``email:API key`` and the scopes of the
invoice host → ``data.token``.
"""

from __future__ import annotations

import base64
import json
import os
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

PROVIDERS = ("easytracking", "aruba", "acube", "openapi")
# Easy Tracking's documented client identity (§3), the values the sandbox accepts: the same as
# emulator.providers.easytracking.auth's, not imported from it so that the Schemathesis process
# does not load the sandbox (a test keeps them equal).
API_NAME = "openBusiness.scope.serviziweb.api"
CLIENT_NAME = "openBusiness.client.serviziweb.api"
CLIENT_SECRET = "uKNtPmq49yjLkaYv"
# The sandbox's default tenant (README, "Default accounts"): used when no credential is given.
DEFAULT_USERNAME = "sandbox"
DEFAULT_PASSWORD = "sandbox"
DEFAULT_EMAIL = "sandbox@example.com"
# Openapi.it's invoice hosts; a token's scopes name one of them.
OPENAPI_HOSTS = ("test.invoice.openapi.com", "invoice.openapi.com")
ENV_PREFIX = "FATTURA_CONTRACT_"


class LoginError(Exception):
    """The provider's auth call did not give a token: the message says which call and what it answered."""


@dataclass(frozen=True)
class Credentials:
    """What the run authenticates with: a ready token, or what the provider's auth call takes."""

    token: str | None = None
    username: str | None = None
    password: str | None = None
    email: str | None = None

    def to_env(self) -> dict[str, str]:
        """Environment variables for the Schemathesis process (secrets stay out of its command line)."""
        fields = {
            "TOKEN": self.token,
            "USERNAME": self.username,
            "PASSWORD": self.password,
            "EMAIL": self.email,
        }
        return {f"{ENV_PREFIX}{name}": value for name, value in fields.items() if value is not None}

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> Credentials:
        return cls(
            token=environ.get(f"{ENV_PREFIX}TOKEN"),
            username=environ.get(f"{ENV_PREFIX}USERNAME"),
            password=environ.get(f"{ENV_PREFIX}PASSWORD"),
            email=environ.get(f"{ENV_PREFIX}EMAIL"),
        )


def _post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> Any:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            raw = response.read()
    except urllib.error.HTTPError as exc:
        detail = exc.read()[:300].decode("utf-8", "replace")
        raise LoginError(f"POST {url} answered {exc.code}: {detail}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise LoginError(f"POST {url} failed: {exc}") from None
    try:
        return json.loads(raw)
    except ValueError:
        raise LoginError(f"POST {url} did not answer JSON: {raw[:300]!r}") from None


def _json(payload: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    return json.dumps(payload).encode(), {"Content-Type": "application/json", "Accept": "application/json"}


def _easytracking(auth_url: str, credentials: Credentials, timeout: float) -> Any:
    body, headers = _json(
        {
            "apiName": API_NAME,
            "clientName": CLIENT_NAME,
            "clientSecret": CLIENT_SECRET,
            "username": credentials.username or DEFAULT_USERNAME,
            "password": credentials.password or DEFAULT_PASSWORD,
        }
    )
    return _post(f"{auth_url}/api/Token/AccessToken", body, headers, timeout)


def _aruba(auth_url: str, credentials: Credentials, timeout: float) -> Any:
    form = {
        "grant_type": "password",
        "username": credentials.username or DEFAULT_USERNAME,
        "password": credentials.password or DEFAULT_PASSWORD,
    }
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}
    answer = _post(f"{auth_url}/auth/signin", urllib.parse.urlencode(form).encode(), headers, timeout)
    return answer.get("access_token") if isinstance(answer, dict) else None


def _acube(auth_url: str, credentials: Credentials, timeout: float) -> Any:
    body, headers = _json(
        {"email": credentials.email or DEFAULT_EMAIL, "password": credentials.password or DEFAULT_PASSWORD}
    )
    answer = _post(f"{auth_url}/login", body, headers, timeout)
    return answer.get("token") if isinstance(answer, dict) else None


def openapi_scope_host(base_url: str) -> str:
    """The invoice host a token's scopes name: the URL's own when it is one, else the test host."""
    host = urllib.parse.urlsplit(base_url).hostname or ""
    return host if host in OPENAPI_HOSTS else OPENAPI_HOSTS[0]


def _openapi(auth_url: str, credentials: Credentials, timeout: float, base_url: str) -> Any:
    pair = f"{credentials.email or DEFAULT_EMAIL}:{credentials.password or DEFAULT_PASSWORD}"
    body, headers = _json(
        {
            "scopes": [f"*:{openapi_scope_host(base_url)}/"],
            "ttl": 86400,
            "name": "fattura-sandbox contract-test",
        }
    )
    headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
    answer = _post(f"{auth_url}/oauth/tokens", body, headers, timeout)
    data = answer.get("data") if isinstance(answer, dict) else None
    return data.get("token") if isinstance(data, dict) else None


def obtain_token(
    provider: str, auth_url: str, credentials: Credentials, *, base_url: str = "", timeout: float = 30.0
) -> str:
    """A fresh bearer token from the provider's auth call on ``auth_url``; :class:`LoginError` if none."""
    if credentials.token:
        return credentials.token
    auth_url = auth_url.rstrip("/")
    calls: dict[str, Callable[[str, Credentials, float], Any]] = {
        "easytracking": _easytracking,
        "aruba": _aruba,
        "acube": _acube,
        "openapi": lambda url, given, seconds: _openapi(url, given, seconds, base_url or url),
    }
    if provider not in calls:
        raise LoginError(f"unknown provider {provider!r} (one of {', '.join(PROVIDERS)})")
    token = calls[provider](auth_url, credentials, timeout)
    if not isinstance(token, str) or not token:
        raise LoginError(f"the {provider} auth call on {auth_url} answered no token")
    return token
