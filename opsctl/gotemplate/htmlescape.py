"""Go html/template contextual autoescaping (port of Go 1.19.8 html/template escape.go, html.go, url.go,
js.go, css.go): before a template set is executed in html mode, the escaper walks the executed template
(and every template it calls, in the context each is called in), tracks the HTML context through the
template text and rewrites each ``{{pipeline}}`` to end with the escaper for its context
(``_html_template_htmlescaper``, ``_html_template_attrescaper``, ``_html_template_urlfilter`` -> ``#ZgotmplZ``,
JS and CSS escapers, ...). HTML comments in the template text are removed, as in Go.

Not supported (reported as TemplateError instead of rendering wrongly): actions in ``srcset`` attributes.
Safe-content types other than ``template.HTML`` (what Alertmanager's ``safeHtml`` returns) do not exist here.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import fields, is_dataclass
from dataclasses import replace as dc_replace
from decimal import Decimal
from typing import Any

from opsctl.gotemplate import htmlcontext as hc
from opsctl.gotemplate.builtins import MISSING, GoFunc
from opsctl.gotemplate.errors import TemplateError
from opsctl.gotemplate.gofmt import is_stringer, sprint
from opsctl.gotemplate.htmlcontext import Context, HTMLError, error_context, nudge
from opsctl.gotemplate.lexer import go_quote
from opsctl.gotemplate.nodes import (
    ActionNode,
    BranchNode,
    BreakNode,
    CommandNode,
    ContinueNode,
    IdentifierNode,
    IfNode,
    ListNode,
    Node,
    PipeNode,
    RangeNode,
    TemplateNode,
    TextNode,
    WithNode,
)
from opsctl.gotemplate.parser import Tree
from opsctl.gotemplate.prometheus import HTML

FILTER_FAILSAFE = "ZgotmplZ"

# ------------------------------------------------------------------ content.go


def stringify(args: tuple[Any, ...]) -> tuple[str, int]:
    """html/template stringify: the text of the arguments and its content type (HTML or plain)."""
    if len(args) == 1:
        a = args[0]
        if type(a) is str:
            return a, hc.CT_PLAIN
        if isinstance(a, HTML):
            return str.__str__(a), hc.CT_HTML
    kept = [a for a in args if a is not None and a is not MISSING]  # untyped nil is skipped (Go issue 25875)
    return sprint(*kept), hc.CT_PLAIN


def eval_args(*args: Any) -> str:
    if len(args) == 1 and isinstance(args[0], str):
        return args[0]
    return sprint(*("<nil>" if a is None or a is MISSING else a for a in args))


# ------------------------------------------------------------------ html.go

_HTML_TABLE = {"\0": "\ufffd", '"': "&#34;", "&": "&amp;", "'": "&#39;", "+": "&#43;", "<": "&lt;", ">": "&gt;"}
_HTML_NORM_TABLE = {k: v for k, v in _HTML_TABLE.items() if k != "&"}
_HTML_NOSPACE_TABLE = {"\0": "&#xfffd;", "\t": "&#9;", "\n": "&#10;", "\v": "&#11;", "\f": "&#12;",
                       "\r": "&#13;", " ": "&#32;", '"': "&#34;", "&": "&amp;", "'": "&#39;", "+": "&#43;",
                       "<": "&lt;", "=": "&#61;", ">": "&gt;", "`": "&#96;"}
_HTML_NOSPACE_NORM_TABLE = {k: v for k, v in _HTML_NOSPACE_TABLE.items() if k != "&"}


def html_replacer(s: str, table: dict[str, str], bad_runes: bool) -> str:
    out: list[str] = []
    for ch in s:
        r = table.get(ch)
        if r is not None:
            out.append(r)
        elif ord(ch) >= 0x80 and not bad_runes and (0xFDD0 <= ord(ch) <= 0xFDEF or 0xFFF0 <= ord(ch) <= 0xFFFF):
            out.append(f"&#x{ord(ch):x};")
        else:
            out.append(ch)
    return "".join(out)


def strip_tags(html: str) -> str:
    out: list[str] = []
    s, c, i, all_text = html, Context(), 0, True
    while i != len(s):
        if c.delim == hc.DELIM_NONE:
            st = c.state
            if c.element != hc.EL_NONE and not hc.is_in_tag(st):
                st = hc.RCDATA
            d, nread = hc.TRANSITIONS[st](c, s[i:])
            i1 = i + nread
            if c.state in (hc.TEXT, hc.RCDATA):
                j = i1
                if d.state != c.state:
                    for j1 in range(j - 1, i - 1, -1):
                        if s[j1] == "<":
                            j = j1
                            break
                out.append(s[i:j])
            else:
                all_text = False
            c, i = d, i1
            continue
        k = hc.find_any(s, hc.DELIM_ENDS[c.delim], i)
        if k < 0:
            break
        if c.delim != hc.DELIM_SPACE:
            k += 1
        c, i = Context(state=hc.TAG, element=c.element), k
    if all_text:
        return html
    if c.state in (hc.TEXT, hc.RCDATA):
        out.append(s[i:])
    return "".join(out)


def html_nospace_escaper(*args: Any) -> str:
    s, t = stringify(args)
    if t == hc.CT_HTML:
        return html_replacer(strip_tags(s), _HTML_NOSPACE_NORM_TABLE, False)
    return html_replacer(s, _HTML_NOSPACE_TABLE, False)


def attr_escaper(*args: Any) -> str:
    s, t = stringify(args)
    if t == hc.CT_HTML:
        return html_replacer(strip_tags(s), _HTML_NORM_TABLE, True)
    return html_replacer(s, _HTML_TABLE, True)


def rcdata_escaper(*args: Any) -> str:
    s, t = stringify(args)
    if t == hc.CT_HTML:
        return html_replacer(s, _HTML_NORM_TABLE, True)
    return html_replacer(s, _HTML_TABLE, True)


def html_escaper(*args: Any) -> str:
    s, t = stringify(args)
    if t == hc.CT_HTML:
        return s
    return html_replacer(s, _HTML_TABLE, True)


def html_name_filter(*args: Any) -> str:
    s, _ = stringify(args)
    if not s:
        return FILTER_FAILSAFE
    s = s.lower()
    if hc.attr_type(s) != hc.CT_PLAIN:
        return FILTER_FAILSAFE
    if not all("0" <= ch <= "9" or "a" <= ch <= "z" for ch in s):
        return FILTER_FAILSAFE
    return s


def comment_escaper(*args: Any) -> str:
    return ""


# ------------------------------------------------------------------ url.go


def is_safe_url(s: str) -> bool:
    protocol, sep, _ = s.partition(":")
    if sep and "/" not in protocol:
        return protocol.lower() in ("http", "https", "mailto")
    return True


def url_filter(*args: Any) -> str:
    s, _ = stringify(args)
    if not is_safe_url(s):
        return "#" + FILTER_FAILSAFE
    return s


def process_url(s: str, norm: bool) -> str:
    out: list[str] = []
    for byte in s.encode("utf-8", "surrogateescape"):
        c = chr(byte)
        if c in "!#$&*+,/:;=?@[]" and norm:
            out.append(c)
        elif c in "-._~" or ("a" <= c <= "z") or ("A" <= c <= "Z") or ("0" <= c <= "9"):
            out.append(c)
        elif c == "%" and norm:
            out.append(c)
        else:
            out.append(f"%{byte:02x}")
    return "".join(out)


def url_escaper(*args: Any) -> str:
    s, _ = stringify(args)
    return process_url(s, False)


def url_normalizer(*args: Any) -> str:
    s, _ = stringify(args)
    return process_url(s, True)


# ------------------------------------------------------------------ js.go

_JS_STR_TABLE = {"\0": "\\0", "\t": "\\t", "\n": "\\n", "\v": "\\u000b", "\f": "\\f", "\r": "\\r", '"': "\\u0022",
                 "`": "\\u0060", "&": "\\u0026", "'": "\\u0027", "+": "\\u002b", "/": "\\/", "<": "\\u003c",
                 ">": "\\u003e",
                 "\\": "\\\\", "\u2028": "\\u2028", "\u2029": "\\u2029"}
_JS_REGEXP_TABLE = {"\0": "\\0", "\t": "\\t", "\n": "\\n", "\v": "\\u000b", "\f": "\\f", "\r": "\\r",
                    '"': "\\u0022", "$": "\\$", "&": "\\u0026", "'": "\\u0027", "(": "\\(", ")": "\\)", "*": "\\*",
                    "+": "\\u002b", "-": "\\-", ".": "\\.", "/": "\\/", "<": "\\u003c", ">": "\\u003e", "?": "\\?",
                    "[": "\\[", "\\": "\\\\", "]": "\\]", "^": "\\^", "{": "\\{", "|": "\\|", "}": "\\}",
                    "\u2028": "\\u2028", "\u2029": "\\u2029"}


def js_str_escaper(*args: Any) -> str:
    s, _ = stringify(args)
    return "".join(_JS_STR_TABLE.get(ch, ch) for ch in s)


def js_regexp_escaper(*args: Any) -> str:
    s, _ = stringify(args)
    s = "".join(_JS_REGEXP_TABLE.get(ch, ch) for ch in s)
    return s or "(?:)"


class _JSONError(Exception):
    pass


def _json_string(s: str) -> str:
    out = ['"']
    for ch in s:
        o = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif o < 0x20 or ch in "<>&" or ch in "\u2028\u2029":
            out.append(f"\\u{o:04x}")
        elif 0xD800 <= o <= 0xDFFF:
            out.append("\\ufffd")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _json_float(f: float) -> str:
    """encoding/json's float64 text: shortest 'f' form, 'e' form below 1e-6 or from 1e21 (e-07 -> e-7)."""
    if math.isnan(f) or math.isinf(f):
        raise _JSONError(f"json: unsupported value: {sprint(f)}")
    d = Decimal(repr(f))
    a = abs(f)
    if a != 0 and (a < 1e-6 or a >= 1e21):
        sign, digits, exp = d.as_tuple()
        ds = "".join(map(str, digits)).rstrip("0") or "0"
        e10 = int(exp) + len(digits) - 1
        mant = ds[0] + ("." + ds[1:] if len(ds) > 1 else "")
        out = f"{'-' if sign else ''}{mant}e{'-' if e10 < 0 else '+'}{abs(e10):02d}"
        if e10 < 0 and abs(e10) < 10:
            out = out[:-2] + out[-1]
        return out
    s = format(d, "f")
    if "." in s:
        s = s.rstrip("0").rstrip(".")
    return "0" if s in ("-0", "") and f == 0 and math.copysign(1, f) > 0 else s


