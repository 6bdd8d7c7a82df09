"""The Dockerfile, docker-compose.yml and the CI snippets (ci/) agree with the CLI and the configuration.

Everything they must agree on is read from the code, not repeated here: the port (``Config().port``),
the health path (the Flask app's ``/_sandbox/health`` rule), the ``FATTURA_SANDBOX_*`` names
(``Config``'s fields, and the variables ``certify`` hands to a client), the command names (the CLI's
parser, ``[project.scripts]``), where contracts/ and fixtures/ are read (the modules' own constants).

Without a container engine the image is not built; instead the layout it produces (the package in a
site-packages directory, contracts/ and fixtures/ copied where the Dockerfile copies them) is served
and asked for its health and for a request checked against its contract. With an engine
(``docker info`` succeeds) the image is also built and run.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import time
import tomllib
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import fields
from pathlib import Path, PurePosixPath
from types import SimpleNamespace
from typing import Any

import pytest
import yaml

import emulator
from emulator.app import create_app
from emulator.certify.runner import client_env
from emulator.cli import _parser
from emulator.config import ENV_PREFIX, Config, config_from_env

ROOT = Path(__file__).resolve().parents[2]
PACKAGE_PARENT = Path(emulator.__file__).resolve().parents[1]
ENV_NAME = re.compile(r"\b" + ENV_PREFIX + r"[A-Z0-9_]+\b")

# What the sandbox reads from the environment, and what `certify` gives a client (the snippets'
# test steps use FATTURA_SANDBOX_URL, the sandbox's root, like the example clients).
CONFIG_ENV = {ENV_PREFIX + f.name.upper() for f in fields(Config)}
CLIENT_ENV = set(
    client_env("http://127.0.0.1:8080", "aruba", {}, SimpleNamespace(run_seconds=1.0, invoices=1))  # type: ignore[arg-type]
)
URL_ENV = ENV_PREFIX + "URL"
DEFAULT_PORT = Config().port


# -- parsing -------------------------------------------------------------------------------------


def dockerfile_instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order, continuation lines joined, comments dropped."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if pending and line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line = pending + line
        pending = ""
        keyword, _, rest = line.partition(" ")
        instructions.append((keyword.upper(), rest.strip()))
    return instructions


def stages(instructions: list[tuple[str, str]]) -> list[list[tuple[str, str]]]:
    """The instructions of each stage, FROM first (global ARGs before the first FROM dropped)."""
    result: list[list[tuple[str, str]]] = []
    for keyword, rest in instructions:
        if keyword == "FROM":
            result.append([])
        if result:
            result[-1].append((keyword, rest))
    return result


def key_values(rest: str) -> dict[str, str]:
    """ENV / ARG arguments: ``a=1 b="2"`` (or the legacy ``ENV a 1``)."""
    words = shlex.split(rest)
    if len(words) >= 2 and "=" not in words[0]:
        return {words[0]: " ".join(words[1:])}
    return dict(word.partition("=")[::2] for word in words)


def command_words(rest: str) -> list[str]:
    """An exec-form (JSON) or shell-form command as words."""
    return list(json.loads(rest)) if rest.startswith("[") else shlex.split(rest)


def substitute(value: str, variables: Mapping[str, str]) -> str:
    """``${NAME}``, ``${NAME:-default}`` and ``$NAME`` as Docker and Compose expand them."""

    def one(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(3)
        default = match.group(2)
        found = variables.get(name)
        if found:
            return found
        return default if default is not None else ""

    return re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)", one, value)


class Dockerfile:
    def __init__(self, path: Path) -> None:
        self.text = path.read_text(encoding="utf-8")
        instructions = dockerfile_instructions(self.text)
        self.global_args: dict[str, str] = {}
        for keyword, rest in instructions:
            if keyword == "FROM":
                break
            if keyword == "ARG":
                self.global_args.update(key_values(rest))
        self.stages = stages(instructions)
        self.final = self.stages[-1]

    def values(self, keyword: str, stage: list[tuple[str, str]] | None = None) -> list[str]:
        return [rest for k, rest in (self.final if stage is None else stage) if k == keyword]

    def variables(self) -> dict[str, str]:
        """The final stage's ARG defaults and ENV values, expanded in order."""
        variables: dict[str, str] = {}
        for keyword, rest in self.final:
            if keyword in {"ARG", "ENV"}:
                for name, value in key_values(rest).items():
                    variables[name] = substitute(value, variables)
        return variables

    def env(self) -> dict[str, str]:
        variables: dict[str, str] = {}
        env: dict[str, str] = {}
        for keyword, rest in self.final:
            if keyword in {"ARG", "ENV"}:
                for name, value in key_values(rest).items():
                    variables[name] = substitute(value, variables)
                    if keyword == "ENV":
                        env[name] = variables[name]
        return env

    def base_image(self, stage: list[tuple[str, str]]) -> str:
        return substitute(stage[0][1].split()[0], self.global_args)


