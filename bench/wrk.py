"""Run wrk and parse the BENCH_RESULT line printed by bench/wrk.lua."""

import json
import math
import os
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))
WRK_BIN = "/usr/bin/wrk"
LUA = os.path.join(HERE, "wrk.lua")


class WrkError(Exception):
    pass


def wrk_threads(connections):
    # 2 cores: one wrk thread is enough for c=1, two are needed so that wrk
    # is not the bottleneck of the static ceiling at c>=16.
    return 1 if connections < 2 else 2


def start(url, connections, duration_s, post_bytes=0, timeout_s=10):
    """Start wrk (non-blocking); returns the Popen object."""
    env = dict(os.environ)
    env["BENCH_POST_BYTES"] = str(post_bytes)
    cmd = [WRK_BIN, "-t%d" % wrk_threads(connections), "-c%d" % connections,
           "-d%ds" % max(1, int(math.ceil(duration_s))),
           "--timeout", "%ds" % timeout_s, "-s", LUA, url]
    return subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=env, text=True)


def finish(proc, duration_s):
    try:
        out, err = proc.communicate(timeout=duration_s + 60)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        raise WrkError("wrk did not finish")
    for line in out.splitlines():
        if line.startswith("BENCH_RESULT "):
            r = json.loads(line[len("BENCH_RESULT "):])
            r["errors"] = (r["err_connect"] + r["err_read"] + r["err_write"]
                           + r["err_status"] + r["err_timeout"])
            secs = r["duration_us"] / 1e6
            r["rps"] = r["requests"] / secs if secs > 0 else 0.0
            return r
    raise WrkError("wrk exited %s without a result: %s"
                   % (proc.returncode, (err or out).strip()[-300:]))


def run(url, connections, duration_s, post_bytes=0):
    return finish(start(url, connections, duration_s, post_bytes), duration_s)
