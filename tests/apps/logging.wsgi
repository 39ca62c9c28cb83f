# Writes to wsgi.errors, sys.stdout and sys.stderr (tests look for the
# lines in the error log), and reports how sys.stdin, sys.stdout and
# signal.signal() behave under the WSGIRestrict* directives.
import signal
import sys


def probe(fn):
    try:
        return "ok:%r" % (fn(),)
    except Exception as e:
        return "%s:%s" % (type(e).__name__, e)


def application(environ, start_response):
    errors = environ["wsgi.errors"]
    errors.write("errors-line one\n")
    errors.write("errors-partial ")
    errors.write("completed\n")
    errors.buffer.write(b"bytes-line \xff end\n")
    errors.buffer.write(memoryview(b"memoryview-line\n"))
    try:
        errors.buffer.writelines([b"wl-bytes\n", bytearray(b"wl-bytearray\n"), memoryview(b"wl-memoryview\n")])
    except Exception as e:
        errors.write("buffer.writelines failed: %r\n" % (e,))
    sys.stderr.write("stderr-line\n")
    if environ.get("QUERY_STRING") != "restricted":
        print("stdout-line-not-restricted")
    lines = [
        "stdin=" + probe(lambda: sys.stdin.read(1)),
        "stdout=" + probe(lambda: sys.stdout.write("")),
        "signal=" + probe(lambda: signal.signal(signal.SIGUSR1, lambda *a: None)),
        "signal_now=" + repr(signal.getsignal(signal.SIGUSR1)),
        "stdin_type=%s.%s" % (type(sys.stdin).__module__, type(sys.stdin).__name__),
    ]
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [("\n".join(lines) + "\n").encode()]
