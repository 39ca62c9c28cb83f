"""Summaries, CSV/markdown output and the docs/performance.md update."""

import csv
import datetime
import hashlib
import os
import platform
import statistics
import subprocess

RUN_FIELDS = [
    "cell", "app", "mode", "c", "server", "rep", "status", "started",
    "requests", "seconds", "rps", "mib_s", "p50_ms", "p90_ms", "p99_ms",
    "p999_ms", "mean_ms", "max_ms", "errors", "err_connect", "err_read",
    "err_write", "err_status", "err_timeout", "cpu_s", "cpu_cores",
    "cpu_us_per_req", "rss_idle_kib", "pss_idle_kib", "procs_idle",
    "rss_loaded_kib", "pss_loaded_kib", "procs_loaded", "detail",
]

# metrics summarised per (cell, server) as the median over ok runs
METRICS = ["rps", "p50_ms", "p99_ms", "cpu_us_per_req", "rss_idle_kib",
           "pss_idle_kib", "rss_loaded_kib", "pss_loaded_kib"]

DOC_BEGIN = "<!-- BEGIN bench/run.py results (generated; do not edit by hand) -->"
DOC_END = "<!-- END bench/run.py results -->"


# --------------------------------------------------------------------------
# metadata
# --------------------------------------------------------------------------
def _cmd(args):
    try:
        return subprocess.run(args, capture_output=True, text=True,
                              timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def _dpkg(pkg):
    return _cmd(["dpkg-query", "-W", "-f=${Version}", pkg]) or "?"


def loadavg():
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "?"


def _git_head(repo):
    """HEAD commit read from .git files (no git command is run)."""
    gd = os.path.join(repo, ".git")
    try:
        with open(os.path.join(gd, "HEAD")) as f:
            head = f.read().strip()
        if not head.startswith("ref: "):
            return head[:12]
        ref = head[5:]
        p = os.path.join(gd, ref)
        if os.path.isfile(p):
            with open(p) as f:
                return f.read().strip()[:12] + " (%s)" % ref.split("/")[-1]
        with open(os.path.join(gd, "packed-refs")) as f:
            for line in f:
                if line.strip().endswith(" " + ref):
                    return line.split()[0][:12] + " (%s)" % ref.split("/")[-1]
    except OSError:
        pass
    return "?"


def _file_id(path):
    try:
        st = os.stat(path)
        h = hashlib.sha256()
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        mtime = datetime.datetime.fromtimestamp(st.st_mtime)
        return "%s (%d KiB, built %s, sha256 %s)" % (
            path, st.st_size // 1024, mtime.strftime("%Y-%m-%d %H:%M"),
            h.hexdigest()[:12])
    except OSError:
        return "%s (missing)" % path


def collect_meta(modules, enabled, args, notes, repo):
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = "?"
    try:
        with open("/proc/meminfo") as f:
            mem = "%.1f GiB" % (int(f.readline().split()[1]) / 2**20)
    except OSError:
        pass
    apache_v = _cmd(["/usr/sbin/apache2", "-v"]).splitlines()
    return {
        "date": datetime.datetime.now().astimezone().isoformat(
            timespec="seconds"),
        "machine": "%s, %d CPUs, %s RAM, Linux %s" % (
            cpu, os.cpu_count() or 0, mem, platform.release()),
        "apache": (apache_v[0].split(":", 1)[1].strip() if apache_v else "?")
        + " (apache2-bin %s, event MPM)" % _dpkg("apache2-bin"),
        "python": "%s (python3.11 %s)" % (
            _cmd(["/usr/bin/python3", "--version"]), _dpkg("python3.11")),
        "wrk": "wrk %s" % _dpkg("wrk"),
        "reference": "libapache2-mod-wsgi-py3 %s: %s" % (
            _dpkg("libapache2-mod-wsgi-py3"), _file_id(modules["reference"])),
        "ours": ("%s, repo HEAD %s" % (_file_id(modules["ours"]),
                                       _git_head(repo))
                 if "ours" in enabled else "not run"),
        "settings": "duration %ds, warm-up %ds, repeat %d, %s" % (
            args.duration, args.warmup, args.repeat,
            "quick" if args.quick else "default") +
        (", only %s" % ",".join(args.only) if args.only else ""),
        "notes": list(notes),
    }


# --------------------------------------------------------------------------
# CSV
# --------------------------------------------------------------------------
def write_runs_csv(path, rows):
    tmp = path + ".tmp"
    with open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, RUN_FIELDS, extrasaction="ignore")
        w.writeheader()
        for r in rows:
            w.writerow(r)
    os.replace(tmp, path)


