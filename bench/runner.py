"""The side-effecting half of the benchmark: tools, processes, pinning, wrk, the API set-up."""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any

import requests

from bench.harness import NO_JOURNAL_STATUS, WrkRun, median, median_run, parse_wrk

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
PRISM_DIR = BENCH / ".prism"
PRISM_BIN = PRISM_DIR / "node_modules" / ".bin" / "prism"
XSD_DIR = (ROOT / ".." / "shared" / "reference" / "xsd").resolve()
CLI = Path(sys.executable).parent / "fattura-sandbox"
RAW = BENCH / "out"  # wrk's raw reports (wrk.log), appended run after run
THREADS = 8
SERVER_CORE = "0"
LOAD_CORE = "1"


def log(*parts: object) -> None:
    print("[bench]", *parts, file=sys.stderr, flush=True)


# -- tools ----------------------------------------------------------------------------------------


def _sudo() -> list[str]:
    return [] if os.geteuid() == 0 else ["sudo"]


def ensure_wrk() -> str:
    if shutil.which("wrk") is None:
        log("wrk missing: apt-get install -y wrk")
        subprocess.run([*_sudo(), "apt-get", "install", "-y", "wrk"], check=True)
    out = subprocess.run(["wrk", "-v"], capture_output=True, text=True)
    return (out.stdout + out.stderr).split("\n")[0].split(" [")[0].removeprefix("wrk ").strip()


def ensure_prism() -> str:
    if not PRISM_BIN.exists():
        log("Prism missing: npm install --prefix bench/.prism @stoplight/prism-cli")
        subprocess.run(["npm", "install", "--prefix", str(PRISM_DIR), "@stoplight/prism-cli"], check=True)
    out = subprocess.run([str(PRISM_BIN), "--version"], capture_output=True, text=True, check=True)
    return out.stdout.strip()


def machine(wrk: str, prism: str | None) -> dict[str, Any]:
    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    ram = "unknown"
    with contextlib.suppress(OSError, ValueError, IndexError):
        kb = int(Path("/proc/meminfo").read_text().splitlines()[0].split()[1])
        ram = f"{kb / 1024 / 1024:.1f} GiB"
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "ram": ram,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "waitress": version("waitress"),
        "flask": version("flask"),
        "wrk": wrk,
        "prism": prism or "not run",
    }


# -- processes ------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def rss_mb(pid: int, key: str = "VmHWM") -> float | None:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    return None


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int
    started: float
    healthy_after: float = 0.0
    log_path: Path = field(default_factory=Path)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def pin(self) -> None:
        # threads started before the first request inherit core 0; re-pin all of them anyway
        subprocess.run(
            ["taskset", "-a", "-pc", SERVER_CORE, str(self.process.pid)], check=True, capture_output=True
        )

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def spawn(
    argv: list[str],
    port: int,
    health: str,
    log_path: Path,
    timeout: float = 60.0,
    headers: dict[str, str] | None = None,
    env: dict[str, str] | None = None,
) -> Server:
    """Start argv pinned to the server core; wait (polling every 5 ms) for a 200 on health."""
    out = log_path.open("wb")
    started = time.perf_counter()
    process = subprocess.Popen(
        ["taskset", "-c", SERVER_CORE, *argv],
        stdout=out,
        stderr=subprocess.STDOUT,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
    )
    server = Server(process, port, started, log_path=log_path)
    url = server.base + health
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"{argv[0]} exited with {process.returncode}; see {log_path}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                pass
            if requests.get(url, headers=headers, timeout=2).status_code == 200:
                break
        except OSError:
            pass
        if time.perf_counter() - started > timeout:
            server.stop()
            raise RuntimeError(f"{argv[0]} not healthy after {timeout} s; see {log_path}")
        time.sleep(0.005)
    server.healthy_after = time.perf_counter() - started
    server.pin()
    return server


def sandbox_argv(db: Path, port: int, *, frozen: bool = False) -> list[str]:
    argv = [str(CLI), "serve", "--db", str(db), "--port", str(port), "--threads", str(THREADS), "--seed", "1"]
    if XSD_DIR.is_dir():
        argv += ["--xsd-dir", str(XSD_DIR)]
    return argv + (["--frozen-clock"] if frozen else [])


