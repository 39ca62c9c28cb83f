#!/usr/bin/python3
"""Instructions per request of a bench app, counted with callgrind.

    sudo /usr/bin/python3 bench/callgrind.py [--module PATH] [--requests N]
                                             [--modes embedded,daemon]
                                             [--target hello|big|stream|echo]

Instruction counts do not depend on the load of the (shared) machine, so
they can compare two builds to within a fraction of a percent where times
cannot.  See bench/README.md ("Instructions per request").

Method (differential, no vgdb): for each mode, a *pair* of fresh httpds is
run under ``valgrind --tool=callgrind --trace-children=yes``, one MPM child,
one WSGI daemon process in daemon mode:

* base:     start, W warm-up requests, stop;
* measured: start, W warm-up requests, N measured requests, stop.

Every process writes its totals when it exits; Ir per request =
(Ir(measured) - Ir(base)) / N, summed over the MPM child and the daemon
process (the Apache parent serves no requests and is left out).  Start-up,
warm-up and shutdown are the same in both and cancel.  A mode is measured
twice (two pairs) to show the repeatability.

(Switching collection on and off with ``callgrind_control`` would need one
httpd per mode instead of two, but vgdb hangs on these processes here: the
processes it must interrupt sit in syscalls and change uid to www-data.)

Python 3 standard library only; run as root like bench/run.py.
"""

import argparse
import glob
import http.client
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)

import apache  # noqa: E402

DEFAULT_MODULE = os.path.join(REPO, "target", "release", "libmod_wsgi.so")
# --target: (path, request body or None for GET, expected response body)
TARGETS = {
    "hello": ("/hello", None, b"Hello World!\n"),
    "big": ("/big", None, None),  # 64 KiB, length checked
    "stream": ("/stream", None, b"x" * (1 << 20)),
    "echo": ("/echo", b"e" * (1 << 20), b"1048576"),
}
BIG_LEN = 64 * 1024

# One event-MPM child with a few threads, all started up front, so that the
# tree is exactly: parent, one child (+ one WSGI daemon process in daemon
# mode).  Requests are sequential, so more threads would only idle.
MPM_CONF = """\
StartServers 1
ServerLimit 1
ThreadLimit 4
ThreadsPerChild 4
MaxRequestWorkers 4
MinSpareThreads 1
MaxSpareThreads 4
MaxConnectionsPerChild 0
"""

DAEMON_CONF = """\
WSGISocketPrefix "{root}/run/wsgi"
WSGIDaemonProcess bench processes=1 threads=4
WSGIProcessGroup bench
"""


def log(msg):
    sys.stderr.write("[%s] %s\n" % (time.strftime("%H:%M:%S"), msg))
    sys.stderr.flush()


class CallgrindApache(apache.Apache):
    mpm_conf = MPM_CONF
    daemon_conf = DAEMON_CONF
    min_procs = 2

    def __init__(self, label, mode, module_path, out_dir, keep=False,
                 app=None):
        super().__init__(label, "wsgi", mode, module_path, keep=keep)
        self.app = app
        self.command_prefix = (
            "valgrind", "--tool=callgrind", "--trace-children=yes",
            "--vgdb=no",
            "--callgrind-out-file=%s/callgrind.out.%%p" % out_dir)
        env = dict(os.environ)
        # same hash seed in every run: dict/set layouts, hence instruction
        # counts, otherwise vary a little from process to process
        env["PYTHONHASHSEED"] = "0"
        self.env = env

    def _prepare(self):
        super()._prepare()
        if self.app:
            # --app: served at /hello in place of bench/apps/hello.wsgi
            dest = os.path.join(self.root, "apps", "hello.wsgi")
            shutil.copy(self.app, dest)
            os.chmod(dest, 0o644)


def parse_totals(path):
    """(pid, Ir) from one callgrind output file (its summary/totals line)."""
    pid, total = None, None
    with open(path, errors="replace") as f:
        for line in f:
            if line.startswith("pid:"):
                pid = int(line.split()[1])
            elif line.startswith("summary:") or line.startswith("totals:"):
                total = int(line.split()[1])
    return pid, total


