"""The ``fattura-sandbox`` command: ``serve``, ``contract-test`` (more commands arrive with certification)."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from emulator.config import Config, config_from_env


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fattura-sandbox", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve every provider and the control API on one port")
    serve.add_argument("--host", help="address to bind (FATTURA_SANDBOX_HOST, default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (FATTURA_SANDBOX_PORT, default 8080)")
    serve.add_argument("--db", help="SQLite path, :memory: or a database URL (FATTURA_SANDBOX_DB)")
    serve.add_argument("--xsd-dir", type=Path, help="directory of the official FatturaPA schemas")
    serve.add_argument(
        "--accounts-file", type=Path, help="accounts data file (default fixtures/accounts.json)"
    )
    serve.add_argument("--seed", type=int, help="seed for ids and generated data (repeatable runs)")
    serve.add_argument(
        "--frozen-clock",
        action="store_true",
        default=None,
        help="virtual time moves only via POST /_sandbox/clock",
    )
    serve.add_argument(
        "--journal-body-limit",
        type=int,
        help="bytes of each body the journal keeps (FATTURA_SANDBOX_JOURNAL_BODY_LIMIT, 65536)",
    )
    serve.add_argument(
        "--journal-max-entries",
        type=int,
        help="entries the journal keeps, oldest first out (FATTURA_SANDBOX_JOURNAL_MAX_ENTRIES, 10000)",
    )
    serve.add_argument("--threads", type=int, default=8, help="worker threads of the WSGI server")
    _contract_test_parser(commands)
    _certify_parser(commands)
    return parser


def _certify_parser(commands: Any) -> None:
    certify = commands.add_parser(
        "certify",
        help="certify a client: a fresh sandbox, a scenario played while the client runs, a report",
        usage="fattura-sandbox certify --provider P [--scenario NAME|FILE] [--report DIR] -- <command...>",
    )
    certify.add_argument("--provider", required=True, choices=["easytracking", "aruba", "acube", "openapi"])
    certify.add_argument(
        "--scenario",
        default="happy-path",
        help="a built-in scenario (happy-path, sdi-rejections, pa-esito-and-dt, incoming-invoices, "
        "expired-token, network-faults) or a scenario YAML file (default happy-path)",
    )
    certify.add_argument(
        "--report", type=Path, default=Path("certification-report"), help="report directory"
    )
    certify.add_argument("--xsd-dir", type=Path, help="directory of the official FatturaPA schemas")
    certify.add_argument(
        "client_command", metavar="command", nargs=argparse.REMAINDER, help="the client command, after --"
    )


def certify(args: argparse.Namespace) -> int:
    from emulator.certify.runner import Options
    from emulator.certify.runner import certify as run_certification

    command = list(args.client_command)
    if command and command[0] == "--":
        command = command[1:]
    options = Options(
        provider=args.provider,
        command=command,
        scenario=args.scenario,
        report_dir=args.report,
        xsd_dir=args.xsd_dir,
    )
    return run_certification(options)


def _contract_test_parser(commands: Any) -> None:
    contract = commands.add_parser(
        "contract-test",
        help="run a provider's contract with Schemathesis against any URL (the sandbox or a real staging)",
    )
    contract.add_argument("--provider", required=True, choices=["easytracking", "aruba", "acube", "openapi"])
    contract.add_argument(
        "--base-url",
        required=True,
        help="where the contract's paths go, e.g. https://servizitest.varhub.it; a sandbox's root "
        "(http://127.0.0.1:8080) means its /<provider> mount",
    )
    contract.add_argument("--auth-url", help="the provider's auth host, when not the base URL")
    contract.add_argument("--token", help="a bearer token to use as is (no login, no renewal)")
    contract.add_argument("--username", help="Easy Tracking / Aruba user (default sandbox)")
    contract.add_argument("--password", help="password; Openapi.it: the API key (default sandbox)")
    contract.add_argument("--email", help="A-Cube / Openapi.it account e-mail (default sandbox@example.com)")
    contract.add_argument(
        "--junit", type=Path, help="JUnit XML report (default ./contract-test-<provider>.xml)"
    )
    contract.add_argument("--max-examples", type=int, default=30, help="examples per operation (default 30)")
    contract.add_argument("--seed", type=int, help="Schemathesis seed, to repeat a run")
    contract.add_argument(
        "--operations", metavar="REGEX", help="only the operations whose operationId matches"
    )
    contract.add_argument(
        "--workers", type=int, default=1, help="concurrent Schemathesis workers (default 1)"
    )
    contract.add_argument(
        "--phases",
        help="Schemathesis phases (default examples,coverage,fuzzing,stateful; "
        "no stateful with --operations)",
    )
    contract.add_argument(
        "--contract", type=Path, help="another contract file (default contracts/<provider>.yaml)"
    )


def contract_test(args: argparse.Namespace) -> int:
    from emulator.contract_testing import (
        ContractTestError,
        ContractTestOptions,
        Credentials,
        run_contract_test,
    )

    options = ContractTestOptions(
        provider=args.provider,
        base_url=args.base_url,
        auth_url=args.auth_url,
        credentials=Credentials(
            token=args.token, username=args.username, password=args.password, email=args.email
        ),
        junit=args.junit,
        max_examples=args.max_examples,
        seed=args.seed,
        operations=args.operations,
        workers=args.workers,
        phases=args.phases,
        contract=args.contract,
    )
    try:
        return run_contract_test(options)
    except ContractTestError as exc:
        print(f"fattura-sandbox contract-test: {exc}", file=sys.stderr)
        return 2


def _config(args: argparse.Namespace) -> Config:
    return config_from_env().with_overrides(
        host=args.host,
        port=args.port,
        db=args.db,
        xsd_dir=args.xsd_dir,
        accounts_file=args.accounts_file,
        seed=args.seed,
        clock_frozen=args.frozen_clock,
        journal_body_limit=getattr(args, "journal_body_limit", None),
        journal_max_entries=getattr(args, "journal_max_entries", None),
    )


def serve(config: Config, threads: int) -> None:
    import waitress

    from emulator.app import create_app

    app = create_app(config)
    # Due work (callback deliveries, their retries) happens even when no client is calling.
    app.extensions["fattura_sandbox"].start_ticker()
    print(f"fattura-sandbox listening on http://{config.host}:{config.port} (db: {config.db})", flush=True)
    waitress.serve(app, host=config.host, port=config.port, threads=threads, ident="fattura-sandbox")


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    args = _parser().parse_args(argv)
    if args.command == "contract-test":
        return contract_test(args)
    if args.command == "certify":
        return certify(args)
    try:
        config = _config(args)
    except ValueError as exc:
        print(f"fattura-sandbox: invalid configuration: {exc}", file=sys.stderr)
        return 2
    if args.command == "serve":
        serve(config, args.threads)
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