@contextlib.contextmanager
def sandbox(work: Path, name: str, db: Path | None = None, *, journal: bool = True) -> Iterator[Server]:
    port = free_port()
    db = db or work / f"{name}.db"
    # Aruba's documented rate limits (30 uploads a minute…) would measure the limit, not the server.
    env = {"FATTURA_SANDBOX_ARUBA_SLA": "0"}
    argv = sandbox_argv(db, port) + ([] if journal else ["--no-journal"])
    server = spawn(argv, port, "/_sandbox/health", work / f"{name}.log", env=env)
    try:
        yield server
    finally:
        server.stop()


def time_to_healthy(work: Path, samples: int) -> list[float]:
    times = []
    for n in range(samples):
        with sandbox(work, f"healthy-{n}") as server:
            times.append(server.healthy_after)
    return times


# -- wrk ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Load:
    """One endpoint under wrk: a URL, headers, and either no body or a list of bodies to cycle."""

    name: str
    url: str
    method: str = "GET"
    headers: dict[str, str] = field(default_factory=dict)
    bodies: Path | None = None  # a file listing body files, one a line


def wrk_once(load: Load, seconds: float, connections: int = 64) -> WrkRun:
    threads = min(2, connections)
    argv = ["taskset", "-c", LOAD_CORE, "wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds:g}s"]
    argv.append("--latency")
    for key, value in load.headers.items():
        argv += ["-H", f"{key}: {value}"]
    if load.bodies is not None:
        argv += ["-s", str(BENCH / "cycle.lua"), load.url, "--", load.method, str(load.bodies)]
    else:
        argv.append(load.url)
    out = subprocess.run(argv, capture_output=True, text=True, check=True)
    RAW.mkdir(parents=True, exist_ok=True)
    with (RAW / "wrk.log").open("a") as raw:
        raw.write(f"## {load.name} ({seconds:g} s)\n{out.stdout}{out.stderr}\n")
    return parse_wrk(out.stdout)


def drain(base: str, path: str, headers: dict[str, str], limit: float = 120.0) -> float:
    """Wait until the server answers path within 0.5 s again (wrk leaves requests queued when it stops)."""
    start = time.perf_counter()
    while time.perf_counter() - start < limit:
        try:
            if requests.get(base + path, headers=headers, timeout=0.5).status_code == 200:
                return time.perf_counter() - start
        except requests.RequestException:
            pass
        time.sleep(0.2)
    return time.perf_counter() - start


def measure(load: Load, runs: int, seconds: float, warmup: float, health: str) -> dict[str, Any]:
    base = load.url.split("/", 3)
    root = "/".join(base[:3])
    if warmup > 0:
        wrk_once(load, warmup)
    done = []
    for _ in range(runs):
        drain(root, health, load.headers)
        done.append(wrk_once(load, seconds))
    drained = drain(root, health, load.headers)
    # One client alone: the time the server takes for one request, without the 64-deep queue.
    single = wrk_once(load, min(seconds, 3.0), connections=1)
    drain(root, health, load.headers)
    best = median_run(done)
    log(f"{load.name}: {best.requests_per_second:.1f} req/s, p99 {best.p99_ms:.1f} ms, errors {best.errors}")
    return {
        "name": load.name,
        "requests_per_second": best.requests_per_second,
        "p50_ms": best.p50_ms,
        "p99_ms": best.p99_ms,
        "errors": best.errors,
        "requests": best.requests,
        "single_p50_ms": single.p50_ms,
        "single_p99_ms": single.p99_ms,
        "runs": [r.requests_per_second for r in done],
        "drain_s": drained,
    }


# -- bodies ---------------------------------------------------------------------------------------

ET_VAT = "09382170158"
ARUBA_VAT = "20493810483"
ARUBA_TRANSMITTER = "01879020517"  # Aruba PEC: the IdTrasmittente every Aruba upload carries
ACUBE_VAT = "26174950589"
CUSTOMER_VAT = "01879020517"
ET_CLIENT = {
    "apiName": "openBusiness.scope.serviziweb.api",
    "clientName": "openBusiness.client.serviziweb.api",
    "clientSecret": "uKNtPmq49yjLkaYv",
}


def invoices(supplier: str, transmitter: str, count: int, prefix: str, seed: int) -> Iterator[bytes]:
    from emulator.sdi.generator import InvoiceGenerator, PartySpec

    generator = InvoiceGenerator(seed)
    for n in range(count):
        yield generator.generate(
            supplier=PartySpec(vat=supplier, fiscal_code=supplier, name="Sandbox S.r.l."),
            customer=PartySpec(vat=CUSTOMER_VAT, name="Cliente Prova S.p.A."),
            document_type="TD01",
            issue_date=dt.date.today(),
            number=f"{prefix}{n + 1}",
            transmitter=("IT", transmitter),
            recipient_code="M5UXCR1",
        ).xml


