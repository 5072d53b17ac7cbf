#!/usr/bin/env python3
"""Checks a DOM that headless Chromium dumped (--dump-dom) and what it logged (--enable-logging).

  browser_check.py report DOM LOG RUN.json [--only VERDICT]
  browser_check.py matrix DOM LOG RUN.json... [--only VERDICT] [--differ]

Asserts: the page's script ran to its end (<html data-ready="yes">); no console message was
logged (an uncaught script error is logged as a console message); every rule of each run.json
(its computed `rules` member) is in the DOM with its verdict; and, with --only/--differ (the
page was opened with #verdict=X / #differ), that exactly the matching rules are still shown.
Exits 1 with every failed assertion listed.
"""
import json
import sys
from html.parser import HTMLParser

SHOWN = {"pass": "PASS", "info": "INFO", "partial": "PARTIAL", "skip": "SKIP", "warn": "WARN",
         "expected": "EXPECTED", "fail": "FAIL", "expectation-unmet": "UNMET", "error": "ERROR"}


class Dom(HTMLParser):
    """Collects the root's attributes, the report's rule articles and the matrix's rows."""

    def __init__(self):
        super().__init__()
        self.root = {}
        self.rules = {}   # report: rule id -> (verdict, hidden)
        self.rows = {}    # matrix: rule id -> {"hidden", "differs", "cells": [verdict or None]}
        self.row = None
        self.in_cell = False
        self.cell_text = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "html":
            self.root = a
        elif tag == "article" and "rule" in a.get("class", "").split():
            self.rules[a["id"][len("rule-"):]] = (a.get("data-verdict"), "hidden" in a)
        elif tag == "tr" and "row" in a.get("class", "").split():
            self.row = a["id"][len("rule-"):]
            self.rows[self.row] = {"hidden": "hidden" in a, "differs": a.get("data-differs") == "yes", "cells": []}
        elif tag == "td" and self.row is not None and "cell" in a.get("class", "").split():
            self.in_cell = True
            self.cell_text = None
        elif tag == "a" and self.in_cell and "badge" in a.get("class", ""):
            self.cell_text = ""

    def handle_data(self, data):
        if self.in_cell and self.cell_text is not None:
            self.cell_text += data

    def handle_endtag(self, tag):
        if tag == "td" and self.in_cell:
            self.in_cell = False
            self.rows[self.row]["cells"].append(self.cell_text.strip() if self.cell_text is not None else None)
        elif tag == "tr":
            self.row = None


def rules_of(path):
    with open(path, encoding="utf-8") as f:
        record = json.load(f)
    return [(r["rule"], SHOWN[r["verdict"]]) for r in record["rules"]]


def main(argv):
    kind, dom_path, log_path, *rest = argv
    only = differ = None
    runs = []
    i = 0
    while i < len(rest):
        if rest[i] == "--only":
            only = rest[i + 1]
            i += 2
        elif rest[i] == "--differ":
            differ = True
            i += 1
        else:
            runs.append(rest[i])
            i += 1
    dom = Dom()
    with open(dom_path, encoding="utf-8") as f:
        dom.feed(f.read())
    with open(log_path, encoding="utf-8", errors="replace") as f:
        console = [line.strip() for line in f if ":CONSOLE" in line]
    problems = []
    if dom.root.get("data-ready") != "yes":
        problems.append("the page's script did not run to its end (no data-ready on <html>)")
    problems += ["console: " + line for line in console]
    if kind == "report":
        expected = rules_of(runs[0])
        for rule, verdict in expected:
            if rule not in dom.rules:
                problems.append(f"rule {rule} is not in the DOM")
            elif dom.rules[rule][0] != verdict:
                problems.append(f"rule {rule}: the DOM says {dom.rules[rule][0]}, run.json {verdict}")
        if len(dom.rules) != len(expected):
            problems.append(f"the DOM has {len(dom.rules)} rules, run.json {len(expected)}")
        shown = sorted(r for r, (_, hidden) in dom.rules.items() if not hidden)
        want = sorted(r for r, v in expected if only is None or v == only)
        if only is not None and not want:
            problems.append(f"no rule of {runs[0]} is {only}: the filter test would prove nothing")
        if shown != want:
            problems.append(f"shown with #verdict={only}: {shown}; expected {want}")
    else:
        per_run = [dict(rules_of(p)) for p in runs]
        all_rules = {r for run in per_run for r in run}
        for rule in sorted(all_rules):
            row = dom.rows.get(rule)
            if row is None:
                problems.append(f"rule {rule} is not a row of the matrix")
                continue
            want = [run.get(rule) for run in per_run]
            if row["cells"] != want:
                problems.append(f"rule {rule}: cells {row['cells']}, run.json files say {want}")
        if len(dom.rows) != len(all_rules):
            problems.append(f"the matrix has {len(dom.rows)} rows, the runs {len(all_rules)} rules")
        shown = sorted(r for r, row in dom.rows.items() if not row["hidden"])
        want = sorted(
            r for r in all_rules
            if (only is None or only in [run.get(r) for run in per_run])
            and (not differ or len({run.get(r) for run in per_run}) > 1)
        )
        if (only or differ) and not want:
            problems.append("no row matches the filter: the filter test would prove nothing")
        if shown != want:
            problems.append(f"shown with the filter (verdict={only}, differ={differ}): {shown}; expected {want}")
    label = f"{kind} {dom_path}" + (f" #verdict={only}" if only else "") + (" #differ" if differ else "")
    if problems:
        print(f"FAIL {label}")
        for p in problems:
            print(f"  - {p}")
        return 1
    print(f"ok   {label}: {len(dom.rules) or len(dom.rows)} rules, {len(shown)} shown, no console message")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
