#!/usr/bin/python3
"""mod_wsgi-rs benchmark harness: ours vs Debian's mod_wsgi vs static Apache
(micro apps), and whole servers (ours and pip's mod_wsgi-express, gunicorn,
granian) on real applications, 1,000 connections, start-up and recycle.

    sudo /usr/bin/python3 bench/run.py            # default matrix, < 15 min
    sudo /usr/bin/python3 bench/run.py --quick    # smoke matrix, < 3 min

See bench/README.md.  Python 3 standard library only.
"""

import argparse
import datetime
import fnmatch
import json
import os
import shutil
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)

import apache  # noqa: E402
import realapps  # noqa: E402
import report  # noqa: E402
import report_real  # noqa: E402
import servers  # noqa: E402
import wrk  # noqa: E402

DEFAULT_OURS = os.path.join(REPO, "target", "release", "libmod_wsgi.so")
DEFAULT_REFERENCE = "/usr/lib/apache2/modules/mod_wsgi.so"

APPS = ("hello", "big", "stream", "echo")
MODES = ("embedded", "daemon")
CONCURRENCY = (1, 16, 64)
ECHO_BYTES = 1024 * 1024

# path on the server, POST body size, expected response body check
APP_SPEC = {
    "hello": ("/hello", 0, lambda b: b == b"Hello World!\n"),
    "big": ("/big", 0, lambda b: len(b) == 64 * 1024),
    "stream": ("/stream", 0, lambda b: len(b) == 1024 * 1024),
    "echo": ("/echo", ECHO_BYTES, lambda b: b.strip() == b"1048576"),
    "static": ("/hello.txt", 0, lambda b: b == b"Hello World!\n"),
}

PROFILES = {
    # 153 runs x (3 s + 1 s warm-up + ~1 s start/stop/probes) ~= 12.5 min on
    # the 2-vCPU dev VM.  Three short interleaved repeats (median of 3) resist
    # bursts of load from other tenants better than two long ones.
    "default": dict(duration=3, warmup=1, repeat=3, concurrency=CONCURRENCY,
                    quick_c64=False, real_repeat=2, scale_duration=5),
    # c=16 for every app/mode, plus hello at c=64; ~20 runs x ~4 s
    "quick": dict(duration=2, warmup=1, repeat=1, concurrency=(16,),
                  quick_c64=True, real_repeat=1, scale_duration=3),
}


def log(msg):
    sys.stderr.write("[%s] %s\n" % (time.strftime("%H:%M:%S"), msg))
    sys.stderr.flush()


# --------------------------------------------------------------------------
# matrix
# --------------------------------------------------------------------------
class Cell:
    """One (app, mode, concurrency) cell; mode "static" = the ceiling."""

    def __init__(self, app, mode, c):
        self.app, self.mode, self.c = app, mode, c

    @property
    def key(self):
        return "%s/%s/%d" % (self.app, self.mode, self.c)

    def servers(self, enabled):
        if self.mode == "static":
            return [s for s in ("static",) if s in enabled]
        return [s for s in ("ours", "reference") if s in enabled]


def parse_only(specs):
    pats = []
    for spec in specs or ():
        for one in spec.split(","):
            one = one.strip()
            if not one:
                continue
            parts = one.split("/")
            if len(parts) > 3:
                raise SystemExit("--only %r: expected app/mode/c" % one)
            parts += ["*"] * (3 - len(parts))
            pats.append(tuple(p or "*" for p in parts))
    return pats


def only_match(pats):
    """--only patterns as a predicate on (app, mode, c), or None."""
    if not pats:
        return None
    return lambda app, mode, c: any(
        fnmatch.fnmatch(app, a) and fnmatch.fnmatch(mode, m)
        and fnmatch.fnmatch(str(c), cc) for a, m, cc in pats)


def build_matrix(conc, quick_c64, only, with_static):
    """Cells of a profile; with --only, the matching cells of the *full*
    matrix (all apps, modes and concurrencies) instead."""
    if only:
        conc, quick_c64 = CONCURRENCY, False
    cells = []
    for app in APPS:
        for c in conc:
            for mode in MODES:
                cells.append(Cell(app, mode, c))
            if app == "hello" and with_static:
                cells.append(Cell("hello", "static", c))
    if quick_c64:
        for mode in MODES:
            cells.append(Cell("hello", mode, 64))
        if with_static:
            cells.append(Cell("hello", "static", 64))
    if only:
        cells = [x for x in cells
                 if any(fnmatch.fnmatch(x.app, a) and fnmatch.fnmatch(x.mode, m)
                        and fnmatch.fnmatch(str(x.c), c) for a, m, c in only)]
    return cells


