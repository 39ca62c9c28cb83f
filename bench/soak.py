"""Soak run: a long mixed load through embedded and daemon mode, reporting
every process's resident memory growth after warm-up and the error count.

Not a CI test (it takes minutes). As root, after a release build:

    PYO3_PYTHON=/usr/bin/python3 cargo build --release
    /usr/bin/python3 bench/soak.py                      # 1,000,000 requests per mode
    /usr/bin/python3 bench/soak.py --requests 20000     # a quick check

Each mode gets its own private Apache (bench/apache.py: event MPM, two
children of 64 threads; daemon mode: two daemon processes of 16 threads)
with the bench apps plus a one-file Django view. wrk (bench/soak.lua) sends
a fixed mix from 32 connections: per 20 requests, 9 hello, 4 Django, 4 x
64 KiB, 2 x 4 KiB POST echoed, 1 x 1 MiB streamed. After a warm-up of
`--warmup` requests the resident memory (RSS, from /proc/PID/smaps_rollup)
of every process of the server is recorded; the load then runs in rounds of
`--round` seconds until `--requests` have been answered, and the growth of
each process is its RSS at the end minus after warm-up. A process that
appears or disappears during the run (a restarted daemon) is reported.

The goal (issue 16): 0 errors (wrk's connect/read/write/timeout errors and
non-2xx/3xx statuses) and at most 5 MiB growth per process; the exit status
is 1 when it is missed. The markdown report is printed on stdout.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import apache  # noqa: E402

LUA = os.path.join(HERE, "soak.lua")
GOAL_MIB = 5.0


class SoakApache(apache.Apache):
    """The bench server plus the Django view at /django/."""

    def _prepare(self):
        super()._prepare()
        shutil.copy(os.path.join(HERE, "apps", "django_view.wsgi"),
                    os.path.join(self.root, "apps"))
        os.chmod(os.path.join(self.root, "apps", "django_view.wsgi"), 0o644)
        with open(self.conf_path, "a") as f:
            f.write("LogLevel warn wsgi:info\n")
            f.write('WSGIScriptAlias /django "%s/apps/django_view.wsgi"\n'
                    % self.root)


def rss_by_pid(root_pid):
    """{pid: rss_kib} for every process of the server."""
    out = {}
    for pid in apache.process_tree(root_pid)[0]:
        try:
            with open("/proc/%d/smaps_rollup" % pid) as f:
                for line in f:
                    if line.startswith("Rss:"):
                        out[pid] = int(line.split()[1])
        except OSError:
            pass
    return out


def daemon_pids(log):
    """Daemon processes the parent logged starting (WSGIRS0406, at info)."""
    pids = set()
    for line in log.splitlines():
        rest = line.split("started daemon process ", 1)
        if len(rest) == 2 and rest[1].split(" ", 1)[0].isdigit():
            pids.add(int(rest[1].split(" ", 1)[0]))
    return pids


def describe(pid, root_pid, daemons):
    """"parent", "daemon" or "child"."""
    if pid == root_pid:
        return "parent"
    return "daemon" if pid in daemons else "child"


def wrk(url, seconds, connections):
    cmd = ["/usr/bin/wrk", "-t2", "-c%d" % connections, "-d%ds" % seconds,
           "--timeout", "30s", "-s", LUA, url]
    out = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True,
                         text=True, timeout=seconds + 120)
    for line in out.stdout.splitlines():
        if line.startswith("SOAK_RESULT "):
            r = json.loads(line[len("SOAK_RESULT "):])
            r["errors"] = sum(r[k] for k in ("err_connect", "err_read",
                                              "err_write", "err_status",
                                              "err_timeout"))
            return r
    raise RuntimeError("wrk gave no result: %s" % (out.stderr or out.stdout)[-300:])


def add(total, r):
    for k, v in r.items():
        if k.startswith("err_") or k in ("requests", "bytes", "errors", "duration_us"):
            total[k] = total.get(k, 0) + v
        elif k in ("lat_p99_us", "lat_max_us"):
            total[k] = max(total.get(k, 0), v)


def soak(mode, module, args):
    """Runs one mode; returns (report lines, goal met)."""
    server = SoakApache("soak-" + mode, "wsgi", mode, module)
    server.start()
    try:
        for path in ("/hello", "/django/", "/big", "/stream"):
            status, _ = server.request(path)
            if status != 200:
                raise RuntimeError("%s %s: %s\n%s" % (mode, path, status, server.error_log()))
        base = server.url("/")
        warm = {}
        while warm.get("requests", 0) < args.warmup:
            add(warm, wrk(base, 5, args.connections))
        before = rss_by_pid(server.proc.pid)
        daemons = daemon_pids(server.error_log(tail=100000))
        names = {pid: describe(pid, server.proc.pid, daemons) for pid in before}
        total, started = {}, time.monotonic()
        trace = []  # (requests so far, {pid: rss_kib}) after each round
        while total.get("requests", 0) < args.requests:
            add(total, wrk(base, args.round, args.connections))
            trace.append((total["requests"], rss_by_pid(server.proc.pid)))
            print("  %s: %d requests, %d errors" % (mode, total["requests"], total["errors"]),
                  file=sys.stderr)
        elapsed = time.monotonic() - started
        after = rss_by_pid(server.proc.pid)
        daemons = daemon_pids(server.error_log(tail=100000))
        names.update({pid: describe(pid, server.proc.pid, daemons)
                      for pid in after if pid not in names})
        crash_lines = [l for l in server.error_log(tail=100000).splitlines()
                       if "Segmentation fault" in l or "panicked" in l
                       or ":crit]" in l or ":alert]" in l or ":emerg]" in l]
    finally:
        server.stop()
    return report(mode, total, elapsed, (before, after, names, trace), crash_lines)


def report(mode, total, elapsed, rss, crash_lines):
    before, after, names, trace = rss
    lines = ["### %s mode" % mode, "",
             "%d requests in %.0f s (%.0f/s), %.1f GB, %d errors "
             "(connect %d, read %d, write %d, status %d, timeout %d); p99 %.1f ms, max %.1f ms"
             % (total["requests"], elapsed, total["requests"] / elapsed,
                total["bytes"] / 1e9, total["errors"], total["err_connect"],
                total["err_read"], total["err_write"], total["err_status"],
                total["err_timeout"], total["lat_p99_us"] / 1000, total["lat_max_us"] / 1000),
             "", "| process | RSS after warm-up (MiB) | RSS at the end (MiB) | growth (MiB) |",
             "|---|---|---|---|"]
    worst = 0.0
    for pid in sorted(set(before) | set(after)):
        b, a = before.get(pid), after.get(pid)
        name = "%d %s" % (pid, names.get(pid, ""))
        if b is None or a is None:
            lines.append("| %s | %s | %s | %s |" % (
                name, "-" if b is None else "%.1f" % (b / 1024),
                "-" if a is None else "%.1f" % (a / 1024),
                "started during the run" if b is None else "gone during the run"))
            continue
        growth = (a - b) / 1024
        worst = max(worst, growth)
        lines.append("| %s | %.1f | %.1f | %+.1f |" % (name, b / 1024, a / 1024, growth))
    lines += trajectory(trace, names)
    ok = total["errors"] == 0 and worst <= GOAL_MIB and not crash_lines
    lines += ["", "Largest growth %.1f MiB (goal <= %.0f MiB); %d crash lines in the error log: %s"
              % (worst, GOAL_MIB, len(crash_lines), "goal met" if ok else "GOAL MISSED"), ""]
    lines += ["    " + l for l in crash_lines[:10]]
    return lines, ok


def trajectory(trace, names):
    """RSS of each process at a few points of the run (MiB), to tell a
    plateau (growth that stops) from a leak (growth that goes on)."""
    if not trace:
        return []
    picks = sorted({0, len(trace) // 4, len(trace) // 2, 3 * len(trace) // 4, len(trace) - 1})
    points = [trace[i] for i in picks]
    lines = ["", "RSS (MiB) during the run, after N requests:", "",
             "| process | " + " | ".join("%d" % n for n, _ in points) + " |",
             "|---|" + "---|" * len(points)]
    for pid in sorted(points[-1][1]):
        cells = ["%.1f" % (rss[pid] / 1024) if pid in rss else "-" for _, rss in points]
        lines.append("| %d %s | %s |" % (pid, names.get(pid, ""), " | ".join(cells)))
    return lines


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--module", default=os.path.join(HERE, "..", "target", "release",
                                                     "libmod_wsgi.so"))
    p.add_argument("--requests", type=int, default=1_000_000, help="per mode")
    p.add_argument("--warmup", type=int, default=50_000)
    p.add_argument("--round", type=int, default=30, help="seconds per wrk run")
    p.add_argument("--connections", type=int, default=32)
    p.add_argument("--modes", default="embedded,daemon")
    args = p.parse_args()
    if os.geteuid() != 0:
        sys.exit("run as root: httpd starts as root and drops to www-data")
    module = os.path.abspath(args.module)
    if not os.path.exists(module):
        sys.exit("%s not found: cargo build --release first" % module)
    out, all_ok = ["## Soak run", "",
                   "%s, module %s" % (time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                                      module), ""], True
    for mode in args.modes.split(","):
        lines, ok = soak(mode, module, args)
        out += lines
        all_ok = all_ok and ok
    print("\n".join(out))
    sys.exit(0 if all_ok else 1)


if __name__ == "__main__":
    main()
