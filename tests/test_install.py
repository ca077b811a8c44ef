"""A normal (not editable) install works: the wheel carries everything, run from a fresh venv
outside the checkout, and the demo's tips work exactly as printed."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from auralis_tui.synth import CHARACTERS, render
from engine import audio

ROOT = Path(__file__).resolve().parents[1]
NOT_SOURCE = shutil.ignore_patterns(".venv", ".git", "__pycache__", "*.egg-info", "build", "dist", ".*_cache")


def run(*args: str, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(args, capture_output=True, text=True, timeout=600, **kwargs)
    assert result.returncode == 0, f"{args}: {result.stdout}{result.stderr}"
    return result


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel built from a copy of the source tree (the checkout stays clean)."""
    work = tmp_path_factory.mktemp("wheel")
    shutil.copytree(ROOT, work / "src", symlinks=True, ignore=NOT_SOURCE)
    pip = (sys.executable, "-m", "pip")
    run(*pip, "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(work), str(work / "src"))
    (built,) = work.glob("auralis_tui-*.whl")
    return built


@dataclass
class Install:
    venv: Path
    env: dict[str, str]
    cwd: Path  # outside the checkout

    @property
    def auralis(self) -> str:
        return str(self.venv / "bin" / "auralis")

    def __call__(self, *args: str) -> subprocess.CompletedProcess:
        return run(self.auralis, *args, cwd=self.cwd, env=self.env)


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> Install:
    """A fresh venv with the wheel installed; the dependencies come from the test venv's
    site-packages (without this checkout's editable install), so pip checks them offline."""
    work = tmp_path_factory.mktemp("installed")
    venv = work / "venv"
    run(sys.executable, "-m", "venv", "--without-pip", str(venv))
    deps = work / "deps"
    deps.mkdir()
    ours = ("auralis", "__editable__", "_auralis", "engine")
    for entry in Path(sysconfig.get_paths()["purelib"]).iterdir():
        if not entry.name.lower().startswith(ours) and entry.suffix != ".pth":
            (deps / entry.name).symlink_to(entry)
    python = venv / "bin" / "python"
    site = run(str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").stdout.strip()
    Path(site, "test-dependencies.pth").write_text(f"{deps}\n")
    run(sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-index", str(wheel))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV", "AURALIS"))}
    env["PATH"] = "/usr/bin:/bin"  # the venv is not on PATH: nothing may rely on that
    env["HOME"] = str(work / "user")
    return Install(venv, env, work)


def test_wheel_carries_profiles_and_styles(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    shipped = sorted(p.name for p in (ROOT / "profiles").glob("*.toml"))
    assert shipped and sorted(Path(n).name for n in names if n.startswith("engine/profiles/")) == shipped
    assert "auralis_tui/ui/app.tcss" in names


def test_installed_package_runs_from_the_venv_not_the_checkout(installed):
    code = "import auralis_tui, engine; print(auralis_tui.__file__, engine.__file__)"
    where = run(str(installed.venv / "bin" / "python"), "-c", code, cwd=installed.cwd, env=installed.env).stdout
    assert str(ROOT) not in where and where.count(str(installed.venv)) == 2


def test_profiles_fingerprint_master(installed, tmp_path):
    home = tmp_path / "home"
    listed = installed("--home", str(home), "profiles", "list", "--json").stdout
    assert {p["name"] for p in json.loads(listed)} >= {"studio", "metal", "bootleg", "live", "vintage"}
    track = tmp_path / "metal.flac"
    audio.write(track, render(CHARACTERS["metal"], 8, 44100, seed=3), 44100)
    found = json.loads(installed("--home", str(home), "fingerprint", str(track), "--json").stdout)
    assert found["detection"]["type"] == "metal"
    out = tmp_path / "mastered.wav"
    report = json.loads(installed("--home", str(home), "master", str(track), str(out), "--json").stdout)
    assert report["type"] == "metal" and audio.decode(out).rate == 44100


def test_demo_tips_work_as_printed(installed, tmp_path):
    home = tmp_path / "demo home"  # a space: the tips must quote it
    printed = installed("demo", "--home", str(home), "--no-ui").stdout
    tips = [line.strip() for line in printed.splitlines() if "--home" in line]
    assert len(tips) == 3
    for tip in tips:
        assert shlex.split(tip)[0] == installed.auralis  # not on PATH: the full path is printed
        assert run("bash", "-c", tip, cwd=installed.cwd, env=installed.env).stdout.strip()
    on_path = {**installed.env, "PATH": f"{installed.venv / 'bin'}:{installed.env['PATH']}"}
    again = run("auralis", "demo", "--home", str(home), "--no-ui", cwd=installed.cwd, env=on_path).stdout
    assert f"  auralis --home {shlex.quote(str(home))} analyze" in again
