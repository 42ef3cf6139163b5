"""html/template contexts and text transitions (port of Go 1.19.8 html/template context.go, transition.go,
attr.go and the context helpers of js.go/css.go). A context says where in an HTML document the template
output currently is (text, a tag, an attribute value, a URL, a script, a style sheet, a comment, ...)."""

from __future__ import annotations

import html as htmlmod
import re
from dataclasses import dataclass, replace
from typing import Any

from opsctl.gotemplate.lexer import go_quote

# states (Go's state enum; the names are what Go prints)
TEXT, TAG, ATTR_NAME, AFTER_NAME, BEFORE_VALUE = "stateText", "stateTag", "stateAttrName", "stateAfterName", \
    "stateBeforeValue"
HTML_CMT, RCDATA, ATTR, URL, SRCSET = "stateHTMLCmt", "stateRCDATA", "stateAttr", "stateURL", "stateSrcset"
JS, JS_DQ, JS_SQ, JS_BQ, JS_REGEXP = "stateJS", "stateJSDqStr", "stateJSSqStr", "stateJSBqStr", "stateJSRegexp"
JS_BLOCK_CMT, JS_LINE_CMT = "stateJSBlockCmt", "stateJSLineCmt"
CSS, CSS_DQ, CSS_SQ, CSS_DQ_URL, CSS_SQ_URL, CSS_URL = "stateCSS", "stateCSSDqStr", "stateCSSSqStr", \
    "stateCSSDqURL", "stateCSSSqURL", "stateCSSURL"
CSS_BLOCK_CMT, CSS_LINE_CMT = "stateCSSBlockCmt", "stateCSSLineCmt"
ERROR, DEAD = "stateError", "stateDead"

DELIM_NONE, DELIM_DQ, DELIM_SQ, DELIM_SPACE = "delimNone", "delimDoubleQuote", "delimSingleQuote", \
    "delimSpaceOrTagEnd"
URL_NONE, URL_PRE_QUERY, URL_QUERY_OR_FRAG, URL_UNKNOWN = "urlPartNone", "urlPartPreQuery", \
    "urlPartQueryOrFrag", "urlPartUnknown"
JSCTX_REGEXP, JSCTX_DIVOP, JSCTX_UNKNOWN = "jsCtxRegexp", "jsCtxDivOp", "jsCtxUnknown"
ATTR_NONE, ATTR_SCRIPT, ATTR_SCRIPT_TYPE, ATTR_STYLE, ATTR_URL, ATTR_SRCSET = "attrNone", "attrScript", \
    "attrScriptType", "attrStyle", "attrURL", "attrSrcset"
EL_NONE, EL_SCRIPT, EL_STYLE, EL_TEXTAREA, EL_TITLE = "elementNone", "elementScript", "elementStyle", \
    "elementTextarea", "elementTitle"


class HTMLError:
    """html/template.Error (compared by identity, as Go compares the *Error pointers of contexts)."""

    def __init__(self, description: str, node: Any = None, tree: Any = None, line: int = 0) -> None:
        self.description = description
        self.node = node
        self.tree = tree
        self.line = line
        self.name = ""

    def __repr__(self) -> str:
        return f"HTMLError({self.description!r})"


@dataclass(frozen=True)
class Context:
    state: str = TEXT
    delim: str = DELIM_NONE
    url_part: str = URL_NONE
    js_ctx: str = JSCTX_REGEXP
    attr: str = ATTR_NONE
    element: str = EL_NONE
    err: HTMLError | None = None

    def __str__(self) -> str:
        err = "<nil>" if self.err is None else self.err.description
        return (f"{{{self.state} {self.delim} {self.url_part} {self.js_ctx} {self.attr} {self.element} "
                f"{err}}}")

    def mangle(self, name: str) -> str:
        if self.state == TEXT:
            return name
        s = name + "$htmltemplate_" + self.state
        if self.delim != DELIM_NONE:
            s += "_" + self.delim
        if self.url_part != URL_NONE:
            s += "_" + self.url_part
        if self.js_ctx != JSCTX_REGEXP:
            s += "_" + self.js_ctx
        if self.attr != ATTR_NONE:
            s += "_" + self.attr
        if self.element != EL_NONE:
            s += "_" + self.element
        return s


