"""TLS for every `--prometheus` command, against a real Prometheus serving HTTPS on 127.0.0.1 (its own
--web.config.file) with a throwaway CA and server certificate made here by the `openssl` CLI, and a client
certificate it requires (mutual TLS): an untrusted certificate is one clear warning (validate) or one
error (backtest, slo report, doctor), `--ca-file` works, `--insecure-skip-verify` works and says that
verification is off, a missing client certificate is named as the cause."""

from __future__ import annotations

import json
import shutil
import ssl
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from opsctl.live.tls import TLSOptions
from opsctl.prom.client import PrometheusClient, PrometheusError
from tests.conftest import find_tool, require, run_opsctl
from tests.servers import free_port, stop

RULES = """groups:
  - name: tls
    rules:
      - alert: TargetDown
        expr: up{job="prometheus"} == 0
        for: 5m
        labels: {severity: critical}
        annotations: {summary: s, description: d}
"""

SLO_SPEC = """\
version: "prometheus/v1"
service: "prometheus"
slos:
  - name: "http"
    objective: 99
    sli:
      events:
        error_query: sum(rate(prometheus_http_requests_total{code=~"5.."}[{{.window}}]))
        total_query: sum(rate(prometheus_http_requests_total[{{.window}}]))
    alerting:
      page_alert: {disable: true}
      ticket_alert: {disable: true}
"""


def _openssl(*args: str, cwd: Path) -> None:
    openssl = shutil.which("openssl")
    require(openssl is not None, "openssl CLI not installed (Debian package openssl)")
    assert openssl is not None
    subprocess.run([openssl, *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def make_pki(d: Path) -> None:
    """ca.pem (a CA), server.pem/server.key (127.0.0.1, signed by it), client.pem/client.key (signed by it)."""
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    _openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=opsctl test CA",
             "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
             cwd=d)
    for name, ext in (("server", "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n"),
                      ("client", "extendedKeyUsage=clientAuth\n")):
        (d / f"{name}.ext").write_text("basicConstraints=CA:FALSE\n" + ext)
        _openssl("req", *ec, "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN=opsctl test {name}",
                 cwd=d)
        _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
                 "-out", f"{name}.pem", "-days", "2", "-extfile", f"{name}.ext", cwd=d)


@pytest.fixture(scope="module")
def tls_prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """(https URL, folder with ca.pem, client.pem, client.key) of a Prometheus that requires a client cert."""
    prom = find_tool("prometheus")
    tmp = tmp_path_factory.mktemp("tlsprom")
    make_pki(tmp)
    port = free_port()
    url = f"https://127.0.0.1:{port}"
    (tmp / "web.yml").write_text(
        f"tls_server_config:\n  cert_file: {tmp / 'server.pem'}\n  key_file: {tmp / 'server.key'}\n"
        f"  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: {tmp / 'ca.pem'}\n")
    (tmp / "prometheus.yml").write_text(
        "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: prometheus\n    scheme: https\n"
        f"    tls_config: {{ca_file: {tmp / 'ca.pem'}, cert_file: {tmp / 'client.pem'}, "
        f"key_file: {tmp / 'client.key'}}}\n"
        f"    static_configs: [{{targets: ['127.0.0.1:{port}']}}]\n")
    ctx = ssl.create_default_context(cafile=str(tmp / "ca.pem"))
    ctx.load_cert_chain(str(tmp / "client.pem"), str(tmp / "client.key"))
    log = tmp / "prometheus.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([prom, f"--config.file={tmp / 'prometheus.yml'}",
                                 f"--storage.tsdb.path={tmp / 'tsdb'}", f"--web.config.file={tmp / 'web.yml'}",
                                 f"--web.listen-address=127.0.0.1:{port}"], stdout=out, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 60
            while True:  # ready, and `up` scraped over TLS twice (the scrape interval is measured from two)
                try:
                    r = httpx.get(f"{url}/api/v1/query", params={"query": "count_over_time(up[1m]) > 1"},
                                  verify=ctx, timeout=2)
                    if r.status_code == 200 and r.json()["data"]["result"]:
                        break
                except httpx.HTTPError:
                    pass
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("prometheus (TLS) did not become ready: " + log.read_text()[-2000:])
                time.sleep(0.2)
            yield url, tmp
        finally:
            stop(proc)


