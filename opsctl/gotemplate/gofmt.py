"""Go's fmt package, as far as templates need it: %v printing of values, Sprint, Sprintln, Sprintf.

Go types are modelled by Python values: None=nil, bool, int, float=float64, complex=complex128, str=string,
list/tuple=slice, dict=map (sorted keys when printed, as Go's fmt does), other objects=structs (their
``__str__`` is used when the class defines one, like a Go fmt.Stringer).
"""

from __future__ import annotations

import dataclasses
import math
import struct
from decimal import Decimal
from typing import Any

from opsctl.gotemplate.lexer import go_quote, is_go_print


class StrMap(dict[str, str]):
    """A Go ``map[string]string`` (label sets): a missing key reads as the zero value "" when the
    template uses missingkey=zero (Prometheus, Alertmanager), and ``index`` yields "" for it."""

    gotype = "map[string]string"


class GoSlice(list[Any]):
    """A list with a Go type name (used in error messages and %T)."""

    gotype = "[]interface {}"


def go_type(v: Any) -> str:
    if v is None:
        return "<nil>"
    gt0 = getattr(type(v), "gotype", None)
    if isinstance(gt0, str):
        return gt0
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "int"
    if isinstance(v, float):
        return "float64"
    if isinstance(v, complex):
        return "complex128"
    if isinstance(v, str):
        return "string"
    gt = getattr(type(v), "gotype", None)
    if isinstance(gt, str):
        return gt
    if isinstance(v, (list, tuple)):
        if v and all(isinstance(x, str) for x in v):
            return "[]string"
        return "[]interface {}"
    if isinstance(v, dict):
        return "map[string]interface {}"
    if isinstance(v, (bytes, bytearray)):
        return "[]uint8"
    if callable(v):
        return "func(...) interface {}"
    return type(v).__name__


def is_stringer(v: Any) -> bool:
    if isinstance(v, (str, bool, int, float, complex, list, tuple, dict)) or v is None:
        return False
    return (type(v).__str__ is not object.__str__ and not dataclasses.is_dataclass(v)) or \
        (dataclasses.is_dataclass(v) and "__str__" in type(v).__dict__)


# ---------------------------------------------------------------- floats

def _shortest_digits(v: float) -> tuple[str, int]:
    """Shortest round-trip decimal digits and decimal point position: v = 0.DIGITS * 10**dp."""
    if v == 0:
        return "0", 1
    t = Decimal(repr(abs(v))).normalize().as_tuple()
    digits = "".join(str(d) for d in t.digits)
    exp = int(t.exponent)
    digits = digits.rstrip("0") or "0"
    # value = int(digits_orig) * 10**exp ; dp = len(digits_orig) + exp
    dp = len("".join(str(d) for d in t.digits)) + exp
    return digits, dp


def _fmt_e(neg: bool, digits: str, dp: int, prec: int, ech: str) -> str:
    """strconv fmtE with given digits (already rounded), prec digits after the point (-1: all)."""
    first = digits[0] if digits else "0"
    s = "-" if neg else ""
    s += first
    if prec < 0:
        prec = len(digits) - 1
    if prec > 0:
        rest = digits[1:1 + prec]
        rest += "0" * (prec - len(rest))
        s += "." + rest
    exp = dp - 1 if digits != "0" else 0
    sign = "+" if exp >= 0 else "-"
    exp = abs(exp)
    s += ech + sign + (f"{exp:02d}")
    return s


def _fmt_f(neg: bool, digits: str, dp: int, prec: int) -> str:
    s = "-" if neg else ""
    if dp > 0:
        ip = digits[:dp] + "0" * max(0, dp - len(digits))
    else:
        ip = "0"
    s += ip
    if prec > 0:
        frac = []
        for i in range(prec):
            j = dp + i
            frac.append(digits[j] if 0 <= j < len(digits) else "0")
        s += "." + "".join(frac)
    return s