def error_context(description: str, node: Any = None, tree: Any = None, line: int = 0) -> Context:
    return Context(state=ERROR, err=HTMLError(description, node, tree, line))


def is_comment(state: str) -> bool:
    return state in (HTML_CMT, JS_BLOCK_CMT, JS_LINE_CMT, CSS_BLOCK_CMT, CSS_LINE_CMT)


def is_in_tag(state: str) -> bool:
    return state in (TAG, ATTR_NAME, AFTER_NAME, BEFORE_VALUE, ATTR)


# ------------------------------------------------------------------ attr.go

CT_PLAIN, CT_CSS, CT_HTML, CT_HTMLATTR, CT_JS, CT_JSSTR, CT_URL, CT_SRCSET, CT_UNSAFE = range(9)

_ATTR_TYPES: dict[str, int] = {
    **dict.fromkeys((
        "accept", "alt", "autocomplete", "autofocus", "autoplay", "border", "checked", "class", "cols", "colspan",
        "contenteditable", "contextmenu", "controls", "coords", "datetime", "default", "dir", "dirname",
        "disabled", "draggable", "dropzone", "for", "formtarget", "headers", "height", "hidden", "high",
        "hreflang", "id", "ismap", "kind", "label", "lang", "list", "loop", "low", "max", "maxlength", "media",
        "mediagroup", "min", "multiple", "name", "open", "optimum", "placeholder", "preload", "pubdate",
        "radiogroup", "readonly", "required", "reversed", "rows", "rowspan", "spellcheck", "scope", "scoped",
        "seamless", "selected", "shape", "size", "sizes", "span", "srclang", "start", "step", "tabindex",
        "target", "title", "width", "wrap"), CT_PLAIN),
    **dict.fromkeys((
        "accept-charset", "async", "challenge", "charset", "content", "crossorigin", "defer", "enctype", "form",
        "formenctype", "formmethod", "formnovalidate", "http-equiv", "keytype", "language", "method",
        "novalidate", "pattern", "rel", "sandbox", "type", "value"), CT_UNSAFE),
    **dict.fromkeys((
        "action", "archive", "background", "cite", "classid", "codebase", "data", "formaction", "href", "icon",
        "longdesc", "manifest", "poster", "profile", "src", "usemap", "xmlns"), CT_URL),
    "srcdoc": CT_HTML, "srcset": CT_SRCSET, "style": CT_CSS,
}


def attr_type(name: str) -> int:
    if name.startswith("data-"):
        name = name[5:]
    elif ":" in name:
        prefix, _, short = name.partition(":")
        if prefix == "xmlns":
            return CT_URL
        name = short
    t = _ATTR_TYPES.get(name)
    if t is not None:
        return t
    if name.startswith("on"):
        return CT_JS
    if "src" in name or "uri" in name or "url" in name:
        return CT_URL
    return CT_PLAIN


# ------------------------------------------------------------------ js.go / css.go helpers

_REGEXP_PRECEDER_KEYWORDS = {"break", "case", "continue", "delete", "do", "else", "finally", "in", "instanceof",
                             "return", "throw", "try", "typeof", "void"}


def is_js_ident_part(c: str) -> bool:
    return c == "$" or c == "_" or "0" <= c <= "9" or "A" <= c <= "Z" or "a" <= c <= "z"


def next_js_ctx(s: str, preceding: str) -> str:
    s = s.rstrip("\t\n\f\r \u2028\u2029")
    if not s:
        return preceding
    c, n = s[-1], len(s)
    if c in "+-":
        start = n - 1
        while start > 0 and s[start - 1] == c:
            start -= 1
        return JSCTX_REGEXP if (n - start) & 1 == 1 else JSCTX_DIVOP
    if c == ".":
        if n != 1 and "0" <= s[n - 2] <= "9":
            return JSCTX_DIVOP
        return JSCTX_REGEXP
    if c in ",<>=*%&|^?!~([:;{}":
        return JSCTX_REGEXP
    j = n
    while j > 0 and is_js_ident_part(s[j - 1]):
        j -= 1
    if s[j:] in _REGEXP_PRECEDER_KEYWORDS:
        return JSCTX_REGEXP
    return JSCTX_DIVOP