def _validate(tmp: Path, url: str, *extra: str, env: dict[str, str] | None = None) -> tuple[int, dict, str]:
    (tmp / "r.yml").write_text(RULES)
    (tmp / ".opsctl.yaml").write_text("rules: {}\n")
    proc = run_opsctl("rules", "validate", "r.yml", "-f", "json", "--prometheus", url, *extra, cwd=tmp, env=env)
    return proc.returncode, json.loads(proc.stdout) if proc.stdout.strip() else {}, proc.stderr


def _client_cert(pki: Path) -> list[str]:
    return ["--cert-file", str(pki / "client.pem"), "--key-file", str(pki / "client.key")]


@pytest.mark.oracle
def test_untrusted_certificate_is_one_warning_naming_the_cause(tls_prometheus: tuple[str, Path],
                                                               tmp_path: Path) -> None:
    url, pki = tls_prometheus
    code, doc, err = _validate(tmp_path, url, *_client_cert(pki))
    live = [f for f in doc["findings"] if f["check"].startswith("live-")]
    assert len(live) == 1, live
    msg = live[0]["message"]
    print("untrusted:", msg)
    assert live[0]["severity"] == "warning" and "cannot be queried" in msg
    assert "not trusted" in msg and "--ca-file" in msg, msg
    assert code == 1 and "Traceback" not in err


@pytest.mark.oracle
def test_ca_file_and_client_certificate_work(tls_prometheus: tuple[str, Path], tmp_path: Path) -> None:
    url, pki = tls_prometheus
    code, doc, err = _validate(tmp_path, url, "--ca-file", str(pki / "ca.pem"), *_client_cert(pki))
    assert [f for f in doc["findings"] if f["check"].startswith("live-")] == [], err
    assert code == 0, err
    assert "scrape interval measured" in err and "warning" not in err


@pytest.mark.oracle
def test_tls_options_from_the_environment(tls_prometheus: tuple[str, Path], tmp_path: Path) -> None:
    url, pki = tls_prometheus
    env = {"OPSCTL_PROMETHEUS_CA_FILE": str(pki / "ca.pem"), "OPSCTL_PROMETHEUS_CERT_FILE": str(pki / "client.pem"),
           "OPSCTL_PROMETHEUS_KEY_FILE": str(pki / "client.key")}
    code, doc, err = _validate(tmp_path, url, env=env)
    assert code == 0 and not [f for f in doc["findings"] if f["check"].startswith("live-")], err


@pytest.mark.oracle
def test_missing_client_certificate_is_named(tls_prometheus: tuple[str, Path], tmp_path: Path) -> None:
    url, pki = tls_prometheus
    code, doc, err = _validate(tmp_path, url, "--ca-file", str(pki / "ca.pem"))
    live = [f for f in doc["findings"] if f["check"].startswith("live-")]
    print("no client certificate:", live[0]["message"] if live else None)
    assert len(live) == 1 and "client certificate" in live[0]["message"], live
    assert code == 1 and "Traceback" not in err


@pytest.mark.oracle
def test_insecure_skip_verify_works_and_says_so(tls_prometheus: tuple[str, Path], tmp_path: Path) -> None:
    url, pki = tls_prometheus
    code, doc, err = _validate(tmp_path, url, "--insecure-skip-verify", *_client_cert(pki))
    assert code == 0, err
    assert not [f for f in doc["findings"] if f["check"].startswith("live-")]
    print("insecure:", err)
    assert "warning: TLS certificate verification is off" in err


@pytest.mark.oracle
def test_backtest_slo_report_and_doctor_take_the_same_options(tls_prometheus: tuple[str, Path],
                                                              tmp_path: Path) -> None:
    url, pki = tls_prometheus
    rules = tmp_path / "r.yml"
    rules.write_text(RULES)
    tls = ["--ca-file", str(pki / "ca.pem"), *_client_cert(pki)]
    ok = run_opsctl("rules", "backtest", str(rules), "--prometheus", url, "--from", "now-1m", "-f", "json", *tls)
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["backtest"]["live"]["prometheus"] == url
    bad = run_opsctl("rules", "backtest", str(rules), "--prometheus", url, "--from", "now-1m", *_client_cert(pki))
    print("backtest:", bad.stderr, "doctor:", run_opsctl("doctor", "--prometheus-url", url).stdout)
    assert bad.returncode == 2 and "not trusted" in bad.stderr and "Traceback" not in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1, bad.stderr
    from tests.slo import WIN

    spec = tmp_path / "spec.yml"
    spec.write_text(SLO_SPEC)
    slo = run_opsctl("slo", "report", str(spec), *WIN, "--prometheus", url, "--step", "1m", "-f", "json", *tls)
    assert slo.returncode in (0, 1) and json.loads(slo.stdout)["slos"], slo.stderr  # met or not: it was read
    slo_bad = run_opsctl("slo", "report", str(spec), *WIN, "--prometheus", url, "--step", "1m", *_client_cert(pki))
    assert slo_bad.returncode == 2 and "not trusted" in slo_bad.stderr and "Traceback" not in slo_bad.stderr
    doctor = run_opsctl("doctor", "--prometheus-url", url, "-f", "json", *tls)
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    doctor_bad = run_opsctl("doctor", "--prometheus-url", url, *_client_cert(pki))
    assert doctor_bad.returncode == 1 and "not trusted" in doctor_bad.stdout, doctor_bad.stdout