def one_server(mode, module, warmup, n, keep, start_timeout, app=None,
               target="hello"):
    """Start httpd under callgrind, W + n requests, stop; returns
    ({pid: Ir} of the non-parent processes, {pid: Ir} parent)."""
    out_dir = tempfile.mkdtemp(prefix="modwsgi-callgrind-out-")
    os.chmod(out_dir, 0o777)  # the www-data processes write their files here
    httpd = CallgrindApache("cg-" + mode, mode, module, out_dir, keep=keep,
                            app=app)
    try:
        httpd.start(timeout=start_timeout)
        tree_pids = set()
        path, payload, expect = TARGETS[target]
        headers = ({"Content-Type": "application/octet-stream"}
                   if payload is not None else {})
        conn = http.client.HTTPConnection("127.0.0.1", httpd.port,
                                          timeout=120)
        try:
            for i in range(warmup + n):
                conn.request("GET" if payload is None else "POST", path,
                             body=payload, headers=headers)
                r = conn.getresponse()
                body = r.read()
                ok = (len(body) == BIG_LEN if expect is None
                      else body == expect)
                if r.status != 200 or not ok:
                    raise RuntimeError("request %d: HTTP %s %r; %s" % (
                        i, r.status, body[:80], httpd.error_log(10)))
                if i == 0:
                    tree_pids.update(apache.process_tree(httpd.proc.pid)[0])
        finally:
            conn.close()
        tree_pids.update(apache.process_tree(httpd.proc.pid)[0])
        parent = httpd.proc.pid
        # valgrind makes shutdown slow: give it time so that every process
        # exits normally (and writes its counts) rather than being killed
        httpd.stop(timeout=120)
        files = glob.glob(os.path.join(out_dir, "callgrind.out.*"))
        counts = {}
        for fn in files:
            pid, total = parse_totals(fn)
            if total is None:
                raise RuntimeError("no totals in %s" % fn)
            counts[pid] = total
        missing = tree_pids - set(counts)
        if missing:
            raise RuntimeError("no callgrind output for pids %s (killed?)"
                               % sorted(missing))
        workers = {p: c for p, c in counts.items() if p != parent}
        expected = 2 if mode == "daemon" else 1
        if len(workers) != expected:
            raise RuntimeError("%s mode: %d processes besides the parent "
                               "(expected %d): %s" % (mode, len(workers),
                                                      expected, workers))
        return workers, counts.get(parent)
    finally:
        httpd.stop(timeout=120)
        shutil.rmtree(out_dir, ignore_errors=True)


def measure(mode, module, warmup, n, keep, start_timeout, app=None,
            target="hello"):
    """One pair: base (W requests) and measured (W + n). Ir per request."""
    t0 = time.monotonic()
    base, _ = one_server(mode, module, warmup, 0, keep, start_timeout, app,
                         target)
    measured, _ = one_server(mode, module, warmup, n, keep, start_timeout,
                             app, target)
    per_req = (sum(measured.values()) - sum(base.values())) / n
    log("%s: base %d Ir (%d procs), measured %d Ir -> %.0f Ir/request "
        "(%.0f s)" % (mode, sum(base.values()), len(base),
                      sum(measured.values()), per_req,
                      time.monotonic() - t0))
    return per_req, len(measured)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--module", default=DEFAULT_MODULE,
                    help="mod_wsgi .so (default: %(default)s); also works "
                    "with /usr/lib/apache2/modules/mod_wsgi.so")
    ap.add_argument("--requests", type=int, default=2000,
                    help="measured requests per run (default: %(default)s)")
    ap.add_argument("--warmup", type=int, default=50,
                    help="warm-up requests before them, also in the base run "
                    "(default: %(default)s)")
    ap.add_argument("--modes", default="embedded,daemon")
    ap.add_argument("--runs", type=int, default=2,
                    help="runs (pairs of httpds) per mode (default: "
                    "%(default)s)")
    ap.add_argument("--start-timeout", type=float, default=180)
    ap.add_argument("--app", default=None,
                    help="WSGI script served at /hello instead of "
                    "bench/apps/hello.wsgi (it must answer 'Hello World!\\n'; "
                    "e.g. bench/apps/hello_subscriber.wsgi)")
    ap.add_argument("--target", default="hello", choices=sorted(TARGETS),
                    help="bench app requested (default: %(default)s): hello "
                    "GET /hello, big GET /big (64 KiB), stream GET /stream "
                    "(1 MiB in 16 KiB yields), echo POST /echo (1 MiB)")
    ap.add_argument("--keep", action="store_true",
                    help="keep the /tmp/modwsgi-bench-* ServerRoots")
    args = ap.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("run as root (httpd starts as root, drops to "
                         "www-data)")
    if not os.path.exists(args.module):
        raise SystemExit("no module at %s (cargo build --release?)"
                         % args.module)
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind not found")
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    for m in modes:
        if m not in ("embedded", "daemon"):
            raise SystemExit("unknown mode %r" % m)

    rows = []
    for mode in modes:
        figs, nprocs = [], None
        for run in range(args.runs):
            log("%s run %d/%d: %d warm-up + %d measured requests"
                % (mode, run + 1, args.runs, args.warmup, args.requests))
            per_req, nprocs = measure(mode, args.module, args.warmup,
                                      args.requests, args.keep,
                                      args.start_timeout, args.app,
                                      args.target)
            figs.append(per_req)
        rows.append((mode, figs, nprocs))

    print("module: `%s`, target: %s%s\n" % (
        args.module, args.target,
        ", app: `%s`" % args.app if args.app else ""))
    heads = ["run %d" % (i + 1) for i in range(args.runs)]
    print("| mode | requests | " + " | ".join("Ir/request " + h
                                             for h in heads)
          + " | spread | processes measured |")
    print("|---|---:|" + "---:|" * args.runs + "---:|---|")
    for mode, figs, nprocs in rows:
        spread = (max(figs) - min(figs)) / min(figs) * 100 if figs else 0
        procs = ("MPM child + WSGI daemon" if mode == "daemon"
                 else "MPM child")
        print("| %s | %d | %s | %.2f %% | %d (%s) |" % (
            mode, args.requests,
            " | ".join("{:,.0f}".format(f) for f in figs), spread,
            nprocs, procs))


if __name__ == "__main__":
    main()