def is_js_type(mime: str) -> bool:
    mime = mime.lower().split(";", 1)[0].strip(" \t\n\r\v\f")
    return mime in {
        "application/ecmascript", "application/javascript", "application/json", "application/x-ecmascript",
        "application/x-javascript", "text/ecmascript", "text/javascript", "text/javascript1.0",
        "text/javascript1.1", "text/javascript1.2", "text/javascript1.3", "text/javascript1.4",
        "text/javascript1.5", "text/jscript", "text/livescript", "text/x-ecmascript", "text/x-javascript"}


def is_css_nmchar(c: str) -> bool:
    r = ord(c)
    return ("a" <= c <= "z" or "A" <= c <= "Z" or "0" <= c <= "9" or c in "-_" or 0x80 <= r <= 0xD7FF
            or 0xE000 <= r <= 0xFFFD or 0x10000 <= r <= 0x10FFFF)


def ends_with_css_keyword(b: str, kw: str) -> bool:
    i = len(b) - len(kw)
    if i < 0:
        return False
    if i != 0 and is_css_nmchar(b[i - 1]):
        return False
    return b[i:].lower() == kw


def _is_hex(c: str) -> bool:
    return c in "0123456789abcdefABCDEF"


def decode_css(s: str) -> str:
    if "\\" not in s:
        return s
    out: list[str] = []
    while s:
        i = s.find("\\")
        if i == -1:
            i = len(s)
        out.append(s[:i])
        s = s[i:]
        if len(s) < 2:
            break
        if _is_hex(s[1]):
            j = 2
            while j < len(s) and j < 7 and _is_hex(s[j]):
                j += 1
            r = int(s[1:j], 16)
            if r > 0x10FFFF:
                r, j = r // 16, j - 1
            out.append(chr(r) if not 0xD800 <= r <= 0xDFFF else "\ufffd")
            s = _skip_css_space(s[j:])
        else:
            out.append(s[1])
            s = s[2:]
    return "".join(out)


def _skip_css_space(c: str) -> str:
    if not c:
        return c
    if c[0] in "\t\n\f ":
        return c[1:]
    if c[0] == "\r":
        return c[2:] if c[1:2] == "\n" else c[1:]
    return c


# ------------------------------------------------------------------ transition.go

_ANY_RES: dict[str, re.Pattern[str]] = {}


def find_any(s: str, chars: str, start: int = 0) -> int:
    """The index of the first of ``chars`` in ``s`` at or after ``start`` (bytes.IndexAny), -1 if none."""
    rx = _ANY_RES.get(chars)
    if rx is None:
        rx = _ANY_RES[chars] = re.compile("[" + re.escape(chars) + "]")
    m = rx.search(s, start)
    return m.start() if m else -1


_WS = " \t\n\f\r"


def eat_white_space(s: str, i: int) -> int:
    j = i
    while j < len(s) and s[j] in _WS:
        j += 1
    return j


def _ascii_alpha(c: str) -> bool:
    return "A" <= c <= "Z" or "a" <= c <= "z"


def _ascii_alnum(c: str) -> bool:
    return _ascii_alpha(c) or "0" <= c <= "9"


_ELEMENTS = {"script": EL_SCRIPT, "style": EL_STYLE, "textarea": EL_TEXTAREA, "title": EL_TITLE}


def eat_tag_name(s: str, i: int) -> tuple[int, str]:
    if i == len(s) or not _ascii_alpha(s[i]):
        return i, EL_NONE
    j = i + 1
    while j < len(s):
        x = s[j]
        if _ascii_alnum(x):
            j += 1
            continue
        if x in ":-" and j + 1 < len(s) and _ascii_alnum(s[j + 1]):
            j += 2
            continue
        break
    return j, _ELEMENTS.get(s[i:j].lower(), EL_NONE)


def eat_attr_name(s: str, i: int) -> tuple[int, HTMLError | None]:
    for j in range(i, len(s)):
        c = s[j]
        if c in " \t\n\f\r=>":
            return j, None
        if c in "'\"<":
            return -1, HTMLError(f"{go_quote(c)} in attribute name: {go_quote(s[:32])}")
    return len(s), None