# --------------------------------------------------------------------------
# one run = start a fresh httpd, check the app, warm up, measure, stop
# --------------------------------------------------------------------------
def sample_memory(pid, samples):
    rss, pss, n = apache.tree_memory_kib(pid)
    samples.append((rss, pss, n))


def run_one(cell, server, rep, args, modules, failed):
    row = dict(cell=cell.key, app=cell.app, mode=cell.mode, c=cell.c,
               server=server, rep=rep, status="ok", detail="",
               started=datetime.datetime.now().isoformat(timespec="seconds"))
    fkey = (server, cell.mode)
    if fkey in failed:
        row.update(status="skipped", detail="earlier failure: " + failed[fkey])
        return row, None
    akey = (server, cell.mode, cell.app)
    if akey in failed:
        row.update(status="skipped", detail="earlier failure: " + failed[akey])
        return row, None

    if server == "static":
        httpd = apache.Apache("static", "static", keep=args.keep)
    else:
        httpd = apache.Apache(server, "wsgi", cell.mode, modules[server],
                              keep=args.keep)
    path, post_bytes, check = APP_SPEC["static" if server == "static"
                                      else cell.app]
    banner = None
    try:
        try:
            httpd.start(timeout=args.start_timeout)
        except apache.StartError as e:
            msg = "%s; %s" % (e, _last_error_line(e.log))
            failed[fkey] = "start failed"
            row.update(status="start-failed", detail=msg)
            return row, None
        banner = _banner(httpd.error_log(200))
        conf_copy = os.path.join(args.out_dir, "httpd-%s.conf" % cell.mode)
        if not os.path.exists(conf_copy):
            shutil.copy(httpd.conf_path, conf_copy)
        # preflight: one request, verified
        try:
            st, body = httpd.request(path, b"x" * post_bytes if post_bytes
                                     else None, timeout=args.request_timeout)
        except Exception as e:  # noqa: BLE001 - any failure is reported
            st, body = None, repr(e).encode()
        if st != 200 or not check(body):
            msg = "preflight %s: HTTP %s %r; %s" % (
                path, st, body[:80], _last_error_line(httpd.error_log()))
            failed[akey] = "preflight failed"
            row.update(status="preflight-failed", detail=msg)
            return row, banner
        time.sleep(args.settle)
        rss, pss, n = apache.tree_memory_kib(httpd.proc.pid)
        row.update(rss_idle_kib=rss, pss_idle_kib=pss, procs_idle=n)
        if cell.mode == "daemon" and n < 5:
            # parent + 2 MPM children + 2 WSGI daemon processes expected;
            # fewer means the request was not served in daemon mode.
            failed[fkey] = "no daemon processes"
            row.update(status="no-daemon-procs",
                       detail="daemon mode: only %d processes in the httpd "
                       "tree (expected 5: parent, 2 MPM children, 2 daemons)"
                       % n)
            return row, banner

        url = httpd.url(path)
        if args.warmup > 0:
            try:
                wrk.run(url, cell.c, args.warmup, post_bytes)
            except wrk.WrkError as e:
                row.update(status="wrk-failed", detail="warm-up: %s" % e)
                return row, banner

        pid = httpd.proc.pid
        cpu0, _ = apache.tree_cpu_us(pid)
        t0 = time.monotonic()
        proc = wrk.start(url, cell.c, args.duration, post_bytes)
        samples = []
        next_sample = t0 + min(1.0, args.duration * 0.3)
        while proc.poll() is None:
            now = time.monotonic()
            if now >= next_sample and now < t0 + args.duration - 0.2:
                sample_memory(pid, samples)
                next_sample = now + max(0.5, args.duration / 5.0)
            time.sleep(0.05)
        cpu1, nprocs = apache.tree_cpu_us(pid)
        try:
            r = wrk.finish(proc, args.duration)
        except wrk.WrkError as e:
            row.update(status="wrk-failed", detail=str(e))
            return row, banner
        if not samples:
            sample_memory(pid, samples)
        cpu = cpu1 - cpu0
        row.update(
            requests=r["requests"], seconds=round(r["duration_us"] / 1e6, 3),
            rps=round(r["rps"], 1), mib_s=round(r["bytes"] / r["duration_us"]
                                                * 1e6 / 2**20, 1),
            p50_ms=r["lat_p50_us"] / 1000.0, p90_ms=r["lat_p90_us"] / 1000.0,
            p99_ms=r["lat_p99_us"] / 1000.0, p999_ms=r["lat_p999_us"] / 1000.0,
            mean_ms=round(r["lat_mean_us"] / 1000.0, 3),
            max_ms=r["lat_max_us"] / 1000.0,
            errors=r["errors"], err_connect=r["err_connect"],
            err_read=r["err_read"], err_write=r["err_write"],
            err_status=r["err_status"], err_timeout=r["err_timeout"],
            cpu_s=round(cpu / 1e6, 3),
            cpu_cores=round(cpu / max(1, r["duration_us"]), 2),
            cpu_us_per_req=(round(cpu / r["requests"], 1)
                            if r["requests"] else None),
            rss_loaded_kib=max(s[0] for s in samples),
            pss_loaded_kib=max(s[1] for s in samples),
            procs_loaded=max(s[2] for s in samples),
        )
        crash = _crash_line(httpd.error_log(2000))
        if httpd.proc.poll() is not None:
            row.update(status="server-died",
                       detail=_last_error_line(httpd.error_log()))
        elif crash:
            row.update(status="child-crashed", detail=crash)
        elif r["requests"] == 0:
            row.update(status="no-requests",
                       detail=_last_error_line(httpd.error_log()))
        elif r["errors"]:
            row["detail"] = "%d errors; %s" % (
                r["errors"], _last_error_line(httpd.error_log()))
        return row, banner
    finally:
        httpd.stop()