def write_bodies(work: Path, name: str, bodies: Iterator[bytes]) -> Path:
    folder = work / name
    folder.mkdir(exist_ok=True)
    paths = []
    for n, body in enumerate(bodies):
        path = folder / f"{n:05d}"
        path.write_bytes(body)
        paths.append(str(path))
    listing = work / f"{name}.list"
    listing.write_text("\n".join(paths) + "\n")
    return listing


# -- set-up through the real API ------------------------------------------------------------------


def check(response: requests.Response, *expected: int) -> requests.Response:
    if response.status_code not in expected:
        raise RuntimeError(
            f"{response.request.method} {response.url}: {response.status_code} {response.text[:300]}"
        )
    return response


def et_token(http: requests.Session, base: str) -> str:
    body = {**ET_CLIENT, "username": "sandbox", "password": "sandbox"}
    value: str = check(http.post(base + "/easytracking/api/Token/AccessToken", json=body), 200).json()
    return value


def advance(http: requests.Session, base: str, seconds: float) -> None:
    check(http.post(base + "/_sandbox/clock", json={"advance_seconds": seconds}), 200)


def timed_sequence(samples: int, step: Any) -> list[float]:
    """Run step() samples times; each run's duration in milliseconds."""
    times = []
    for _ in range(samples):
        start = time.perf_counter()
        step()
        times.append((time.perf_counter() - start) * 1000)
    return times


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]


def job_download(
    http: requests.Session, base: str, headers: dict[str, str], book: str, body: dict[str, Any], download: str
) -> int:
    """Book a job, poll it (the virtual clock moved 5 s while not ready), download it: the zip's size."""
    job = check(http.post(base + book, json=body, headers=headers), 202).json()["jobId"]
    url = base + download.format(job=job)
    for _ in range(20):
        response = check(http.get(url, headers=headers), 200, 202)
        if response.status_code == 200:
            return len(response.content)
        advance(http, base, 5)
    raise RuntimeError(f"job {job} never ready")


