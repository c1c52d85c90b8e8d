#!/usr/bin/env python3
"""Writes tests/conformance/vectors.json: expressions, answers and the value
the Rust evaluator and the browser runtime must both compute.

Expected values are written by hand or computed here independently of both
implementations: dates with Python's proleptic Gregorian `datetime`, lengths
as Python code points, arithmetic in IEEE doubles. Run it after editing:

    python3 tests/conformance/make_vectors.py
"""

import datetime as dt
import json
import math
import pathlib

OUT = pathlib.Path(__file__).with_name("vectors.json")
TODAY = "2024-06-01"

# The answers most vectors are evaluated against (typed: see the README of
# the format in vectors.json's consumers).
ANSWERS = {
    "age": 30,
    "weight": 61.5,
    "name": "Ana",
    "born": {"date": "1994-05-10"},
    "leap_born": {"date": "2000-02-29"},
    "start": {"time": "08:30"},
    "consent": True,
    "refused": False,
    "langs": ["es", "nah"],
    "sex": "mujer",
    "zero": 0,
    "big": 9007199254740991,
    "tiny": 0.1,
    "empty_text_never_stored": None,
    "acts": [
        {"amount": 100, "kind": "robo", "when": {"date": "2024-05-01"}, "inv": [{"n": 1}, {"n": 2}]},
        {"kind": "secuestro", "when": {"date": "2024-01-31"}, "inv": [{"n": 5}]},
        {"amount": 50.5},
    ],
    "victims": [{"v_age": 17, "v_sex": "mujer"}, {"v_age": 40, "v_sex": "hombre"}],
}

# Answers of unexpected types, as a hand-edited manifest or a bug could give.
ODD = {
    "age": "30",
    "consent": "true",
    "born": "1994-05-10",
    "langs": "es",
    "amounts": [{"x": 1}, {"x": "2"}, {"x": True}, {"x": 4.5}],
    "huge": [{"h": 1e308}, {"h": 1e308}],
    "tenths": [{"t": 0.1}, {"t": 0.2}],
}

vectors = []


def ref(path):
    return ["ref", path]


def date(text):
    return ["date", text]


def time(text):
    return ["time", text]


DOT = ["."]


def call(name, *args):
    return [name, *args]


PREC = {"or": 1, "and": 2, "=": 3, "!=": 3, "<": 3, "<=": 3, ">": 3, ">=": 3, "+": 4, "-": 4, "*": 5, "/": 5}


def source(e, parent=0):
    """The expression as an editor would write it (informative)."""
    if isinstance(e, bool):
        return "true" if e else "false"
    if isinstance(e, (int, float)):
        return repr(e) if isinstance(e, float) else str(e)
    if isinstance(e, str):
        return "'" + e.replace("'", "''") + "'"
    head, *args = e
    if head == "ref":
        return args[0].split(".")[-1]
    if head == ".":
        return "."
    if head in ("date", "time"):
        return f"{head}('{args[0]}')"
    if head == "not":
        return f"not {source(args[0], 6)}"
    if head == "neg":
        return f"-{source(args[0], 6)}"
    if head in PREC:
        p = PREC[head]
        text = f"{source(args[0], p)} {head} {source(args[1], p + 1)}"
        return f"({text})" if p < parent else text
    return f"{head}({', '.join(source(a) for a in args)})"


def typed(value):
    if isinstance(value, dt.date):
        return {"date": value.isoformat()}
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


def v(name, expr, expected, answers=None, position=None, today=TODAY, self=None, has_self=False):
    vector = {"name": name, "source": source(expr), "expr": expr, "answers": ANSWERS if answers is None else answers}
    if position is not None:
        vector["position"] = position
    vector["today"] = today
    if has_self or self is not None:
        vector["self"] = self
    vector["expected"] = typed(expected)
    vectors.append(vector)


def d(text):
    return dt.date.fromisoformat(text)


def years_between(a, b):
    if b < a:
        return -years_between(b, a)
    years = b.year - a.year
    if (b.month, b.day) < (a.month, a.day):
        years -= 1
    return years


def add_days(text, n):
    try:
        return d(text) + dt.timedelta(days=n)
    except OverflowError:
        return None