def _to_json(v: Any, depth: int = 0) -> str:
    if depth > 100:
        raise _JSONError("json: unsupported value: encountered a cycle")
    if v is None or v is MISSING:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return _json_float(v)
    if isinstance(v, str):
        return _json_string(str.__str__(v))
    if type(v).__name__ == "GoTime":
        return _json_string(v.Format("2006-01-02T15:04:05.999999999Z07:00"))
    if isinstance(v, dict):
        keys = sorted(v, key=lambda k: str(k).encode("utf-8", "surrogateescape"))
        return "{" + ",".join(_json_string(str(k)) + ":" + _to_json(v[k], depth + 1) for k in keys) + "}"
    if isinstance(v, (list, tuple)):
        return "[" + ",".join(_to_json(x, depth + 1) for x in v) + "]"
    if is_dataclass(v) and not isinstance(v, type):
        parts = [_json_string(f.name) + ":" + _to_json(getattr(v, f.name), depth + 1)
                 for f in fields(v) if not f.name.startswith("_")]
        return "{" + ",".join(parts) + "}"
    raise _JSONError(f"json: unsupported type: {type(v).__name__}")


def js_val_escaper(*args: Any) -> str:
    a: Any
    if len(args) == 1:
        a = args[0]
        if not isinstance(a, (str, dict, list, tuple)) and is_stringer(a) and type(a).__name__ != "GoTime":
            a = str(a)
    else:
        a = sprint(*args)
    try:
        b = _to_json(a)
    except _JSONError as exc:
        return " /* " + str(exc).replace("*/", "* /") + " */null "
    if not b:
        return " null "
    if hc.is_js_ident_part(b[0]) or hc.is_js_ident_part(b[-1]):
        return " " + b + " "  # keep numbers and names from running into keywords (in, typeof, ...)
    return b


