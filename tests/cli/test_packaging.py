"""Packaging: distribution name, optional matplotlib, pre-commit file patterns, sdist contents."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tarfile
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


def hooks() -> dict[str, dict]:
    return {h["id"]: h for h in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())}


def selected(hook: dict, path: str) -> bool:
    """pre-commit's selection: re.search on `files`, minus `exclude`."""
    if not re.search(hook.get("files", ""), path):
        return False
    return not (hook.get("exclude") and re.search(hook["exclude"], path))


RULE_FILES = ["rules/api.yml", "deploy/prometheus/rules/node.yaml", "alerts/db.yml", "host.rules.yml",
              "rulesets/http-api/http-api.rules.yml", "monitoring/app_rules.yaml", "k8s/team-alerts.yml", "rules.yml",
              "alerts.yaml"]
TEST_FILES = ["rules/tests/api.yml", "rulesets/host/tests/host.test.yml", "tests/alerts.yml", "x/api_test.yaml"]
OTHER_YAML = [".github/workflows/ci.yml", ".github/workflows/rules.yml", ".gitlab-ci.yml", "docker-compose.yml",
              "charts/app/values.yaml", "mkdocs.yml", ".pre-commit-config.yaml", "alertmanager.yml",
              "prometheus.yml", "config/schedules.yml", "src/rules.py", "rules/README.md"]


@pytest.mark.parametrize("path", RULE_FILES)
def test_validate_hook_takes_rule_files(path: str) -> None:
    assert selected(hooks()["opsctl-rules-validate"], path)


@pytest.mark.parametrize("path", TEST_FILES + OTHER_YAML)
def test_validate_hook_leaves_other_files(path: str) -> None:
    assert not selected(hooks()["opsctl-rules-validate"], path)


@pytest.mark.parametrize("path", TEST_FILES)
def test_test_hook_takes_rule_tests(path: str) -> None:
    assert selected(hooks()["opsctl-rules-test"], path)


@pytest.mark.parametrize("path", RULE_FILES[:3] + OTHER_YAML)
def test_test_hook_leaves_other_files(path: str) -> None:
    assert not selected(hooks()["opsctl-rules-test"], path)


def test_the_shipped_rule_packs_are_selected() -> None:
    validate, test = hooks()["opsctl-rules-validate"], hooks()["opsctl-rules-test"]
    packs = [p.relative_to(ROOT).as_posix() for p in (ROOT / "rulesets").rglob("*.yml")]
    assert packs
    for p in packs:
        assert selected(validate, p) != selected(test, p), p


def test_distribution_name_and_extras() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["name"] == "opsctl-sre"  # `opsctl` on PyPI is someone else's project
    deps = " ".join(project["dependencies"])
    assert "matplotlib" not in deps
    assert any(d.startswith("matplotlib") for d in project["optional-dependencies"]["png"])
    assert "opsctl = \"opsctl.cli.main:run\"" in (ROOT / "pyproject.toml").read_text()
    readme = (ROOT / "README.md").read_text()
    assert "pip install opsctl\n" not in readme and "pip install opsctl " not in readme
    assert "opsctl-sre" in readme


def test_png_without_matplotlib_is_one_clear_line(tmp_path: Path) -> None:
    """Without the `png` extra, `slo report -o x.png` says how to get it, before doing the work."""
    code = ("import sys\nsys.modules['matplotlib'] = None\n"  # `import matplotlib` now raises ImportError
            "sys.argv = ['opsctl'] + sys.argv[1:]\nfrom opsctl.cli.main import run\nrun()\n")
    target = tmp_path / "r.png"
    proc = subprocess.run([sys.executable, "-c", code, "slo", "report", str(ROOT / "examples/slo/checkout.yml"),
                           "--data", str(ROOT / "examples/slo/checkout.csv"), "-o", str(target)],
                          capture_output=True, text=True, env={**os.environ, "NO_COLOR": "1"}, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().splitlines() == [
        f"error: {target}: PNG charts need matplotlib, an optional extra: pip install 'opsctl-sre[png]' "
        "(or write an .html report)"]
    assert not target.exists()


def test_sdist_carries_rulesets_runbooks_and_docs(tmp_path: Path) -> None:
    pytest.importorskip("build")  # a dev dependency
    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    src = tmp_path / "src"
    for name in files.decode().split("\0"):
        if name and (ROOT / name).is_file():
            (src / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, src / name)
    for name in ("MANIFEST.in", "pyproject.toml"):  # also when not committed yet
        shutil.copy2(ROOT / name, src / name)
    proc = subprocess.run([sys.executable, "-m", "build", "--sdist", "--no-isolation", "--skip-dependency-check",
                           "-o", str(tmp_path / "dist"), str(src)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    (sdist,) = (tmp_path / "dist").glob("opsctl_sre-*.tar.gz")
    with tarfile.open(sdist) as tar:
        names = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
    shipped = {p.relative_to(ROOT).as_posix() for d in ("rulesets", "runbooks") for p in (ROOT / d).rglob("*")
               if p.is_file() and "__pycache__" not in p.parts}
    assert shipped and shipped <= names, sorted(shipped - names)[:10]
    assert "docs/cli.md" in names and ".pre-commit-hooks.yaml" in names and "opsctl/cli/main.py" in names