# ---- literals and references ----
for lit, want in [(12, 12), (3.5, 3.5), (-0.25, -0.25), ("texto", "texto"), ("", ""), (True, True), (False, False), (0, 0)]:
    v(f"literal {json.dumps(lit)}", lit, want)
v("date literal", date("2024-01-31"), {"date": "2024-01-31"})
v("date literal 29 Feb", date("2024-02-29"), {"date": "2024-02-29"})
v("date literal year 1", date("0001-01-01"), {"date": "0001-01-01"})
v("date literal year 9999", date("9999-12-31"), {"date": "9999-12-31"})
v("time literal", time("08:30"), {"time": "08:30"})
v("time literal midnight", time("00:00"), {"time": "00:00"})
v("time literal last minute", time("23:59"), {"time": "23:59"})
v("today", call("today"), {"date": TODAY})
v("today on a leap day", call("today"), {"date": "2024-02-29"}, today="2024-02-29")
for path, want in [
    ("age", 30), ("weight", 61.5), ("name", "Ana"), ("born", {"date": "1994-05-10"}), ("start", {"time": "08:30"}),
    ("consent", True), ("refused", False), ("langs", ["es", "nah"]), ("zero", 0), ("big", 9007199254740991), ("tiny", 0.1),
]:
    v(f"ref {path}", ref(path), want)
v("ref unanswered", ref("missing"), None)
v("ref answered null", ref("empty_text_never_stored"), None)
v("ref to a repeat is no value", ref("acts"), None)
v("ref into a repeat from the top is empty", ref("acts.kind"), None)
v("ref empty path", ref(""), None)
v("ref nonsense path", ref("a.b.c.d"), None)
v("ref double dot", ref("acts..kind"), None, position=[["acts", 0]])

# ---- repeats: references by position ----
v("ref in first instance", ref("acts.kind"), "robo", position=[["acts", 0]])
v("ref in second instance", ref("acts.kind"), "secuestro", position=[["acts", 1]])
v("ref unanswered in an instance", ref("acts.kind"), None, position=[["acts", 2]])
v("ref number in an instance", ref("acts.amount"), 50.5, position=[["acts", 2]])
v("ref date in an instance", ref("acts.when"), {"date": "2024-01-31"}, position=[["acts", 1]])
v("ref past the last instance", ref("acts.kind"), None, position=[["acts", 9]])
v("ref with another repeat's position", ref("acts.kind"), None, position=[["victims", 0]])
v("ref top-level from inside an instance", ref("age"), 30, position=[["acts", 1]])
v("ref nested instance", ref("acts.inv.n"), 5, position=[["acts", 1], ["inv", 0]])
v("ref nested second instance", ref("acts.inv.n"), 2, position=[["acts", 0], ["inv", 1]])
v("ref outer instance from a nested one", ref("acts.kind"), "secuestro", position=[["acts", 1], ["inv", 0]])
v("ref nested without the inner position", ref("acts.inv.n"), None, position=[["acts", 1]])
v("ref nested past the last inner instance", ref("acts.inv.n"), None, position=[["acts", 1], ["inv", 1]])
v("ref other repeat", ref("victims.v_sex"), "hombre", position=[["victims", 1]])
v("condition inside an instance true", [">", ref("acts.amount"), 60], True, position=[["acts", 0]])
v("condition inside an instance false", [">", ref("acts.amount"), 60], False, position=[["acts", 2]])
v("condition inside an instance unanswered", [">", ref("acts.amount"), 60], False, position=[["acts", 1]])
v("date in an instance against the top", ["<", ref("acts.when"), call("today")], True, position=[["acts", 0]])