def format_float(v: float, verb: str, prec: int) -> str:
    """strconv.FormatFloat(v, verb, prec, 64)."""
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    neg = math.copysign(1.0, v) < 0
    a = abs(v)
    if verb in "xX":
        if a == 0:
            body = "0x0" + ("." + "0" * prec if prec > 0 else "") + "p+00"
        else:
            m, e2 = math.frexp(a)
            mant = int(m * 2 * (1 << 52))  # 1.xxx * 2**(e2-1), 52 fraction bits
            ex = e2 - 1
            if 0 <= prec < 13:
                shift = 52 - 4 * prec
                q, r = divmod(mant, 1 << shift)
                half = 1 << (shift - 1)
                if r > half or (r == half and q & 1):
                    q += 1
                mant = q << shift
                if mant >= 1 << 53:
                    mant >>= 1
                    ex += 1
            frac = f"{mant & ((1 << 52) - 1):013x}"
            if prec < 0:
                frac = frac.rstrip("0")
            else:
                frac = (frac + "0" * prec)[:prec]
            body = "0x1" + ("." + frac if frac else "") + "p" + ("+" if ex >= 0 else "-") + f"{abs(ex):02d}"
        if verb == "X":
            body = body.upper()
        return ("-" if neg else "") + body
    if verb == "b":
        bits = struct.unpack("<Q", struct.pack("<d", a))[0]
        bexp = (bits >> 52) & 0x7FF
        mant = bits & ((1 << 52) - 1)
        if bexp == 0:
            bexp = 1  # denormal (and zero)
        else:
            mant |= 1 << 52
        return ("-" if neg else "") + f"{mant}p{bexp - 1023 - 52:+d}"
    if prec < 0:
        digits, dp = _shortest_digits(a)
        if verb in "eE":
            return _fmt_e(neg, digits, dp, -1, verb)
        if verb in "fF":
            return _fmt_f(neg, digits, dp, max(len(digits) - dp, 0))
        # g / G
        x10 = dp - 1
        if digits == "0":
            x10 = 0
        if x10 < -4 or x10 >= 6:
            return _fmt_e(neg, digits, dp, len(digits) - 1, "e" if verb == "g" else "E")
        return _fmt_f(neg, digits, dp, max(len(digits) - dp, 0))
    if verb in "eE":
        s = f"{a:.{prec}e}"
        if verb == "E":
            s = s.upper()
        return ("-" if neg else "") + s
    if verb in "fF":
        return ("-" if neg else "") + f"{a:.{prec}f}"
    # g with precision
    p = prec if prec > 0 else 1
    s = f"{a:.{p}g}"
    if verb == "G":
        s = s.upper()
    return ("-" if neg else "") + s


def format_v(v: Any, deref: bool = False) -> str:
    """fmt.Sprint of a single value (%v). ``deref``: print a pointer's target (template actions do)."""
    p = _Printer()
    p.deref = deref
    return p.print_arg_str(v, "v")


def sprint(*args: Any) -> str:
    out = []
    prev_string = False
    for i, a in enumerate(args):
        is_string = isinstance(a, str)
        if i > 0 and not is_string and not prev_string:
            out.append(" ")
        out.append(format_v(a))
        prev_string = is_string
    return "".join(out)


def sprintln(*args: Any) -> str:
    return " ".join(format_v(a) for a in args) + "\n"


def sprintf(format: str, *args: Any) -> str:
    return _Printer().do_printf(format, list(args))


class _Flags:
    __slots__ = (
        "minus",
        "plus",
        "plus_v",
        "prec",
        "prec_present",
        "sharp",
        "sharp_v",
        "space",
        "wid",
        "wid_present",
        "zero",
    )

    def __init__(self) -> None:
        self.plus = self.minus = self.sharp = self.space = self.zero = False
        self.wid = self.prec = 0
        self.wid_present = self.prec_present = False
        self.plus_v = self.sharp_v = False


