"""The ``fattura-sandbox`` command. Each command's work lives in its own module, imported when it runs
(``healthcheck`` stays on the standard library: no Flask, no SQLAlchemy on its path)."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from emulator.commands.logs import LOG_FORMATS, configure_logging, resolve_log_format

if TYPE_CHECKING:
    from emulator.config import Config

PROVIDER_CHOICES = ["easytracking", "aruba", "acube", "openapi"]
ACCESS_LOG_ENV = "FATTURA_SANDBOX_ACCESS_LOG"

DESCRIPTION = """\
A local, stateful sandbox of the Italian e-invoicing intermediary APIs (Easy Tracking, Aruba,
A-Cube, Openapi.it) with the SDI simulated behind them.

commands:
  serve             serve every provider and the control API (/_sandbox) on one port
  healthcheck       exit 0 when the sandbox on the configured port answers /_sandbox/health ok
  seed              fill the store with a realistic history of sent and received invoices
  invoice generate  print a valid random FatturaPA (optionally with an SDI outcome trigger, signed)
  validate          run the SDI's checks offline on invoice files: OK, or the NS codes they would get
  contract-test     run a provider's contract with Schemathesis against any URL
  certify           certify a client: a fresh sandbox, a scenario played while the client runs, a report

Settings read by several commands come from flags or FATTURA_SANDBOX_* environment variables
(the flag wins). `fattura-sandbox <command> --help` lists every option."""

TOP_EPILOG = """\
examples:
  fattura-sandbox serve --port 8080 --db sandbox.db
  fattura-sandbox healthcheck
  fattura-sandbox seed --invoices 1000 --db sandbox.db
  fattura-sandbox invoice generate --outcome NS:00305 > invoice.xml
  fattura-sandbox validate invoice.xml --format json"""


class _Formatter(argparse.RawDescriptionHelpFormatter):
    def __init__(self, prog: str) -> None:
        super().__init__(prog, max_help_position=32, width=110)

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        # Laid-out text (the command list, examples) stays as written; a plain paragraph is wrapped.
        if "\n" in text:
            return super()._fill_text(text, width, indent)
        return argparse.HelpFormatter._fill_text(self, text, width, indent)


def _common() -> argparse.ArgumentParser:
    """Options every command takes (after its name too)."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--log-format",
        choices=LOG_FORMATS,
        default=argparse.SUPPRESS,
        help="log lines as text or JSON (FATTURA_SANDBOX_LOG_FORMAT, default text)",
    )
    return common


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fattura-sandbox", description=DESCRIPTION, epilog=TOP_EPILOG, formatter_class=_Formatter
    )
    parser.add_argument(
        "--log-format",
        choices=LOG_FORMATS,
        default=None,
        help="log lines as text or JSON lines (FATTURA_SANDBOX_LOG_FORMAT, default text)",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="<command>")
    common = _common()
    _serve_parser(commands, common)
    _healthcheck_parser(commands, common)
    _seed_parser(commands, common)
    _invoice_parser(commands, common)
    _validate_parser(commands, common)
    _contract_test_parser(commands, common)
    _certify_parser(commands, common)
    return parser


# -- serve ------------------------------------------------------------------------------------------


