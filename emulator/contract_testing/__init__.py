"""``fattura-sandbox contract-test``: a provider's contract, run with Schemathesis against any URL.

The sandbox or a provider's real staging: :mod:`.runner` checks the URL answers, writes a
Schemathesis configuration and runs ``schemathesis run`` on ``contracts/<provider>.yaml`` with the
checks of the in-process suites and a JUnit report; :mod:`.hooks` is loaded by that run and
authenticates every call (the given token, or one obtained through :mod:`.login` and renewed).
"""

from emulator.contract_testing.checks import BASE_CHECKS as CHECKS
from emulator.contract_testing.checks import checks_for
from emulator.contract_testing.login import PROVIDERS, Credentials, LoginError
from emulator.contract_testing.runner import (
    ContractTestError,
    ContractTestOptions,
    run_contract_test,
)

__all__ = [
    "CHECKS",
    "PROVIDERS",
    "ContractTestError",
    "ContractTestOptions",
    "Credentials",
    "LoginError",
    "checks_for",
    "run_contract_test",
]