# ---- self ----
v("self number", DOT, 42, self=42)
v("self text", DOT, "x", self="x")
v("self date", DOT, {"date": "2024-05-31"}, self={"date": "2024-05-31"})
v("self absent", DOT, None)
v("self null", DOT, None, self=None, has_self=True)
v("self empty multiple choice", DOT, [], self=[])
v("self constraint in range", ["and", [">=", DOT, 0], ["<=", DOT, 120]], True, self=30)
v("self constraint too high", ["and", [">=", DOT, 0], ["<=", DOT, 120]], False, self=150)
v("self constraint empty", ["and", [">=", DOT, 0], ["<=", DOT, 120]], False, self=None, has_self=True)
v("self not in the future", ["<=", DOT, call("today")], True, self={"date": "2024-06-01"})
v("self in the future", ["<=", DOT, call("today")], False, self={"date": "2024-06-02"})
v("self length", ["<=", call("len", DOT), 5], True, self="corto")
v("self length too long", ["<=", call("len", DOT), 5], False, self="largo!")
v("self selected", call("selected", DOT, "b"), True, self=["a", "b"])
v("self exclusive none ok", ["or", ["not", call("selected", DOT, "ninguna")], ["=", call("count_selected", DOT), 1]], True, self=["ninguna"])
v("self exclusive none mixed", ["or", ["not", call("selected", DOT, "ninguna")], ["=", call("count_selected", DOT), 1]], False, self=["a", "ninguna"])
v("self exclusive without none", ["or", ["not", call("selected", DOT, "ninguna")], ["=", call("count_selected", DOT), 1]], True, self=["a", "b"])
v("answered self empty multiple choice", call("answered", DOT), False, self=[])
v("count_selected self empty", call("count_selected", DOT), 0, self=[])
v("self time after", [">", DOT, ref("start")], True, self={"time": "09:00"})

# ---- not, neg ----
for val, want in [(True, False), (False, True), (ref("missing"), None), (1, None), ("true", None), (date("2024-01-01"), None)]:
    v(f"not {source(val)}", ["not", val], want)
v("not not true", ["not", ["not", True]], True)
v("neg number", ["neg", 5], -5)
v("neg decimal", ["neg", 2.5], -2.5)
v("neg negative", ["neg", ["neg", 7]], 7)
v("neg zero is zero", ["neg", 0], 0)
v("negative zero equals zero", ["=", ["neg", 0], 0], True)
v("negative zero is not below zero", ["<", ["neg", 0], 0], False)
v("one over negative zero is empty", ["/", 1, ["neg", 0]], None)
v("neg empty", ["neg", ref("missing")], None)
v("neg text", ["neg", "a"], None)
v("neg date", ["neg", date("2024-01-01")], None)
v("neg bool", ["neg", True], None)
v("neg answer", ["neg", ref("age")], -30)

# ---- three-valued and / or ----
TRI = [(True, "true"), (False, "false"), (ref("missing"), "empty")]


def kleene_and(a, b):
    if a is False or b is False:
        return False
    if a is True and b is True:
        return True
    return None


def kleene_or(a, b):
    if a is True or b is True:
        return True
    if a is False and b is False:
        return False
    return None


def tri_value(e):
    return None if isinstance(e, list) else e


for a, an in TRI:
    for b, bn in TRI:
        v(f"{an} and {bn}", ["and", a, b], kleene_and(tri_value(a), tri_value(b)))
        v(f"{an} or {bn}", ["or", a, b], kleene_or(tri_value(a), tri_value(b)))
for a, an in TRI:
    v(f"not ({an} and empty)", ["not", ["and", a, ref("missing")]], None if kleene_and(tri_value(a), None) is None else not kleene_and(tri_value(a), None))
v("and with a number is empty", ["and", 1, True], None)
v("and with a number and false is false", ["and", 1, False], False)
v("false and a number is false", ["and", False, 1], False)
v("or with text and true is true", ["or", "x", True], True)
v("or with text and false is empty", ["or", "x", False], None)
v("true or text is true", ["or", True, "x"], True)
v("and of answers", ["and", ref("consent"), ["not", ref("refused")]], True)
v("or of answers", ["or", ref("refused"), ["=", ref("sex"), "mujer"]], True)
v("and short-circuits a comparison with empty", ["and", [">", ref("missing"), 1], ref("missing")], False)
v("or of comparisons with empty", ["or", ["=", ref("missing"), 1], ["!=", ref("missing"), 1]], False)
v("chained and", ["and", ["and", True, True], ["and", True, ref("missing")]], None)
v("chained or", ["or", ["or", False, ref("missing")], ["or", False, True]], True)

# ---- comparisons ----
OPS = ["=", "!=", "<", "<=", ">", ">="]