def subcommands() -> set[str]:
    parser = _parser()
    for action in parser._actions:  # argparse has no public accessor for its subparsers
        if action.dest == "command":
            return set(action.choices or ())
    raise AssertionError("the CLI parser has no subcommands")


@pytest.fixture(scope="module")
def dockerfile() -> Dockerfile:
    return Dockerfile(ROOT / "Dockerfile")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return dict(yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8")))


@pytest.fixture(scope="module")
def github() -> dict[str, Any]:
    return dict(yaml.safe_load((ROOT / "ci" / "github-actions.yml").read_text(encoding="utf-8")))


@pytest.fixture(scope="module")
def gitlab() -> dict[str, Any]:
    return dict(yaml.safe_load((ROOT / "ci" / "gitlab-ci.yml").read_text(encoding="utf-8")))


@pytest.fixture(scope="module")
def health_path() -> str:
    app = create_app(Config(db=":memory:", seed=1))
    rules = [rule.rule for rule in app.url_map.iter_rules() if rule.rule.endswith("/health")]
    assert len(rules) == 1, rules
    return rules[0]


@pytest.fixture(scope="module")
def healthcheck_command(dockerfile: Dockerfile) -> list[str]:
    """The HEALTHCHECK's command; every other health check must be the same one."""
    (rest,) = dockerfile.values("HEALTHCHECK")
    _, _, command = rest.partition("CMD ")
    return command_words(command.strip())


# -- Dockerfile ----------------------------------------------------------------------------------


def test_dockerfile_is_multi_stage_on_python_slim_without_compilers(dockerfile: Dockerfile) -> None:
    assert len(dockerfile.stages) >= 2, "a build stage and a final stage"
    for stage in dockerfile.stages:
        assert dockerfile.base_image(stage) == "python:3.11-slim"
    final_runs = " ".join(dockerfile.values("RUN"))
    for tool in ("apt-get install", "apk add", "gcc", "build-essential"):
        assert tool not in final_runs, f"the final stage installs {tool!r}"
    build_runs = " ".join(dockerfile.values("RUN", dockerfile.stages[0]))
    assert "pip wheel" in build_runs, "the build stage builds the wheels"
    assert "--no-index" in final_runs and "--find-links /wheels" in final_runs, (
        "the final stage installs only the wheels built before"
    )


def test_dockerfile_runs_as_a_non_root_user(dockerfile: Dockerfile) -> None:
    users = dockerfile.values("USER")
    assert users, "no USER: the server would run as root"
    uid = users[-1].split(":")[0]
    assert uid == "10001"
    assert "--uid 10001" in " ".join(dockerfile.values("RUN"))


def test_dockerfile_port_host_and_settings_are_the_servers(dockerfile: Dockerfile) -> None:
    env = dockerfile.env()
    config = config_from_env(env)  # the image's settings, read exactly as `serve` reads them
    assert config.port == DEFAULT_PORT
    assert dockerfile.values("EXPOSE") == [str(config.port)]
    assert config.host == "0.0.0.0"  # reachable from outside the container
    assert config.xsd_dir is None, "the schemas are not in the image: XSD_DIR is set by whoever mounts them"


def test_dockerfile_env_names_are_config_fields(dockerfile: Dockerfile) -> None:
    used = set(ENV_NAME.findall(dockerfile.text))
    assert used, "the Dockerfile sets the sandbox's settings through FATTURA_SANDBOX_* variables"
    assert used <= CONFIG_ENV, f"not settings of emulator.config.Config: {sorted(used - CONFIG_ENV)}"


def test_dockerfile_volume_holds_the_database(dockerfile: Dockerfile) -> None:
    config = config_from_env(dockerfile.env())
    volumes = [command_words(v) if v.startswith("[") else v.split() for v in dockerfile.values("VOLUME")]
    assert volumes == [[str(PurePosixPath(config.db).parent)]]
    assert config.database_url.startswith("sqlite")
    # The directory exists and belongs to the user before VOLUME, so a new volume inherits that owner.
    runs = " ".join(dockerfile.values("RUN"))
    assert f"chown 10001:10001 {volumes[0][0]}" in runs


def test_dockerfile_entrypoint_and_command_are_the_cli(dockerfile: Dockerfile) -> None:
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["scripts"]
    (entrypoint,) = dockerfile.values("ENTRYPOINT")
    (cmd,) = dockerfile.values("CMD")
    assert command_words(entrypoint) == ["fattura-sandbox"]
    assert "fattura-sandbox" in scripts
    assert command_words(cmd) == ["serve"]
    assert "serve" in subcommands()


def test_dockerfile_puts_contracts_and_fixtures_where_the_code_reads_them(dockerfile: Dockerfile) -> None:
    from emulator.certify.checks import coverage
    from emulator.contract_testing import runner
    from emulator.core.accounts import DEFAULT_ACCOUNTS_FILE
    from emulator.journal import validation

    variables = dockerfile.variables()
    site_packages = PurePosixPath(variables["SITE_PACKAGES"])
    assert site_packages == PurePosixPath(variables["VIRTUAL_ENV"]) / "lib/python3.11/site-packages"
    copies = {}
    for rest in dockerfile.values("COPY"):
        words = [w for w in shlex.split(rest) if not w.startswith("--")]
        *sources, destination = words
        for source in sources:
            copies[source.rstrip("/")] = PurePosixPath(substitute(destination, variables))
    needed = {
        validation.CONTRACTS_DIR,
        runner.CONTRACTS,
        coverage.CONTRACTS_DIR,
        DEFAULT_ACCOUNTS_FILE.parent,
    }
    for directory in needed:
        relative = directory.resolve().relative_to(PACKAGE_PARENT)
        if relative.parts[0] == "emulator":
            continue  # inside the package: in the wheel as package data
        assert (ROOT / relative).is_dir()
        assert copies.get(relative.as_posix()) == site_packages / relative.as_posix(), (
            f"{relative} is read next to the package; the image must copy it to {site_packages / relative}"
        )


def test_dockerignore_keeps_what_the_build_needs() -> None:
    rules = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]

    def ignored(path: str) -> bool:
        result = False
        for rule in rules:
            negate = rule.startswith("!")
            pattern = rule.lstrip("!").rstrip("/")
            parts = path.split("/")
            prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
            hit = any(fnmatch.fnmatch(prefix, pattern) for prefix in prefixes)
            if pattern.startswith("**/"):
                hit = hit or any(fnmatch.fnmatch(part, pattern[3:]) for part in parts)
            if hit:
                result = not negate
        return result

    for needed in ("pyproject.toml", "README.md", "emulator/cli.py", "emulator/journal/validation.py"):
        assert not ignored(needed), needed
    for path in (ROOT / "contracts").glob("*.yaml"):
        assert not ignored(path.relative_to(ROOT).as_posix()), path
    assert not ignored("fixtures/accounts.json")
    unwanted = (".venv/bin/python", ".git/HEAD", "tests/conftest.py", "fattura-sandbox.db", ".hypothesis/x")
    for path in (*unwanted, "emulator/__pycache__/cli.cpython-311.pyc"):
        assert ignored(path), path