def t_text(c: Context, s: str) -> tuple[Context, int]:
    k = 0
    while True:
        i = s.find("<", k)
        if i < 0 or i + 1 == len(s):
            return c, len(s)
        if s.startswith("<!--", i):
            return Context(state=HTML_CMT), i + 4
        i += 1
        end = False
        if s[i] == "/":
            if i + 1 == len(s):
                return c, len(s)
            end, i = True, i + 1
        j, e = eat_tag_name(s, i)
        if j != i:
            if end:
                e = EL_NONE
            return Context(state=TAG, element=e), j
        k = j


_ELEMENT_CONTENT = {EL_NONE: TEXT, EL_SCRIPT: JS, EL_STYLE: CSS, EL_TEXTAREA: RCDATA, EL_TITLE: RCDATA}


def t_tag(c: Context, s: str) -> tuple[Context, int]:
    i = eat_white_space(s, 0)
    if i == len(s):
        return c, len(s)
    if s[i] == ">":
        return Context(state=_ELEMENT_CONTENT[c.element], element=c.element), i + 1
    j, err = eat_attr_name(s, i)
    if err is not None:
        return Context(state=ERROR, err=err), len(s)
    if i == j:
        return error_context(f"expected space, attr name, or end of tag, but got {go_quote(s[i:])}"), len(s)
    name = s[i:j].lower()
    attr = ATTR_NONE
    if c.element == EL_SCRIPT and name == "type":
        attr = ATTR_SCRIPT_TYPE
    else:
        attr = {CT_URL: ATTR_URL, CT_CSS: ATTR_STYLE, CT_JS: ATTR_SCRIPT, CT_SRCSET: ATTR_SRCSET}.get(
            attr_type(name), ATTR_NONE)
    state = ATTR_NAME if j == len(s) else AFTER_NAME
    return Context(state=state, element=c.element, attr=attr), j


def t_attr_name(c: Context, s: str) -> tuple[Context, int]:
    i, err = eat_attr_name(s, 0)
    if err is not None:
        return Context(state=ERROR, err=err), len(s)
    if i != len(s):
        c = replace(c, state=AFTER_NAME)
    return c, i


def t_after_name(c: Context, s: str) -> tuple[Context, int]:
    i = eat_white_space(s, 0)
    if i == len(s):
        return c, len(s)
    if s[i] != "=":
        return replace(c, state=TAG), i
    return replace(c, state=BEFORE_VALUE), i + 1


ATTR_START_STATES = {ATTR_NONE: ATTR, ATTR_SCRIPT: JS, ATTR_SCRIPT_TYPE: ATTR, ATTR_STYLE: CSS, ATTR_URL: URL,
                     ATTR_SRCSET: SRCSET}


def t_before_value(c: Context, s: str) -> tuple[Context, int]:
    i = eat_white_space(s, 0)
    if i == len(s):
        return c, len(s)
    delim = DELIM_SPACE
    if s[i] == "'":
        delim, i = DELIM_SQ, i + 1
    elif s[i] == '"':
        delim, i = DELIM_DQ, i + 1
    return replace(c, state=ATTR_START_STATES[c.attr], delim=delim), i


def t_html_cmt(c: Context, s: str) -> tuple[Context, int]:
    i = s.find("-->")
    if i != -1:
        return Context(), i + 3
    return c, len(s)


_SPECIAL_END = {EL_SCRIPT: "script", EL_STYLE: "style", EL_TEXTAREA: "textarea", EL_TITLE: "title"}


def index_tag_end(s: str, tag: str) -> int:
    res = 0
    while s:
        i = s.find("</")
        if i == -1:
            return -1
        s = s[i + 2:]
        if len(tag) <= len(s) and s[:len(tag)].lower() == tag:
            s = s[len(tag):]
            if s and s[0] in "> \t\n\f/":
                return res + i
            res += len(tag)
        res += i + 2
    return -1


def t_special_tag_end(c: Context, s: str) -> tuple[Context, int]:
    if c.element != EL_NONE:
        i = index_tag_end(s, _SPECIAL_END[c.element])
        if i != -1:
            return Context(), i
    return c, len(s)


