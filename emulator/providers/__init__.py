"""Provider façades. A new provider is a new folder and one line here."""

from __future__ import annotations

from emulator.providers.acube import PROVIDER as ACUBE
from emulator.providers.aruba import PROVIDER as ARUBA
from emulator.providers.base import Provider
from emulator.providers.easytracking import PROVIDER as EASYTRACKING
from emulator.providers.openapi import PROVIDER as OPENAPI

PROVIDERS: tuple[Provider, ...] = (EASYTRACKING, ARUBA, ACUBE, OPENAPI)