_INT_FIELDS = {"c", "rep", "requests", "errors", "err_connect", "err_read",
               "err_write", "err_status", "err_timeout", "procs_idle",
               "procs_loaded", "rss_idle_kib", "pss_idle_kib",
               "rss_loaded_kib", "pss_loaded_kib"}
_STR_FIELDS = {"cell", "app", "mode", "server", "status", "started", "detail"}


def load_runs_csv(path):
    """Read a runs.csv back into run rows (for --render)."""
    rows = []
    with open(path, newline="") as f:
        for r in csv.DictReader(f):
            for k, v in list(r.items()):
                if k in _STR_FIELDS:
                    r[k] = v or ""
                elif v == "" or v is None:
                    r[k] = None
                elif k in _INT_FIELDS:
                    r[k] = int(float(v))
                else:
                    r[k] = float(v)
            rows.append(r)
    return rows


def summarize(rows):
    """{cell_key: {"app","mode","c", "servers": {srv: stats}, "ratio": {...},
    "pair_rps": [ours/ref per rep]}} in first-seen order."""
    cells = {}
    for r in rows:
        cell = cells.setdefault(r["cell"], {"app": r["app"], "mode": r["mode"],
                                            "c": r["c"], "servers": {}})
        s = cell["servers"].setdefault(r["server"], {"runs": [], "ok": []})
        s["runs"].append(r)
        if r["status"] == "ok":
            s["ok"].append(r)
    for cell in cells.values():
        for s in cell["servers"].values():
            ok = s["ok"]
            s["n_ok"], s["n_runs"] = len(ok), len(s["runs"])
            s["errors"] = sum(r.get("errors") or 0 for r in ok)
            s["failures"] = [r for r in s["runs"] if r["status"] != "ok"]
            for m in METRICS:
                vals = [r[m] for r in ok if r.get(m) is not None]
                s[m] = statistics.median(vals) if vals else None
            rps = [r["rps"] for r in ok if r.get("rps") is not None]
            s["rps_min"] = min(rps) if rps else None
            s["rps_max"] = max(rps) if rps else None
        o = cell["servers"].get("ours")
        ref = cell["servers"].get("reference")
        cell["ratio"] = {}
        cell["pair_rps"] = []
        if o and ref:
            for m in METRICS:
                if o[m] is not None and ref[m]:
                    cell["ratio"][m] = o[m] / ref[m]
            by_rep = {r["rep"]: r for r in ref["ok"]}
            for r in o["ok"]:
                if r["rep"] in by_rep and by_rep[r["rep"]]["rps"]:
                    cell["pair_rps"].append(r["rps"] / by_rep[r["rep"]]["rps"])
    return cells


SUMMARY_FIELDS = (["cell", "app", "mode", "c", "server", "n_ok", "n_runs",
                   "errors", "rps_min", "rps_max"] + METRICS)


def write_summary_csv(path, summary):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(SUMMARY_FIELDS)
        for key, cell in summary.items():
            for srv, s in cell["servers"].items():
                w.writerow([key, cell["app"], cell["mode"], cell["c"], srv] +
                           [_csvnum(s.get(k)) for k in SUMMARY_FIELDS[5:]])
            if cell["ratio"]:
                w.writerow([key, cell["app"], cell["mode"], cell["c"],
                            "ratio ours/reference", "", "", "", 
                            _csvnum(min(cell["pair_rps"], default=None)),
                            _csvnum(max(cell["pair_rps"], default=None))] +
                           [_csvnum(cell["ratio"].get(m)) for m in METRICS])


