# Wraps bench/apps/<BENCH_APP>_app.py and measures the thread CPU time
# (time.thread_time) of each call of the wrapped application, body included;
# GET /__appcpu__ answers "calls mean_us pid minor_faults_per_call
# system_us_per_call" for this process (and resets).
# Used to split a server's CPU per request into the application's part and
# the server's (see docs/performance.md, Bounds).
import os
import resource
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
_inner = __import__("%s_app" % os.environ.get("BENCH_APP", "flask")).application
_lock = threading.Lock()
_acc = [0, 0.0, 0, 0.0]   # calls, thread CPU s, minor faults, system s
_local = threading.local()
_seen = {"max_local_calls": 0, "dummy_threads": 0}


def application(environ, start_response):
    if environ.get("PATH_INFO") == "/__appinfo__":
        import gc
        body = repr(dict(trace=sys.gettrace(), profile=sys.getprofile(),
                         flags=sys.flags, switch=sys.getswitchinterval(),
                         gc=(gc.isenabled(), gc.get_threshold()),
                         malloc=os.environ.get("PYTHONMALLOC"),
                         environ=len(environ), keys=sorted(environ),
                         threading_profile=getattr(threading, "_profile_hook", None),
                         threading_trace=getattr(threading, "_trace_hook", None),
                         modules=len(sys.modules), **_seen)).encode()
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [body]
    if environ.get("PATH_INFO") == "/__appcpu__":
        with _lock:
            n, t, flt, sys_s = _acc
            _acc[:] = [0, 0.0, 0, 0.0]
        body = ("%d %.1f %d %.2f %.1f" % (
            n, t / n * 1e6 if n else 0, os.getpid(), flt / n if n else 0,
            sys_s / n * 1e6 if n else 0)).encode()
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [body]
    _local.n = getattr(_local, "n", 0) + 1
    _seen["max_local_calls"] = max(_seen["max_local_calls"], _local.n)
    _seen["dummy_threads"] = sum(1 for t in threading.enumerate()
                                 if isinstance(t, threading._DummyThread))
    r0 = resource.getrusage(resource.RUSAGE_THREAD)
    t0 = time.thread_time()
    result = _inner(environ, start_response)
    try:
        body = b"".join(result)
    finally:
        if hasattr(result, "close"):
            result.close()
    dt = time.thread_time() - t0
    r1 = resource.getrusage(resource.RUSAGE_THREAD)
    with _lock:
        _acc[0] += 1
        _acc[1] += dt
        _acc[2] += r1.ru_minflt - r0.ru_minflt
        _acc[3] += r1.ru_stime - r0.ru_stime
    return [body]
