"""Openapi.it configurations: routes (to be written)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import Blueprint

if TYPE_CHECKING:
    from emulator.providers.openapi.routes import OpenapiApi


def install(bp: Blueprint, api: OpenapiApi) -> None:
    """Add this area's routes, task handlers and SDI listeners."""