def _csvnum(v):
    if v is None:
        return ""
    if isinstance(v, float):
        return "%.4g" % v if abs(v) < 10 else "%.1f" % v
    return v


# --------------------------------------------------------------------------
# markdown
# --------------------------------------------------------------------------
def _n(v, digits=0):
    if v is None:
        return "—"
    if digits == 0:
        return "{:,.0f}".format(v)
    return "{:,.{d}f}".format(v, d=digits)


def _ms(v):
    if v is None:
        return "—"
    return "%.2f" % v if v < 10 else "%.1f" % v


def _x(v):
    return "—" if v is None else "%.2f×" % v


def _mib(kib):
    return "—" if kib is None else "%.0f" % (kib / 1024.0)


def _server_cell(s, fmt, status=False):
    """Render one server's value; without ok runs, its failure state (only
    in the req/s column, status=True) or "✗"."""
    if s is None:
        return "—"
    if not s["n_ok"]:
        if not status:
            return "✗"
        st = s["failures"][0]["status"] if s["failures"] else "no data"
        return "*%s*" % st
    return fmt(s)


def _rps_cell(s):
    def f(s):
        if s["n_ok"] > 1:
            return "%s (%s–%s)" % (_n(s["rps"]), _n(s["rps_min"]),
                                   _n(s["rps_max"]))
        return _n(s["rps"])
    return _server_cell(s, f, status=True)


def _ratio_cell(cell, m):
    r = cell["ratio"].get(m)
    if r is None:
        return "—"
    if m == "rps" and len(cell["pair_rps"]) > 1:
        return "**%s** (%.2f–%.2f)" % (_x(r), min(cell["pair_rps"]),
                                       max(cell["pair_rps"]))
    return "**%s**" % _x(r)


def _wsgi_cells(summary):
    return [(k, c) for k, c in summary.items() if c["mode"] != "static"]