# ------------------------------------------------------------------ css.go

_CSS_TABLE = {"\0": "\\0", "\t": "\\9", "\n": "\\a", "\f": "\\c", "\r": "\\d", '"': "\\22", "&": "\\26",
              "'": "\\27", "(": "\\28", ")": "\\29", "+": "\\2b", "/": "\\2f", ":": "\\3a", ";": "\\3b",
              "<": "\\3c", ">": "\\3e", "\\": "\\\\", "{": "\\7b", "}": "\\7d"}


def css_escaper(*args: Any) -> str:
    s, _ = stringify(args)
    out: list[str] = []
    for i, ch in enumerate(s):
        repl = _CSS_TABLE.get(ch)
        if repl is None:
            out.append(ch)
            continue
        out.append(repl)
        nxt = s[i + 1:i + 2]
        if repl != "\\\\" and (nxt == "" or nxt in "0123456789abcdefABCDEF" or nxt in "\t\n\f\r "):
            out.append(" ")
    return "".join(out)


def css_value_filter(*args: Any) -> str:
    s, _ = stringify(args)
    b = hc.decode_css(s)
    ident: list[str] = []
    for i, ch in enumerate(b):
        if ch in "\0\"'()/;@[\\]`{}":
            return FILTER_FAILSAFE
        if ch == "-":
            if i != 0 and b[i - 1] == "-":
                return FILTER_FAILSAFE
        elif ord(ch) < 0x80 and hc.is_css_nmchar(ch):
            ident.append(ch)
    low = "".join(ident).lower()
    if "expression" in low or "mozbinding" in low:
        return FILTER_FAILSAFE
    return b