def _serve_parser(commands: Any, common: argparse.ArgumentParser) -> None:
    serve = commands.add_parser(
        "serve",
        parents=[common],
        formatter_class=_Formatter,
        help="serve every provider and the control API on one port",
        description="Serve every provider (/easytracking, /aruba, /acube, /openapi) and the control API "
        "(/_sandbox) on one port, with a WSGI server (waitress).",
        epilog="examples:\n"
        "  fattura-sandbox serve\n"
        "  fattura-sandbox serve --host 0.0.0.0 --port 9000 --db /data/sandbox.db --log-format json\n"
        "  FATTURA_SANDBOX_PORT=9000 FATTURA_SANDBOX_CLOCK_FROZEN=1 fattura-sandbox serve --db :memory:",
    )
    serve.add_argument("--host", help="address to bind (FATTURA_SANDBOX_HOST, default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (FATTURA_SANDBOX_PORT, default 8080)")
    _db_options(serve)
    serve.add_argument(
        "--frozen-clock",
        action="store_true",
        default=None,
        help="virtual time moves only via POST /_sandbox/clock (FATTURA_SANDBOX_CLOCK_FROZEN, default off)",
    )
    serve.add_argument(
        "--no-journal",
        dest="journal",
        action="store_false",
        default=None,
        help="record no request in the journal: the most requests per second, for load tests; "
        "certification needs it on (FATTURA_SANDBOX_JOURNAL=0, default on)",
    )
    serve.add_argument(
        "--journal-body-limit",
        type=int,
        help="bytes of each body the journal keeps (FATTURA_SANDBOX_JOURNAL_BODY_LIMIT, default 65536)",
    )
    serve.add_argument(
        "--journal-max-entries",
        type=int,
        help="entries the journal keeps, oldest first out (FATTURA_SANDBOX_JOURNAL_MAX_ENTRIES, "
        "default 10000)",
    )
    serve.add_argument("--threads", type=int, default=8, help="worker threads of the WSGI server (default 8)")
    serve.add_argument(
        "--access-log",
        action="store_true",
        default=None,
        help=f"log every request: method, path, status, duration ({ACCESS_LOG_ENV}=1, default off)",
    )


def _db_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db",
        help="SQLite path, :memory: or a database URL (FATTURA_SANDBOX_DB, default fattura-sandbox.db)",
    )
    parser.add_argument(
        "--xsd-dir",
        type=Path,
        help="directory of the official FatturaPA schemas (FATTURA_SANDBOX_XSD_DIR, default none: "
        "no XSD validation)",
    )
    parser.add_argument(
        "--accounts-file",
        type=Path,
        help="accounts data file (FATTURA_SANDBOX_ACCOUNTS_FILE, default fixtures/accounts.json)",
    )
    parser.add_argument(
        "--seed",
        type=int,
        help="seed for ids and generated data, for repeatable runs (FATTURA_SANDBOX_SEED, default random)",
    )


def _config(args: argparse.Namespace) -> Config:
    from emulator.config import config_from_env

    return config_from_env().with_overrides(
        host=getattr(args, "host", None),
        port=getattr(args, "port", None),
        db=args.db,
        xsd_dir=args.xsd_dir,
        accounts_file=args.accounts_file,
        seed=args.seed,
        clock_frozen=getattr(args, "frozen_clock", None),
        journal=getattr(args, "journal", None),
        journal_body_limit=getattr(args, "journal_body_limit", None),
        journal_max_entries=getattr(args, "journal_max_entries", None),
    )


def _env_path(name: str) -> Path | None:
    value = os.environ.get(name, "").strip()
    return Path(value) if value else None


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


def serve(config: Config, threads: int, *, access_log: bool = False, log_format: str = "text") -> None:
    import waitress

    from emulator.app import create_app

    app = create_app(config)
    # Due work (callback deliveries, their retries) happens even when no client is calling.
    app.extensions["fattura_sandbox"].start_ticker()
    wsgi: Any = app
    if access_log:
        from emulator.commands.access_log import AccessLog

        wsgi = AccessLog(app)
    listening = f"fattura-sandbox listening on http://{config.host}:{config.port} (db: {config.db})"
    if log_format == "json":  # every line a JSON object on stderr
        logging.getLogger("fattura_sandbox").info(listening)
    else:
        print(listening, flush=True)
    waitress.serve(wsgi, host=config.host, port=config.port, threads=threads, ident="fattura-sandbox")


# -- healthcheck ------------------------------------------------------------------------------------


def _healthcheck_parser(commands: Any, common: argparse.ArgumentParser) -> None:
    check = commands.add_parser(
        "healthcheck",
        parents=[common],
        formatter_class=_Formatter,
        help="exit 0 when the sandbox on the configured port answers /_sandbox/health ok",
        description="GET http://<host>:<port>/_sandbox/health with the host and port `serve` would use: "
        "exit 0 when it answers 200 with status ok, 1 otherwise with one line on stderr saying why. "
        "A host of 0.0.0.0 or :: is checked through the loopback. Made for container HEALTHCHECKs.",
        epilog="examples:\n"
        "  fattura-sandbox healthcheck\n"
        "  FATTURA_SANDBOX_PORT=9000 fattura-sandbox healthcheck\n"
        '  HEALTHCHECK CMD ["fattura-sandbox", "healthcheck"]   (Dockerfile)',
    )
    check.add_argument("--host", help="the sandbox's address (FATTURA_SANDBOX_HOST, default 127.0.0.1)")
    check.add_argument("--port", type=int, help="the sandbox's port (FATTURA_SANDBOX_PORT, default 8080)")
    check.add_argument(
        "--timeout", type=float, default=3.0, help="seconds to wait for the answer (default 3)"
    )
    check.add_argument("--quiet", action="store_true", help="print nothing when healthy (default: one line)")