def cmp_result(op, c):
    return {"=": c == 0, "!=": c != 0, "<": c < 0, "<=": c <= 0, ">": c > 0, ">=": c >= 0}[op]


def sign(x):
    return (x > 0) - (x < 0)


PAIRS = [
    ("numbers", 3, 5, -1),
    ("equal numbers", 5, 5, 0),
    ("integer and decimal", 1, 1.0, 0),
    ("decimals", 0.5, 0.25, 1),
    ("negative numbers", -2, -10, 1),
    ("texts", "a", "b", -1),
    ("equal texts", "mujer", "mujer", 0),
    ("upper before lower", "Z", "a", -1),
    ("accent after z", "é", "z", 1),
    ("precomposed and decomposed differ", "José", "Jose\u0301", 1),
    ("prefix first", "ab", "abc", -1),
    ("empty text first", "", "a", -1),
    ("code points: U+FF61 before an emoji", "\uff61", "😀", -1),
    ("code points: replacement char before an emoji", "\ufffd", "😀", -1),
    ("code points: emoji after Hangul", "😀", "한", 1),
    ("booleans", False, True, -1),
    ("equal booleans", True, True, 0),
    ("dates", date("2024-02-28"), date("2024-02-29"), -1),
    ("equal dates", date("2024-02-29"), date("2024-02-29"), 0),
    ("dates across years", date("2023-12-31"), date("2024-01-01"), -1),
    ("far dates", date("9999-12-31"), date("0001-01-01"), 1),
    ("times", time("08:30"), time("17:05"), -1),
    ("equal times", time("00:00"), time("00:00"), 0),
]
for label, a, b, c in PAIRS:
    for op in OPS:
        v(f"{label} {op}", [op, a, b], cmp_result(op, c))
MISMATCHED = [
    ("number and text", 1, "1"),
    ("text and date", "2024-01-01", date("2024-01-01")),
    ("boolean and number", True, 1),
    ("date and time", date("2024-01-01"), time("08:30")),
    ("multiple choice and text", ref("langs"), "es"),
    ("multiple choice and itself", ref("langs"), ref("langs")),
    ("empty and number", ref("missing"), 1),
    ("empty and empty", ref("missing"), ref("missing")),
    ("number and empty", 0, ref("missing")),
]
for label, a, b in MISMATCHED:
    for op in OPS:
        v(f"{label} {op} is false", [op, a, b], False)
v("answer compared", [">=", ref("age"), 18], True)
v("answer text compared", ["=", ref("sex"), "mujer"], True)
v("answer date compared", ["<", ref("born"), date("2000-01-01")], True)
v("answer time compared", ["<", ref("start"), time("09:00")], True)
v("answer boolean compared", ["=", ref("consent"), True], True)

# ---- arithmetic ----
ARITH = [(7, 2), (-7, 2), (0.5, 0.25), (1e15, 3), (2, -0.5)]
for a, b in ARITH:
    for op in "+-*/":
        want = {"+": a + b, "-": a - b, "*": a * b, "/": a / b}[op]
        v(f"{a} {op} {b}", [op, a, b], want)