def _srcset_unsupported(*args: Any) -> str:
    raise ValueError("srcset attributes are not supported by opsctl's html/template port")


def _escaper(fn: Callable[..., str], name: str) -> GoFunc:
    return GoFunc(fn, ("any",), True, name)


ESCAPER_FUNCS: dict[str, GoFunc] = {
    "_html_template_attrescaper": _escaper(attr_escaper, "_html_template_attrescaper"),
    "_html_template_commentescaper": _escaper(comment_escaper, "_html_template_commentescaper"),
    "_html_template_cssescaper": _escaper(css_escaper, "_html_template_cssescaper"),
    "_html_template_cssvaluefilter": _escaper(css_value_filter, "_html_template_cssvaluefilter"),
    "_html_template_htmlnamefilter": _escaper(html_name_filter, "_html_template_htmlnamefilter"),
    "_html_template_htmlescaper": _escaper(html_escaper, "_html_template_htmlescaper"),
    "_html_template_jsregexpescaper": _escaper(js_regexp_escaper, "_html_template_jsregexpescaper"),
    "_html_template_jsstrescaper": _escaper(js_str_escaper, "_html_template_jsstrescaper"),
    "_html_template_jsvalescaper": _escaper(js_val_escaper, "_html_template_jsvalescaper"),
    "_html_template_nospaceescaper": _escaper(html_nospace_escaper, "_html_template_nospaceescaper"),
    "_html_template_rcdataescaper": _escaper(rcdata_escaper, "_html_template_rcdataescaper"),
    "_html_template_srcsetescaper": _escaper(_srcset_unsupported, "_html_template_srcsetescaper"),
    "_html_template_urlescaper": _escaper(url_escaper, "_html_template_urlescaper"),
    "_html_template_urlfilter": _escaper(url_filter, "_html_template_urlfilter"),
    "_html_template_urlnormalizer": _escaper(url_normalizer, "_html_template_urlnormalizer"),
    "_eval_args_": _escaper(eval_args, "_eval_args_"),
}

# ------------------------------------------------------------------ escape.go

_PREDEFINED = ("html", "urlquery")
_EQUIV = {"_html_template_attrescaper": "html", "_html_template_htmlescaper": "html",
          "_html_template_rcdataescaper": "html", "_html_template_urlescaper": "urlquery",
          "_html_template_urlnormalizer": "urlquery"}
_REDUNDANT = {
    "_html_template_commentescaper": {"_html_template_attrescaper", "_html_template_htmlescaper"},
    "_html_template_cssescaper": {"_html_template_attrescaper"},
    "_html_template_jsregexpescaper": {"_html_template_attrescaper"},
    "_html_template_jsstrescaper": {"_html_template_attrescaper"},
    "_html_template_urlescaper": {"_html_template_urlnormalizer"},
}


def _norm(e: str) -> str:
    return _EQUIV.get(e, e)


def _ident_of(cmd: CommandNode) -> str | None:
    a = cmd.args[0] if cmd.args else None
    return a.ident if isinstance(a, IdentifierNode) else None