def healthcheck(args: argparse.Namespace) -> int:
    from emulator.commands import healthcheck as health

    try:
        host, port = health.resolve_target(args.host, args.port)
    except ValueError as exc:
        print(f"fattura-sandbox healthcheck: {exc}", file=sys.stderr)
        return 2
    result = health.check(health.health_url(host, port), args.timeout)
    if not result.healthy:
        print(f"fattura-sandbox healthcheck: unhealthy: {result.reason}", file=sys.stderr)
        return 1
    if not args.quiet:
        print(f"fattura-sandbox healthcheck: {result.reason}", file=sys.stderr)
    return 0


# -- seed -------------------------------------------------------------------------------------------


def _seed_parser(commands: Any, common: argparse.ArgumentParser) -> None:
    seed = commands.add_parser(
        "seed",
        parents=[common],
        formatter_class=_Formatter,
        help="fill the store with a realistic history of sent and received invoices",
        description="Fill the store with N invoices spread over the past months across the providers' "
        "sandbox accounts: sent ones through each provider's own create path with every SDI outcome "
        "(RC, NS with real codes, MC; PA: NE EC01/EC02, DT, MC-AT), received ones from suppliers. The "
        "virtual clock moves through the history so lifecycles complete. Run it on the database "
        "`serve` uses (same --db / FATTURA_SANDBOX_DB), with the server stopped or on a shared "
        "database URL. A progress bar shows on a terminal; a summary (counts per provider, direction "
        "and state) goes to stdout.",
        epilog="examples:\n"
        "  fattura-sandbox seed --invoices 1000 --db sandbox.db\n"
        "  fattura-sandbox seed --invoices 200 --provider aruba --tenant sandbox --seed 7 --format json",
    )
    seed.add_argument("--invoices", type=int, required=True, metavar="N", help="how many invoices (required)")
    seed.add_argument(
        "--provider", choices=PROVIDER_CHOICES, help="only this provider's accounts (default all)"
    )
    seed.add_argument("--tenant", help="only this tenant's accounts, e.g. sandbox or other (default all)")
    seed.add_argument("--months", type=int, default=6, help="how far back the history goes (default 6)")
    seed.add_argument("--batch-size", type=int, default=500, help="invoices per transaction (default 500)")
    seed.add_argument("--quiet", action="store_true", help="no progress bar (default: shown on a terminal)")
    seed.add_argument(
        "--format", choices=["text", "json"], default="text", help="the summary's format (default text)"
    )
    _db_options(seed)


def seed_command(args: argparse.Namespace) -> int:
    from emulator.commands.seed import SeedError, SeedOptions, progress_for, seed, summary_view

    try:
        config = _config(args)
    except ValueError as exc:
        print(f"fattura-sandbox: invalid configuration: {exc}", file=sys.stderr)
        return 2
    if config.db == ":memory:":
        print("fattura-sandbox seed: note: a :memory: store is gone when the command ends", file=sys.stderr)
    options = SeedOptions(
        invoices=args.invoices,
        provider=args.provider,
        tenant=args.tenant,
        seed=config.seed,
        months=args.months,
        batch_size=args.batch_size,
    )
    try:
        summary = seed(config, options, progress=progress_for(args.invoices, args.quiet))
    except SeedError as exc:
        print(f"fattura-sandbox seed: {exc}", file=sys.stderr)
        return 2
    if args.format == "json":
        import json

        print(json.dumps(summary_view(summary), indent=2))
    else:
        print(summary.render())
    return 0


# -- invoice generate -------------------------------------------------------------------------------