v("0.1 + 0.2 is not 0.3", ["+", 0.1, 0.2], 0.1 + 0.2)
v("0.1 + 0.2 = 0.3 is false", ["=", ["+", 0.1, 0.2], 0.3], False)
v("0.1 * 3", ["*", 0.1, 3], 0.1 * 3)
v("0.3 - 0.1", ["-", 0.3, 0.1], 0.3 - 0.1)
v("0.1 + 0.7", ["+", 0.1, 0.7], 0.1 + 0.7)
v("one third", ["/", 1, 3], 1 / 3)
v("two thirds times three", ["*", ["/", 2, 3], 3], 2 / 3 * 3)
v("largest safe integer plus one", ["+", ref("big"), 1], 9007199254740992)
v("largest safe integer plus two rounds", ["+", ref("big"), 2], float(9007199254740991 + 2))
v("largest safe integer minus one", ["-", ref("big"), 1], 9007199254740990)
v("largest safe integers compare", ["<", ["-", ref("big"), 1], ref("big")], True)
v("big product", ["*", 123456789, 987654321], float(123456789 * 987654321))
v("tiny sum", ["+", ref("tiny"), 1e-17], 0.1 + 1e-17)
v("division by zero is empty", ["/", 1, 0], None)
v("zero over zero is empty", ["/", 0, 0], None)
v("negative over zero is empty", ["/", -1, 0], None)
v("division by zero answer is empty", ["/", ref("age"), ref("zero")], None)
v("overflow is empty", ["*", 1e308, 10], None)
v("overflow by addition is empty", ["+", 1e308, 1e308], None)
v("near overflow is finite", ["*", 1e307, 10], 1e308)
v("arithmetic with empty is empty", ["+", ref("missing"), 1], None)
v("empty times zero is empty", ["*", 0, ref("missing")], None)
v("text plus text is empty", ["+", "a", "b"], None)
v("text plus number is empty", ["+", "a", 1], None)
v("boolean plus number is empty", ["+", True, 1], None)
v("number times date is empty", ["*", 2, date("2024-01-01")], None)
v("date divided is empty", ["/", date("2024-01-01"), 2], None)
v("time plus number is empty", ["+", time("08:30"), 30], None)
v("time minus time is empty", ["-", time("10:00"), time("08:30")], None)
v("multiple choice plus number is empty", ["+", ref("langs"), 1], None)
v("answers arithmetic", ["*", ["+", ref("age"), 5], 2], 70)
v("decimal answer arithmetic", ["-", ref("weight"), 0.5], 61.0)
v("precedence as compiled", ["+", 1, ["*", 2, 3]], 7)
v("grouping as compiled", ["*", ["+", 1, 2], 3], 9)
v("percentage", ["/", ["*", 3, 100], 7], 3 * 100 / 7)

# ---- dates ----
for start, n in [
    ("2024-02-28", 1), ("2023-02-28", 1), ("2024-02-29", 1), ("2024-02-29", 365), ("2024-02-29", 366), ("2024-01-31", 1),
    ("2024-03-31", -31), ("2024-12-31", 1), ("2025-01-01", -1), ("1900-02-28", 1), ("2000-02-28", 1), ("1600-02-28", 1),
    ("2100-02-28", 1), ("2024-06-01", -1000), ("2024-06-01", 10000), ("0001-01-01", 0), ("0001-01-02", -1),
    ("9999-12-30", 1), ("2000-01-01", 2000000), ("9999-12-31", -3652058), ("1970-01-01", -1), ("1969-12-31", 1),
]:
    want = add_days(start, n)
    v(f"{start} + {n} days", ["+", date(start), n], want)
for start, n in [("2024-03-01", 1), ("2024-01-01", 366), ("0001-01-02", 1)]:
    v(f"{start} - {n} days", ["-", date(start), n], add_days(start, -n))
v("days plus date", ["+", 10, date("2024-02-25")], add_days("2024-02-25", 10))
v("past the last date is empty", ["+", date("9999-12-31"), 1], None)
v("before the first date is empty", ["-", date("0001-01-01"), 1], None)
v("before the first date by adding is empty", ["+", date("0001-01-01"), -1], None)
v("ten million days is the limit", ["+", date("0001-01-01"), 10000000], None)
v("more than ten million days is empty", ["-", date("9999-12-31"), 10000001], None)
v("half a day is empty", ["+", date("2024-01-01"), 0.5], None)
v("minus half a day is empty", ["-", date("2024-01-01"), 1.5], None)
v("date plus empty is empty", ["+", date("2024-01-01"), ref("missing")], None)
v("date minus text is empty", ["-", date("2024-01-01"), "x"], None)
v("date plus date is empty", ["+", date("2024-01-01"), date("2024-01-02")], None)
v("number minus date is empty", ["-", 10, date("2024-01-01")], None)
for a, b in [
    ("2024-03-01", "2024-02-01"), ("2024-02-01", "2024-03-01"), ("2025-01-01", "2024-01-01"), ("2024-06-01", "2024-05-01"),
    ("9999-12-31", "0001-01-01"), ("0001-01-01", "9999-12-31"), ("2000-03-01", "2000-02-28"), ("1900-03-01", "1900-02-28"),
    ("2024-01-01", "2024-01-01"),
]:
    v(f"{a} - {b}", ["-", date(a), date(b)], (d(a) - d(b)).days)