class _Printer:
    def __init__(self) -> None:
        self.f = _Flags()
        self.buf: list[str] = []
        self.deref = False

    # -- padding
    def _pad(self, s: str) -> str:
        f = self.f
        if not f.wid_present or f.wid == 0:
            return s
        width = f.wid - len(s)
        if width <= 0:
            return s
        padc = "0" if f.zero else " "
        if not f.minus:
            return padc * width + s
        return s + " " * width

    def _padding(self, n: int) -> str:
        if n <= 0:
            return ""
        return ("0" if self.f.zero else " ") * n

    def print_arg_str(self, arg: Any, verb: str) -> str:
        self.buf = []
        self.print_arg(arg, verb, 0)
        return "".join(self.buf)

    def bad_verb(self, verb: str, arg: Any) -> None:
        self.buf.append("%!" + verb + "(")
        if arg is None:
            self.buf.append("<nil>")
        else:
            self.buf.append(go_type(arg) + "=")
            self.print_arg(arg, "v", 0)  # with the verb's flags, as Go does (%.2f of 1 -> %!f(int=01))
        self.buf.append(")")

    def print_arg(self, arg: Any, verb: str, depth: int) -> None:
        if arg is None:
            if verb in ("T", "v"):
                self.buf.append(self._pad("<nil>"))
            else:
                self.bad_verb(verb, arg)
            return
        if verb == "T":
            self.buf.append(self._pad(self._truncate(go_type(arg))))
            return
        if isinstance(arg, bool):
            if verb in ("t", "v"):
                self.buf.append(self._pad("true" if arg else "false"))
            else:
                self.bad_verb(verb, arg)
            return
        if isinstance(arg, int):
            self.fmt_integer(arg, verb)
            return
        if isinstance(arg, float):
            self.fmt_float(arg, verb)
            return
        if isinstance(arg, complex):
            self.fmt_complex(arg, verb)
            return
        if isinstance(arg, str):
            self.fmt_string(arg, verb)
            return
        if isinstance(arg, (bytes, bytearray)):
            if verb in ("s", "q", "x", "X"):
                self.fmt_string(bytes(arg).decode("utf-8", "surrogateescape"), verb)
                return
            self.print_value(list(arg), verb, depth)
            return
        if self.f.sharp_v and verb == "v":
            gs = getattr(arg, "GoString", None)
            if callable(gs):
                self.buf.append(self._pad(str(gs())))
                return
            self.print_value(arg, verb, depth)
            return
        if is_stringer(arg) and verb in ("v", "s", "x", "X", "q"):
            try:
                s = str(arg)
            except Exception as exc:
                s = f"%!{verb}(PANIC=String method: {exc})"
                self.buf.append(s)
                return
            self.fmt_string(s, verb)
            return
        self.print_value(arg, verb, depth)

    def print_value(self, v: Any, verb: str, depth: int) -> None:
        if (depth > 0 and isinstance(v, (str, int, float, bool, complex))) or v is None:
            self.print_arg(v, verb, depth)
            return
        sharp_v = self.f.sharp_v
        if isinstance(v, dict):
            self.buf.append(go_type(v) + "{" if sharp_v else "map[")
            for i, k in enumerate(sorted(v.keys(), key=_sort_key)):
                if i > 0:
                    self.buf.append(", " if sharp_v else " ")
                self.print_value(k, verb, depth + 1)
                self.buf.append(":")
                self._print_elem(v[k], verb, depth + 1)
            self.buf.append("}" if sharp_v else "]")
            return
        if isinstance(v, (list, tuple)):
            self.buf.append(go_type(v) + "{" if sharp_v else "[")
            for i, x in enumerate(v):
                if i > 0:
                    self.buf.append(", " if sharp_v else " ")
                self._print_elem(x, verb, depth + 1)
            self.buf.append("}" if sharp_v else "]")
            return
        if depth > 0 and (isinstance(v, (bytes, bytearray)) or is_stringer(v)):
            self.print_arg(v, verb, depth)
            return
        if dataclasses.is_dataclass(v) and not isinstance(v, type):
            if depth == 0 and getattr(type(v), "goptr", False) and not self.deref:
                self.buf.append("&")  # a pointer to a struct prints as &{...} at top level
            if sharp_v:
                self.buf.append(go_type(v).lstrip("*"))
            self.buf.append("{")
            for i, fld in enumerate(dataclasses.fields(v)):
                if i > 0:
                    self.buf.append(", " if sharp_v else " ")
                if self.f.plus_v or sharp_v:
                    self.buf.append(fld.name + ":")
                self.print_value(getattr(v, fld.name), verb, depth + 1)
            self.buf.append("}")
            return
        if callable(v):
            self.buf.append(self._pad("0x" + format(id(v), "x")))
            return
        self.fmt_string(str(v), "v" if verb not in ("s", "q", "x", "X") else verb)

    def _print_elem(self, x: Any, verb: str, depth: int) -> None:
        """An element of an interface{}-typed container: a nil one is <nil> (interface {}(nil) with %#v)."""
        if x is None and self.f.sharp_v:
            self.buf.append("interface {}(nil)")
            return
        self.print_value(x, verb, depth)

    # -- integers
    def fmt_integer(self, v: int, verb: str) -> None:
        if verb in ("v", "d"):
            self._integer(v, 10, verb, "0123456789abcdefx")
        elif verb == "b":
            self._integer(v, 2, verb, "0123456789abcdefx")
        elif verb in ("o", "O"):
            self._integer(v, 8, verb, "0123456789abcdefx")
        elif verb == "x":
            self._integer(v, 16, verb, "0123456789abcdefx")
        elif verb == "X":
            self._integer(v, 16, verb, "0123456789ABCDEFX")
        elif verb == "c":
            self.buf.append(self._pad(_rune(v)))
        elif verb == "q":
            q = _quote_rune(v)
            self.buf.append(self._pad(_ascii_quote_rune(q) if self.f.plus else q))
        elif verb == "U":
            digits = self.f.prec if self.f.prec_present and self.f.prec > 4 else 4
            s = f"U+{v & 0xFFFFFFFFFFFFFFFF:0{digits}X}"
            if self.f.sharp and 0 <= v <= 0x10FFFF and is_go_print(chr(v)):
                s += " '" + chr(v) + "'"
            old_zero = self.f.zero
            self.f.zero = False
            self.buf.append(self._pad(s))
            self.f.zero = old_zero
        else:
            self.bad_verb(verb, v)

    def _integer(self, v: int, base: int, verb: str, digits: str) -> None:
        f = self.f
        negative = v < 0
        u = -v if negative else v
        prec = 0
        if f.prec_present:
            prec = f.prec
            if prec == 0 and u == 0:
                old = f.zero
                f.zero = False
                self.buf.append(self._padding(f.wid) if f.wid_present else "")
                f.zero = old
                return
        elif f.zero and f.wid_present:
            prec = f.wid
            if negative or f.plus or f.space:
                prec -= 1
        if base == 10:
            s = str(u)
        elif base == 16:
            s = format(u, "x")
            if digits[10] == "A":
                s = s.upper()
        elif base == 8:
            s = format(u, "o")
        else:
            s = format(u, "b")
        if len(s) < prec:
            s = "0" * (prec - len(s)) + s
        if f.sharp:
            if base == 2:
                s = "0b" + s
            elif base == 8 and not s.startswith("0"):
                s = "0" + s
            elif base == 16:
                s = "0" + digits[16] + s
        if verb == "O":
            s = "0o" + s
        if negative:
            s = "-" + s
        elif f.plus:
            s = "+" + s
        elif f.space:
            s = " " + s
        old = f.zero
        f.zero = False
        self.buf.append(self._pad(s))
        f.zero = old

    # -- floats
    def fmt_float(self, v: float, verb: str) -> None:
        if verb == "v":
            self._float(v, "g", -1)
        elif verb in ("b", "g", "G", "x", "X"):
            self._float(v, verb, -1)
        elif verb in ("f", "e", "E", "F"):
            self._float(v, verb, 6)
        else:
            self.bad_verb(verb, v)

    def _float(self, v: float, verb: str, prec: int) -> None:
        f = self.f
        if f.prec_present:
            prec = f.prec
        num = format_float(v, "f" if verb == "F" else verb, prec)
        if num[0] in "-+":
            sign, body = num[0], num[1:]
        else:
            sign, body = "+", num
        if f.space and sign == "+" and not f.plus:
            sign = " "
        if body in ("Inf", "NaN"):
            old = f.zero
            f.zero = False
            s = sign + body
            if body == "NaN" and not f.space and not f.plus:
                s = body
            self.buf.append(self._pad(s))
            f.zero = old
            return
        if f.sharp and verb != "b":
            body = _sharp_float(body, verb, prec)
        if f.plus or sign != "+":
            if f.zero and f.wid_present and f.wid > len(body) + 1:
                self.buf.append(sign + "0" * (f.wid - len(body) - 1) + body)
                return
            self.buf.append(self._pad(sign + body))
            return
        self.buf.append(self._pad(body))

    def fmt_complex(self, v: complex, verb: str) -> None:
        if verb not in ("v", "b", "g", "G", "x", "X", "f", "F", "e", "E"):
            self.bad_verb(verb, v)
            return
        old_plus = self.f.plus
        self.buf.append("(")
        self.fmt_float(v.real, verb)
        self.f.plus = True
        self.fmt_float(v.imag, verb)
        self.buf.append("i)")
        self.f.plus = old_plus

    # -- strings
    def fmt_string(self, s: str, verb: str) -> None:
        f = self.f
        if verb == "v":
            if f.sharp_v:
                self.buf.append(self._pad(go_quote(self._truncate(s))))
            else:
                self.buf.append(self._pad(self._truncate(s)))
        elif verb == "s":
            self.buf.append(self._pad(self._truncate(s)))
        elif verb in ("x", "X"):
            data = s.encode("utf-8", "surrogateescape")
            if f.prec_present:
                data = data[: f.prec]  # precision counts bytes for %x
            parts = []
            for i, b in enumerate(data):
                h = format(b, "02x" if verb == "x" else "02X")
                if f.space:
                    if f.sharp:
                        h = ("0x" if verb == "x" else "0X") + h
                    parts.append((" " if i > 0 else "") + h)
                else:
                    parts.append(h)
            out = "".join(parts)
            if f.sharp and not f.space and data:
                out = ("0x" if verb == "x" else "0X") + out
            self.buf.append(self._pad(out))
        elif verb == "q":
            s = self._truncate(s)
            if f.sharp and "`" not in s and all(c == "\t" or (is_go_print(c) and c != "\ufeff") for c in s):
                self.buf.append(self._pad("`" + s + "`"))
            elif f.plus:
                self.buf.append(self._pad(_ascii_quote(s)))
            else:
                self.buf.append(self._pad(go_quote(s)))
        else:
            self.bad_verb(verb, s)

    def _truncate(self, s: str) -> str:
        if self.f.prec_present:
            return s[: self.f.prec]
        return s

    # -- the format loop
    def do_printf(self, format: str, a: list[Any]) -> str:
        self.buf = []
        end = len(format)
        argnum = 0
        after_index = False
        reordered = False
        i = 0
        while i < end:
            good_argnum = True
            lasti = i
            while i < end and format[i] != "%":
                i += 1
            if i > lasti:
                self.buf.append(format[lasti:i])
            if i >= end:
                break
            i += 1
            self.f = _Flags()
            f = self.f
            while i < end:
                c = format[i]
                if c == "#":
                    f.sharp = True
                elif c == "0":
                    f.zero = not f.minus
                elif c == "+":
                    f.plus = True
                elif c == "-":
                    f.minus = True
                    f.zero = False
                elif c == " ":
                    f.space = True
                else:
                    break
                i += 1
            argnum, i, after_index, ok, reordered = self._arg_number(argnum, format, i, len(a), reordered)
            good_argnum = good_argnum and ok
            # width
            if i < end and format[i] == "*":
                i += 1
                f.wid, f.wid_present, argnum = _int_from_arg(a, argnum)
                if not f.wid_present:
                    self.buf.append("%!(BADWIDTH)")
                if f.wid < 0:
                    f.wid = -f.wid
                    f.minus = True
                    f.zero = False
                after_index = False
            else:
                f.wid, f.wid_present, i = _parsenum(format, i, end)
                if after_index and f.wid_present:
                    good_argnum = False
            # precision
            if i < end and format[i] == ".":
                i += 1
                if after_index:
                    good_argnum = False
                argnum, i, after_index, ok, reordered = self._arg_number(argnum, format, i, len(a), reordered)
                good_argnum = good_argnum and ok
                if i < end and format[i] == "*":
                    i += 1
                    f.prec, f.prec_present, argnum = _int_from_arg(a, argnum)
                    if f.prec < 0:
                        f.prec = 0
                        f.prec_present = False
                    if not f.prec_present:
                        self.buf.append("%!(BADPREC)")
                    after_index = False
                else:
                    f.prec, f.prec_present, i = _parsenum(format, i, end)
                    if not f.prec_present:
                        f.prec = 0
                        f.prec_present = True
            if not after_index:
                argnum, i, after_index, ok, reordered = self._arg_number(argnum, format, i, len(a), reordered)
                good_argnum = good_argnum and ok
            if i >= end:
                self.buf.append("%!(NOVERB)")
                break
            verb = format[i]
            i += 1
            if verb == "%":
                self.buf.append("%")
            elif not good_argnum:
                self.buf.append("%!" + verb + "(BADINDEX)")
            elif argnum >= len(a):
                self.buf.append("%!" + verb + "(MISSING)")
            elif verb == "w":
                self.bad_verb(verb, a[argnum])
                argnum += 1
            else:
                if verb == "v":
                    if f.sharp:
                        f.sharp = False
                        f.sharp_v = True
                    if f.plus:
                        f.plus = False
                        f.plus_v = True
                self.print_arg(a[argnum], verb, 0)
                argnum += 1
        if not reordered and argnum < len(a):
            self.f = _Flags()
            self.buf.append("%!(EXTRA ")
            for k, arg in enumerate(a[argnum:]):
                if k > 0:
                    self.buf.append(", ")
                if arg is None:
                    self.buf.append("<nil>")
                else:
                    self.buf.append(go_type(arg) + "=")
                    self.print_arg(arg, "v", 0)
            self.buf.append(")")
        return "".join(self.buf)

    def _arg_number(self, argnum: int, format: str, i: int, num_args: int,
                    reordered: bool) -> tuple[int, int, bool, bool, bool]:
        if i >= len(format) or format[i] != "[":
            return argnum, i, False, True, reordered
        reordered = True
        j = format.find("]", i + 1)
        if j < 0:
            return argnum, i + 1, False, False, reordered
        txt = format[i + 1:j]
        if not txt.isdigit():
            return argnum, j + 1, True, False, reordered
        index = int(txt) - 1
        if 0 <= index < num_args:
            return index, j + 1, True, True, reordered
        return argnum, j + 1, True, False, reordered


