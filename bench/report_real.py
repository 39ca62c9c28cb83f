"""Tables and targets of the whole-server cells (bench/realapps.py):
real applications per server, 1,000 connections, start-up and recycle."""

import csv
import os
import statistics

import report
import servers

REAL_FIELDS = report.RUN_FIELDS[:-1] + [
    "startup_s", "recycles", "gap_ms", "gap_max_ms", "first_new_ms",
    "detail"]
EXTRA = ["startup_s", "gap_ms", "gap_max_ms", "first_new_ms"]

SERVER_LABEL = {
    "ours-express": "ours, express defaults (1×5)",
    "pip-express": "pip mod_wsgi-express 6.1.1, defaults (1×5)",
    "ours-express-2x16": "ours, express 2×16",
    "pip-express-2x16": "pip mod_wsgi-express 6.1.1, 2×16",
    "gunicorn-2x16": "gunicorn gthread 2×16",
    "granian-2": "granian WSGI, 2 workers",
}


def write_csv(path, rows):
    tmp = path + ".tmp"
    with open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, REAL_FIELDS, extrasaction="ignore")
        w.writeheader()
        for r in rows:
            w.writerow(r)
    os.replace(tmp, path)


def load_csv(path):
    rows = report.load_runs_csv(path)
    for r in rows:
        for k in ("recycles",):
            if r.get(k) is not None:
                r[k] = int(r[k])
    return rows


def summarize(rows):
    summary = report.summarize(rows)
    for cell in summary.values():
        for s in cell["servers"].values():
            for m in EXTRA:
                vals = [r[m] for r in s["ok"] if r.get(m) is not None]
                s[m] = statistics.median(vals) if vals else None
                s[m + "_range"] = (min(vals), max(vals)) if vals else None
            s["errors_all"] = sum(r.get("errors") or 0 for r in s["runs"])
    return summary


def _status(s):
    if s["n_ok"] == s["n_runs"]:
        return ""
    return " (%d of %d ok: %s)" % (s["n_ok"], s["n_runs"], ", ".join(
        sorted({r["status"] for r in s["failures"]})))


def _range(rng, fmt):
    if not rng or rng[0] == rng[1]:
        return ""
    return " (%s–%s)" % (fmt % rng[0], fmt % rng[1])