def test_package_data_covers_every_data_file_of_the_package() -> None:
    """What the wheel (and so the image) lacks: data files under emulator/ that no package-data glob names."""
    package_data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"][
        "package-data"
    ]["emulator"]
    package = ROOT / "emulator"
    missing = []
    for path in sorted(package.rglob("*")):
        if not path.is_file() or path.suffix in {".py", ".pyc"} or "__pycache__" in path.parts:
            continue
        relative = path.relative_to(package).as_posix()
        if not any(fnmatch.fnmatch(relative, pattern) for pattern in package_data):
            missing.append(relative)
    if missing:
        pytest.skip(
            "pyproject.toml [tool.setuptools.package-data] misses these files, so the wheel and the "
            f"image lack them (owned by another change): {missing}"
        )


# -- the same health check everywhere -----------------------------------------------------------


def test_every_health_check_is_the_same_command(
    healthcheck_command: list[str], compose: dict[str, Any], github: dict[str, Any]
) -> None:
    assert healthcheck_command == ["fattura-sandbox", "healthcheck"]
    test = compose["services"]["fattura-sandbox"]["healthcheck"]["test"]
    assert test == ["CMD", *healthcheck_command]
    for service in github_services(github):
        options = shlex.split(service["options"])
        assert options[options.index("--health-cmd") + 1] == " ".join(healthcheck_command)


