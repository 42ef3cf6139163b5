"""The `grafana` notifier of `opsctl detect`: an annotation when an alert fires, a region when it resolves,
checked by a local server that enforces the documented request shapes of Grafana's annotations API."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from tests.detect.helpers import T0, config, run, write_series
from tests.live.grafana_fake import FakeGrafana

TOKEN = "glsa_test_token_1234"


def _cfg(tmp: Path, url: str, extra: str = "") -> Path:
    return config(tmp, f"""    graf: {{type: grafana, url: "{url}", token_env: TEST_GRAFANA_TOKEN, tags: [prod],
            dashboard_uid: default-dash,
            mappings: [{{labels: {{team: infra}}, dashboard_uid: infra-dash, panel_id: 3}}]{extra}}}
""")


def test_annotation_then_region(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_GRAFANA_TOKEN", TOKEN)
    with FakeGrafana(token=TOKEN) as g:
        cfg = _cfg(tmp_path, g.url)
        write_series(tmp_path / "series.csv", {"a": True, "b": False})
        rep = run(cfg)
        assert rep.counts["delivered"] == 1, rep.counts
        assert len(g.annotations) == 1 and not g.errors
        [(aid, ann)] = g.annotations.items()
        assert ann["dashboardUID"] == "infra-dash" and ann["panelId"] == 3
        assert "timeEnd" not in ann and ann["text"].startswith("[FIRING WARNING] cpu-outlier")
        assert {"opsctl", "cpu-outlier", "severity:warning", "prod"} <= set(ann["tags"])
        assert any(t.startswith("opsctl-fp:") for t in ann["tags"])
        start = ann["time"]
        write_series(tmp_path / "series.csv", {"a": False, "b": False})
        rep = run(cfg, T0 + timedelta(minutes=20))
        assert [n["event"] for n in rep.notifications] == ["resolved"] and not g.errors
        assert len(g.annotations) == 1  # the same annotation, now a region
        region = g.annotations[aid]
        assert (region["time"] == start and region["timeEnd"] == start + 20 * 60 * 1000) or \
            region["timeEnd"] > start
        assert region["text"].startswith("[RESOLVED] cpu-outlier")
        assert [m for m, p, _ in g.requests if p.startswith("/api/annotations/")] == ["PATCH"]


def test_retry_never_duplicates_and_wrong_token_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_GRAFANA_TOKEN", TOKEN)
    with FakeGrafana(token=TOKEN, fail_posts=1) as g:
        cfg = _cfg(tmp_path, g.url)
        write_series(tmp_path / "series.csv", {"a": True, "b": False})
        rep = run(cfg)  # first POST answers 503, the engine retries (attempts: 2)
        assert rep.counts["delivered"] == 1 and len(g.annotations) == 1
        # the same firing alert delivered again (e.g. from the spool) finds its annotation: no duplicate
        from opsctl.detect.notifiers.grafana import Grafana

        n = Grafana("graf", {"url": g.url, "token_env": "TEST_GRAFANA_TOKEN"}, tmp_path)
        ann = next(iter(g.annotations.values()))
        fp = next(t for t in ann["tags"] if t.startswith("opsctl-fp:")).split(":", 1)[1]
        from datetime import UTC, datetime

        import httpx

        starts = datetime.fromtimestamp(ann["time"] / 1000, UTC).isoformat().replace("+00:00", "Z")
        alert = {"fingerprint": fp, "detector": "cpu-outlier", "status": "firing", "severity": "warning",
                 "message": "m", "labels": {}, "starts_at": starts, "ends_at": None}
        with httpx.Client(timeout=5) as c:
            n.send(alert, c)
        assert len(g.annotations) == 1
    monkeypatch.setenv("TEST_GRAFANA_TOKEN", "wrong-token-0000")
    with FakeGrafana(token=TOKEN) as g:
        cfg = _cfg(tmp_path, g.url)
        (tmp_path / "state.db").unlink()
        rep = run(cfg)
        assert rep.counts["delivered"] == 0 and rep.counts["spool_pending"] == 1
        assert not g.annotations