def _append_cmd(cmds: list[CommandNode], cmd: CommandNode) -> None:
    if cmds:
        last, nxt = _ident_of(cmds[-1]), _ident_of(cmd)
        if last is not None and nxt is not None and nxt in _REDUNDANT.get(last, ()):
            return
    cmds.append(cmd)


def _ident_cmd(name: str, pos: int) -> CommandNode:
    return CommandNode(pos, [IdentifierNode(pos, name)])


def ensure_pipeline_contains(p: PipeNode, s: list[str]) -> None:
    if not s:
        return
    s = list(s)
    n = len(p.cmds)
    if n > 0:
        last = p.cmds[-1]
        esc = _ident_of(last)
        if esc in _PREDEFINED:
            assert esc is not None
            if len(p.cmds) == 1 and len(last.args) > 1:
                last.args[0] = IdentifierNode(last.args[0].pos, "_eval_args_")
                _append_cmd(p.cmds, _ident_cmd(esc, p.pos))
                n += 1
            dup = False
            for i, e in enumerate(s):
                if _norm(esc) == _norm(e):
                    s[i] = esc
                    dup = True
            if dup:
                n -= 1
    new = list(p.cmds[:n])
    inserted = {_norm(i) for i in (_ident_of(c) for c in new) if i is not None}
    for name in s:
        if _norm(name) not in inserted:
            _append_cmd(new, _ident_cmd(name, p.pos))
    p.cmds = new


class _RangeContext:
    """The contexts at the {{break}}/{{continue}} actions of the innermost range loop."""

    def __init__(self, outer: _RangeContext | None) -> None:
        self.outer = outer
        self.breaks: list[tuple[Context, Node]] = []
        self.continues: list[tuple[Context, Node]] = []


