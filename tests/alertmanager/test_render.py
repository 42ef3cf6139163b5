"""`render`: Jinja2 template + values -> alertmanager.yml, strict, secrets masked, result validated."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from opsctl.alertmanager.render import render_file
from opsctl.errors import InputError
from tests.conftest import find_tool, run_opsctl

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "alertmanager"
ENV = {"AM_SMTP_PASSWORD": "hunter2-smtp", "AM_SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/T0/B0/SECRETX"}


def test_example_renders_and_masks() -> None:
    res = render_file(EXAMPLES / "alertmanager.yml.j2", EXAMPLES / "values.yaml", environ=ENV)
    assert "hunter2-smtp" in res.text and "SECRETX" in res.text and "example-routing-key-not-real" in res.text
    for secret in ("hunter2-smtp", "SECRETX", "example-routing-key-not-real"):
        assert secret not in res.masked
    assert res.masked.count("<secret>") == 3


def test_strict_undefined(tmp_path: Path) -> None:
    t = tmp_path / "t.j2"
    t.write_text("route:\n  receiver: {{ nope }}\n")
    with pytest.raises(InputError) as exc:
        render_file(t, None)
    assert exc.value.line == 2 and "nope" in exc.value.message


def test_env_needs_flag(tmp_path: Path) -> None:
    t = tmp_path / "t.j2"
    t.write_text("x: {{ env.HOME }}\n")
    with pytest.raises(InputError, match="--env"):
        render_file(t, None, environ={"HOME": "/h"})
    assert render_file(t, None, allow_env=True, environ={"HOME": "/h"}).text == "x: /h\n"


def test_missing_secret_file(tmp_path: Path) -> None:
    (tmp_path / "v.yaml").write_text("secrets:\n  k: {file: missing.txt}\n")
    (tmp_path / "t.j2").write_text("a: {{ secrets.k }}\n")
    with pytest.raises(InputError, match="cannot read"):
        render_file(tmp_path / "t.j2", tmp_path / "v.yaml")


def test_cli_render_writes_valid_file_and_never_prints_secrets(tmp_path: Path) -> None:
    out = tmp_path / "alertmanager.yml"
    r = run_opsctl("alertmanager", "render", str(EXAMPLES / "alertmanager.yml.j2"), "--values",
                   str(EXAMPLES / "values.yaml"), "-o", str(out), env=ENV)
    assert r.returncode == 0, r.stderr
    assert "hunter2" not in r.stdout + r.stderr
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600
    assert "hunter2-smtp" in out.read_text()
    shown = run_opsctl("alertmanager", "render", str(EXAMPLES / "alertmanager.yml.j2"), "--values",
                       str(EXAMPLES / "values.yaml"), env=ENV)
    assert shown.returncode == 0 and "<secret>" in shown.stdout and "SECRETX" not in shown.stdout
    revealed = run_opsctl("alertmanager", "render", str(EXAMPLES / "alertmanager.yml.j2"), "--values",
                          str(EXAMPLES / "values.yaml"), "--show-secrets", env=ENV)
    assert "SECRETX" in revealed.stdout
    if shutil.which("amtool"):
        amtool = find_tool("amtool")
        assert subprocess.run([amtool, "check-config", str(out)], capture_output=True).returncode == 0


def test_cli_render_invalid_result_exit_1_and_redacts(tmp_path: Path) -> None:
    (tmp_path / "v.yaml").write_text("secrets:\n  url: {env: HOOK}\n")
    (tmp_path / "t.j2").write_text(
        "route: {receiver: a}\nreceivers:\n- name: a\n  webhook_configs:\n  - url: {{ secrets.url | yaml }}\n")
    r = run_opsctl("alertmanager", "render", str(tmp_path / "t.j2"), "--values", str(tmp_path / "v.yaml"),
                   env={"HOOK": "ftp://user:topsecretpw@host/x"})
    assert r.returncode == 1
    assert "topsecretpw" not in r.stdout + r.stderr
    assert ":5:" in r.stderr  # file:line of the rendered config


def test_demo_routes() -> None:
    """The example's policy: critical -> pager+chat+email, warning -> chat+email, info -> chat."""
    from opsctl.alertmanager.config import loads_config
    from opsctl.alertmanager.routing import build_tree, receivers_for

    res = render_file(EXAMPLES / "alertmanager.yml.j2", EXAMPLES / "values.yaml", environ=ENV)
    root = build_tree(loads_config(res.text).route)
    assert receivers_for(root, {"severity": "critical"}) == ["pager", "chat", "email"]
    assert receivers_for(root, {"severity": "warning"}) == ["chat", "email"]
    assert receivers_for(root, {"severity": "info"}) == ["chat"]
    assert receivers_for(root, {"severity": "other"}) == ["chat"]