def _last_error_line(text):
    lines = [l for l in (text or "").splitlines()
             if l.strip() and "AH00489" not in l and "AH00094" not in l
             and "AH00491" not in l and "AH00492" not in l]
    return lines[-1].strip()[-300:] if lines else "(error log empty)"


def _crash_line(text):
    """First error-log line reporting a child or daemon killed by a signal
    (e.g. AH00052 "exit signal Segmentation fault")."""
    for line in (text or "").splitlines():
        if ("exit signal" in line or "AH00052" in line
                or "Segmentation fault" in line or "has died" in line):
            return line.strip()[-300:]
    return None


def _banner(text):
    for line in (text or "").splitlines():
        if "AH00489" in line:
            part = line.split("AH00489:", 1)[1]
            return part.replace("configured -- resuming normal operations",
                                "").strip()
    return None


# --------------------------------------------------------------------------
def main(argv=None):
    p = argparse.ArgumentParser(
        description="Benchmark mod_wsgi-rs against Debian's mod_wsgi.")
    p.add_argument("--ours", default=DEFAULT_OURS,
                   help="our module .so (default: %(default)s)")
    p.add_argument("--reference", default=DEFAULT_REFERENCE,
                   help="reference mod_wsgi .so (default: %(default)s)")
    p.add_argument("--quick", action="store_true",
                   help="smoke matrix: c=16 (+hello c=64), 1 repeat, 2 s runs")
    p.add_argument("--duration", type=int, help="seconds per measured run")
    p.add_argument("--warmup", type=int, help="seconds of unmeasured wrk "
                   "load before each measured run")
    p.add_argument("--repeat", type=int, help="runs per server per cell "
                   "(interleaved ours, reference, ours, reference, ...)")
    p.add_argument("--only", action="append", metavar="APP/MODE/C",
                   help="run only matching cells (glob per part; repeatable "
                   "or comma separated), e.g. hello/embedded/16, '*/daemon', "
                   "hello/static (static = the ceiling)")
    p.add_argument("--servers", default="ours,reference,static",
                   help="subset of ours,reference,static (micro cells)")
    p.add_argument("--real-servers", default=",".join(servers.SERVERS),
                   help="subset of %s (whole-server cells)"
                   % ",".join(servers.SERVERS))
    p.add_argument("--real-repeat", type=int, help="runs per server per "
                   "real-application and c=1000 cell (default 2, quick 1)")
    p.add_argument("--scale-duration", type=int, help="seconds of the "
                   "measured c=1000 run (default 5, quick 3)")
    p.add_argument("--recycle-limit", type=float, default=40.0,
                   help="seconds the recycle cell waits for its %d "
                   "replacements" % realapps.RECYCLES)
    p.add_argument("--out", help="results directory "
                   "(default: bench/results/<timestamp>)")
    p.add_argument("--update-docs", dest="docs", action="store_true",
                   default=None, help="rewrite the results section of "
                   "docs/performance.md (default: only for the full default "
                   "matrix)")
    p.add_argument("--no-docs", dest="docs", action="store_false")
    p.add_argument("--render", metavar="DIR",
                   help="re-render DIR/results.md and DIR/summary.csv from "
                   "DIR/runs.csv and DIR/meta.json (no benchmark is run; "
                   "with --update-docs also docs/performance.md)")
    p.add_argument("--list", action="store_true",
                   help="print the matrix and the time estimate, run nothing")
    p.add_argument("--keep", action="store_true",
                   help="keep the /tmp ServerRoots (configs, error logs)")
    p.add_argument("--start-timeout", type=float, default=15.0)
    p.add_argument("--request-timeout", type=float, default=10.0)
    p.add_argument("--settle", type=float, default=0.5,
                   help="quiet seconds before the idle memory sample")
    args = p.parse_args(argv)

    if args.render:
        return render_only(args.render, bool(args.docs))

    prof = PROFILES["quick" if args.quick else "default"]
    for k in ("duration", "warmup", "repeat", "real_repeat",
              "scale_duration"):
        if getattr(args, k) is None:
            setattr(args, k, prof[k])
    only = parse_only(args.only)
    enabled = {s.strip() for s in args.servers.split(",") if s.strip()}
    bad = enabled - {"ours", "reference", "static"}
    if bad:
        p.error("unknown server(s): %s" % ", ".join(sorted(bad)))
    real_enabled = [s.strip() for s in args.real_servers.split(",")
                    if s.strip()]
    bad = set(real_enabled) - set(servers.SERVERS)
    if bad:
        p.error("unknown real server(s): %s" % ", ".join(sorted(bad)))

    modules = {"ours": os.path.abspath(args.ours),
               "reference": os.path.abspath(args.reference)}
    notes = []
    if "ours" in enabled and not os.path.isfile(modules["ours"]):
        notes.append("ours not run: %s does not exist (not built yet?)"
                     % modules["ours"])
        enabled.discard("ours")
    if "reference" in enabled and not os.path.isfile(modules["reference"]):
        notes.append("reference not run: %s does not exist"
                     % modules["reference"])
        enabled.discard("reference")
    for n in notes:
        log(n)

    cells = build_matrix(prof["concurrency"], prof["quick_c64"], only,
                         "static" in enabled)
    plan = [(cell, srv, rep) for cell in cells
            for rep in range(1, args.repeat + 1)
            for srv in cell.servers(enabled)]
    est = len(plan) * (args.duration + args.warmup + args.settle + 0.5)
    real_plan = real_matrix(args, only, real_enabled)
    est += sum(realapps.estimate(cell, args) for cell, _, _ in real_plan)
    log("%d cells, %d runs, ~%.0f s (%.1f min) estimated"
        % (len(cells) + len({c.key for c, _, _ in real_plan}),
           len(plan) + len(real_plan), est, est / 60))
    if args.list:
        for cell, srv, rep in plan + real_plan:
            print("%-22s %-18s rep %d" % (cell.key, srv, rep))
        return 0
    if not plan and not real_plan:
        log("nothing to run")
        return 1
    if os.geteuid() != 0:
        log("warning: not root; httpd cannot switch to www-data")

    if args.docs is None:
        args.docs = not args.quick and not only and \
            enabled >= {"ours", "reference"} and \
            set(real_enabled) == set(servers.SERVERS)
    if any(s.startswith(("gunicorn", "granian")) for _, s, _ in real_plan):
        note = servers.ensure_venv()
        if note:
            log(note)
            notes.append(note)

    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    out_dir = args.out or os.path.join(HERE, "results", stamp)
    os.makedirs(out_dir, exist_ok=True)
    args.out_dir = out_dir

    meta = report.collect_meta(modules, enabled, args, notes, REPO)
    meta["load_before"] = report.loadavg()
    t_start = time.monotonic()
    rows, failed, banners = [], {}, {}
    interrupted = False
    for i, (cell, srv, rep) in enumerate(plan, 1):
        try:
            row, banner = run_one(cell, srv, rep, args, modules, failed)
        except KeyboardInterrupt:
            log("interrupted: writing the results of the %d finished runs"
                % len(rows))
            meta["notes"].append("interrupted after %d of %d runs"
                                 % (len(rows), len(plan)))
            interrupted = True
            break
        if banner and srv not in banners:
            banners[srv] = banner
        rows.append(row)
        if row["status"] == "ok":
            log("%3d/%d %-22s %-9s rep %d  %8.0f req/s  p99 %7.2f ms  "
                "%6.0f us/req  err %d" % (
                    i, len(plan), cell.key, srv, rep, row["rps"],
                    row["p99_ms"], row["cpu_us_per_req"] or 0,
                    row["errors"]))
        else:
            log("%3d/%d %-22s %-9s rep %d  %s: %s" % (
                i, len(plan), cell.key, srv, rep, row["status"],
                row["detail"][:160]))
        # write as we go, so an interrupted run still leaves data
        report.write_runs_csv(os.path.join(out_dir, "runs.csv"), rows)
    real_rows = []
    if not interrupted and real_plan:
        meta["real_versions"] = servers.versions()
        interrupted = run_real(real_plan, args, real_rows, meta)
    meta["elapsed_s"] = round(time.monotonic() - t_start, 1)
    meta["load_after"] = report.loadavg()
    meta["banners"] = banners

    with open(os.path.join(out_dir, "meta.json"), "w") as f:
        json.dump(meta, f, indent=2, default=str)
    summary = report.summarize(rows)
    report.write_runs_csv(os.path.join(out_dir, "runs.csv"), rows)
    report.write_summary_csv(os.path.join(out_dir, "summary.csv"), summary)
    extra = report_real.render(report_real.summarize(real_rows), real_rows,
                               meta.get("real_versions"))
    md = report.render_markdown(meta, summary, rows, extra)
    with open(os.path.join(out_dir, "results.md"), "w") as f:
        f.write(md)
    with open(os.path.join(out_dir, "meta.json"), "w") as f:
        json.dump(meta, f, indent=2, default=str)
    latest = os.path.join(HERE, "results", "latest")
    if not args.out:
        try:
            if os.path.islink(latest):
                os.unlink(latest)
            os.symlink(stamp, latest)
        except OSError:
            pass
    if args.docs and not interrupted:
        report.update_docs(os.path.join(REPO, "docs", "performance.md"),
                           meta, summary, rows, extra)
        log("updated docs/performance.md")
    log("done in %.0f s; results in %s" % (meta["elapsed_s"], out_dir))
    sys.stdout.write(md)
    return 0


