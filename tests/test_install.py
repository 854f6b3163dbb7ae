"""Installing: the lock serves Python 3.11-3.13 on Linux, Windows and macOS; the quick start works with a
plain and with an externally-managed (PEP 668, Debian's) Python; a wheelhouse installs with no network.

The tests that need PyPI are skipped when it cannot be reached, except in CI (CI=true), where PyPI is
reachable and a skip would hide a broken install: there they fail instead.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shlex
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import urllib.request
from functools import cache
from pathlib import Path
from types import ModuleType

import pytest
from packaging.tags import Tag, compatible_tags, cpython_tags, mac_platforms
from packaging.utils import canonicalize_name, parse_wheel_filename

from tests.helpers import ROOT

PYTHONS = [(3, 11), (3, 12), (3, 13)]
MANYLINUX_X86_64 = [f"manylinux_2_{minor}_x86_64" for minor in range(28, 4, -1)] + [
    "manylinux2014_x86_64",
    "manylinux2010_x86_64",
    "manylinux1_x86_64",
]  # glibc 2.28 and older: Debian 10+, Ubuntu 20.04+, RHEL 8+
PLATFORMS = {
    "linux x86_64": MANYLINUX_X86_64,
    "windows amd64": ["win_amd64"],
    "macos 12+ arm64": list(mac_platforms((12, 0), "arm64")),
}


def section(text: str, heading: str) -> str:
    match = re.search(rf"^## {re.escape(heading)}\n(.*?)(?=^## )", text, flags=re.MULTILINE | re.DOTALL)
    assert match, f"README.md has no section '## {heading}'"
    return match.group(1)


def first_sh_block(text: str) -> list[str]:
    match = re.search(r"^```sh\n(.*?)^```", text, flags=re.MULTILINE | re.DOTALL)
    assert match, "no ```sh block"
    return [line for line in match.group(1).splitlines() if line.strip()]


def readme_block(heading: str) -> list[str]:
    """The lines of the first ```sh block under the README heading `## heading`."""
    return first_sh_block(section((ROOT / "README.md").read_text(encoding="utf-8"), heading))


def quick_start_commands() -> list[str]:
    return readme_block("Quick start")


def fresh_checkout(target: Path) -> Path:
    """The tracked files, as a clone has them (git ls-files; the whole tree when git is not at hand)."""
    try:
        listed = (
            subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True)
            .stdout.decode()
            .split("\0")
        )
    except (OSError, subprocess.CalledProcessError):
        listed = [str(p.relative_to(ROOT)) for p in ROOT.rglob("*") if p.is_file() and ".venv" not in p.parts]
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():  # a file deleted in the work tree but not yet from the index is skipped
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return target


def lock() -> dict:
    return tomllib.loads((ROOT / "uv.lock").read_text(encoding="utf-8"))


def runtime_packages() -> dict[str, dict]:
    """The locked packages the project needs at run time (its dependencies with their extras, no dev group)."""
    packages = {p["name"]: p for p in lock()["package"]}
    needed: dict[str, dict] = {}
    todo = list(packages["subsidy-batch"]["dependencies"])
    while todo:
        dep = todo.pop()
        package = packages[dep["name"]]
        todo += [d for extra in dep.get("extra", []) for d in package["optional-dependencies"][extra]]
        if dep["name"] not in needed:
            needed[dep["name"]] = package
            todo += package.get("dependencies", [])
    return needed


def supported_tags(python: tuple[int, int], platforms: list[str]) -> set[Tag]:
    interpreter = f"cp{python[0]}{python[1]}"
    return set(cpython_tags(python, platforms=platforms)) | set(
        compatible_tags(python, interpreter=interpreter, platforms=platforms)
    )