def _invoice_parser(commands: Any, common: argparse.ArgumentParser) -> None:
    invoice = commands.add_parser(
        "invoice",
        parents=[common],
        formatter_class=_Formatter,
        help="invoice tools: `invoice generate`",
        description="Invoice tools.",
        epilog="examples:\n  fattura-sandbox invoice generate --type TD04 > credit-note.xml",
    )
    actions = invoice.add_subparsers(dest="invoice_command", required=True, metavar="<action>")
    generate = actions.add_parser(
        "generate",
        parents=[common],
        formatter_class=_Formatter,
        help="print a valid random FatturaPA on stdout",
        description="Print a valid random FatturaPA (FPR12, FPA12 with --pa, FSM10 with --simplified) on "
        "stdout. --outcome puts the README's trigger (SANDBOX:<OUTCOME>) in the Causale: the sandbox's "
        "SDI gives the invoice that outcome when a client sends it. A PA-only outcome (NE-EC01, NE-EC02, "
        "DT, MC-AT, MC-RC) makes a PA invoice.",
        epilog="examples:\n"
        "  fattura-sandbox invoice generate > invoice.xml\n"
        "  fattura-sandbox invoice generate --supplier 09382170158 --outcome NS:00305 --seed 1\n"
        "  fattura-sandbox invoice generate --pa --outcome NE-EC02 --xsd-dir xsd/\n"
        "  fattura-sandbox invoice generate --signed > invoice.xml.p7m",
    )
    generate.add_argument(
        "--type",
        dest="document_type",
        metavar="TDxx",
        help="TipoDocumento: TD01 TD02 TD04 TD05 TD06 TD24, or TD07 TD08 TD09 with --simplified "
        "(default: a realistic random mix)",
    )
    generate.add_argument("--pa", action="store_true", help="to a public administration (FPA12; default B2B)")
    generate.add_argument(
        "--simplified", action="store_true", help="a simplified invoice (FSM10; default ordinary)"
    )
    generate.add_argument("--supplier", metavar="VAT", help="the supplier's P.IVA (default: invented)")
    generate.add_argument("--customer", metavar="VAT", help="the customer's P.IVA (default: invented)")
    generate.add_argument(
        "--outcome",
        metavar="OUTCOME",
        help="the SDI outcome trigger: RC, NS:<code> (e.g. NS:00305), MC, MC-AT, MC-RC, NE-EC01, NE-EC02, "
        "DT (default none: the SDI decides on the content)",
    )
    generate.add_argument(
        "--seed", type=int, help="seed: the same seed gives the same invoice (default random)"
    )
    generate.add_argument("--date", metavar="YYYY-MM-DD", help="the invoice date (default today)")
    generate.add_argument(
        "--signed",
        action="store_true",
        help="a CAdES-BES .p7m (binary: stdout must not be a terminal) signed by a throwaway sandbox key",
    )
    generate.add_argument(
        "--xsd-dir",
        type=Path,
        help="check the invoice against the official schemas in this directory before printing it "
        "(FATTURA_SANDBOX_XSD_DIR, default no check)",
    )
    generate.add_argument(
        "--print-file-name",
        action="store_true",
        help="also print an SDI file name for the invoice on stderr (default off)",
    )


def generate_command(args: argparse.Namespace) -> int:
    import datetime as dt

    from emulator.commands.generate import GenerateOptions, UsageError, check_options, generate

    out = sys.stdout.buffer
    if args.signed and sys.stdout.isatty():
        print(
            "fattura-sandbox invoice generate: --signed writes a binary .p7m; redirect stdout to a file "
            "(> invoice.xml.p7m)",
            file=sys.stderr,
        )
        return 2
    try:
        issue_date = dt.date.fromisoformat(args.date) if args.date else None
    except ValueError:
        print(
            f"fattura-sandbox invoice generate: --date must be YYYY-MM-DD, not {args.date!r}", file=sys.stderr
        )
        return 2
    try:
        options = check_options(
            GenerateOptions(
                document_type=args.document_type.upper() if args.document_type else None,
                pa=args.pa,
                simplified=args.simplified,
                supplier=args.supplier,
                customer=args.customer,
                outcome=args.outcome,
                seed=args.seed,
                issue_date=issue_date,
            )
        )
    except UsageError as exc:
        print(f"fattura-sandbox invoice generate: {exc}", file=sys.stderr)
        return 2
    invoice = generate(options)
    xsd_dir = args.xsd_dir or _env_path("FATTURA_SANDBOX_XSD_DIR")
    if xsd_dir is not None:
        problem = _schema_problem(xsd_dir, invoice.xml)
        if problem is not None:
            print(f"fattura-sandbox invoice generate: {problem}", file=sys.stderr)
            return 1
    content = invoice.xml
    file_name = invoice.file_name
    if args.signed:
        from datetime import UTC, datetime

        from emulator.sdi.signing import SandboxSigner

        content = SandboxSigner.generate(datetime.now(UTC)).make_p7m(content)
        file_name += ".p7m"
    if args.print_file_name:
        print(file_name, file=sys.stderr)
    out.write(content)
    out.flush()
    return 0