def test_bad_ca_file_is_an_input_error(tmp_path: Path) -> None:
    (tmp_path / "ca.pem").write_text("not a certificate\n")
    code, _, err = _validate(tmp_path, "https://127.0.0.1:1", "--ca-file", str(tmp_path / "ca.pem"))
    assert code == 2 and "--ca-file" in err and "not a PEM file" in err and "Traceback" not in err
    code, _, err = _validate(tmp_path, "https://127.0.0.1:1", "--ca-file", str(tmp_path / "missing.pem"))
    assert code == 2 and "missing.pem" in err


@pytest.mark.oracle
def test_client_tls_failure_is_not_retried(tls_prometheus: tuple[str, Path]) -> None:
    url, pki = tls_prometheus
    client = PrometheusClient(url, retries=3, tls=TLSOptions(cert_file=str(pki / "client.pem"),
                                                             key_file=str(pki / "client.key")))
    with client, pytest.raises(PrometheusError) as err:
        client.query("vector(1)")
    assert err.value.error_type == "tls" and client.requests == 1
    with PrometheusClient(url.replace("https://", "http://"), retries=0) as plain, \
            pytest.raises(PrometheusError) as err2:
        plain.query("vector(1)")
    assert "HTTP 400" in str(err2.value) or "TLS" in str(err2.value)


def test_alertmanager_tls_from_config_file_and_environment(tmp_path: Path) -> None:
    from opsctl.errors import InputError
    from opsctl.live.settings import resolve

    make_pki(tmp_path)
    cfg = tmp_path / "amtool.yml"
    cfg.write_text("alertmanager.url: https://127.0.0.1:9093\ntls.ca_file: ca.pem\n"
                   "tls.cert_file: client.pem\ntls.key_file: client.key\n")
    s = resolve(urls=None, tenants=None, config=cfg, environ={})
    assert s.tls == TLSOptions(str(tmp_path / "ca.pem"), str(tmp_path / "client.pem"), str(tmp_path / "client.key"))
    with pytest.raises(InputError, match=r"x\.pem"):
        resolve(urls=None, tenants=None, config=cfg, environ={"OPSCTL_ALERTMANAGER_CA_FILE": str(tmp_path / "x.pem")})
    s = resolve(urls=None, tenants=None, config=cfg, environ={"OPSCTL_ALERTMANAGER_INSECURE_SKIP_VERIFY": "true"})
    assert s.tls.insecure_skip_verify and s.tls.ca_file == str(tmp_path / "ca.pem")
    cfg.write_text("alertmanager.url: https://127.0.0.1:9093\ntls.insecure_skip_verify: maybe\n")
    with pytest.raises(InputError, match="insecure_skip_verify"):
        resolve(urls=None, tenants=None, config=cfg, environ={})


@pytest.mark.oracle
def test_host_name_mismatch_and_plain_http_are_named(tls_prometheus: tuple[str, Path]) -> None:
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    url, pki = tls_prometheus
    tls = TLSOptions(str(pki / "ca.pem"), str(pki / "client.pem"), str(pki / "client.key"))
    with PrometheusClient(url.replace("127.0.0.1", "localhost"), retries=0, tls=tls) as client, \
            pytest.raises(PrometheusError) as err:
        client.query("vector(1)")  # the certificate names 127.0.0.1 only
    print("host name:", err.value)
    assert err.value.error_type == "tls" and "not valid for this host name" in str(err.value)

    class Plain(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Plain)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with PrometheusClient(f"https://127.0.0.1:{server.server_address[1]}", retries=0, tls=tls) as client, \
                pytest.raises(PrometheusError) as err:
            client.query("vector(1)")
        print("plain http:", err.value)
        assert err.value.error_type == "tls" and "does not speak TLS" in str(err.value)
    finally:
        server.shutdown()
        server.server_close()