@pytest.mark.parametrize("python", PYTHONS, ids=lambda v: f"{v[0]}.{v[1]}")
@pytest.mark.parametrize("platform", list(PLATFORMS))
def test_every_runtime_package_has_a_wheel(python: tuple[int, int], platform: str) -> None:
    """No package is ever built from source on a clerk's PC, whatever the Python or platform."""
    tags = supported_tags(python, PLATFORMS[platform])
    missing = [
        f"{name} {package['version']}"
        for name, package in runtime_packages().items()
        if not any(
            parse_wheel_filename(w["url"].rsplit("/", 1)[1])[3] & tags for w in package.get("wheels", [])
        )
    ]
    assert not missing, f"no wheel for Python {python} on {platform}: {missing}"


@pytest.mark.parametrize("python", PYTHONS, ids=lambda v: f"{v[0]}.{v[1]}")
def test_every_locked_package_has_a_linux_wheel(python: tuple[int, int]) -> None:
    """Development and CI (test tools included) install from wheels on Linux, 3.11-3.13."""
    tags = supported_tags(python, MANYLINUX_X86_64)
    missing = [
        p["name"]
        for p in lock()["package"]
        if p["name"] != "subsidy-batch"
        and not any(parse_wheel_filename(w["url"].rsplit("/", 1)[1])[3] & tags for w in p.get("wheels", []))
    ]
    assert not missing


def test_lock_allows_the_pythons_the_readme_names() -> None:
    assert lock()["requires-python"] == ">=3.11, <3.14"