class _Escaper:
    def __init__(self, trees: dict[str, Tree], copied: dict[str, Tree] | None = None) -> None:
        self.src = trees  # the set as parsed (never modified)
        self.copied: dict[str, Tree] = {} if copied is None else copied  # copies the edits apply to
        self.output: dict[str, Context] = {}
        self.derived: dict[str, Tree] = {}
        self.called: set[str] = set()
        self.action_edits: dict[int, tuple[ActionNode, list[str]]] = {}
        self.template_edits: dict[int, tuple[TemplateNode, str]] = {}
        self.text_edits: dict[int, tuple[TextNode, str]] = {}
        self.tree: Tree | None = None  # the tree being walked (for error positions)
        self.range_ctx: _RangeContext | None = None

    def child(self) -> _Escaper:
        e1 = _Escaper(self.src, self.copied)
        e1.output = dict(self.output)
        e1.tree = self.tree
        e1.range_ctx = self.range_ctx
        return e1

    def template(self, name: str) -> Tree | None:
        t = self.copied.get(name)
        if t is None and name in self.src:
            src = self.src[name]
            t = copy.copy(src)
            t.root = None if src.root is None else copy_list(src.root)
            self.copied[name] = t
        return t if t is not None else self.derived.get(name)

    def err(self, desc: str, node: Node | None, line: int = 0) -> Context:
        return error_context(desc, node, self.tree, line)

    def escape(self, c: Context, n: Node) -> Context:
        if isinstance(n, ActionNode):
            return self.escape_action(c, n)
        if isinstance(n, (BreakNode, ContinueNode)):
            if self.range_ctx is None:  # the parser only allows them inside {{range}}
                return self.err(f"{n} outside {{{{range}}}}", n, n.line)
            if isinstance(n, BreakNode):
                self.range_ctx.breaks.append((c, n))
            else:  # Go appends to a copy of the breaks here; joining a context twice changes nothing
                self.range_ctx.continues = [*self.range_ctx.breaks, (c, n)]
            return Context(state=hc.DEAD)
        if isinstance(n, IfNode):
            return self.escape_branch(c, n, "if")
        if isinstance(n, RangeNode):
            return self.escape_branch(c, n, "range")
        if isinstance(n, WithNode):
            return self.escape_branch(c, n, "with")
        if isinstance(n, ListNode):
            return self.escape_list(c, n)
        if isinstance(n, TemplateNode):
            return self.escape_template(c, n)
        if isinstance(n, TextNode):
            return self.escape_text(c, n)
        raise TemplateError(f"html/template: escaping {n} is unimplemented", message=f"escaping {n} is unimplemented")

    def escape_action(self, c: Context, n: ActionNode) -> Context:
        if n.pipe.decl:
            return c
        c = nudge(c)
        for pos, cmd in enumerate(n.pipe.cmds):
            ident = _ident_of(cmd)
            if ident in _PREDEFINED and (pos < len(n.pipe.cmds) - 1 or (
                    c.state == hc.ATTR and c.delim == hc.DELIM_SPACE and ident == "html")):
                return self.err(f"predefined escaper {go_quote(ident)} disallowed in template", n, n.line)
        s: list[str] = []
        st = c.state
        if st == hc.ERROR:
            return c
        if st in (hc.URL, hc.CSS_DQ, hc.CSS_SQ, hc.CSS_DQ_URL, hc.CSS_SQ_URL, hc.CSS_URL):
            if c.url_part == hc.URL_NONE:
                s.append("_html_template_urlfilter")
            if c.url_part in (hc.URL_NONE, hc.URL_PRE_QUERY):
                s.append("_html_template_cssescaper" if st in (hc.CSS_DQ, hc.CSS_SQ)
                         else "_html_template_urlnormalizer")
            elif c.url_part == hc.URL_QUERY_OR_FRAG:
                s.append("_html_template_urlescaper")
            else:
                return self.err(f"{n} appears in an ambiguous context within a URL", n, n.line)
        elif st == hc.JS:
            s.append("_html_template_jsvalescaper")
            c = dc_replace(c, js_ctx=hc.JSCTX_DIVOP)
        elif st in (hc.JS_DQ, hc.JS_SQ):
            s.append("_html_template_jsstrescaper")
        elif st == hc.JS_BQ:
            return self.err(f"{n} appears in a JS template literal", n, n.line)
        elif st == hc.JS_REGEXP:
            s.append("_html_template_jsregexpescaper")
        elif st == hc.CSS:
            s.append("_html_template_cssvaluefilter")
        elif st == hc.TEXT:
            s.append("_html_template_htmlescaper")
        elif st == hc.RCDATA:
            s.append("_html_template_rcdataescaper")
        elif st == hc.ATTR:
            pass
        elif st in (hc.ATTR_NAME, hc.TAG):
            c = dc_replace(c, state=hc.ATTR_NAME)
            s.append("_html_template_htmlnamefilter")
        elif st == hc.SRCSET:
            return self.err(f"{n} appears in a srcset attribute, which opsctl's html/template port does not "
                            "support", n, n.line)
        elif hc.is_comment(st):
            s.append("_html_template_commentescaper")
        else:
            return self.err(f"unexpected state {st}", n, n.line)
        if c.delim == hc.DELIM_SPACE:
            s.append("_html_template_nospaceescaper")
        elif c.delim != hc.DELIM_NONE:
            s.append("_html_template_attrescaper")
        self.action_edits[id(n)] = (n, s)
        return c

    def escape_branch(self, c: Context, n: BranchNode, name: str) -> Context:
        if name == "range":
            self.range_ctx = _RangeContext(self.range_ctx)
        c0 = self.escape_list(c, n.list)
        if name == "range":
            assert self.range_ctx is not None
            if c0.state != hc.ERROR:
                c0 = self.join_range(c0, self.range_ctx)
            self.range_ctx = self.range_ctx.outer
            if c0.state == hc.ERROR:
                return c0
            # the body of a range can run more than once: running it twice must end in the same context
            self.range_ctx = _RangeContext(self.range_ctx)
            c1, _ = self.escape_list_conditionally(c0, n.list, None)
            c0 = join(c0, c1, n, name, self.tree)
            if c0.state == hc.ERROR:
                self.range_ctx = self.range_ctx.outer
                assert c0.err is not None
                c0.err.line = n.line
                c0.err.description = "on range loop re-entry: " + c0.err.description
                return c0
            c0 = self.join_range(c0, self.range_ctx)
            self.range_ctx = self.range_ctx.outer
            if c0.state == hc.ERROR:
                return c0
        c1 = self.escape_list(c, n.else_list)
        return join(c0, c1, n, name, self.tree)

    def join_range(self, c0: Context, rc: _RangeContext) -> Context:
        for what, items in (("break", rc.breaks), ("continue", rc.continues)):
            for c, node in items:
                c0 = join(c0, c, node, "range", self.tree)
                if c0.state == hc.ERROR:
                    assert c0.err is not None
                    c0.err.line = getattr(node, "line", 0)
                    c0.err.description = f"at range loop {what}: " + c0.err.description
                    return c0
        return c0

    def escape_list(self, c: Context, n: ListNode | None) -> Context:
        if n is None:
            return c
        for m in n.nodes:
            c = self.escape(c, m)
            if c.state == hc.DEAD:
                break
        return c

    def escape_list_conditionally(self, c: Context, n: ListNode,
                                  flt: Callable[[_Escaper, Context], bool] | None) -> tuple[Context, bool]:
        e1 = self.child()
        c = e1.escape_list(c, n)
        ok = flt is not None and flt(e1, c)
        if ok:
            self.output.update(e1.output)
            self.derived.update(e1.derived)
            self.called |= e1.called
            self.action_edits.update(e1.action_edits)
            self.template_edits.update(e1.template_edits)
            self.text_edits.update(e1.text_edits)
        return c, ok

    def escape_template(self, c: Context, n: TemplateNode) -> Context:
        c, name = self.escape_tree(c, n, n.name, n.line)
        if name != n.name:
            self.template_edits[id(n)] = (n, name)
        return c

    def escape_tree(self, c: Context, node: Node | None, name: str, line: int) -> tuple[Context, str]:
        dname = c.mangle(name)
        self.called.add(dname)
        if dname in self.output:
            return self.output[dname], dname
        t = self.template(name)
        if t is None or t.root is None:
            if t is not None:
                return self.err(f"{go_quote(name)} is an incomplete or empty template", node, line), dname
            return self.err(f"no such template {go_quote(name)}", node, line), dname
        if dname != name:
            dt = self.template(dname)
            if dt is None:
                dt = copy.copy(t)
                dt.name = dname
                dt.root = copy_list(t.root)
                self.derived[dname] = dt
            t = dt
        return self.compute_out_ctx(c, t), dname

    def compute_out_ctx(self, c: Context, t: Tree) -> Context:
        c1, ok = self.escape_template_body(c, t)
        if not ok:
            c2, ok2 = self.escape_template_body(c1, t)
            if ok2:
                c1, ok = c2, True
        if not ok and c1.state != hc.ERROR:
            return error_context(f"cannot compute output context for template {t.name}", t.root, t)
        return c1

    def escape_template_body(self, c: Context, t: Tree) -> tuple[Context, bool]:
        def flt(e1: _Escaper, c1: Context) -> bool:
            if c1.state == hc.ERROR:
                return False
            if t.name not in e1.called:
                return True
            return c == c1

        self.output[t.name] = c
        saved = self.tree
        self.tree = t
        try:
            assert t.root is not None
            return self.escape_list_conditionally(c, t.root, flt)
        finally:
            self.tree = saved

    def escape_text(self, c: Context, n: TextNode) -> Context:
        s, written, i = n.text, 0, 0
        b: list[str] = []
        while i != len(s):
            c1, nread = hc.context_after_text(c, s[i:])
            i1 = i + nread
            if c.state in (hc.TEXT, hc.RCDATA):
                end = i1
                if c1.state != c.state:
                    k = s.rfind("<", i, end)
                    if k != -1:
                        end = k
                j = s.find("<", i, end)
                while j != -1:
                    if not s[j:j + 9].upper().startswith("<!DOCTYPE"):
                        b.append(s[written:j])
                        b.append("&lt;")
                        written = j + 1
                    j = s.find("<", j + 1, end)
            elif hc.is_comment(c.state) and c.delim == hc.DELIM_NONE:
                if c.state == hc.JS_BLOCK_CMT:
                    b.append("\n" if any(ch in s[written:i1] for ch in "\n\r\u2028\u2029") else " ")
                elif c.state == hc.CSS_BLOCK_CMT:
                    b.append(" ")
                written = i1
            if c.state != c1.state and hc.is_comment(c1.state) and c1.delim == hc.DELIM_NONE:
                cs = i1 - 2
                if c1.state == hc.HTML_CMT:
                    cs -= 2
                b.append(s[written:cs])
                written = i1
            if i == i1 and c.state == c1.state:
                raise TemplateError(f"html/template: infinite loop from {c} to {c1}",
                                    message=f"infinite loop from {c} to {c1}")
            c, i = c1, i1
        if written != 0 and c.state != hc.ERROR:
            if not hc.is_comment(c.state) or c.delim != hc.DELIM_NONE:
                b.append(n.text[written:])
            self.text_edits[id(n)] = (n, "".join(b))
        return c

    def commit(self) -> dict[str, Tree]:
        out = {**self.src, **self.copied, **self.derived}
        for n, s in self.action_edits.values():
            ensure_pipeline_contains(n.pipe, s)
        for tn, name in self.template_edits.values():
            tn.name = name
        for xn, text in self.text_edits.values():
            xn.text = text
        return out