def _load_table(summary, mode, title):
    out = []
    cells = [(k, c) for k, c in summary.items() if c["mode"] == mode]
    if not cells:
        return out
    out += ["#### %s" % title, "",
            "| cell | server | req/s (min–max) | p99 ms | CPU µs/req | "
            "PSS idle MiB | PSS loaded MiB | processes | errors |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for key, cell in cells:
        for srv, s in cell["servers"].items():
            rng = ((s["rps_min"], s["rps_max"]) if s["rps_min"] is not None
                   else None)
            procs = [r.get("procs_loaded") for r in s["ok"]
                     if r.get("procs_loaded")]
            out.append("| %s | %s | %s%s%s | %s | %s | %s | %s | %s | %d |" % (
                key, SERVER_LABEL.get(srv, srv), report._n(s["rps"]),
                _range(rng, "%.0f"), _status(s), report._ms(s["p99_ms"]),
                report._n(s["cpu_us_per_req"]),
                report._mib(s["pss_idle_kib"]),
                report._mib(s["pss_loaded_kib"]),
                max(procs) if procs else "—", s["errors_all"]))
    return out + [""]


def _startup_table(summary):
    out = []
    st = summary.get("startup/express/1")
    rc = summary.get("recycle/express/1")
    if not st and not rc:
        return out
    out += ["#### Start-up and recycle", "",
            "| server | start-server → first 200, s (min–max) | recycle gap, "
            "ms: median (max) | first request of the new process, ms | "
            "recycles seen | errors |", "|---|---:|---:|---:|---:|---:|"]
    names = list(dict.fromkeys(list((st or {"servers": {}})["servers"]) +
                               list((rc or {"servers": {}})["servers"])))
    for srv in names:
        a = (st or {"servers": {}})["servers"].get(srv)
        b = (rc or {"servers": {}})["servers"].get(srv)
        start = ("%.2f%s%s" % (a["startup_s"], _range(
            a["startup_s_range"], "%.2f"), _status(a))
            if a and a["startup_s"] is not None else "—")
        gap = ("%.1f (%.1f)%s" % (b["gap_ms"], b["gap_max_ms"], _status(b))
               if b and b["gap_ms"] is not None else
               ("—" + _status(b) if b else "—"))
        first = ("%.1f" % b["first_new_ms"]
                 if b and b["first_new_ms"] is not None else "—")
        seen = (sum(r.get("recycles") or 0 for r in b["runs"]) if b else "—")
        out.append("| %s | %s | %s | %s | %s | %s |" % (
            SERVER_LABEL.get(srv, srv), start, gap, first, seen,
            b["errors_all"] if b else "—"))
    return out + [""]


def evaluate_targets(summary, rows):
    res = []

    def rps(key, srv):
        c = summary.get(key)
        s = c and c["servers"].get(srv)
        return s["rps"] if s and s["n_ok"] else None

    def verdict(r, t):
        if r is None:
            return "not measured"
        return "PASS" if r >= t else "**FAIL**"

    for key, cell in summary.items():
        if cell["mode"] != "servers":
            continue
        o, g = rps(key, "ours-express-2x16"), rps(key, "granian-2")
        r = o / g if o and g else None
        res.append(("%s: ours 2×16 req/s ≥ granian 2 workers" % key,
                    report._x(r), verdict(r, 1.0)))
        for mine, ref, label in (("ours-express", "pip-express", "defaults"),
                                 ("ours-express-2x16", "pip-express-2x16",
                                  "2×16")):
            o, p = rps(key, mine), rps(key, ref)
            r = o / p if o and p else None
            res.append(("%s: express %s ≥ 1.3× pip's 6.1.1" % (key, label),
                        report._x(r), verdict(r, 1.3)))
    ours = [r for r in rows if r["server"].startswith("ours")]
    if ours:
        n_err = sum(r.get("errors") or 0 for r in ours)
        n_bad = sum(1 for r in ours if r["status"] != "ok")
        res.append(("zero errors (ours, every whole-server cell incl. "
                    "c=1,000)", "%d errors, %d failed runs of %d" % (
                        n_err, n_bad, len(ours)),
                    "PASS" if n_err == 0 and n_bad == 0 else "**FAIL**"))
    return res


def render(summary, rows, versions=None):
    if not summary:
        return ""
    out = ["### Whole servers: real applications, scale, start-up", ""]
    if versions:
        out += ["Servers: ours = `target/release/mod_wsgi-express` with "
                "`libmod_wsgi.so`; pip = mod_wsgi-express %s; gunicorn %s; "
                "granian %s. Memory is the PSS of the whole process tree "
                "(for mod_wsgi-express: the express process, Apache's "
                "parent, children and daemon processes)." % (
                    versions.get("pip-express") or "?",
                    versions.get("gunicorn") or "?",
                    versions.get("granian") or "?"), ""]
    out += _load_table(summary, "servers",
                       "Real applications (Django view + SQLite, Flask "
                       "JSON API)")
    out += _load_table(summary, "scale",
                       "1,000 keep-alive connections (event MPM, express "
                       "defaults + `--max-clients 1000`, hello)")
    out += _startup_table(summary)
    tg = evaluate_targets(summary, rows)
    if tg:
        out += ["#### Targets (whole servers)", "",
                "| target | measured | status |", "|---|---|---|"]
        out += ["| %s | %s | %s |" % t for t in tg]
        out.append("")
    fails = [r for r in rows if r["status"] != "ok" or r.get("errors")]
    if fails:
        out += ["#### Failures and errors (whole servers)", "",
                "| cell | server | rep | status | detail |",
                "|---|---|---:|---|---|"]
        out += ["| %s | %s | %s | %s | %s |" % (
            r["cell"], r["server"], r["rep"], r["status"],
            report._md_escape((r.get("detail") or "")[:200]))
            for r in fails]
        out.append("")
    return "\n".join(out) + "\n"


def known_servers():
    return list(servers.SERVERS)