def render_tables(meta, summary, rows):
    out = []
    static = {c["c"]: c["servers"].get("static")
              for c in summary.values() if c["mode"] == "static"}
    cells = _wsgi_cells(summary)

    out.append("#### Throughput and latency\n")
    out.append("req/s: median over repeats (min–max); ratio = ours/reference "
               "of the medians (min–max of the per-repeat pairs). "
               "Latency in ms. Static = Apache serving a 13-byte file "
               "(the ceiling), shown on hello rows.\n")
    out.append("| cell | static req/s | ref req/s | ours req/s | req/s ours/ref "
               "| p50 ref | p50 ours | p50 ratio | p99 ref | p99 ours "
               "| p99 ratio | errors ref / ours |")
    out.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for key, cell in cells:
        ref = cell["servers"].get("reference")
        ours = cell["servers"].get("ours")
        st = static.get(cell["c"]) if cell["app"] == "hello" else None
        out.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |"
                   % (key, _rps_cell(st) if st else "",
                      _rps_cell(ref), _rps_cell(ours), _ratio_cell(cell, "rps"),
                      _server_cell(ref, lambda s: _ms(s["p50_ms"])),
                      _server_cell(ours, lambda s: _ms(s["p50_ms"])),
                      _ratio_cell(cell, "p50_ms"),
                      _server_cell(ref, lambda s: _ms(s["p99_ms"])),
                      _server_cell(ours, lambda s: _ms(s["p99_ms"])),
                      _ratio_cell(cell, "p99_ms"),
                      "%s / %s" % (_server_cell(ref, lambda s: str(s["errors"])),
                                   _server_cell(ours, lambda s: str(s["errors"])))))
    if not cells and static:
        pass
    # static-only rows (e.g. --only hello/static)
    if static and not any(c["app"] == "hello" for _, c in cells):
        for c, st in sorted(static.items()):
            out.append("| hello/static/%d | %s | | | | | | | | | | |"
                       % (c, _rps_cell(st)))

    out.append("\n#### Cost: CPU and memory\n")
    out.append("CPU = user+system time of the whole httpd process tree "
               "(parent, MPM children, WSGI daemons) during the measured run "
               "÷ completed requests. Memory = sum over the tree from "
               "/proc/PID/smaps_rollup, MiB; idle = after start-up and one "
               "request, loaded = max sampled during the run.\n")
    out.append("| cell | CPU µs/req ref | ours | ratio | RSS idle ref / ours "
               "| PSS idle ref / ours | RSS loaded ref / ours "
               "| PSS loaded ref / ours | PSS loaded ratio |")
    out.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for key, cell in cells:
        ref = cell["servers"].get("reference")
        ours = cell["servers"].get("ours")

        def pair(m):
            return "%s / %s" % (
                _server_cell(ref, lambda s: _mib(s[m])),
                _server_cell(ours, lambda s: _mib(s[m])))
        out.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            key,
            _server_cell(ref, lambda s: _n(s["cpu_us_per_req"])),
            _server_cell(ours, lambda s: _n(s["cpu_us_per_req"])),
            _ratio_cell(cell, "cpu_us_per_req"),
            pair("rss_idle_kib"), pair("pss_idle_kib"),
            pair("rss_loaded_kib"), pair("pss_loaded_kib"),
            _ratio_cell(cell, "pss_loaded_kib")))
    if static:
        parts = ["c=%d: %s µs/req, PSS loaded %s MiB" % (
            c, _server_cell(s, lambda s: _n(s["cpu_us_per_req"])),
            _server_cell(s, lambda s: _mib(s["pss_loaded_kib"])))
            for c, s in sorted(static.items())]
        out.append("\nStatic ceiling cost: " + "; ".join(parts) + ".")

    out.append("\n#### Targets\n")
    out.append("| target | measured | status |")
    out.append("|---|---|---|")
    for name, measured, status in evaluate_targets(summary, rows):
        out.append("| %s | %s | %s |" % (name, measured, status))
    out.append("\n#### Targets (issue 19, second wave)\n")
    out.append("| target | measured | status |")
    out.append("|---|---|---|")
    for name, measured, status in evaluate_targets_wave2(summary):
        out.append("| %s | %s | %s |" % (name, measured, status))

    bad = [r for r in rows if r["status"] != "ok" or r.get("errors")]
    if bad:
        out.append("\n#### Failed runs and runs with errors\n")
        out.append("| cell | server | rep | status | detail |")
        out.append("|---|---|---:|---|---|")
        for r in bad:
            out.append("| %s | %s | %d | %s | %s |" % (
                r["cell"], r["server"], r["rep"], r["status"],
                _md_escape(r.get("detail", ""))[:240]))
    return "\n".join(out) + "\n"


def _md_escape(s):
    return s.replace("|", "\\|").replace("\n", " ")