@cache
def wheelhouse_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("wheelhouse", ROOT / "scripts" / "wheelhouse.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def uv_or_skip() -> list[str]:
    if not (os.environ.get("UV") or shutil.which("uv")):
        if os.environ.get("CI"):
            pytest.fail("uv is not on the PATH in CI")
        pytest.skip("uv is not on the PATH")
    return wheelhouse_script().find_uv()


def parse_requirements(text: str) -> dict[str, tuple[str, set[str], str]]:
    """name -> (version, hashes, marker) from a hashed requirements file (`name==v ; marker \\ --hash=...`)."""
    found: dict[str, tuple[str, set[str], str]] = {}
    for entry in re.split(
        r"\n(?=\S)", "\n".join(line for line in text.splitlines() if not line.startswith("#"))
    ):
        if not entry.strip():
            continue
        match = re.match(r"([A-Za-z0-9._-]+)==(\S+?)(?: ; ([^\\]*?))? \\", entry)
        assert match, f"not pinned with hashes: {entry!r}"
        hashes = set(re.findall(r"--hash=sha256:([0-9a-f]{64})", entry))
        found[canonicalize_name(match.group(1))] = (match.group(2), hashes, match.group(3) or "")
    return found


def test_export_pins_every_runtime_package_with_the_locks_hashes() -> None:
    requirements = parse_requirements(wheelhouse_script().export_requirements(uv_or_skip()))
    expected = runtime_packages()
    assert set(requirements) == set(expected)
    for name, package in expected.items():
        version, hashes, _ = requirements[name]
        files = [*package.get("wheels", []), *([package["sdist"]] if "sdist" in package else [])]
        assert version == package["version"], name
        assert hashes == {f["hash"].removeprefix("sha256:") for f in files}, name


def test_download_list_drops_markers_but_keeps_pins_and_hashes() -> None:
    """pip would judge `; sys_platform == 'win32'` by the machine building the wheelhouse, not the PC."""
    text = "colorama==0.4.6 ; sys_platform == 'win32' \\\n    --hash=sha256:" + "0" * 64 + "\n"
    assert parse_requirements(wheelhouse_script().without_markers(text)) == {
        "colorama": ("0.4.6", {"0" * 64}, "")
    }


# ---- with PyPI ---------------------------------------------------------------------------------------


@cache
def pypi_reachable() -> bool:
    try:
        with urllib.request.urlopen("https://pypi.org/simple/uv/", timeout=10) as answer:
            return bool(answer.status == 200)
    except OSError:
        return False


@pytest.fixture
def pypi() -> None:
    if not pypi_reachable():
        if os.environ.get("CI"):
            pytest.fail("PyPI is not reachable from CI; the install tests need it")
        pytest.skip("PyPI is not reachable")


def clean_env(**extra: str) -> dict[str, str]:
    """The environment of a new shell: no venv of this test run, no uv or pip settings of the machine."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("UV_", "PIP_", "SUBSIDY_")) and k not in {"VIRTUAL_ENV", "UV", "PYTHONPATH"}
    }
    env["PATH"] = os.pathsep.join(
        p for p in env.get("PATH", "").split(os.pathsep) if p and Path(p) != Path(sys.executable).parent
    )
    return {**env, **extra}


def base_python() -> Path:
    """The interpreter this test run's venv was made from."""
    version = f"python{sys.version_info[0]}.{sys.version_info[1]}"
    for candidate in (Path(sys.base_prefix) / "bin" / version, Path(getattr(sys, "_base_executable", ""))):
        if candidate.exists():
            return candidate
    pytest.skip("the base interpreter of this venv is not found")


def externally_managed_python(home: Path) -> Path:
    """A Python that refuses `pip install` outside a venv, as Debian's does (PEP 668).

    If this test run's own base Python is externally managed (Debian's python3), it is that one. Otherwise
    it is a copy of it whose stdlib folder holds an EXTERNALLY-MANAGED file: the binary copied to
    home/bin, the stdlib linked entry by entry into home/lib/pythonX.Y (so home is its prefix). A marker
    inside a venv would not do: pip never applies PEP 668 inside a venv.
    """
    base = base_python()
    stdlib = Path(sysconfig.get_paths()["stdlib"])  # in a venv, the base Python's
    if (stdlib / "EXTERNALLY-MANAGED").exists():
        return base
    if os.name == "nt":
        pytest.skip("the externally-managed copy is made on POSIX only")
    version = f"python{sys.version_info[0]}.{sys.version_info[1]}"
    (home / "bin").mkdir(parents=True)
    (home / "lib" / version).mkdir(parents=True)
    shutil.copy2(base, home / "bin" / version)
    (home / "bin" / "python3").symlink_to(version)
    for entry in stdlib.iterdir():
        (home / "lib" / version / entry.name).symlink_to(entry)
    # A binary that finds libpython as $ORIGIN/../lib finds it there.
    for library in (Path(sys.base_prefix) / "lib").glob("libpython*"):
        (home / "lib" / library.name).symlink_to(library)
    (home / "lib" / version / "EXTERNALLY-MANAGED").write_text(
        "[externally-managed]\nError=To install Python packages system-wide, try apt install python3-xyz.\n"
    )
    return home / "bin" / "python3"


def has_ensurepip(python: Path) -> bool:
    return subprocess.run([python, "-c", "import ensurepip"], capture_output=True).returncode == 0


@pytest.mark.parametrize("kind", ["plain", "externally-managed"])
def test_quick_start_works_as_written(kind: str, pypi: None, tmp_path: Path) -> None:
    """The README's first quick-start command, verbatim, with `python3` a plain or a PEP 668 Python."""
    python = base_python() if kind == "plain" else externally_managed_python(tmp_path / "system-python")
    if not has_ensurepip(python):
        pytest.skip(f"{python} has no venv/ensurepip (Debian: apt install python3-venv)")
    bin_dir = tmp_path / "path"
    bin_dir.mkdir()
    (bin_dir / "python3").symlink_to(python)
    # `python3` is this Python and uv makes .venv from it, as on a machine where it is the only one.
    env = clean_env(PATH=f"{bin_dir}{os.pathsep}{clean_env()['PATH']}", UV_PYTHON=str(python))
    if kind == "externally-managed":
        refused = subprocess.run(
            ["python3", "-m", "pip", "install", "uv==0.13.9"], env=env, capture_output=True, text=True
        )
        assert refused.returncode != 0 and "externally-managed-environment" in refused.stderr

    work = fresh_checkout(tmp_path / "checkout")
    first, second = quick_start_commands()
    done = subprocess.run(["sh", "-c", first], cwd=work, env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (work / "runs" / "jiaxiang" / "2024-05" / "manifest.json").exists()
    home = (work / ".venv" / "pyvenv.cfg").read_text()
    assert {f"home = {python.parent}", f"home = {Path(os.path.realpath(python)).parent}"} & set(
        home.splitlines()
    )
    # The second command runs the whole suite; here only that it finds pytest and every test module.
    collect = subprocess.run(
        [*shlex.split(second), "--collect-only", "-q", "-p", "no:cacheprovider"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert collect.returncode == 0 and " tests collected" in collect.stdout, collect.stdout + collect.stderr


def test_wheelhouse_installs_into_a_fresh_venv_with_no_index(pypi: None, tmp_path: Path) -> None:
    """scripts/wheelhouse.py for this machine; then the README's offline install and a run, pip --no-index."""
    if not has_ensurepip(base_python()):
        pytest.skip("this Python has no venv/ensurepip")
    # As the README says: a venv with pip and uv (the quick start's .uv-venv) runs the script.
    tool = tmp_path / "uv-venv"
    subprocess.run([base_python(), "-m", "venv", tool], check=True, env=clean_env())
    subprocess.run([tool / "bin" / "pip", "install", "--quiet", "uv==0.13.9"], check=True, env=clean_env())
    wheelhouse = tmp_path / "wheelhouse"
    script: list[str | Path] = [
        tool / "bin" / "python",
        ROOT / "scripts" / "wheelhouse.py",
        "--out",
        wheelhouse,
    ]
    built = subprocess.run(script, env=clean_env(), capture_output=True, text=True)
    assert built.returncode == 0, built.stdout + built.stderr
    names = {canonicalize_name(parse_wheel_filename(w.name)[0]) for w in wheelhouse.glob("*.whl")}
    assert set(runtime_packages()) | {"uv", "hatchling", "editables"} <= names
    sums = (wheelhouse / "SHA256SUMS").read_text().splitlines()
    assert len(sums) == len(list(wheelhouse.glob("*.whl")))

    work = fresh_checkout(tmp_path / "checkout")
    venv = work / ".venv"
    # The README's offline install, as written, but with this wheelhouse's path and without byte-compiling.
    env = clean_env(PIP_CONFIG_FILE=os.devnull, PIP_DISABLE_PIP_VERSION_CHECK="1")
    subprocess.run([base_python(), "-m", "venv", venv], check=True, env=env)
    pip: list[str | Path] = [
        venv / "bin" / "pip",
        "install",
        "--quiet",
        "--no-compile",
        "--no-index",
        "--find-links",
        wheelhouse,
    ]
    requirements = ["--require-hashes", "-r", str(wheelhouse / "requirements.txt")]
    for args in (requirements, ["--no-deps", "-e", "."]):
        done = subprocess.run([*pip, *args], cwd=work, env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr
    for command in (["run", "2024-05", "--county", "jiaxiang", "--quiet"], ["verify", "runs"]):
        done = subprocess.run(
            [venv / "bin" / "subsidy", *command], cwd=work, env=env, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stdout + done.stderr


def test_a_manylinux_platform_takes_its_older_wheels_too() -> None:
    """pip takes --platform literally; a glibc 2.28 PC also runs manylinux2014 (2.17) wheels."""
    tags = wheelhouse_script().platform_tags("manylinux_2_28_x86_64")
    assert tags[0] == "manylinux_2_28_x86_64" and "manylinux_2_17_x86_64" in tags
    assert {"manylinux2014_x86_64", "manylinux2010_x86_64", "manylinux1_x86_64"} <= set(tags)
    assert set(tags) == set(MANYLINUX_X86_64)
    assert wheelhouse_script().platform_tags("win_amd64") == ["win_amd64"]
