"""Jinja2 rendering of alertmanager.yml has output and loop bounds: a hostile or mistaken template fails
fast with the template's file and line instead of eating memory or running for hours."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from opsctl.alertmanager.render import render_file
from opsctl.alertmanager.sandbox import MAX_OUTPUT, BoundedSandbox
from opsctl.errors import InputError

ROOT = Path(__file__).resolve().parents[2]


def render(tmp_path: Path, text: str) -> str:
    t = tmp_path / "am.yml.j2"
    t.write_text(text)
    return render_file(t, None).text


@pytest.mark.parametrize("expr", [
    "{{ 'a' * 100000000 }}",
    "{{ 100000000 * 'ab' }}",
    "{{ ['x'] * 100000000 }}",
    "{{ 'a' * 1e8 }}",  # a float count: refused by Python itself, still one clean error
    "{{ 'a'.center(1000000000) }}",
    "{{ 'a'.ljust(1000000000) }}",
    "{{ 'a'|center(1000000000) }}",
    "{{ '%999999999s' % 'a' }}",
    "{{ '%*s' % (999999999, 'a') }}",
    "{{ '{:>999999999}'.format('a') }}",
    "{{ '{:>{w}}'.format('a', w=999999999) }}",
    "{{ 10 ** 10000000 }}",
    "{{ ('x' * 10000000)|replace('x', 'yyyyyyyy') }}",
    "{{ ('x' * 10000000).replace('x', 'yyyyyyyy') }}",
    "{% set s = 'x' * 10000000 %}{{ s ~ s }}",
    "{% set s = 'x' * 10000000 %}{{ s + s }}",
    "{% for i in range(100000) %}{{ 'x' * 1000 }}{% endfor %}",
    "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
    "{% for i in range(2000) %}{% for j in range(2000) %}{{ '' }}{% endfor %}{% endfor %}",
])
def test_oversized_templates_fail_fast_with_file_and_line(tmp_path: Path, expr: str) -> None:
    with pytest.raises(InputError) as exc:
        render(tmp_path, "global: {}\n" + expr + "\n")
    err = exc.value
    assert err.file.endswith("am.yml.j2")
    assert err.line == 2, str(err)
    assert "template error" in err.message


def test_bounds_name_the_limit(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=f"output limit of {MAX_OUTPUT} characters"):
        render(tmp_path, "{{ 'a' * 100000000 }}")
    with pytest.raises(InputError, match="loops ran more than"):
        render(tmp_path, "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}")


def test_ordinary_templates_render_as_before(tmp_path: Path) -> None:
    text = ("{% for r in ['a', 'b'] %}- {{ r|upper }}{{ '-' * 3 }}{{ '%5s' % r }}{{ '{:>4}'.format(r) }}\n"
            "{% endfor %}{{ 2 ** 10 }} {{ 'x'.center(5) }} {{ ['a'] * 2 }} {{ 'a' ~ 'b' }} "
            "{{ 'ab'|replace('a', 'c') }}")
    assert render(tmp_path, text) == ("- A---    a   a\n- B---    b   b\n1024   x   ['a', 'a'] ab cb")
    loop = "{% for i in range(1000) %}{% for j in range(999) %}{% endfor %}{% endfor %}ok"
    assert render(tmp_path, loop) == "ok"  # 999,000 steps: under the bound


def test_the_example_renders(monkeypatch: pytest.MonkeyPatch) -> None:
    ex = ROOT / "examples" / "alertmanager"
    monkeypatch.setenv("AM_SMTP_PASSWORD", "hunter2-example")
    monkeypatch.setenv("SLACK_WEBHOOK_URL", "https://hooks.slack.example/services/T/B/x")
    try:
        result = render_file(ex / "alertmanager.yml.j2", ex / "values.yaml")
    except InputError as exc:  # the example may need other variables: then only the sandbox is not to blame
        assert "output limit" not in str(exc) and "loops ran" not in str(exc)
    else:
        assert "route:" in result.text


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 40), st.integers(0, 40), st.text(alphabet="ab", max_size=5))
def test_small_limits_are_exact(n: int, limit: int, s: str) -> None:
    """With a tiny output limit, `s * n` renders exactly when it fits and is refused otherwise."""
    env = BoundedSandbox(max_output=limit)
    tmpl = env.from_string("{{ s * n }}")
    if len(s) * n <= limit:
        assert env.render_bounded(tmpl, {"s": s, "n": n}) == s * n
    else:
        with pytest.raises(Exception, match="output limit"):
            env.render_bounded(tmpl, {"s": s, "n": n})