def copy_list(n: ListNode) -> ListNode:
    """Go's ListNode.CopyList for what the escaper edits: fresh list, text, action (with its pipeline's
    command list) and template nodes; expressions inside are shared (never edited)."""
    return ListNode(n.pos, [_copy_node(x) for x in n.nodes])


def _copy_node(n: Node) -> Node:
    if isinstance(n, TextNode):
        return TextNode(n.pos, n.text)
    if isinstance(n, ActionNode):
        pipe = copy.copy(n.pipe)
        pipe.cmds = [CommandNode(c.pos, list(c.args)) for c in n.pipe.cmds]
        return ActionNode(n.pos, n.line, pipe)
    if isinstance(n, ListNode):
        return copy_list(n)
    if isinstance(n, BranchNode):
        return type(n)(n.pos, n.line, n.pipe, copy_list(n.list),
                       None if n.else_list is None else copy_list(n.else_list), n.keyword)
    if isinstance(n, TemplateNode):
        return TemplateNode(n.pos, n.line, n.name, n.pipe)
    return n


def join(a: Context, b: Context, node: Node, name: str, tree: Tree | None) -> Context:
    if a.state == hc.ERROR:
        return a
    if b.state == hc.ERROR:
        return b
    if a.state == hc.DEAD:
        return b
    if b.state == hc.DEAD:
        return a
    if a == b:
        return a
    c = dc_replace(a, url_part=b.url_part)
    if c == b:
        return dc_replace(c, url_part=hc.URL_UNKNOWN)
    c = dc_replace(a, js_ctx=b.js_ctx)
    if c == b:
        return dc_replace(c, js_ctx=hc.JSCTX_UNKNOWN)
    c, d = nudge(a), nudge(b)
    if not (c == a and d == b):
        e = join(c, d, node, name, tree)
        if e.state != hc.ERROR:
            return e
    return error_context(f"{{{{{name}}}}} branches end in different contexts: {a}, {b}", node, tree)


