"""The request journal: every request to a provider, recorded with its contract violations.

models.py (the table), recorder.py (the app hooks), validation.py (a request against
``contracts/<provider>.yaml``), service.py (query, clear, retention; no Flask).
"""