def _parsenum(s: str, i: int, end: int) -> tuple[int, bool, int]:
    start = i
    n = 0
    while i < end and "0" <= s[i] <= "9":
        n = n * 10 + ord(s[i]) - 48
        if n > 1_000_000:
            return 0, False, end
        i += 1
    return n, i > start, i


def _int_from_arg(a: list[Any], argnum: int) -> tuple[int, bool, int]:
    if argnum < len(a):
        v = a[argnum]
        if isinstance(v, int) and not isinstance(v, bool):
            if abs(v) > 1_000_000:
                return 0, False, argnum + 1
            return v, True, argnum + 1
        return 0, False, argnum + 1
    return 0, False, argnum


def _sharp_float(body: str, verb: str, prec: int) -> str:
    """The '#' flag: always a decimal point; %g/%v keep trailing zeros (Go's fmtFloat)."""
    digits = 0
    if verb in ("v", "g", "G", "x"):
        digits = 6 if prec == -1 else prec
    tail = ""
    num = body
    has_point = False
    saw_nonzero = False
    i = 0
    while i < len(num):
        c = num[i]
        if c == ".":
            has_point = True
        elif c in "pP":
            tail, num = num[i:], num[:i]
            break
        elif c in "eE" and verb not in ("x", "X"):
            tail, num = num[i:], num[:i]
            break
        else:
            if c != "0":
                saw_nonzero = True
            if saw_nonzero:
                digits -= 1
        i += 1
    if not has_point:
        if num == "0":
            digits -= 1
        num += "."
    if digits > 0:
        num += "0" * digits
    return num + tail