def evaluate_targets(summary, rows):
    """[(target, measured, PASS/FAIL/not measured)] from the issue."""
    res = []

    def cell(key):
        return summary.get(key)

    def ratio(key, m):
        c = cell(key)
        return None if c is None else c["ratio"].get(m)

    def pairs(key):
        c = cell(key)
        if c is None or len(c["pair_rps"]) < 2:
            return ""
        return " (pairs %.2f–%.2f)" % (min(c["pair_rps"]), max(c["pair_rps"]))

    def every(cells, measured):
        """FAIL if a measured cell exceeds 1.0×; PASS only if all were
        measured."""
        if any(v > 1.0 for _, v in measured):
            return "**FAIL**"
        if not measured:
            return "not measured"
        return "PASS" if len(measured) == len(cells) else "incomplete"

    def status(ok):
        return "not measured" if ok is None else ("PASS" if ok else "**FAIL**")

    for key, rps_t, cpu_t in (("hello/embedded/16", 1.3, 0.8),
                              ("hello/daemon/16", 1.6, 0.7)):
        r, c = ratio(key, "rps"), ratio(key, "cpu_us_per_req")
        ok = None if r is None or c is None else (r >= rps_t and c <= cpu_t)
        res.append(("%s: req/s ≥ %.1f× and CPU/req ≤ %.1f×" % (key, rps_t, cpu_t),
                    "%s req/s%s, %s CPU/req" % (_x(r), pairs(key), _x(c)),
                    status(ok)))
    for key in ("stream/daemon/16", "echo/daemon/16"):
        r = ratio(key, "rps")
        res.append(("%s: req/s ≥ 2.5×" % key, "%s%s" % (_x(r), pairs(key)),
                    status(None if r is None else r >= 2.5)))
    p99 = [(k, c["ratio"].get("p99_ms")) for k, c in summary.items()
           if c["c"] == 64 and c["mode"] != "static"]
    p99m = [(k, v) for k, v in p99 if v is not None]
    worst = max(p99m, key=lambda kv: kv[1]) if p99m else None
    res.append(("p99 at c=64 ≤ reference (every app/mode)",
                "%d of %d cells measured, worst %s %s" % (
                    len(p99m), len(p99), worst[0], _x(worst[1]))
                if worst else "—", every(p99, p99m)))
    ours_rows = [r for r in rows if r["server"] == "ours"]
    n_err = sum(r.get("errors") or 0 for r in ours_rows)
    n_bad = sum(1 for r in ours_rows if r["status"] != "ok")
    res.append(("zero errors (ours)",
                "%d errors, %d failed runs of %d" % (n_err, n_bad,
                                                     len(ours_rows))
                if ours_rows else "—",
                status(None if not ours_rows
                       else n_err == 0 and n_bad == 0)))
    pss = [(k, c["ratio"].get("pss_loaded_kib")) for k, c in summary.items()
           if c["mode"] != "static"]
    pssm = [(k, v) for k, v in pss if v is not None]
    worst = max(pssm, key=lambda kv: kv[1]) if pssm else None
    res.append(("PSS loaded ≤ reference (every cell)",
                "%d of %d cells measured, worst %s %s" % (
                    len(pssm), len(pss), worst[0], _x(worst[1]))
                if worst else "—", every(pss, pssm)))
    return res


