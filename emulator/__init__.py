"""fattura-sandbox: a local, stateful sandbox of Italian e-invoicing intermediary APIs."""

__version__ = "0.1.0"