def throughput_loads(
    server: Server, work: Path, bodies: int, samples: int
) -> tuple[list[Load], list[dict[str, Any]]]:
    """Prepare every endpoint through the API: tokens, one uploaded invoice per provider, body lists."""
    base = server.base
    http = requests.Session()
    et = et_token(http, base)
    et_auth = {"Authorization": f"Bearer {et}"}
    xml = {"Content-Type": "application/xml"}
    first = next(invoices(ET_VAT, ET_VAT, 1, "S", 999_999))
    progressivo = check(
        http.post(base + "/easytracking/api/v4/ActiveInvoices", data=first, headers={**et_auth, **xml}), 200
    ).json()["progressivoInvio"]
    log(f"generating {bodies} Easy Tracking and {bodies} Aruba invoices")
    et_list = write_bodies(work, "et-bodies", invoices(ET_VAT, ET_VAT, bodies, "E", 1))
    aruba_list = write_bodies(
        work,
        "aruba-bodies",
        (
            json.dumps({"dataFile": base64.b64encode(x).decode()}).encode()
            for x in invoices(ARUBA_VAT, ARUBA_TRANSMITTER, bodies, "A", 2)
        ),
    )
    token_list = write_bodies(
        work,
        "et-token",
        iter([json.dumps({**ET_CLIENT, "username": "sandbox", "password": "sandbox"}).encode()]),
    )
    signin_list = write_bodies(
        work, "aruba-signin", iter([b"grant_type=password&username=sandbox&password=sandbox"])
    )

    aruba = check(
        http.post(
            base + "/aruba/auth/signin",
            data={"grant_type": "password", "username": "sandbox", "password": "sandbox"},
        ),
        200,
    ).json()["access_token"]
    acube = check(
        http.post(base + "/acube/login", json={"email": "sandbox@example.com", "password": "sandbox"}), 200
    ).json()["token"]
    acube_auth = {"Authorization": f"Bearer {acube}"}
    from emulator.providers.acube.service import ACUBE_VAT as ACUBE_TRANSMITTER

    uuid = check(
        http.post(
            base + "/acube/invoices",
            data=next(invoices(ACUBE_VAT, ACUBE_TRANSMITTER, 1, "C", 3)),
            headers={**acube_auth, **xml},
        ),
        202,
    ).json()["uuid"]
    openapi = _openapi_token()

    # 100 notifications for the job sequence: 50 uploads, each with its sending receipt and its outcome
    for body in invoices(ET_VAT, ET_VAT, 50, "J", 4):
        check(
            http.post(base + "/easytracking/api/v4/ActiveInvoices", data=body, headers={**et_auth, **xml}),
            200,
        )
    advance(http, base, 120)
    listed = check(
        http.get(
            base + "/easytracking/api/v4/InvoiceNotifications/new-active-notifications",
            params={"ownerPIVA": ET_VAT},
            headers=et_auth,
        ),
        200,
    ).json()
    ids = [n["notificationId"] for n in listed["notifications"]][:100]
    times = timed_sequence(
        samples,
        lambda: job_download(
            http,
            base,
            et_auth,
            "/easytracking/api/v4/InvoiceNotifications/jobs",
            {"notificationIds": ids},
            "/easytracking/api/v4/InvoiceNotifications/jobs/{job}",
        ),
    )
    sequences = [
        {
            "name": f"easytracking notifications job: create → downloaded ({len(ids)} notifications)",
            "median_ms": median(times),
            "p99_ms": p99(times),
            "samples": samples,
            "note": "includes POST /_sandbox/clock advance_seconds=5 while the job is not ready",
        }
    ]

    et_base = base + "/easytracking/api"
    # uploads last: each one adds notifications and SDI work that the reads before them would pay for
    loads = [
        Load(
            "easytracking token",
            et_base + "/Token/AccessToken",
            "POST",
            {"Content-Type": "application/json"},
            token_list,
        ),
        Load(
            "easytracking status",
            et_base + f"/v4/InvoiceNotifications?progressivoInvio={progressivo}",
            headers=et_auth,
        ),
        Load(
            "easytracking new-active-notifications",
            et_base + f"/v4/InvoiceNotifications/new-active-notifications?ownerPIVA={ET_VAT}",
            headers=et_auth,
        ),
        Load(
            "aruba signin",
            base + "/aruba/auth/signin",
            "POST",
            {"Content-Type": "application/x-www-form-urlencoded;charset=UTF-8"},
            signin_list,
        ),
        Load(
            "aruba findByUsername",
            # The sandbox user is Premium: Aruba requires the sender's country and VAT (§8.2).
            base + f"/aruba/services/invoice/out/findByUsername?username=sandbox&countrySender=IT"
            f"&vatcodeSender={ARUBA_VAT}",
            headers={"Authorization": f"Bearer {aruba}"},
        ),
        Load("acube GET invoice", base + f"/acube/invoices/{uuid}", headers=acube_auth),
        Load("openapi list", base + "/openapi/IT-invoices", headers={"Authorization": f"Bearer {openapi}"}),
        Load("easytracking upload", et_base + "/v4/ActiveInvoices", "POST", {**et_auth, **xml}, et_list),
        Load(
            "aruba upload",
            base + "/aruba/services/invoice/upload",
            "POST",
            {"Authorization": f"Bearer {aruba}", "Content-Type": "application/json"},
            aruba_list,
        ),
    ]
    return loads, sequences


def status_load(server: Server, name: str = NO_JOURNAL_STATUS) -> Load:
    """GET status of one uploaded invoice (its notifications taken), on a server of its own."""
    http = requests.Session()
    auth = {"Authorization": f"Bearer {et_token(http, server.base)}"}
    body = next(invoices(ET_VAT, ET_VAT, 1, "N", 5))
    progressivo = check(
        http.post(
            server.base + "/easytracking/api/v4/ActiveInvoices",
            data=body,
            headers={**auth, "Content-Type": "application/xml"},
        ),
        200,
    ).json()["progressivoInvio"]
    url = server.base + f"/easytracking/api/v4/InvoiceNotifications?progressivoInvio={progressivo}"
    return Load(name, url, headers=auth)


def _openapi_token() -> str:
    accounts = json.loads((ROOT / "fixtures" / "accounts.json").read_text())
    token: str = next(a["token"] for a in accounts if a["provider"] == "openapi" and a["tenant"] == "sandbox")
    return token


def hello_server(work: Path) -> Server:
    port = free_port()
    return spawn(
        [sys.executable, "-m", "bench.hello_app", str(port), str(THREADS)], port, "/hello", work / "hello.log"
    )


