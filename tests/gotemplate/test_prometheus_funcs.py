"""Prometheus template functions and rule-template helpers beyond what the promtool oracle can reach
(promtool test rules passes no external URL to the functions, and cannot run without its own series)."""

from __future__ import annotations

import re

import pytest

from opsctl.gotemplate import TemplateError
from opsctl.gotemplate.prometheus import (
    DEFS,
    PROMETHEUS_FUNCS,
    Sample,
    check_rule_template,
    render_rule_template,
)
from opsctl.gotemplate.template import parse


def r(text: str, value: float = 0.0, labels: dict[str, str] | None = None, **kw: object) -> str:
    return render_rule_template(text, labels or {}, value, {}, "http://prom.example:9090/sub/", strict=True,
                                **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(("text", "expected"), [
    ("{{ humanize 1234567 }}|{{ humanize 0.0001234 }}|{{ humanize -1500 }}|{{ humanize 0 }}", "1.235M|123.4u|-1.5k|0"),
    ("{{ humanize1024 1048576 }}|{{ humanize1024 1 }}|{{ humanize1024 1500 }}", "1Mi|1|1.465ki"),
    ("{{ humanizeDuration 0 }}|{{ humanizeDuration 1.5 }}|{{ humanizeDuration 60 }}|{{ humanizeDuration 3600 }}",
     "0s|1.5s|1m 0s|1h 0m 0s"),
    ("{{ humanizeDuration 86400 }}|{{ humanizeDuration 0.1 }}|{{ humanizeDuration -60 }}|{{ humanizeDuration 1e-5 }}",
     "1d 0h 0m 0s|100ms|-1m 0s|10us"),
    ("{{ humanizePercentage 0.5 }}|{{ humanizePercentage 0.12345 }}", "50%|12.35%"),
    ("{{ humanizeTimestamp 1435065584.128 }}|{{ toTime 1435065584.128 }}",
     "2015-06-23 13:19:44.128 +0000 UTC|2015-06-23 13:19:44.128 +0000 UTC"),
    ("{{ parseDuration \"1h2m\" }}|{{ parseDuration \"90s\" | printf \"%T\" }}", "3720|float64"),
    ("{{ externalURL }}|{{ pathPrefix }}", "http://prom.example:9090/sub/|/sub/"),
    ("{{ stripPort \"[::1]:9090\" }}|{{ stripPort \"a:b:c\" }}|{{ stripPort \"host\" }}", "::1|a:b:c|host"),
    ("{{ graphLink \"up == 0\" }}", "/graph?g0.expr=up+%3D%3D+0&g0.tab=0"),
    ("{{ title \"hello wORLD o'neil\" }}", "Hello WORLD O'Neil"),
    ("{{ toUpper \"straße\" }}", "STRASSE".replace("SS", "ß")),
    ("{{ reReplaceAll \"a(x*)b\" \"$1W\" \"axxb\" }}|{{ reReplaceAll \"a(x*)b\" \"${1}W\" \"axxb\" }}", "|xxW"),
    ("{{ range $k, $v := args 1 \"a\" }}{{ $k }}={{ $v }} {{ end }}", "arg0=1 arg1=a "),
])
def test_functions(text: str, expected: str) -> None:
    assert r(text) == expected


def test_query_with_callback_and_without() -> None:
    def query(q: str) -> list[object]:
        return [Sample({"instance": "b"}, 2.0), ({"instance": "a"}, 1.0),
                {"metric": {"instance": "c"}, "value": [0, "3"]}]

    text = "{{ range query \"up\" | sortByLabel \"instance\" }}{{ .Labels.instance }}={{ .Value }} {{ end }}"
    assert r(text, query=query) == "a=1 b=2 c=3 "
    out = render_rule_template("{{ query \"up\" }}", {}, 0.0, {}, "", alert_name="A")
    assert out.startswith("<error expanding template: error executing template __alert_A: ")
    assert "error calling query: no query function available" in out


def test_render_errors_are_substituted_like_prometheus() -> None:
    out = render_rule_template("{{ humanize \"x\" }}", {}, 0.0, {}, "", alert_name="HighLoad")
    assert out == ('<error expanding template: error executing template __alert_HighLoad: template: '
                   '__alert_HighLoad:1:115: executing "__alert_HighLoad" at <humanize "x">: error calling humanize: '
                   'strconv.ParseFloat: parsing "x": invalid syntax>')
    out = render_rule_template("{{ nope }}", {}, 0.0, {}, "", alert_name="HighLoad")
    assert out == ('<error expanding template: error parsing template __alert_HighLoad: template: '
                   '__alert_HighLoad:1: function "nope" not defined>')
    with pytest.raises(TemplateError):
        render_rule_template("{{ nope }}", {}, 0.0, {}, "", strict=True)


def test_parse_duration_errors_like_prometheus() -> None:
    expected = 'error calling parseDuration: not a valid duration string: "1.5s"'
    with pytest.raises(TemplateError, match=re.escape(expected)):
        r("{{ parseDuration \"1.5s\" }}")


def test_check_rule_template() -> None:
    assert check_rule_template("{{ $labels.job }} {{ $value | humanize }} {{ $externalURL }}", "A") is None
    err = check_rule_template("ok\n  {{ $value | humanise }}", "HighLoad")
    assert err is not None
    assert str(err) == 'template: __alert_HighLoad:2: function "humanise" not defined'
    assert (err.line, err.column) == (2, 15)
    err = check_rule_template("{{ $nope }}", "A")
    assert err is not None and err.line == 1 and err.column == 4
    # promtool only parses: execution errors are not reported
    assert check_rule_template("{{ humanize \"x\" }}", "A") is None
    assert check_rule_template("{{ .a }}", "__alert_A") is None


def test_funcs_usable_with_parse() -> None:
    t = parse("{{ .v | humanize }} {{ title .s }}", "t", PROMETHEUS_FUNCS)
    assert t.execute({"v": 2048.0, "s": "ab cd"}) == "2.048k Ab Cd"
    assert DEFS.startswith("{{$labels := .Labels}}")


def test_template_regexps_are_gosem() -> None:
    from opsctl.gotemplate import goregexp

    assert goregexp.go_replace_all_string(r"(\w+)@(\w+)", "$2 at ${1}", "me@host") == "host at me"
    assert goregexp.go_match_string("^a$", "a\n") is False
    with pytest.raises(goregexp.RegexpError, match="missing closing"):
        goregexp.go_compile("(")
    with pytest.raises(goregexp.RegexpError, match="Perl syntax"):
        goregexp.go_compile("a(?=b)")
