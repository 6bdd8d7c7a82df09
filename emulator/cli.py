"""The ``fattura-sandbox`` command: ``serve`` (more commands arrive with certification)."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

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
    serve.add_argument("--threads", type=int, default=8, help="worker threads of the WSGI server")
    return parser


def _config(args: argparse.Namespace) -> Config:
    return config_from_env().with_overrides(
        host=args.host,
        port=args.port,
        db=args.db,
        xsd_dir=args.xsd_dir,
        accounts_file=args.accounts_file,
        seed=args.seed,
        clock_frozen=args.frozen_clock,
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