def t_attr(c: Context, s: str) -> tuple[Context, int]:
    return c, len(s)


def t_url(c: Context, s: str) -> tuple[Context, int]:
    if "#" in s or "?" in s:
        c = replace(c, url_part=URL_QUERY_OR_FRAG)
    elif len(s) != eat_white_space(s, 0) and c.url_part == URL_NONE:
        c = replace(c, url_part=URL_PRE_QUERY)
    return c, len(s)


def t_js(c: Context, s: str) -> tuple[Context, int]:
    i = find_any(s, "\"'`/")
    if i == -1:
        return replace(c, js_ctx=next_js_ctx(s, c.js_ctx)), len(s)
    c = replace(c, js_ctx=next_js_ctx(s[:i], c.js_ctx))
    ch = s[i]
    if ch == '"':
        c = replace(c, state=JS_DQ, js_ctx=JSCTX_REGEXP)
    elif ch == "'":
        c = replace(c, state=JS_SQ, js_ctx=JSCTX_REGEXP)
    elif ch == "`":
        c = replace(c, state=JS_BQ, js_ctx=JSCTX_REGEXP)
    else:  # '/'
        if i + 1 < len(s) and s[i + 1] == "/":
            c, i = replace(c, state=JS_LINE_CMT), i + 1
        elif i + 1 < len(s) and s[i + 1] == "*":
            c, i = replace(c, state=JS_BLOCK_CMT), i + 1
        elif c.js_ctx == JSCTX_REGEXP:
            c = replace(c, state=JS_REGEXP)
        elif c.js_ctx == JSCTX_DIVOP:
            c = replace(c, js_ctx=JSCTX_REGEXP)
        else:
            return error_context(f"'/' could start a division or regexp: {go_quote(s[i:i + 32])}"), len(s)
    return c, i + 1


def t_js_delimited(c: Context, s: str) -> tuple[Context, int]:
    specials = {JS_SQ: "\\'", JS_BQ: "`\\", JS_REGEXP: "\\/[]"}.get(c.state, '\\"')
    k, in_charset = 0, False
    while True:
        i = find_any(s, specials, k)
        if i < 0:
            break
        ch = s[i]
        if ch == "\\":
            i += 1
            if i == len(s):
                return error_context(f"unfinished escape sequence in JS string: {go_quote(s)}"), len(s)
        elif ch == "[":
            in_charset = True
        elif ch == "]":
            in_charset = False
        elif not in_charset:
            return replace(c, state=JS, js_ctx=JSCTX_DIVOP), i + 1
        k = i + 1
    if in_charset:
        return error_context(f"unfinished JS regexp charset: {go_quote(s)}"), len(s)
    return c, len(s)


def t_block_cmt(c: Context, s: str) -> tuple[Context, int]:
    i = s.find("*/")
    if i == -1:
        return c, len(s)
    return replace(c, state=JS if c.state == JS_BLOCK_CMT else CSS), i + 2


def t_line_cmt(c: Context, s: str) -> tuple[Context, int]:
    if c.state == JS_LINE_CMT:
        terms, end = "\n\r\u2028\u2029", JS
    else:
        terms, end = "\n\f\r", CSS
    i = find_any(s, terms)
    if i == -1:
        return c, len(s)
    return replace(c, state=end), i


def t_css(c: Context, s: str) -> tuple[Context, int]:
    k = 0
    while True:
        i = find_any(s, "(\"'/", k)
        if i < 0:
            return c, len(s)
        ch = s[i]
        if ch == "(":
            p = s[:i].rstrip("\t\n\f\r ")
            if ends_with_css_keyword(p, "url"):
                j = len(s) - len(s[i + 1:].lstrip("\t\n\f\r "))
                if j != len(s) and s[j] == '"':
                    c, j = replace(c, state=CSS_DQ_URL), j + 1
                elif j != len(s) and s[j] == "'":
                    c, j = replace(c, state=CSS_SQ_URL), j + 1
                else:
                    c = replace(c, state=CSS_URL)
                return c, j
        elif ch == "/":
            if i + 1 < len(s):
                if s[i + 1] == "/":
                    return replace(c, state=CSS_LINE_CMT), i + 2
                if s[i + 1] == "*":
                    return replace(c, state=CSS_BLOCK_CMT), i + 2
        elif ch == '"':
            return replace(c, state=CSS_DQ), i + 1
        elif ch == "'":
            return replace(c, state=CSS_SQ), i + 1
        k = i + 1