def _error(err: HTMLError, name: str) -> TemplateError:
    err.name = name
    if err.node is not None and err.tree is not None:
        tree = err.tree
        b = tree.text.encode("utf-8", "surrogateescape")[: err.node.pos]
        nl = b.rfind(b"\n")
        line = 1 + b.count(b"\n")
        byte_num = len(b) if nl < 0 else len(b) - nl - 1
        col = len(b[nl + 1:].decode("utf-8", "replace")) + 1
        text = f"html/template:{tree.parse_name}:{line}:{byte_num}: {err.description}"
        return TemplateError(text, name=tree.parse_name, line=line, column=col, message=err.description)
    if err.line:
        return TemplateError(f"html/template:{name}:{err.line}: {err.description}", name=name, line=err.line,
                             message=err.description)
    return TemplateError(f"html/template:{name}: {err.description}", name=name, message=err.description)


def escape_trees(trees: dict[str, Tree], name: str) -> dict[str, Tree]:
    """Escape template ``name`` of the set ``trees`` (and every template it calls) for html output, as Go's
    html/template does on Execute. Returns a new set (copied trees, plus the derived templates); the input is
    not modified. Raises TemplateError with Go's html/template error text."""
    e = _Escaper(trees)
    c, _ = e.escape_tree(Context(), None, name, 0)
    if c.err is not None:
        raise _error(c.err, name)
    if c.state != hc.TEXT:
        desc = f"ends in a non-text context: {c}"
        raise TemplateError(f"html/template:{name}: {desc}", name=name, message=desc)
    return e.commit()


__all__ = ["ESCAPER_FUNCS", "FILTER_FAILSAFE", "ensure_pipeline_contains", "escape_trees", "stringify"]
