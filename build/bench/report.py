#!/usr/bin/env python3
"""The cross-language benchmark report (make bench): standard library only.

  report.py go FILE      parses `go test -bench` output in FILE into build/out/bench/go.json
  report.py render       reads build/out/bench/{c,go,python,ruby,node}.json and writes
                         build/out/bench.md and build/out/bench.svg; prints the tables

Each language's JSON (written by its bench script) is
  {"lang", "label", "runtime", "results": [{"metric", "name", "value", "unit", "headline", ...}]}
with metric one of cached, cached2, cached_extra (ns/op), callback (ns/op), coalesce (ms, with
callers/ok/requests/delayMs), size (bytes), load_first_call, load_static, load_access_key (ms,
with runs and wallMs: the whole process).

Exit status of render: 0, or 1 when a language's JSON is missing or a coalescing run did not
give every caller its token from exactly one upstream request (figures are never asserted
against the targets: they are shown against them).
"""
from __future__ import annotations

import datetime
import html
import json
import math
import os
import platform
import re
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "build" / "out"
JSON_DIR = OUT / "bench"
LANGS = ["c", "go", "python", "ruby", "node"]
LABELS = {"c": "C", "go": "Go", "python": "Python", "ruby": "Ruby", "node": "Node"}
COLORS = {"c": "#5c6b7a", "go": "#00a0c6", "python": "#3776ab", "ruby": "#c4302b", "node": "#3f8f3a"}
# The issues' targets.
CACHED_TARGET_NS = {"c": 250, "python": 1000, "ruby": 3000, "node": 1200}
SIZE_TARGET_BYTES = 11_000_000  # issue 14: on every target
LOAD_TARGET_MS = 30.0
REQUIRED = ["c", "python", "ruby", "node"]


# ---- go test -bench --------------------------------------------------------------------------
GO_NAMES = {
    "BenchmarkCachedGetToken/stackauth": ("cached", "Engine.GetToken (in-process, no C ABI)", True),
    "BenchmarkCachedGetToken/oauth2.ReuseTokenSource": ("cached", "x/oauth2 ReuseTokenSource (reference)", False),
    "BenchmarkCachedGetTokenParallel/stackauth": ("cached2", "Engine.GetToken, RunParallel (per op)", False),
    "BenchmarkCachedGetTokenParallel/oauth2.ReuseTokenSource": (
        "cached2", "x/oauth2 ReuseTokenSource, RunParallel (per op)", False),
    "BenchmarkStaleGetToken": ("cached_extra", "Engine.GetToken while a refresh is in flight", False),
}


def parse_go(path: Path) -> None:
    results = []
    version = ""
    for raw in path.read_text().splitlines():
        m = re.match(r"^(Benchmark\S+?)(?:-\d+)?\s+(\d+)\s+([\d.]+) ns/op(?:\s+(\d+) B/op\s+(\d+) allocs/op)?", raw)
        if not m:
            continue
        metric, name, headline = GO_NAMES.get(m.group(1), ("cached_extra", m.group(1), False))
        r: Dict[str, Any] = {"metric": metric, "name": name, "value": float(m.group(3)), "unit": "ns/op",
                             "headline": headline, "bench": m.group(1)}
        if m.group(4) is not None:
            r["bytesPerOp"], r["allocsPerOp"] = int(m.group(4)), int(m.group(5))
        results.append(r)
    try:
        version = subprocess.run(["go", "version"], capture_output=True, text=True, timeout=30).stdout.split()[2]
    except Exception:  # noqa: BLE001 - the version is decoration
        pass
    if not results:
        raise SystemExit(f"report.py: no benchmark lines in {path}")
    doc = {"lang": "go", "label": "Go", "runtime": f"{version} (go test -bench, engine only)", "results": results}
    JSON_DIR.mkdir(parents=True, exist_ok=True)
    (JSON_DIR / "go.json").write_text(json.dumps(doc, indent=1) + "\n")


# ---- loading ---------------------------------------------------------------------------------
def load_all() -> Dict[str, Dict[str, Any]]:
    docs = {}
    for lang in LANGS:
        p = JSON_DIR / f"{lang}.json"
        if p.exists():
            try:
                docs[lang] = json.loads(p.read_text())
            except json.JSONDecodeError as e:
                print(f"report.py: {p} is not valid JSON: {e}", file=sys.stderr)
    return docs