v("days since an answer", ["-", call("today"), ref("born")], (d(TODAY) - d("1994-05-10")).days)
v("days between instance date and today", ["-", call("today"), ref("acts.when")], 31, position=[["acts", 0]])
v("date plus answer days", ["+", ref("born"), ref("age")], add_days("1994-05-10", 30))
for a, b in [
    ("2000-05-10", "2024-05-09"), ("2000-05-10", "2024-05-10"), ("2000-05-10", "2024-05-11"), ("2000-02-29", "2001-02-28"),
    ("2000-02-29", "2001-03-01"), ("2000-02-29", "2004-02-28"), ("2000-02-29", "2004-02-29"), ("2000-02-29", "2003-02-28"),
    ("2023-12-31", "2024-01-01"), ("2024-01-01", "2024-12-31"), ("2024-05-10", "2000-05-10"), ("2024-05-09", "2000-05-10"),
    ("2024-05-11", "2000-05-10"), ("2001-02-28", "2000-02-29"), ("2001-03-01", "2000-02-29"), ("2024-05-10", "2024-05-10"),
    ("0001-01-01", "9999-12-31"), ("9999-12-31", "0001-01-01"), ("1999-12-31", "2000-01-01"), ("1996-02-29", "2024-02-29"),
    ("1996-02-29", "2024-02-28"), ("2024-01-31", "2024-02-29"), ("2010-06-01", "2024-06-01"), ("2010-06-02", "2024-06-01"),
]:
    v(f"years_between {a} {b}", call("years_between", date(a), date(b)), years_between(d(a), d(b)))
v("age today", call("years_between", ref("born"), call("today")), years_between(d("1994-05-10"), d(TODAY)))
v("29 February birthday before 1 March", call("years_between", ref("leap_born"), call("today")), 24, today="2025-02-28")
v("29 February birthday on 1 March", call("years_between", ref("leap_born"), call("today")), 25, today="2025-03-01")
v("29 February birthday on 29 February", call("years_between", ref("leap_born"), call("today")), 24, today="2024-02-29")
v("years_between with empty", call("years_between", ref("missing"), call("today")), None)
v("years_between to empty", call("years_between", ref("born"), ref("missing")), None)
v("years_between of numbers", call("years_between", 1, 2), None)
v("years_between of text", call("years_between", "2000-01-01", call("today")), None)
v("years_between of times", call("years_between", time("08:00"), time("09:00")), None)
v("adult", [">=", call("years_between", ref("born"), call("today")), 18], True)
v("minor by a day", ["<", call("years_between", date("2006-06-02"), call("today")), 18], True)
v("adult on the birthday", [">=", call("years_between", date("2006-06-01"), call("today")), 18], True)

# ---- functions ----
v("selected in multiple choice", call("selected", ref("langs"), "nah"), True)
v("not selected in multiple choice", call("selected", ref("langs"), "en"), False)
v("selected needs the whole code", call("selected", ref("langs"), "e"), False)
v("selected on single choice", call("selected", ref("sex"), "mujer"), True)
v("selected on single choice, other code", call("selected", ref("sex"), "hombre"), False)
v("selected on empty", call("selected", ref("missing"), "x"), False)
v("selected with empty code", call("selected", ref("langs"), ref("missing")), False)
v("selected with a number code", call("selected", ref("langs"), 5), False)
v("selected on a number", call("selected", ref("age"), "30"), False)
v("selected on a boolean", call("selected", ref("consent"), "true"), False)
v("selected is case sensitive", call("selected", ref("langs"), "ES"), False)
v("not selected of empty is true", ["not", call("selected", ref("missing"), "x")], True)
v("count_selected", call("count_selected", ref("langs")), 2)
v("count_selected of single choice", call("count_selected", ref("sex")), 0)
v("count_selected of empty", call("count_selected", ref("missing")), 0)
v("count_selected of a number", call("count_selected", ref("age")), 0)
v("exclusive option ok", ["or", ["not", call("selected", ref("langs"), "ninguna")], ["=", call("count_selected", ref("langs")), 1]], True)
for path, want in [
    ("age", True), ("name", True), ("refused", True), ("zero", True), ("born", True), ("start", True), ("langs", True),
    ("missing", False), ("acts", False),
]:
    v(f"answered({path})", call("answered", ref(path)), want)