def _schema_problem(xsd_dir: Path, xml: bytes) -> str | None:
    from lxml import etree

    from emulator.core.xmlsafe import parse_xml
    from emulator.sdi.validation import load_fatturapa_schema, load_fsm_schema, schema_error

    try:
        root = parse_xml(xml)
        fsm = b"FatturaElettronicaSemplificata" in xml[:400]
        schema = load_fsm_schema(xsd_dir) if fsm else load_fatturapa_schema(xsd_dir)
    except (OSError, etree.LxmlError) as exc:
        return f"cannot load the schemas in {xsd_dir}: {exc}"
    if schema is None:
        return f"no FSM10 schema in {xsd_dir}"
    error = schema_error(schema, root)
    return None if error is None else f"the invoice does not conform to the schema: {error}"


# -- validate ---------------------------------------------------------------------------------------


def _validate_parser(commands: Any, common: argparse.ArgumentParser) -> None:
    validate = commands.add_parser(
        "validate",
        parents=[common],
        formatter_class=_Formatter,
        help="run the SDI's checks offline on invoice files: OK, or the NS codes they would get",
        description="Run the checks the sandbox's SDI runs on a received file, offline: file name (the "
        "file's own name), size, p7m envelope, format, the XSD with --xsd-dir, header and content rules. "
        "Duplicates (00002, 00404) are judged among the files given. Exit status: 0 all would be "
        "accepted, 1 any would be rejected (NS), 2 a file cannot be read or the usage is wrong.",
        epilog="examples:\n"
        "  fattura-sandbox validate IT01234567890_00001.xml\n"
        "  fattura-sandbox validate out/*.xml out/*.xml.p7m --xsd-dir xsd/ --format json",
    )
    validate.add_argument(
        "files", metavar="FILE", nargs="+", type=Path, help="invoice files (.xml or .xml.p7m)"
    )
    validate.add_argument(
        "--xsd-dir",
        type=Path,
        help="directory of the official FatturaPA schemas (FATTURA_SANDBOX_XSD_DIR, default none: "
        "no XSD check)",
    )
    validate.add_argument(
        "--format", choices=["text", "json"], default="text", help="report format on stdout (default text)"
    )


def validate_command(args: argparse.Namespace) -> int:
    from lxml import etree

    from emulator.commands.validate import OfflineValidator, exit_status, render_json, render_text

    xsd_dir = args.xsd_dir or _env_path("FATTURA_SANDBOX_XSD_DIR")
    try:
        validator = OfflineValidator(xsd_dir)
    except (OSError, etree.LxmlError) as exc:
        print(f"fattura-sandbox validate: cannot load the schemas in {xsd_dir}: {exc}", file=sys.stderr)
        return 2
    reports = [validator.check(path) for path in args.files]
    print(render_json(reports) if args.format == "json" else render_text(reports))
    return exit_status(reports)


# -- contract-test and certify ----------------------------------------------------------------------


