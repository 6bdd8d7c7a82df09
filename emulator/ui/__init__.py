"""The inspector UI at /_sandbox/ui: what each tenant's invoices went through, and debugging buttons."""

from emulator.ui.routes import UI_PREFIX, ui_blueprint

__all__ = ["UI_PREFIX", "ui_blueprint"]