def _rune(v: int) -> str:
    if 0 <= v <= 0x10FFFF and not (0xD800 <= v <= 0xDFFF):
        return chr(v)
    return "\ufffd"


def _quote_rune(v: int) -> str:
    ch = _rune(v)
    q = go_quote(ch)[1:-1]
    if ch == "'":
        q = "\\'"
    elif ch == '"':
        q = '"'
    return "'" + q + "'"


def _ascii_quote_rune(q: str) -> str:
    out = []
    for c in q:
        o = ord(c)
        out.append(c if o < 0x80 else f"\\u{o:04x}" if o < 0x10000 else f"\\U{o:08x}")
    return "".join(out)


def _ascii_quote(s: str) -> str:
    out = go_quote(s)
    res = []
    for c in out:
        o = ord(c)
        if o < 0x80:
            res.append(c)
        elif o < 0x10000:
            res.append(f"\\u{o:04x}")
        else:
            res.append(f"\\U{o:08x}")
    return "".join(res)


def _sort_key(k: Any) -> tuple[int, Any]:
    if k is None:
        return (0, 0)
    if isinstance(k, bool):
        return (1, int(k))
    if isinstance(k, (int, float)):
        return (2, k)
    if isinstance(k, str):
        return (3, k.encode("utf-8", "surrogateescape"))
    return (4, str(k))