def _certify_parser(commands: Any, common: argparse.ArgumentParser) -> None:
    certify = commands.add_parser(
        "certify",
        parents=[common],
        formatter_class=_Formatter,
        help="certify a client: a fresh sandbox, a scenario played while the client runs, a report",
        usage="fattura-sandbox certify --provider P [--scenario NAME|FILE] [--report DIR] -- <command...>",
        description="Start a fresh sandbox, run the client command against it while a scenario plays, "
        "and write a report (JUnit, JSON, HTML). The client finds the sandbox in FATTURA_SANDBOX_URL.",
        epilog="examples:\n"
        "  fattura-sandbox certify --provider easytracking -- python my_client.py\n"
        "  fattura-sandbox certify --provider aruba --scenario sdi-rejections --report out/ -- ./client.sh",
    )
    certify.add_argument(
        "--provider", required=True, choices=PROVIDER_CHOICES, help="the client's provider (required)"
    )
    certify.add_argument(
        "--scenario",
        default="happy-path",
        help="a built-in scenario (happy-path, sdi-rejections, pa-esito-and-dt, incoming-invoices, "
        "expired-token, network-faults) or a scenario YAML file (default happy-path)",
    )
    certify.add_argument(
        "--report",
        type=Path,
        default=Path("certification-report"),
        help="report directory (default certification-report)",
    )
    certify.add_argument(
        "--xsd-dir", type=Path, help="directory of the official FatturaPA schemas (default none)"
    )
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


def _contract_test_parser(commands: Any, common: argparse.ArgumentParser) -> None:
    contract = commands.add_parser(
        "contract-test",
        parents=[common],
        formatter_class=_Formatter,
        help="run a provider's contract with Schemathesis against any URL (the sandbox or a real staging)",
        description="Run contracts/<provider>.yaml with Schemathesis against a base URL: the sandbox, or "
        "a provider's real staging environment to detect drift. Needs the `contract` extra.",
        epilog="examples:\n"
        "  fattura-sandbox contract-test --provider easytracking --base-url http://127.0.0.1:8080\n"
        "  fattura-sandbox contract-test --provider aruba --base-url http://127.0.0.1:8080 "
        "--max-examples 5 --junit out/aruba.xml",
    )
    contract.add_argument(
        "--provider", required=True, choices=PROVIDER_CHOICES, help="the contract (required)"
    )
    contract.add_argument(
        "--base-url",
        required=True,
        help="where the contract's paths go, e.g. https://servizitest.varhub.it; a sandbox's root "
        "(http://127.0.0.1:8080) means its /<provider> mount (required)",
    )
    contract.add_argument(
        "--auth-url", help="the provider's auth host, when not the base URL (default the base URL)"
    )
    contract.add_argument(
        "--token", help="a bearer token to use as is (no login, no renewal; default: log in)"
    )
    contract.add_argument("--username", help="Easy Tracking / Aruba user (default sandbox)")
    contract.add_argument("--password", help="password; Openapi.it: the API key (default sandbox)")
    contract.add_argument("--email", help="A-Cube / Openapi.it account e-mail (default sandbox@example.com)")
    contract.add_argument(
        "--junit", type=Path, help="JUnit XML report (default ./contract-test-<provider>.xml)"
    )
    contract.add_argument("--max-examples", type=int, default=30, help="examples per operation (default 30)")
    contract.add_argument("--seed", type=int, help="Schemathesis seed, to repeat a run (default random)")
    contract.add_argument(
        "--operations", metavar="REGEX", help="only the operations whose operationId matches (default all)"
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


# -- main -------------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        log_format = resolve_log_format(getattr(args, "log_format", None))
    except ValueError as exc:
        print(f"fattura-sandbox: invalid configuration: {exc}", file=sys.stderr)
        return 2
    configure_logging(log_format)
    if args.command == "healthcheck":
        return healthcheck(args)
    if args.command == "contract-test":
        return contract_test(args)
    if args.command == "certify":
        return certify(args)
    if args.command == "seed":
        return seed_command(args)
    if args.command == "invoice":
        return generate_command(args)
    if args.command == "validate":
        return validate_command(args)
    try:
        config = _config(args)
    except ValueError as exc:
        print(f"fattura-sandbox: invalid configuration: {exc}", file=sys.stderr)
        return 2
    if args.command == "serve":
        access_log = args.access_log if args.access_log is not None else _env_flag(ACCESS_LOG_ENV)
        serve(config, args.threads, access_log=access_log, log_format=log_format)
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
