"""Build a wheelhouse: every locked runtime package as a wheel, plus uv and the build backend, for a PC
with no network.

Run it on a machine that reaches PyPI, with a Python that has pip (the quick start's `.uv-venv/bin/python`
has pip and uv; so has any plain `python3 -m venv` venv with uv installed in it):

    .uv-venv/bin/python scripts/wheelhouse.py                                  # this machine's platform
    .uv-venv/bin/python scripts/wheelhouse.py --platform win_amd64 --python 3.11 --out wheelhouse-win

It writes into --out (default `wheelhouse/`):

- `requirements.txt`: `uv export --locked --no-dev --no-emit-project`, every runtime package pinned with
  the lock's hashes (the install checks them: `pip install --require-hashes`);
- one wheel for every package in it, for the target platform and Python (`pip download --only-binary :all:`,
  so no package is ever built on the county PC);
- the wheels of `uv==UV_VERSION` and of `hatchling` and `editables` (the project's build backend, which
  `pip install -e .` needs) with their own dependencies;
- `SHA256SUMS`, to check the copy after it is carried over (`sha256sum -c SHA256SUMS`).

Then, on the offline PC, from the checkout (README, "Installing"):

    python3 -m venv .venv
    .venv/bin/pip install --no-index --find-links wheelhouse --require-hashes -r wheelhouse/requirements.txt
    .venv/bin/pip install --no-index --find-links wheelhouse --no-deps -e .

The standard library only; the platform is a pip platform tag (`manylinux_2_28_x86_64`, `win_amd64`,
`macosx_11_0_arm64`, ...), the Python a version such as `3.11`.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
UV_VERSION = "0.13.9"  # the uv the README and .ci/run pin
# [build-system] requires in pyproject.toml, and what hatchling asks for to build an editable install (-e .)
BUILD_BACKEND = ("hatchling", "editables")


def find_uv() -> list[str]:
    """The uv command: $UV (set by `uv run`), uv beside this Python (`.uv-venv`), `python -m uv`, or PATH."""
    if os.environ.get("UV"):
        return [os.environ["UV"]]
    beside = Path(sys.executable).parent / ("uv.exe" if os.name == "nt" else "uv")
    if beside.exists():
        return [str(beside)]
    try:
        from uv import find_uv_bin  # type: ignore[import-not-found]

        return [find_uv_bin()]
    except (ImportError, FileNotFoundError):
        pass
    on_path = shutil.which("uv")
    if on_path:
        return [on_path]
    sys.exit("wheelhouse: uv not found; install it first (README, Quick start) or set $UV")


def pip_command() -> list[str]:
    try:
        import pip  # noqa: F401
    except ImportError:
        sys.exit(
            f"wheelhouse: {sys.executable} has no pip; run this script with a Python that has it, "
            "e.g. .uv-venv/bin/python scripts/wheelhouse.py"
        )
    # The machine's pip configuration (extra indexes, find-links, constraints) is not the lock's: ignore it.
    return [sys.executable, "-m", "pip", "--isolated", "--disable-pip-version-check"]


def export_requirements(uv: list[str]) -> str:
    """The locked runtime packages, pinned with hashes, as uv exports them."""
    out = subprocess.run(
        [
            *uv,
            "export",
            "--locked",
            "--no-dev",
            "--no-emit-project",
            "--format",
            "requirements-txt",
            "--quiet",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    )
    return out.stdout


def without_markers(requirements: str) -> str:
    """The same requirements with every environment marker removed.

    pip evaluates markers against the Python running it, not the --platform it downloads for, so a
    `; sys_platform == 'win32'` package would be left out of a Windows wheelhouse built on Linux. The
    wheelhouse holds them all; the install on the target evaluates requirements.txt's markers there.
    """
    return re.sub(r"^(\S+==\S+) ;[^\\\n]*", r"\1 ", requirements, flags=re.MULTILINE)


def platform_tags(platform: str) -> list[str]:
    """The tag and every older one a PC of that platform also runs: pip takes --platform literally.

    `manylinux_2_28_x86_64` (glibc 2.28+) also takes manylinux_2_27 ... 2_5 wheels and the legacy names
    manylinux2014 (2.17), manylinux2010 (2.12) and manylinux1 (2.5); other tags are passed as given.
    """
    match = re.fullmatch(r"manylinux_2_(\d+)_(\w+)", platform)
    if not match:
        return [platform]
    glibc, arch = int(match.group(1)), match.group(2)
    tags = [f"manylinux_2_{minor}_{arch}" for minor in range(glibc, 4, -1)]
    legacy = {17: "manylinux2014", 12: "manylinux2010", 5: "manylinux1"}
    return tags + [f"{name}_{arch}" for minor, name in legacy.items() if glibc >= minor]


def target_options(platform: str | None, python: str | None) -> list[str]:
    options = ["--only-binary", ":all:"]
    for tag in platform_tags(platform) if platform else []:
        options += ["--platform", tag]
    if python:
        options += ["--python-version", python, "--implementation", "cp"]
    return options


def build(out: Path, platform: str | None, python: str | None, uv_version: str = UV_VERSION) -> Path:
    """Fill `out` and return it; every download is a wheel for the target (an sdist is never taken)."""
    uv, pip = find_uv(), pip_command()
    out.mkdir(parents=True, exist_ok=True)
    requirements = export_requirements(uv)
    (out / "requirements.txt").write_text(requirements, encoding="utf-8")
    download = [*pip, "download", "--dest", str(out), *target_options(platform, python)]
    to_download = out / ".download-requirements.txt"
    to_download.write_text(without_markers(requirements), encoding="utf-8")
    try:
        # Hash-checked (the requirements carry hashes) and complete (the export lists every dependency).
        subprocess.run([*download, "--no-deps", "--require-hashes", "-r", str(to_download)], check=True)
    finally:
        to_download.unlink()
    subprocess.run([*download, f"uv=={uv_version}", *BUILD_BACKEND], check=True)
    sums = [
        f"{hashlib.sha256(wheel.read_bytes()).hexdigest()}  {wheel.name}\n"
        for wheel in sorted(out.glob("*.whl"))
    ]
    (out / "SHA256SUMS").write_text("".join(sums), encoding="utf-8")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--out", type=Path, default=ROOT / "wheelhouse", help="folder to fill (default wheelhouse/)"
    )
    parser.add_argument(
        "--platform",
        help="pip platform tag of the offline PC, e.g. win_amd64, manylinux_2_28_x86_64 (default: this machine)",
    )
    parser.add_argument("--python", help="Python version of the offline PC, e.g. 3.11 (default: this Python)")
    args = parser.parse_args(argv)
    out = build(args.out, args.platform, args.python)
    wheels = sorted(out.glob("*.whl"))
    print(f"wheelhouse: {len(wheels)} wheels in {out}; carry the folder and the checkout to the offline PC")
    return 0


if __name__ == "__main__":
    sys.exit(main())