v("answered in an instance", call("answered", ref("acts.amount")), False, position=[["acts", 1]])
v("answered literal empty text", call("answered", ""), True)
v("answered literal zero", call("answered", 0), True)
v("answered division by zero", call("answered", ["/", 1, 0]), False)
v("not answered", ["not", call("answered", ref("missing"))], True)
for text in ["Ana", "José", "Jose\u0301", "ñandú", "日本語", "👍", "👍🏽", "👨\u200d👩\u200d👧", "", " a b ", "l'été", "\U0001d11e"]:
    v(f"len {json.dumps(text)}", call("len", text), len(text))
v("len of answer", call("len", ref("name")), 3)
v("len of empty", call("len", ref("missing")), 0)
v("len of a number", call("len", ref("age")), 0)
v("len of a multiple choice", call("len", ref("langs")), 0)
v("len of a date", call("len", ref("born")), 0)
v("len of a boolean", call("len", True), 0)
v("len constraint", [">=", call("len", ref("name")), 5], False)
v("if true", call("if", True, "a", "b"), "a")
v("if false", call("if", False, "a", "b"), "b")
v("if empty condition", call("if", ref("missing"), "a", "b"), None)
v("if number condition", call("if", 1, "a", "b"), None)
v("if text condition", call("if", "true", "a", "b"), None)
v("two-argument if true", call("if", True, 7), 7)
v("two-argument if false", call("if", False, 7), None)
v("two-argument if empty", call("if", ref("missing"), 7), None)
v("if with an empty branch", call("if", True, ref("missing"), 1), None)
v("if returning a date", call("if", ref("consent"), ref("born"), call("today")), {"date": "1994-05-10"})
v("if returning a multiple choice", call("if", True, ref("langs")), ["es", "nah"])
v("if of comparisons", call("if", [">", ref("age"), 18], "adult", "minor"), "adult")
v("if of comparison with empty", call("if", [">", ref("missing"), 18], "adult", "minor"), "minor")
GROUPS = call("if", [">=", DOT, 60], "60_mas", call("if", [">=", DOT, 18], "18_59", call("if", [">=", DOT, 0], "0_17")))
for age, want in [(75, "60_mas"), (60, "60_mas"), (59, "18_59"), (18, "18_59"), (17.9, "0_17"), (0, "0_17"), (-1, None)]:
    v(f"age group of {age}", GROUPS, want, self=age)
v("age group of empty", GROUPS, None, self=None, has_self=True)
AGE = call("if", call("answered", ref("born")), call("years_between", ref("born"), call("today")), ref("age"))
v("age from birth date", AGE, 30)
v("age declared", AGE, 30, answers={"age": 30})
v("age unknown", AGE, None, answers={})
PRIORITY = call("if", ["or", ["=", ref("risk"), "alto"], ["=", ref("ongoing"), "si"]], "urgente", call("if", ["=", ref("risk"), "medio"], "alta", "media"))
for answers, want in [({"risk": "alto"}, "urgente"), ({"ongoing": "si"}, "urgente"), ({"risk": "medio"}, "alta"), ({"risk": "bajo"}, "media"), ({}, "media")]:
    v(f"priority {json.dumps(answers)}", PRIORITY, want, answers=answers)

