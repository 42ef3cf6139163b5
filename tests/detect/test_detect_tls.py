"""`tls_config` of detect's Prometheus sources and self-hosted receivers (alertmanager, grafana, webhook),
against HTTPS servers on 127.0.0.1 that require a client certificate (mutual TLS), with a throwaway CA made
by the `openssl` CLI: a real Prometheus for the source, a recording HTTPS server for the receivers.

Without tls_config the private CA is not trusted: a source fails the detector with the cause named, a
receiver's notification is spooled (not lost) with the cause named; with it, both work; an unreadable CA
file is caught by `detect validate` with file:line:column (exit 2), as a run would fail on it."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest

from opsctl.errors import InputError
from tests.detect.helpers import config, run, write_series
from tests.detect.servers import Capture
from tests.rules.test_live_tls import make_pki
from tests.rules.test_live_tls import tls_prometheus as tls_prometheus  # the fixture, used by name

pytestmark = pytest.mark.oracle


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("pki")
    make_pki(d)
    return d


@pytest.fixture
def https_capture(pki: Path) -> Iterator[Capture]:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(str(pki / "server.pem"), str(pki / "server.key"))
    ctx.load_verify_locations(cafile=str(pki / "ca.pem"))
    ctx.verify_mode = ssl.CERT_REQUIRED  # a client certificate signed by the CA, or no handshake
    cap = Capture(tls=ctx)
    yield cap
    cap.stop()


def _tls(pki: Path, client: bool = True) -> str:
    out = f"ca_file: {pki / 'ca.pem'}"
    if client:
        out += f", cert_file: {pki / 'client.pem'}, key_file: {pki / 'client.key'}"
    return "{" + out + "}"


@pytest.mark.parametrize("kind", ["webhook", "alertmanager"])
def test_receiver_with_tls_config_delivers_over_mutual_tls(tmp_path: Path, pki: Path, https_capture: Capture,
                                                           kind: str) -> None:
    write_series(tmp_path / "series.csv", {"a": True})
    p = config(tmp_path, receivers=f"    hook: {{type: {kind}, url: {https_capture.url}, tls_config: {_tls(pki)}}}")
    rep = run(p)
    assert rep.counts["delivered"] == 1, rep.deliveries
    assert len(https_capture.ok()) == 1
    body = https_capture.ok()[0]["json"]
    assert (body["alert"]["detector"] if kind == "webhook" else body[0]["labels"]["alertname"]) == "cpu-outlier"


def test_receiver_without_tls_config_names_the_cause_and_keeps_the_alert(tmp_path: Path, pki: Path,
                                                                        https_capture: Capture) -> None:
    write_series(tmp_path / "series.csv", {"a": True})
    p = config(tmp_path, receivers=f"    hook: {{type: webhook, url: {https_capture.url}}}")
    rep = run(p)
    assert rep.counts["delivered"] == 0 and rep.counts["delivery_failures"] == 1
    err = rep.deliveries[0]["error"]
    assert "not trusted" in err and "tls_config.ca_file" in err and "--ca-file" not in err, err
    # CA trusted but no client certificate: the server refuses, and that is named too
    p = config(tmp_path, receivers=f"    hook: {{type: webhook, url: {https_capture.url}, "
                                   f"tls_config: {_tls(pki, client=False)}}}")
    rep = run(p)
    assert rep.counts["delivered"] == 0, rep.deliveries
    # the notification from the first run is still spooled and goes out once the receiver can be reached
    p = config(tmp_path, receivers=f"    hook: {{type: webhook, url: {https_capture.url}, tls_config: {_tls(pki)}}}")
    rep = run(p)
    assert rep.counts["delivered"] >= 1 and len(https_capture.ok()) >= 1, rep.deliveries


def test_tls_config_only_where_it_means_something(tmp_path: Path, pki: Path) -> None:
    write_series(tmp_path / "series.csv", {"a": False})
    p = config(tmp_path, receivers=f"    chat: {{type: slack, webhook_url_env: X, tls_config: {_tls(pki)}}}")
    with pytest.raises(InputError) as err:
        run(p)
    assert "tls_config" in str(err.value) and err.value.line is not None


@pytest.mark.parametrize("where", ["source", "receiver"])
def test_validate_catches_an_unreadable_ca_file_with_its_place(tmp_path: Path, pki: Path, where: str) -> None:
    from tests.detect.helpers import cli

    write_series(tmp_path / "series.csv", {"a": False})
    bad = "{ca_file: missing-ca.pem}"
    if where == "receiver":
        p = config(tmp_path, receivers=f"    hook: {{type: webhook, url: https://127.0.0.1:1, tls_config: {bad}}}")
    else:
        p = config(tmp_path)
        p.write_text(p.read_text().replace(
            "sources:\n", f"sources:\n  prom: {{type: prometheus, url: https://127.0.0.1:1, tls_config: {bad}}}\n"))
    with pytest.raises(InputError) as err:
        cli("validate", "-c", str(p))
    msg = str(err.value)
    assert "ca_file" in msg and "missing-ca.pem" in msg, msg
    line = next(i for i, t in enumerate(p.read_text().splitlines(), 1) if "missing-ca.pem" in t)
    assert err.value.line == line, (err.value.line, line, p.read_text())


def _prom_config(tmp: Path, url: str, tls: str) -> Path:
    text = f"""
version: 1
state_file: state.db
sources:
  prom: {{type: prometheus, url: {url}, timeout: 5s, retries: 0{", tls_config: " + tls if tls else ""}}}
detectors:
  - name: prometheus-up
    kind: promql_threshold
    severity: warning
    params: {{source: prom, expr: 'up{{job="prometheus"}}', op: "<", threshold: 1}}
alerting:
  receivers: {{}}
  routes: []
"""
    p = tmp / "detectors.yaml"
    p.write_text(text)
    return p


def test_prometheus_source_with_tls_config(tmp_path: Path, tls_prometheus: tuple[str, Path]) -> None:
    url, pki = tls_prometheus
    rep = run(_prom_config(tmp_path, url, _tls(pki)))
    [r] = [x for x in rep.results if x.detector == "prometheus-up"]
    assert r.ok and not r.error, r  # up == 1, queried over mutual TLS
    rep = run(_prom_config(tmp_path, url, ""))
    [r] = [x for x in rep.results if x.detector == "prometheus-up"]
    assert r.error and "not trusted" in r.message, r
