#!/usr/bin/python3
"""Where a whole server's CPU per request goes, for a real application.

    /usr/bin/python3 bench/gap.py [--app flask|django] [--servers LIST]
                                  [--threads N] [--duration S]

Serves bench/apps/appcpu.py (the real app wrapped so that it measures the
thread CPU time of each call of the application, body included) with each
server of bench/servers.py, runs wrk at c=16 for --duration s after 1 s of
warm-up, and prints per request: the CPU of the process tree split by kind
of process (Apache parent and children, WSGI daemon processes, express; or
the whole tree for gunicorn/granian), and the application's own CPU as
measured inside the call (mean over the calls of the measured run, per
process). The difference between the two is what the server adds; compare
with bench/appcost.py (the same call without any server). CPU time, not
wall-clock: less sensitive to the machine's load, still not exact.
"""

import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import apache  # noqa: E402
import realapps  # noqa: E402
import servers  # noqa: E402
import wrk  # noqa: E402


def cpu_by_kind(root_pid):
    pids, stats = apache.process_tree(root_pid)
    out = {}
    for p in pids:
        try:
            with open("/proc/%d/cmdline" % p, "rb") as f:
                argv0 = f.read().split(b"\0")[0].decode("utf-8", "replace")
        except OSError:
            continue
        if argv0.startswith("(wsgi"):
            kind = "daemon"
        elif "apache2" in argv0 or "httpd" in argv0:
            kind = "apache"
        elif argv0.endswith("mod_wsgi-express"):
            kind = "express"
        else:
            kind = "server"
        out[kind] = out.get(kind, 0) + stats[p][1]
    return out


def app_cpu(srv):
    """(calls, mean µs) over the processes that answered /__appcpu__; each
    answer resets that process's counters, so ask until every process of
    the server has answered or 12 times."""
    seen = {}
    for _ in range(12):
        st, body = srv.get("/__appcpu__")
        n, mean, pid = body.decode().split()[:3]
        if int(n):
            seen[pid] = (int(n), float(mean))
    calls = sum(n for n, _ in seen.values())
    mean = (sum(n * m for n, m in seen.values()) / calls) if calls else 0.0
    return calls, mean


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--app", choices=sorted(realapps.REAL_APPS),
                   default="flask")
    p.add_argument("--servers", default="ours-express-2x16,granian-2")
    p.add_argument("--threads", type=int, help="--threads for the "
                   "expresses instead of their own")
    p.add_argument("--duration", type=int, default=5)
    args = p.parse_args()
    os.environ["BENCH_APP"] = args.app
    path = realapps.REAL_APPS[args.app][2]
    print("| server | req/s | tree CPU µs/req | by process | app CPU "
          "µs/call (inside the call) |")
    print("|---|---:|---:|---|---:|")
    for name in args.servers.split(","):
        extra = []
        if servers.SERVERS[name][0] in ("ours", "pip"):
            extra = ["--setenv", "BENCH_APP", args.app]
            if args.threads:
                extra += ["--threads", str(args.threads)]
        srv = servers.Server(name, "appcpu.py", "appcpu:application", extra,
                             prepare=(realapps.make_django_db
                                      if args.app == "django" else None))
        try:
            srv.start(path)
            wrk.run(srv.url(path), 16, 1)
            app_cpu(srv)
            before = cpu_by_kind(srv.proc.pid)
            r = wrk.run(srv.url(path), 16, args.duration)
            after = cpu_by_kind(srv.proc.pid)
            calls, mean = app_cpu(srv)
        finally:
            srv.stop()
        n = max(1, r["requests"])
        per = {k: (after[k] - before.get(k, 0)) * 1e6 / apache.CLK_TCK / n
               for k in after}
        print("| %s%s | %.0f | %.0f | %s | %.0f (%d calls) |" % (
            name, " --threads %d" % args.threads
            if args.threads and extra[3:] else "", r["rps"],
            sum(per.values()), ", ".join(
                "%s %.0f" % kv for kv in sorted(per.items()) if kv[1] >= 0.5),
            mean, calls), flush=True)


if __name__ == "__main__":
    main()
