"""`opsctl doctor` against a real Prometheus and Alertmanager (behind path prefixes) and a Grafana stand-in."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import find_tool, run_opsctl
from tests.live.grafana_fake import FakeGrafana
from tests.servers import free_port, running

AM_CONFIG = """
route:
  receiver: default
  group_by: [alertname]
  routes:
    - matchers: [team="db"]
      receiver: db
receivers:
  - name: default
  - name: db
    webhook_configs:
      - url: http://127.0.0.1:9/hook
"""


def _checks(stdout: str) -> dict[tuple[str, str], dict[str, object]]:
    return {(c["component"], c["check"]): c for c in json.loads(stdout)["checks"]}


def test_doctor_all_up_then_config_drift_then_down(tmp_path: Path) -> None:
    prom_bin, am_bin = find_tool("prometheus"), find_tool("prometheus-alertmanager")
    (tmp_path / "prom.yml").write_text("global: {scrape_interval: 15s}\n")
    am_cfg = tmp_path / "am.yml"
    am_cfg.write_text(AM_CONFIG)
    pp, ap = free_port(), free_port()
    prom = f"http://127.0.0.1:{pp}/prometheus"
    am = f"http://127.0.0.1:{ap}/alertmanager"
    prom_cmd = [prom_bin, f"--config.file={tmp_path / 'prom.yml'}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{pp}", f"--web.external-url={prom}"]
    am_cmd = [am_bin, f"--config.file={am_cfg}", f"--storage.path={tmp_path}", f"--web.listen-address=127.0.0.1:{ap}",
              "--cluster.listen-address=", f"--web.external-url={am}"]
    env = {"HOME": str(tmp_path), "OPSCTL_GRAFANA_TOKEN": "glsa_test_token_1234"}
    with running(prom_cmd, f"{prom}/-/ready", tmp_path / "prom.log"), \
            running(am_cmd, f"{am}/-/ready", tmp_path / "am.log"), FakeGrafana() as graf:
        args = ["doctor", "--prometheus-url", prom, "--alertmanager-url", am, "--grafana-url", graf.url,
                "--alertmanager-config", str(am_cfg), "-f", "json"]
        r = run_opsctl(*args, env=env)
        assert r.returncode == 0, r.stdout + r.stderr
        c = _checks(r.stdout)
        assert c[("prometheus", "version")]["detail"].startswith("2.")  # type: ignore[union-attr]
        assert c[("alertmanager", "version")]["detail"].startswith("0.")  # type: ignore[union-attr]
        assert c[("grafana", "version")]["detail"] == "10.4.2"
        assert c[("alertmanager", "config")]["ok"]
        # a file that differs from what is loaded
        other = tmp_path / "other.yml"
        other.write_text(AM_CONFIG.replace('team="db"', 'team="database"'))
        r = run_opsctl(*args[:-4], "--alertmanager-config", str(other), "-f", "json", env=env)
        assert r.returncode == 1
        c = _checks(r.stdout)
        assert not c[("alertmanager", "config")]["ok"] and "team" in str(c[("alertmanager", "config")]["detail"])
        # a wrong Grafana token, a missing path prefix
        r = run_opsctl("doctor", "--grafana-url", graf.url, "--prometheus-url", prom.rsplit("/", 1)[0],
                       env={**env, "OPSCTL_GRAFANA_TOKEN": "wrong-token-5678"})
        assert r.returncode == 1
        assert "401" in r.stdout and "wrong-token-5678" not in r.stdout + r.stderr
        assert "path prefix" in r.stdout
    r = run_opsctl("doctor", "--alertmanager-url", am, "--timeout", "1s", env=env)
    assert r.returncode == 1 and "server down" in r.stdout


def test_doctor_without_endpoints_is_input_error(tmp_path: Path) -> None:
    r = run_opsctl("doctor", env={"HOME": str(tmp_path), "OPSCTL_PROMETHEUS_URL": "", "OPSCTL_ALERTMANAGER_URL": "",
                                  "OPSCTL_GRAFANA_URL": ""})
    assert r.returncode == 2 and "nothing to check" in r.stderr