def evaluate_targets_wave2(summary):
    """Issue 19's targets (second wave), from the micro cells."""
    res = []

    def srv(key, name):
        c = summary.get(key)
        s = c and c["servers"].get(name)
        return s if s and s["n_ok"] else None

    def status(ok):
        return "not measured" if ok is None else ("PASS" if ok else "**FAIL**")

    for app in ("stream", "echo"):
        d = srv("%s/daemon/16" % app, "ours")
        e = srv("%s/embedded/16" % app, "ours")
        r = d["rps"] / e["rps"] if d and e and e["rps"] else None
        res.append(("%s/daemon/16: req/s ≥ 0.8× ours embedded" % app,
                    _x(r), status(None if r is None else r >= 0.8)))
    d, st = srv("hello/daemon/16", "ours"), srv("hello/static/16", "static")
    r = d["rps"] / st["rps"] if d and st and st["rps"] else None
    res.append(("hello/daemon/16: req/s ≥ 0.7× static", _x(r),
                status(None if r is None else r >= 0.7)))
    emb = [(k, c) for k, c in summary.items()
           if c["mode"] == "embedded" and c["c"] in (16, 64)]
    low = [(k, c["ratio"]["rps"]) for k, c in emb if "rps" in c["ratio"]]
    worst = min(low, key=lambda kv: kv[1]) if low else None
    res.append(("every embedded cell at c=16 and c=64: req/s ≥ reference",
                "%d of %d measured, lowest %s %s" % (
                    len(low), len(emb), worst[0], _x(worst[1]))
                if worst else "—",
                "not measured" if not low else
                ("**FAIL**" if worst[1] < 1.0 else
                 ("PASS" if len(low) == len(emb) else "incomplete"))))
    dae = [(k, c) for k, c in summary.items()
           if c["mode"] == "daemon" and c["c"] == 64]
    pss = [(k, c["ratio"]["pss_loaded_kib"]) for k, c in dae
           if "pss_loaded_kib" in c["ratio"]]
    worst = max(pss, key=lambda kv: kv[1]) if pss else None
    res.append(("every daemon cell at c=64: PSS loaded ≤ reference",
                "%d of %d measured, worst %s %s" % (
                    len(pss), len(dae), worst[0], _x(worst[1]))
                if worst else "—",
                "not measured" if not pss else
                ("**FAIL**" if worst[1] > 1.0 else
                 ("PASS" if len(pss) == len(dae) else "incomplete"))))
    # p99 may exceed the reference's by its own A/A spread: the max/min of
    # the reference's p99 over its repeats in that cell.
    over, n = [], 0
    for k, c in dae:
        o, ref = c["servers"].get("ours"), c["servers"].get("reference")
        vals = [r["p99_ms"] for r in (ref or {}).get("ok", [])
                if r.get("p99_ms")]
        if not o or not o["p99_ms"] or len(vals) < 2:
            continue
        n += 1
        allowed = ref["p99_ms"] * max(vals) / min(vals)
        if o["p99_ms"] > allowed:
            over.append("%s %.1f > %.1f ms" % (k, o["p99_ms"], allowed))
    res.append(("every daemon cell at c=64: p99 ≤ reference × its A/A "
                "spread (max/min of its repeats)",
                "%d of %d measured%s" % (n, len(dae), "; over: " +
                                         ", ".join(over) if over else ""),
                "not measured" if not n else
                ("**FAIL**" if over else
                 ("PASS" if n == len(dae) else "incomplete"))))
    return res


def render_header(meta):
    lines = [
        "- **Date:** %s (%.0f s wall for the whole run)" % (
            meta["date"], meta.get("elapsed_s", 0)),
        "- **Machine:** %s; load average before/after: %s / %s" % (
            meta["machine"], meta.get("load_before", "?"),
            meta.get("load_after", "?")),
        "- **Apache:** %s" % meta["apache"],
        "- **Python:** %s" % meta["python"],
        "- **Load generator:** %s (loopback, keep-alive)" % meta["wrk"],
        "- **Reference:** %s" % meta["reference"],
        "- **Ours:** %s" % meta["ours"],
        "- **Settings:** %s" % meta["settings"],
    ]
    for srv, b in sorted((meta.get("banners") or {}).items()):
        lines.append("- **Server banner (%s):** `%s`" % (srv, b))
    for n in meta.get("notes", []):
        lines.append("- **Note:** %s" % n)
    return "\n".join(lines) + "\n"


def render_markdown(meta, summary, rows, extra=""):
    return ("# mod_wsgi-rs benchmark results\n\n" + render_header(meta) +
            "\n" + render_tables(meta, summary, rows) +
            ("\n" + extra if extra else ""))


def update_docs(path, meta, summary, rows, extra=""):
    """extra: more generated markdown (the whole-server tables)."""
    block = "%s\n\n### Latest results\n\n%s\n%s\n%s%s" % (
        DOC_BEGIN, render_header(meta), render_tables(meta, summary, rows),
        extra + "\n" if extra else "", DOC_END)
    try:
        with open(path) as f:
            text = f.read()
    except OSError:
        text = "# Performance\n\n"
    if DOC_BEGIN in text and DOC_END in text:
        pre = text[:text.index(DOC_BEGIN)]
        post = text[text.index(DOC_END) + len(DOC_END):]
        text = pre + block + post
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    with open(path, "w") as f:
        f.write(text)