def rows(docs: Dict[str, Dict[str, Any]], metric: str) -> List[Tuple[str, Dict[str, Any]]]:
    out = []
    for lang in LANGS:
        for r in docs.get(lang, {}).get("results", []):
            if r["metric"] == metric:
                out.append((lang, r))
    return out


# ---- formatting ------------------------------------------------------------------------------
def fmt_ns(ns: float) -> str:
    if ns >= 1e6:
        return f"{ns / 1e6:,.2f} ms"
    if ns >= 1e4:
        return f"{ns / 1e3:,.1f} µs"
    if ns >= 1e3:
        return f"{ns / 1e3:,.2f} µs"
    return f"{ns:,.0f} ns"


def fmt_ms(ms: float) -> str:
    return f"{ms:,.1f} ms" if ms >= 10 else f"{ms:,.2f} ms"


def fmt_bytes(b: float) -> str:
    return f"{b / 1e6:,.2f} MB" if b >= 1e6 else f"{b / 1e3:,.1f} kB"


def verdict(ok: bool) -> str:
    return "✅" if ok else "❌"


def sh(cmd: List[str]) -> str:
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
        return (r.stdout or r.stderr).strip().splitlines()[0]
    except Exception:  # noqa: BLE001
        return "n/a"


def machine() -> List[Tuple[str, str]]:
    cpu = "unknown"
    try:
        for ln in Path("/proc/cpuinfo").read_text().splitlines():
            if ln.startswith("model name"):
                cpu = ln.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kb = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))  # type: ignore[union-attr]
        mem = f"{kb / 1048576:.0f} GiB"
    except (OSError, AttributeError):
        pass
    load = ""
    start = JSON_DIR / "loadavg.start"
    if start.exists():
        load = start.read_text().split()[0:3]
        load = " ".join(load)
    venv_py = OUT / "venv" / "bin" / "python"
    py = sh([str(venv_py), "--version"]) if venv_py.exists() else sh(["python3", "--version"])
    commit = sh(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"])
    dirty = sh(["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"])
    info = [
        ("CPU", f"{cpu}, {os.cpu_count()} cores (nproc {sh(['nproc'])})"),
        ("Memory", mem),
        ("Kernel", f"{platform.system()} {platform.release()} ({platform.machine()})"),
        ("Go", sh(["go", "version"])),
        ("Python", py),
        ("Ruby", sh(["ruby", "--version"])),
        ("Node", sh(["node", "--version"])),
        ("C compiler", sh(["gcc", "--version"])),
        ("Commit", f"{commit}{' (with uncommitted changes)' if dirty not in ('', 'n/a') else ''}"),
        ("Date", datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")),
    ]
    if load:
        info.append(("Load average at start", f"{load} (other work on the machine skews the figures)"))
    return info


# ---- the report ------------------------------------------------------------------------------
class Report:
    def __init__(self, docs: Dict[str, Dict[str, Any]]) -> None:
        self.docs = docs
        self.md: List[str] = []
        self.problems: List[str] = []

    def table(self, head: List[str], body: List[List[str]], align: Optional[str] = None) -> None:
        align = align or "l" * len(head)
        self.md.append("| " + " | ".join(head) + " |")
        self.md.append("|" + "|".join(":---" if a == "l" else "---:" if a == "r" else ":---:" for a in align) + "|")
        for row in body:  # a "|" inside a cell (even in backticks) must be escaped in GFM tables
            self.md.append("| " + " | ".join(c.replace("|", "\\|") for c in row) + " |")
        self.md.append("")

    def para(self, text: str) -> None:
        """A Markdown block (a paragraph, a heading, a line of HTML) and the blank line after it."""
        self.md.append(text)
        self.md.append("")

    def section(self, heading: str, *paragraphs: str) -> None:
        for text in (heading, *paragraphs):
            self.para(text)

    def missing(self, metric: str, langs: List[str]) -> List[str]:
        have = {lang for lang, _ in rows(self.docs, metric)}
        return [LABELS[x] for x in langs if x not in have]

    def build(self) -> str:
        d = self.docs
        md = self.md
        self.para("# stack-auth benchmarks")
        self.para("Generated by `make bench` (`bash build/bench/report.sh`). Figures, not assertions: each is "
                  "shown against the target from the issues. Every bench runs against a local emulator "
                  "(`stack-auth serve`) that it starts and stops. Raw figures: `build/out/bench/<lang>.json`; "
                  "chart: `bench.svg`.")
        self.para("## Machine")
        self.table(["", ""], [[k, v] for k, v in machine()])
        runtimes = [[LABELS[lang], d[lang].get("runtime", "")] for lang in LANGS if lang in d]
        if runtimes:
            self.table(["Bench", "Runtime"], runtimes)
        absent = [LABELS[x] for x in REQUIRED if x not in d]
        if absent:
            self.para(f"**Not measured: {', '.join(absent)}** (no `build/out/bench/<lang>.json`; see the log).")
            self.problems.append(f"missing figures for {', '.join(absent)}")

        # 1. cached
        self.section("## 1. Cached get-token",
                     "A token already in the library's cache: the per-request cost a host pays. Best of 5 runs "
                     "(of 200,000 calls; Node 300,000), one thread. Targets: C ≤ 250 ns, Python ≤ 1 µs, Ruby ≤ 3 µs, "
                     "Node ≤ 1.2 µs (Go has none: it is the engine itself, for reference).")
        body = []
        for lang, r in rows(d, "cached"):
            tgt = CACHED_TARGET_NS.get(lang)
            head = r.get("headline")
            status = verdict(r["value"] <= tgt) if tgt and head else ""
            target = f"≤ {fmt_ns(tgt)}" if tgt and head else ""
            body.append([LABELS[lang], f"`{r['name']}`" if lang != "go" else r["name"], fmt_ns(r["value"]), target, status])
        self.table(["Language", "Call", "Time/op", "Target", ""], body, "llrrc")
        more = rows(d, "cached2") + rows(d, "cached_extra")
        if more:
            self.para("<details><summary>More cached-path figures (threads, floors, variants)</summary>")
            self.table(["Language", "Call", "Time/op"],
                       [[LABELS[lang], r["name"], fmt_ns(r["value"])] for lang, r in more], "llr")
            self.para("</details>")

        # 2. callback
        self.section("## 2. User functions: AuthStrategyFn and cached OIDC",
                     "`get_token` on an AuthStrategyFn whose function answers at once, and on an "
                     "OidcFederationStrategy whose JWT's token is cached. C: `sa_get_token` through a C hook "
                     "that resolves inside its call. An async function whose result is not ready goes "
                     "through the library's hook request (its timeout, its single flight): that costs "
                     "thread hops, as the *async* rows show.",
                     "Since issue 16, bindings call an OIDC provider or AuthStrategyFn in their own language and "
                     "hand the JWT or token to the library (a cached OIDC token never leaves the caller's thread), "
                     "and a C hook that resolves inside its call runs on the calling thread. *Old* is issue 16's "
                     "figure from before (a thread hop per call).")
        body = []
        for lang, r in rows(d, "callback"):
            tgt, old = r.get("target"), r.get("old")
            body.append([LABELS[lang], f"`{r['name']}`", fmt_ns(r["value"]),
                         f"≤ {fmt_ns(tgt)} {verdict(r['value'] <= tgt)}" if tgt else "", fmt_ns(old) if old else ""])
        self.table(["Language", "Strategy", "Time/call", "Target", "Old"], body, "llrrr")

        # 3. coalescing
        self.section("## 3. 10,000 concurrent callers on an expired token",
                     "The strategy's token has expired (emulator token lifetime 1 s, waited out); "
                     "`/api/authorise` is delayed 200 ms by an emulator fault; then 10,000 asynchronous "
                     "get-token calls start at once. Wall time from the first call until every caller has its "
                     "token; upstream requests from `GET /_emulator/requests` (must be exactly 1).")
        body = []
        for lang, r in rows(d, "coalesce"):
            good = r.get("requests") == 1 and r.get("ok") == r.get("callers")
            if not good:
                self.problems.append(f"{LABELS[lang]} coalescing: {r.get('ok')}/{r.get('callers')} tokens, "
                                     f"{r.get('requests')} requests")
            start = f"{r['startMs']:,.0f} ms" if "startMs" in r else ""
            body.append([LABELS[lang], f"`{r['name']}`", f"{r.get('callers', 0):,}", fmt_ms(r["value"]), start,
                         f"{r.get('ok', 0):,}", str(r.get("requests")), verdict(good)])
        self.table(["Language", "Callers", "n", "All done", "Starting them", "Tokens", "Requests", "1 request"],
                   body, "llrrrrrc")
        miss = self.missing("coalesce", REQUIRED)
        if miss:
            self.para(f"Not measured: {', '.join(miss)}.")

        # 4. size
        self.section("## 4. Size",
                     "Target: the stripped library ≤ 11 MB (1 MB = 10⁶ bytes). Each binding ships a copy of the "
                     "library, so a package's size is the library's plus its own glue.")
        body = []
        for lang, r in rows(d, "size"):
            is_lib = lang == "c" and r.get("headline")
            body.append([LABELS[lang], r["name"], fmt_bytes(r["value"]), f"{r['value'] / 1048576:,.2f} MiB",
                         "≤ 11 MB" if is_lib else "", verdict(r["value"] <= SIZE_TARGET_BYTES) if is_lib else ""])
        self.table(["Language", "Artifact", "Size", "", "Target", ""], body, "llrrrc")
        dist = OUT / "dist"
        pkgs = sorted(p for p in dist.glob("*") if p.is_file() and p.suffix in (".whl", ".gem", ".tgz", ".gz")) \
            if dist.is_dir() else []
        if pkgs:
            when = datetime.datetime.fromtimestamp(max(p.stat().st_mtime for p in pkgs), datetime.timezone.utc)
            self.para(f"Release packages in `build/out/dist/` (from the last `make dist`, {when:%Y-%m-%d %H:%M} UTC; "
                      "`make bench` does not rebuild them):")
            self.table(["Package", "Size"], [[f"`{p.name}`", fmt_bytes(p.stat().st_size)] for p in pkgs], "lr")

        # 5. load
        self.section("## 5. Load to first token",
                     "A fresh process each run (median of the runs shown). *In process*: from just before "
                     "`dlopen` / `import stack_auth` / `require \"stack_auth\"` / `require()` to the first token; "
                     "*whole process*: spawn to exit as the parent sees it (interpreter start-up included). "
                     "Static: a StaticTokenStrategy (no network). Access key: an AccessKeyStrategy's first "
                     "token from the emulator (one `POST /api/authorise` on loopback). The ≤ 30 ms target is "
                     "C's dlopen-to-first-call; the bindings' rows are compared with it for reference.")
        body = []
        for lang, r in rows(d, "load_first_call"):
            body.append([LABELS[lang], "first call (`sa_version_number`)", fmt_ms(r["value"]), "", str(r.get("runs", "")),
                         "≤ 30 ms", verdict(r["value"] <= LOAD_TARGET_MS)])
        for metric, kind in (("load_static", "static"), ("load_access_key", "access key")):
            for lang, r in rows(d, metric):
                wall = fmt_ms(r["wallMs"]) if "wallMs" in r else ""
                ok = r["value"] <= LOAD_TARGET_MS
                body.append([LABELS[lang], f"{kind}: {r['name']}", fmt_ms(r["value"]), wall, str(r.get("runs", "")),
                             "(30 ms)", ("ref " + verdict(ok)) if kind == "static" else ""])
        self.table(["Language", "To", "In process", "Whole process", "Runs", "Target", ""], body, "llrrrrc")

        # Summary
        self.para("## Summary against the targets")
        body = []
        for lang in ("c", "python", "ruby", "node"):
            head = [r for lng, r in rows(d, "cached") if lng == lang and r.get("headline")]
            if head:
                r = head[0]
                body.append([f"{LABELS[lang]} cached `{r['name']}`", fmt_ns(r["value"]),
                             f"≤ {fmt_ns(CACHED_TARGET_NS[lang])}", verdict(r["value"] <= CACHED_TARGET_NS[lang])])
            else:
                body.append([f"{LABELS[lang]} cached get-token", "not measured", f"≤ {fmt_ns(CACHED_TARGET_NS[lang])}", "–"])
        for lang, r in rows(d, "size"):
            if lang == "c" and r.get("headline"):
                body.append(["libstack_auth.so.1, stripped", fmt_bytes(r["value"]), "≤ 11 MB",
                             verdict(r["value"] <= SIZE_TARGET_BYTES)])
        for _lang, r in rows(d, "load_first_call"):
            body.append(["C dlopen → first call", fmt_ms(r["value"]), "≤ 30 ms", verdict(r["value"] <= LOAD_TARGET_MS)])
        for lang, r in rows(d, "coalesce"):
            good = r.get("requests") == 1 and r.get("ok") == r.get("callers")
            body.append([f"{LABELS[lang]} 10,000 callers → upstream requests", str(r.get("requests")), "1", verdict(good)])
        self.table(["Figure", "Measured", "Target", ""], body, "lrrc")
        if self.problems:
            self.para("**Problems:** " + "; ".join(self.problems) + ".")
        self.para("![benchmark chart](bench.svg)")
        return "\n".join(md)


# ---- the chart -------------------------------------------------------------------------------
W = 1000
LABEL_X = 16          # row labels start
BAR_X0 = 400          # bars start
BAR_X1 = 820          # the axis ends; value labels go to the right of a bar
ROW_H = 22
BAR_H = 14
FONT = "font-family=\"Helvetica, Arial, sans-serif\""


def nice_ceiling(x: float) -> float:
    if x <= 0:
        return 1
    e = 10 ** math.floor(math.log10(x))
    for m in (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10):
        if m * e >= x:
            return m * e
    return 10 * e


class Axis:
    def __init__(self, values: List[float], log: bool) -> None:
        vals = [v for v in values if v > 0]
        self.log = log
        if log:
            lo = min(vals) if vals else 1
            hi = max(vals) if vals else 10
            self.lo = 10 ** math.floor(math.log10(lo))
            self.hi = 10 ** math.ceil(math.log10(hi * 1.05))
            if self.hi / self.lo < 100:
                self.hi = self.lo * 100
        else:
            self.lo = 0.0
            top = max(vals) * 1.08 if vals else 1
            raw = top / 5
            e = 10 ** math.floor(math.log10(raw))
            step = next(m * e for m in (1, 2, 2.5, 5, 10) if m * e >= raw)
            self.hi = step * math.ceil(top / step)

    def x(self, v: float) -> float:
        if self.log:
            v = max(v, self.lo)
            f = (math.log10(v) - math.log10(self.lo)) / (math.log10(self.hi) - math.log10(self.lo))
        else:
            f = (v - self.lo) / (self.hi - self.lo)
        return BAR_X0 + max(0.0, min(1.0, f)) * (BAR_X1 - BAR_X0)

    def ticks(self) -> List[float]:
        if self.log:
            out = []
            v = self.lo
            while v <= self.hi * 1.0001:
                out.append(v)
                v *= 10
            return out
        raw = self.hi / 5
        e = 10 ** math.floor(math.log10(raw))
        step = next(m * e for m in (1, 2, 2.5, 5, 10) if m * e >= raw)
        out, v = [], 0.0
        while v <= self.hi * 1.0001:
            out.append(v)
            v += step
        return out


def esc(s: str) -> str:
    return html.escape(s, quote=True)


def svg_panel(y: float, title: str, subtitle: str, items: List[Dict[str, Any]], log: bool,
              fmt, refs: List[Tuple[float, str]]) -> Tuple[List[str], float]:
    """items: {lang, label, value, text, target?, weak?}; returns (svg parts, height)."""
    parts: List[str] = []
    parts.append(f'<text x="{LABEL_X}" y="{y + 20}" {FONT} font-size="16" font-weight="bold" fill="#222">{esc(title)}</text>')
    parts.append(f'<text x="{LABEL_X}" y="{y + 38}" {FONT} font-size="11.5" fill="#666">{esc(subtitle)}</text>')
    top = y + 52
    if not items:
        parts.append(f'<text x="{BAR_X0}" y="{top + 14}" {FONT} font-size="12" fill="#999">not measured</text>')
        return parts, 80
    values = [it["value"] for it in items] + [t for it in items for t in ([it["target"]] if it.get("target") else [])]
    values += [v for v, _ in refs]
    axis = Axis(values, log)
    n = len(items)
    bottom = top + n * ROW_H
    # zebra rows, then the grid and reference lines, then bars and text on top
    for i in range(n):
        if i % 2 == 0:
            parts.append(f'<rect x="{LABEL_X - 6}" y="{top + i * ROW_H}" width="{W - 2 * LABEL_X + 12}" '
                         f'height="{ROW_H}" fill="#f5f6f7"/>')
    for t in axis.ticks():
        gx = axis.x(t)
        parts.append(f'<line x1="{gx:.1f}" y1="{top - 4}" x2="{gx:.1f}" y2="{bottom + 2}" stroke="#dedede" stroke-width="1"/>')
        parts.append(f'<text x="{gx:.1f}" y="{bottom + 16}" {FONT} font-size="10.5" fill="#777" text-anchor="middle">{esc(fmt(t))}</text>')
    for v, lab in refs:
        rx = axis.x(v)
        parts.append(f'<line x1="{rx:.1f}" y1="{top - 6}" x2="{rx:.1f}" y2="{bottom + 2}" stroke="#d62728" '
                     f'stroke-width="1.5" stroke-dasharray="5,3"/>')
        parts.append(f'<text x="{rx + 4:.1f}" y="{top - 8}" {FONT} font-size="10.5" fill="#d62728">{esc(lab)}</text>')
    for i, it in enumerate(items):
        ry = top + i * ROW_H
        color = COLORS.get(it["lang"], "#888")
        parts.append(f'<rect x="{LABEL_X}" y="{ry + 6}" width="10" height="10" rx="2" fill="{color}"/>')
        label = it["label"]
        if len(label) > 58:
            label = label[:56] + "…"
        weight = ' font-weight="bold"' if not it.get("weak") else ""
        parts.append(f'<text x="{LABEL_X + 16}" y="{ry + 15}" {FONT} font-size="11.5" fill="#222"{weight}>'
                     f'{esc(label)}</text>')
        bx = axis.x(it["value"])
        opacity = "0.5" if it.get("weak") else "1"
        parts.append(f'<rect x="{BAR_X0}" y="{ry + (ROW_H - BAR_H) / 2:.1f}" width="{max(1.5, bx - BAR_X0):.1f}" '
                     f'height="{BAR_H}" rx="2" fill="{color}" fill-opacity="{opacity}"/>')
        txt_color = "#222"
        if it.get("target"):
            tx = axis.x(it["target"])
            parts.append(f'<line x1="{tx:.1f}" y1="{ry + 2}" x2="{tx:.1f}" y2="{ry + ROW_H - 2}" stroke="#d62728" '
                         f'stroke-width="2.5"/>')
            txt_color = "#1a7f37" if it["value"] <= it["target"] else "#d62728"
        parts.append(f'<text x="{max(bx, axis.x(it.get("target") or 0)) + 6:.1f}" y="{ry + 15}" {FONT} font-size="11.5" '
                     f'fill="{txt_color}" stroke="#ffffff" stroke-width="3" stroke-linejoin="round" paint-order="stroke">'
                     f'{esc(it["text"])}</text>')
    parts.append(f'<line x1="{BAR_X0}" y1="{top - 4}" x2="{BAR_X0}" y2="{bottom + 2}" stroke="#999" stroke-width="1"/>')
    return parts, bottom + 30 - y


def axis_ns(v: float) -> str:
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("µs", 1e3), ("ns", 1)):
        if v >= scale:
            return f"{v / scale:g} {unit}"
    return f"{v:g} ns"


def axis_ms(v: float) -> str:
    return f"{v / 1000:g} s" if v >= 1000 and v % 1000 == 0 else f"{v:g} ms"


def axis_mb(v: float) -> str:
    return f"{v / 1e6:g} MB"


def build_svg(docs: Dict[str, Dict[str, Any]]) -> str:
    panels = []
    # 1 cached
    items = []
    for lang, r in rows(docs, "cached"):
        tgt = CACHED_TARGET_NS.get(lang) if r.get("headline") else None
        items.append({"lang": lang, "label": f"{LABELS[lang]}  {r['name']}", "value": r["value"],
                      "text": fmt_ns(r["value"]), "target": tgt, "weak": not r.get("headline")})
    panels.append(("1. Cached get-token, time per call (log scale)",
                   "Bold rows: the headline call per language; red tick: its target (C 250 ns, Python 1 µs, "
                   "Ruby 3 µs, Node 1.2 µs)", items, True, axis_ns, []))
    # 2 callback
    items = [{"lang": lang, "label": f"{LABELS[lang]}  {r['name']}", "value": r["value"], "text": fmt_ns(r["value"]),
              "weak": not r.get("headline")} for lang, r in rows(docs, "callback")]
    panels.append(("2. One AuthStrategyFn callback round trip (log scale)",
                   "get-token through a host hook that answers at once", items, True, axis_ns, []))
    # 3 coalesce
    items = []
    delay = 200
    for lang, r in rows(docs, "coalesce"):
        delay = r.get("delayMs", delay)
        req = r.get("requests")
        items.append({"lang": lang, "label": f"{LABELS[lang]}  {r['name']}", "value": r["value"],
                      "text": f"{fmt_ms(r['value'])} · {r.get('ok', 0):,} tokens · {req} request{'s' if req != 1 else ''}"})
    panels.append(("3. 10,000 concurrent callers on an expired token",
                   "Wall time until every caller has its token; the upstream request is delayed 200 ms",
                   items, False, axis_ms, [(delay, f"upstream delay {delay} ms")]))
    # 4 size
    items = [{"lang": lang, "label": f"{LABELS[lang]}  {r['name']}", "value": r["value"],
              "text": fmt_bytes(r["value"]), "weak": not r.get("headline")} for lang, r in rows(docs, "size")]
    panels.append(("4. Size", "The stripped library, and what each binding ships (each bundles the library)",
                   items, False, axis_mb, [(SIZE_TARGET_BYTES, "target 11 MB (library)")]))
    # 5 load
    items = []
    for metric, kind in (("load_first_call", "first call"), ("load_static", "static token"),
                         ("load_access_key", "access-key token")):
        for lang, r in rows(docs, metric):
            extra = f" (whole process {fmt_ms(r['wallMs'])})" if "wallMs" in r else ""
            items.append({"lang": lang, "label": f"{LABELS[lang]}  load → {kind}", "value": r["value"],
                          "text": fmt_ms(r["value"]) + extra, "weak": metric == "load_access_key"})
    order = {lang: i for i, lang in enumerate(LANGS)}
    items.sort(key=lambda it: order.get(it["lang"], 99))
    panels.append(("5. Fresh process: load → first token (log scale, median)",
                   "In process, from just before dlopen / import / require; dashed: the 30 ms dlopen-to-first-call target",
                   items, True, axis_ms, [(LOAD_TARGET_MS, "30 ms")]))

    parts: List[str] = []
    y = 64.0
    for title, sub, items, log, fmt, refs in panels:
        p, h = svg_panel(y, title, sub, items, log, fmt, refs)
        parts += p
        y += h + 14
    height = int(y + 10)
    head = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{height}" viewBox="0 0 {W} {height}">',
            f'<rect width="{W}" height="{height}" fill="#ffffff"/>',
            f'<text x="{LABEL_X}" y="28" {FONT} font-size="20" font-weight="bold" fill="#111">stack-auth benchmarks</text>']
    cpu = next((v for k, v in machine() if k == "CPU"), "")
    head.append(f'<text x="{LABEL_X}" y="48" {FONT} font-size="11.5" fill="#666">{esc(cpu)} · '
                f'{esc(platform.release())} · {esc(datetime.date.today().isoformat())}</text>')
    # legend
    lx = W - 16
    for lang in reversed([x for x in LANGS if x in docs]):
        w = 14 + 7.2 * len(LABELS[lang]) + 14
        lx -= w
        head.append(f'<rect x="{lx:.1f}" y="18" width="11" height="11" rx="2" fill="{COLORS[lang]}"/>')
        head.append(f'<text x="{lx + 15:.1f}" y="28" {FONT} font-size="12" fill="#333">{LABELS[lang]}</text>')
    return "\n".join(head + parts + ["</svg>"]) + "\n"


def render() -> int:
    docs = load_all()
    rep = Report(docs)
    md = rep.build()
    (OUT / "bench.md").write_text(md)
    (OUT / "bench.svg").write_text(build_svg(docs))
    print(md)
    print(f"\nwrote {OUT / 'bench.md'} and {OUT / 'bench.svg'}")
    return 1 if rep.problems else 0


def main() -> int:
    if len(sys.argv) == 3 and sys.argv[1] == "go":
        parse_go(Path(sys.argv[2]))
        return 0
    if len(sys.argv) == 2 and sys.argv[1] == "render":
        return render()
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
