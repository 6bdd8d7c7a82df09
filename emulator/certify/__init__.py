"""Certification of a client against the sandbox: scenarios, the runner, the checks and the reports.

``fattura-sandbox certify --provider P [--scenario NAME|FILE] [--report DIR] -- <client command>``
(``runner``), or a session opened and closed through ``/_sandbox/certification`` (``session``).
"""