def real_matrix(args, only, enabled):
    """(cell, server, rep) of the whole-server cells, interleaved per
    cell: every server once per repeat."""
    plan = []
    for cell in realapps.build_matrix(args.quick, only_match(only)):
        reps = {"startup": 1 if args.quick else 3, "recycle": 1}.get(
            cell.app, args.real_repeat)
        for rep in range(1, reps + 1):
            for srv in cell.servers(enabled):
                plan.append((cell, srv, rep))
    return plan


def run_real(plan, args, rows, meta):
    """Run the whole-server plan; True if interrupted."""
    for i, (cell, srv, rep) in enumerate(plan, 1):
        try:
            row = realapps.run_one(cell, srv, rep, args)
        except KeyboardInterrupt:
            meta["notes"].append("interrupted after %d of %d whole-server "
                                 "runs" % (len(rows), len(plan)))
            return True
        rows.append(row)
        if row["status"] != "ok":
            what = "%s: %s" % (row["status"], row["detail"][:160])
        elif cell.app == "startup":
            what = "start-up %.2f s" % row["startup_s"]
        elif cell.app == "recycle":
            what = "gap %s ms (max %s), first new %s ms, %d errors" % (
                row["gap_ms"], row["gap_max_ms"], row["first_new_ms"],
                row["errors"])
        else:
            what = "%8.0f req/s  p99 %7.2f ms  %6.0f us/req  err %d" % (
                row["rps"], row["p99_ms"], row["cpu_us_per_req"] or 0,
                row["errors"])
        log("%3d/%d %-18s %-18s rep %d  %s" % (i, len(plan), cell.key, srv,
                                                rep, what))
        report_real.write_csv(os.path.join(args.out_dir, "runs-real.csv"),
                              rows)
    return False


def render_only(out_dir, docs):
    rows = report.load_runs_csv(os.path.join(out_dir, "runs.csv"))
    with open(os.path.join(out_dir, "meta.json")) as f:
        meta = json.load(f)
    summary = report.summarize(rows)
    report.write_summary_csv(os.path.join(out_dir, "summary.csv"), summary)
    real_csv = os.path.join(out_dir, "runs-real.csv")
    real_rows = (report_real.load_csv(real_csv) if os.path.exists(real_csv)
                 else [])
    extra = report_real.render(report_real.summarize(real_rows), real_rows,
                               meta.get("real_versions"))
    md = report.render_markdown(meta, summary, rows, extra)
    with open(os.path.join(out_dir, "results.md"), "w") as f:
        f.write(md)
    if docs:
        report.update_docs(os.path.join(REPO, "docs", "performance.md"),
                           meta, summary, rows, extra)
        log("updated docs/performance.md")
    sys.stdout.write(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