def prism_server(work: Path) -> Server:
    port = free_port()
    argv = [
        "node",
        str(PRISM_DIR / "node_modules" / "@stoplight" / "prism-cli" / "dist" / "index.js"),
        "mock",
        str(ROOT / "contracts" / "openapi.yaml"),
        "-h",
        "127.0.0.1",
        "-p",
        str(port),
    ]
    if not Path(argv[1]).exists():
        argv = [str(PRISM_BIN), *argv[2:]]
    return spawn(
        argv,
        port,
        "/IT-invoices",
        work / "prism.log",
        timeout=120,
        headers={"Authorization": f"Bearer {_openapi_token()}"},
    )


def prism_load(server: Server) -> Load:
    return Load(
        "prism openapi list",
        server.base + "/IT-invoices",
        headers={"Authorization": f"Bearer {_openapi_token()}"},
    )


# -- scale ----------------------------------------------------------------------------------------


def seed(db: Path, invoices_count: int) -> tuple[float, list[str]]:
    argv = [
        str(CLI),
        "seed",
        "--invoices",
        str(invoices_count),
        "--provider",
        "easytracking",
        "--db",
        str(db),
        "--quiet",
        "--seed",
        "1",
    ]
    if XSD_DIR.is_dir():
        argv += ["--xsd-dir", str(XSD_DIR)]
    start = time.perf_counter()
    subprocess.run(argv, check=True, capture_output=True, cwd=ROOT)
    return time.perf_counter() - start, argv


def scale(work: Path, invoices_count: int, samples: int) -> dict[str, Any]:
    db = work / "scale.db"
    log(f"seeding {invoices_count} invoices")
    seconds, argv = seed(db, invoices_count)
    log(f"seeded in {seconds:.1f} s")
    result: dict[str, Any] = {
        "invoices": invoices_count,
        "seed_s": seconds,
        "seed_command": " ".join(["fattura-sandbox", *argv[1:]]).replace(str(work), "<tmp>"),
    }
    lists = {
        "active-invoices": "/easytracking/api/v4/DownloadInvoices/active-invoices?top=100000",
        "passive-invoices": "/easytracking/api/v10/DownloadInvoices/passive-invoices?top=100000",
    }
    doc_ids: list[int] = []
    for key, path in lists.items():
        # a fresh server per list: its VmHWM is then this call's peak (plus start-up)
        with sandbox(work, f"scale-{key}", db) as server:
            http = requests.Session()
            auth = {"Authorization": f"Bearer {et_token(http, server.base)}"}
            start = time.perf_counter()
            response = check(http.get(server.base + path, headers=auth), 200)
            elapsed = time.perf_counter() - start
            payload = response.json()
            items = _items(payload)
            result[key] = {
                "seconds": elapsed,
                "peak_rss_mb": rss_mb(server.process.pid),
                "count": len(items),
                "bytes": len(response.content),
            }
            # Once more: the first call of a fresh server pays for reading the file into memory.
            again = time.perf_counter()
            check(http.get(server.base + path, headers=auth), 200)
            result[key]["again_seconds"] = time.perf_counter() - again
            log(f"{key}: {len(items)} items in {elapsed:.2f} s, again {result[key]['again_seconds']:.2f} s")
            if key == "active-invoices":
                doc_ids = [int(item["docId"]) for item in items[:100] if "docId" in item]
    with sandbox(work, "scale-job", db) as server:
        http = requests.Session()
        auth = {"Authorization": f"Bearer {et_token(http, server.base)}"}
        times = timed_sequence(
            samples,
            lambda: job_download(
                http,
                server.base,
                auth,
                "/easytracking/api/v4/DownloadInvoices/active/doc-id/jobs",
                {"docIds": doc_ids},
                "/easytracking/api/v4/DownloadInvoices/active/jobs/{job}",
            ),
        )
        result["job_ms"] = median(times)
        result["job_note"] = (
            f"{len(doc_ids)} docIds, median of {samples}; includes POST /_sandbox/clock "
            "advance_seconds=5 when the job is not ready yet"
        )
    return result


def _items(payload: Any) -> list[dict[str, Any]]:
    if isinstance(payload, list):
        return payload
    if isinstance(payload, dict):
        for value in payload.values():
            if isinstance(value, list):
                return value
    return []


def workdir() -> Path:
    return Path(tempfile.mkdtemp(prefix="fattura-bench-"))