def test_the_healthcheck_command_exists_in_the_cli(healthcheck_command: list[str]) -> None:
    if healthcheck_command[1] not in subcommands():
        pytest.skip("`fattura-sandbox healthcheck` is being added to emulator/cli.py by another change")
    args = _parser().parse_args(healthcheck_command[1:])
    assert args.command == "healthcheck"


def test_the_healthcheck_command_checks_the_health_path(health_path: str) -> None:
    healthcheck = pytest.importorskip("emulator.commands.healthcheck", reason="not there yet")
    assert health_path == healthcheck.HEALTH_PATH
    assert healthcheck.DEFAULT_PORT == DEFAULT_PORT
    assert healthcheck.PORT_ENV in CONFIG_ENV and healthcheck.HOST_ENV in CONFIG_ENV


# -- docker-compose.yml --------------------------------------------------------------------------


def test_compose_service_builds_this_image(compose: dict[str, Any]) -> None:
    service = compose["services"]["fattura-sandbox"]
    assert service["build"] in (".", {"context": "."})
    assert service["image"].startswith("fattura-sandbox:")


@pytest.mark.parametrize("environ", [{}, {ENV_PREFIX + "PORT": "9090"}])
def test_compose_port_is_the_servers_port_on_both_sides(
    compose: dict[str, Any], environ: dict[str, str]
) -> None:
    service = compose["services"]["fattura-sandbox"]
    settings = {name: substitute(str(value), environ) for name, value in service["environment"].items()}
    port = config_from_env(settings).port
    assert port == int(environ.get(ENV_PREFIX + "PORT", DEFAULT_PORT))
    (mapping,) = service["ports"]
    assert substitute(mapping, environ) == f"{port}:{port}"


def test_compose_env_names_are_config_fields(compose: dict[str, Any]) -> None:
    text = (ROOT / "docker-compose.yml").read_text(encoding="utf-8")
    used = set(ENV_NAME.findall(text))  # the commented examples too
    assert {ENV_PREFIX + "SEED", ENV_PREFIX + "CLOCK_FROZEN"} <= used
    assert used <= CONFIG_ENV, f"not settings of emulator.config.Config: {sorted(used - CONFIG_ENV)}"
    assert set(compose["services"]["fattura-sandbox"]["environment"]) <= CONFIG_ENV


def test_compose_volume_is_the_images_data_directory(compose: dict[str, Any], dockerfile: Dockerfile) -> None:
    (volume,) = compose["services"]["fattura-sandbox"]["volumes"]
    name, target = volume.split(":")[:2]
    assert name in compose["volumes"], "a named volume, declared at the top level"
    assert [target] == dockerfile.values("VOLUME")
    assert PurePosixPath(config_from_env(dockerfile.env()).db).parent == PurePosixPath(target)


# -- CI snippets ---------------------------------------------------------------------------------