def t_css_str(c: Context, s: str) -> tuple[Context, int]:
    if c.state in (CSS_DQ, CSS_DQ_URL):
        end_and_esc = '\\"'
    elif c.state in (CSS_SQ, CSS_SQ_URL):
        end_and_esc = "\\'"
    else:
        end_and_esc = "\\\t\n\f\r )"
    k = 0
    while True:
        i = find_any(s, end_and_esc, k)
        if i < 0:
            c2, nread = t_url(c, decode_css(s[k:]))
            return c2, k + nread
        if s[i] == "\\":
            i += 1
            if i == len(s):
                return error_context(f"unfinished escape sequence in CSS string: {go_quote(s)}"), len(s)
        else:
            return replace(c, state=CSS), i + 1
        c, _ = t_url(c, decode_css(s[:i + 1]))
        k = i + 1


def t_error(c: Context, s: str) -> tuple[Context, int]:
    return c, len(s)


TRANSITIONS: dict[str, Any] = {
    TEXT: t_text, TAG: t_tag, ATTR_NAME: t_attr_name, AFTER_NAME: t_after_name, BEFORE_VALUE: t_before_value,
    HTML_CMT: t_html_cmt, RCDATA: t_special_tag_end, ATTR: t_attr, URL: t_url, SRCSET: t_url, JS: t_js,
    JS_DQ: t_js_delimited, JS_SQ: t_js_delimited, JS_BQ: t_js_delimited, JS_REGEXP: t_js_delimited,
    JS_BLOCK_CMT: t_block_cmt, JS_LINE_CMT: t_line_cmt, CSS: t_css, CSS_DQ: t_css_str, CSS_SQ: t_css_str,
    CSS_DQ_URL: t_css_str, CSS_SQ_URL: t_css_str, CSS_URL: t_css_str, CSS_BLOCK_CMT: t_block_cmt,
    CSS_LINE_CMT: t_line_cmt, ERROR: t_error,
}

DELIM_ENDS = {DELIM_DQ: '"', DELIM_SQ: "'", DELIM_SPACE: " \t\n\f\r>"}


def _index_any(s: str, chars: str) -> int:
    return find_any(s, chars)


def context_after_text(c: Context, s: str) -> tuple[Context, int]:
    """contextAfterText: consume some of ``s`` from context ``c``; the new context and the count consumed."""
    if c.delim == DELIM_NONE:
        c1, i = t_special_tag_end(c, s)
        if i == 0:
            return c1, 0
        fn = TRANSITIONS[c.state]
        c2, n = fn(c, s[:i])
        return c2, n
    i = _index_any(s, DELIM_ENDS[c.delim])
    if i == -1:
        i = len(s)
    if c.delim == DELIM_SPACE:
        j = _index_any(s[:i], "\"'<=`")
        if j >= 0:
            return error_context(f"{go_quote(s[j])} in unquoted attr: {go_quote(s[:i])}"), len(s)
    if i == len(s):
        u = htmlmod.unescape(s)
        while u:
            c1, i1 = TRANSITIONS[c.state](c, u)
            c, u = c1, u[i1:]
        return c, len(s)
    element = c.element
    if c.state == ATTR and c.element == EL_SCRIPT and c.attr == ATTR_SCRIPT_TYPE and not is_js_type(s[:i]):
        element = EL_NONE
    if c.delim != DELIM_SPACE:
        i += 1
    return Context(state=TAG, element=element), i


def nudge(c: Context) -> Context:
    if c.state == TAG:
        return replace(c, state=ATTR_NAME)
    if c.state == BEFORE_VALUE:
        return replace(c, state=ATTR_START_STATES[c.attr], delim=DELIM_SPACE, attr=ATTR_NONE)
    if c.state == AFTER_NAME:
        return replace(c, state=ATTR_NAME, attr=ATTR_NONE)
    return c