# ---- aggregates over repeats ----
v("count from the top", call("count", ref("acts")), 3)
v("count inside an instance", call("count", ref("acts")), 3, position=[["acts", 1]])
v("count nested from the top", call("count", ref("acts.inv")), 3)
v("count nested in the first instance", call("count", ref("acts.inv")), 2, position=[["acts", 0]])
v("count nested in the second instance", call("count", ref("acts.inv")), 1, position=[["acts", 1]])
v("count nested in an instance without any", call("count", ref("acts.inv")), 0, position=[["acts", 2]])
v("count nested from a nested instance", call("count", ref("acts.inv")), 2, position=[["acts", 0], ["inv", 1]])
v("count nested with another repeat's position", call("count", ref("acts.inv")), 3, position=[["victims", 1]])
v("count nested past the last instance", call("count", ref("acts.inv")), 0, position=[["acts", 7]])
v("count of another repeat", call("count", ref("victims")), 2, position=[["acts", 0]])
v("count of no instances", call("count", ref("missing")), 0)
v("count of a question", call("count", ref("age")), 0)
v("count of a literal is empty", call("count", 5), None)
v("count of an expression is empty", call("count", call("if", True, ref("acts"))), None)
v("count compared", [">", call("count", ref("victims")), 1], True)
v("sum from the top", call("sum", ref("acts.amount")), 150.5)
v("sum inside an instance counts all", call("sum", ref("acts.amount")), 150.5, position=[["acts", 2]])
v("sum nested from the top", call("sum", ref("acts.inv.n")), 8)
v("sum nested in the first instance", call("sum", ref("acts.inv.n")), 3, position=[["acts", 0]])
v("sum nested in the second instance", call("sum", ref("acts.inv.n")), 5, position=[["acts", 1]])
v("sum nested in an instance without any", call("sum", ref("acts.inv.n")), 0, position=[["acts", 2]])
v("sum nested from a nested instance", call("sum", ref("acts.inv.n")), 3, position=[["acts", 0], ["inv", 0]])
v("sum of texts is zero", call("sum", ref("acts.kind")), 0)
v("sum of no instances", call("sum", ref("missing.x")), 0)
v("sum without a repeat is empty", call("sum", ref("age")), None)
v("sum of a literal is empty", call("sum", 5), None)
v("sum in another repeat", call("sum", ref("victims.v_age")), 57)
v("sum of mixed types counts numbers", call("sum", ref("amounts.x")), 5.5, answers=ODD)
v("sum of decimals", call("sum", ref("tenths.t")), 0.1 + 0.2, answers=ODD)
v("sum overflowing is empty", call("sum", ref("huge.h")), None, answers=ODD)
v("coverage percentage", call("if", [">", ref("n"), 0], ["/", ["*", call("count", ref("victims")), 100], ref("n")]), 2 * 100 / 3,
  answers={"n": 3, "victims": [{"v_age": 1}, {"v_age": 2}]})
v("average", ["/", call("sum", ref("victims.v_age")), call("count", ref("victims"))], 28.5)
v("average of none is empty", ["/", call("sum", ref("victims.v_age")), call("count", ref("victims"))], None, answers={})
v("minors in a repeat", [">", call("count", ref("victims")), call("sum", ref("victims.v_age"))], False)

# ---- values of unexpected types never throw ----
v("text answer plus one", ["+", ref("age"), 1], None, answers=ODD)
v("text answer compared with a number", [">", ref("age"), 18], False, answers=ODD)
v("text answer length", call("len", ref("age")), 2, answers=ODD)
v("text 'true' is not true", ["=", ref("consent"), True], False, answers=ODD)
v("not of a text answer", ["not", ref("consent")], None, answers=ODD)
v("and of a text answer", ["and", ref("consent"), True], None, answers=ODD)
v("text birth date has no age", call("years_between", ref("born"), call("today")), None, answers=ODD)
v("text birth date is not before today", ["<", ref("born"), call("today")], False, answers=ODD)
v("text as multiple choice", call("count_selected", ref("langs")), 0, answers=ODD)
v("selected on a text where a list was expected", call("selected", ref("langs"), "es"), True, answers=ODD)
v("if on a text answer", call("if", ref("consent"), 1, 2), None, answers=ODD)
v("less than between a boolean and a number", ["<", True, 1], False)
v("comparison of dates and numbers", [">", date("2024-01-01"), 20000], False)

for i, vector in enumerate(vectors):
    assert vector["name"], i
names = [vector["name"] for vector in vectors]
duplicates = {n for n in names if names.count(n) > 1}
assert not duplicates, duplicates
OUT.write_text(json.dumps(vectors, ensure_ascii=False, indent=None).replace('}, {"name"', '},\n{"name"') + "\n")
print(f"{len(vectors)} vectors written to {OUT}")