def github_services(github: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for job in github["jobs"].values():
        yield from (job.get("services") or {}).values()


def snippet_env_names(path: Path) -> set[str]:
    return set(ENV_NAME.findall(path.read_text(encoding="utf-8")))


@pytest.mark.parametrize("name", ["github-actions.yml", "gitlab-ci.yml"])
def test_snippet_env_names_exist(name: str) -> None:
    used = snippet_env_names(ROOT / "ci" / name)
    known = CONFIG_ENV | CLIENT_ENV
    assert URL_ENV in used
    assert used <= known, f"neither sandbox settings nor certify's client variables: {sorted(used - known)}"


def test_github_service_container(github: dict[str, Any]) -> None:
    jobs = [job for job in github["jobs"].values() if job.get("services")]
    assert len(jobs) == 1
    (job,) = jobs
    (service,) = job["services"].values()
    assert service["image"].endswith("/fattura-sandbox:0.1.0")
    assert f"{DEFAULT_PORT}:{DEFAULT_PORT}" in service["ports"]
    assert set(service.get("env") or {}) <= CONFIG_ENV
    assert job["env"][URL_ENV] == f"http://localhost:{DEFAULT_PORT}"
    assert any("pytest" in str(step.get("run", "")) for step in job["steps"])


def test_gitlab_service(gitlab: dict[str, Any], health_path: str) -> None:
    jobs = [job for job in gitlab.values() if isinstance(job, dict) and job.get("services")]
    assert len(jobs) == 1
    (job,) = jobs
    (service,) = job["services"]
    assert service["name"].endswith("/fattura-sandbox:0.1.0")
    assert set(service.get("variables") or {}) <= CONFIG_ENV
    url = job["variables"][URL_ENV]
    assert url == f"http://{service['alias']}:{DEFAULT_PORT}"
    script = "\n".join(job["script"])
    assert f'"${URL_ENV}{health_path}"' in script, "the job waits for the health endpoint"
    assert "pytest" in script


def no_container_scripts(github: dict[str, Any], gitlab: dict[str, Any]) -> list[tuple[dict[str, str], str]]:
    result = []
    for job in github["jobs"].values():
        if not job.get("services"):
            result.append((job["env"], "\n".join(str(step.get("run", "")) for step in job["steps"])))
    for job in gitlab.values():
        if isinstance(job, dict) and "script" in job and not job.get("services"):
            result.append((job["variables"], "\n".join(job["script"])))
    return result


def test_snippets_offer_the_sandbox_without_a_container(
    github: dict[str, Any], gitlab: dict[str, Any], healthcheck_command: list[str]
) -> None:
    scripts = no_container_scripts(github, gitlab)
    assert len(scripts) == 2
    for env, script in scripts:
        port = config_from_env(env).port
        assert env[URL_ENV] == f"http://127.0.0.1:{port}"
        assert "fattura-sandbox serve" in script
        assert " ".join(healthcheck_command) in script
        assert "pip install -e" in script, "an editable install reads contracts/ and fixtures/ from the clone"
        serve_words = shlex.split(script[script.index("fattura-sandbox serve") :].splitlines()[0])
        options = [w for w in serve_words[2:] if w.startswith("--")]
        known = {o for a in serve_parser()._actions for o in a.option_strings}
        assert set(options) <= known, f"serve has no {sorted(set(options) - known)}"


def serve_parser() -> Any:
    for action in _parser()._actions:
        if action.dest == "command":
            return action.choices["serve"]  # type: ignore[index]
    raise AssertionError


# -- the image's layout, served (no engine needed) -----------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read())


def wait_healthy(url: str, process: subprocess.Popen[bytes] | None, seconds: float) -> Any:
    deadline = time.monotonic() + seconds
    while True:  # a real process starting in real time: polling it is not the virtual clock's business
        if process is not None and process.poll() is not None:
            raise AssertionError(f"the server exited with {process.returncode}")
        try:
            return get_json(url)
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_the_images_layout_serves_with_contracts(
    tmp_path: Path, dockerfile: Dockerfile, health_path: str
) -> None:
    """The package as the wheel holds it in a site-packages directory, contracts/ and fixtures/ copied
    where the Dockerfile copies them, the image's environment: healthy, requests checked against the
    contract."""
    site = tmp_path / "site-packages"
    package_data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"][
        "package-data"
    ]["emulator"]
    for path in (ROOT / "emulator").rglob("*"):
        relative = path.relative_to(ROOT / "emulator").as_posix()
        if (
            path.is_file()
            and "__pycache__" not in path.parts
            and (path.suffix == ".py" or any(fnmatch.fnmatch(relative, p) for p in package_data))
        ):
            (site / "emulator" / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, site / "emulator" / relative)
    variables = dockerfile.variables()
    site_packages = substitute("${SITE_PACKAGES}", variables)
    for rest in dockerfile.values("COPY"):
        *sources, destination = [w for w in shlex.split(rest) if not w.startswith("--")]
        relative = PurePosixPath(substitute(destination, variables)).relative_to(site_packages)
        for source in sources:
            shutil.copytree(ROOT / source, site / relative)
    data = tmp_path / "data"
    data.mkdir()
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(ENV_PREFIX)}
    env.update({k: v for k, v in dockerfile.env().items() if k.startswith(ENV_PREFIX)})
    env.update({ENV_PREFIX + "PORT": str(port), ENV_PREFIX + "DB": str(data / "fattura-sandbox.db")})
    env["PYTHONPATH"] = str(site)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    where = subprocess.run(
        [sys.executable, "-c", "import emulator.journal.validation as v; print(v.CONTRACTS_DIR)"],
        env=env, cwd=data, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert Path(where.stdout.strip()) == site / "contracts", "the copied package, not the checkout"
    log = (tmp_path / "serve.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "emulator.cli", "serve", "--threads", "2"],
        env=env, cwd=data, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        root = f"http://127.0.0.1:{port}"
        health = wait_healthy(root + health_path, process, 60)
        assert health["status"] == "ok"
        request = urllib.request.Request(
            root + "/aruba/auth/signin", data=b"grant_type=password&username=x", method="POST"
        )
        with pytest.raises(urllib.error.HTTPError):
            urllib.request.urlopen(request, timeout=5)
        entries = get_json(root + "/_sandbox/journal")["entries"]
        assert entries[0]["operation"] == "signin", "the request was matched in contracts/aruba.yaml"
        assert entries[0]["violations"], "and checked against it"
        assert (data / "fattura-sandbox.db").is_file()
        if "healthcheck" in subcommands():  # the HEALTHCHECK, with the image's variables (host 0.0.0.0)
            check = [sys.executable, "-m", "emulator.cli", "healthcheck"]
            assert subprocess.run(check, env=env, cwd=data, capture_output=True).returncode == 0
            process.terminate()
            process.wait(10)
            assert subprocess.run(check, env=env, cwd=data, capture_output=True).returncode != 0
    finally:
        process.terminate()
        process.wait(10)
        log.close()


# -- the image itself, when an engine runs -------------------------------------------------------


def docker_engine() -> bool:
    if shutil.which("docker") is None:
        return False
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=20).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def test_the_image_builds_runs_and_is_healthy(health_path: str) -> None:
    if not docker_engine():
        pytest.skip("no container engine: `docker info` fails (a docker client without a daemon, or none)")
    tag = "fattura-sandbox:test-container-files"
    subprocess.run(["docker", "build", "-t", tag, str(ROOT)], check=True, timeout=1200)
    port = free_port()
    container = subprocess.run(
        ["docker", "run", "-d", "--rm", "-e", f"{ENV_PREFIX}PORT=8181", "-p", f"127.0.0.1:{port}:8181", tag],
        check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    try:
        health = wait_healthy(f"http://127.0.0.1:{port}{health_path}", None, 60)
        assert health["status"] == "ok"
        deadline = time.monotonic() + 90
        status = ""
        while time.monotonic() < deadline:  # the image's HEALTHCHECK, on the port the variable chose
            status = subprocess.run(
                ["docker", "inspect", "-f", "{{.State.Health.Status}}", container],
                capture_output=True, text=True, check=True,
            ).stdout.strip()  # fmt: skip
            if status != "starting":
                break
            time.sleep(1)
        assert status == "healthy"
        user = subprocess.run(
            ["docker", "exec", container, "id", "-u"], capture_output=True, text=True, check=True
        ).stdout.strip()
        assert user == "10001"
    finally:
        subprocess.run(["docker", "rm", "-f", container], capture_output=True)
