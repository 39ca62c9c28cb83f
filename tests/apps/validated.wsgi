# Test apps wrapped in wsgiref.validate.validator, which asserts on what the
# server hands the application (environ keys and types, wsgi.input and
# wsgi.errors methods, start_response, iteration and close()). WSGIWarning
# is an error here, so any finding fails the request (500) or, for the
# close() check done in __del__, lands in the error log.
import gc
import warnings
from wsgiref.validate import WSGIWarning, validator

warnings.simplefilter("error", WSGIWarning)


def inner(environ, start_response):
    case = environ.get("PATH_INFO", "")
    inp = environ["wsgi.input"]
    errors = environ["wsgi.errors"]
    length = int(environ.get("CONTENT_LENGTH") or 0)
    if case == "/read":
        # PEP 3333 (and the validator) want a size: the declared length.
        body = inp.read(length)
    elif case == "/read-n":
        body = inp.read(3) + inp.read(1000)
    elif case == "/readline":
        body = inp.readline() + inp.readline(2) + b"".join(inp.readlines())
    elif case == "/iter":
        body = b"".join(iter(inp))
    else:
        body = b"hello"
    errors.write("validated request\n")
    errors.writelines(["a\n", "b\n"])
    errors.flush()
    if case == "/write":
        write = start_response("200 OK", [("Content-Type", "text/plain")])
        write(b"written-")
        return [body]
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    if case == "/generator":
        return (bytes([c]) for c in body)
    if case == "/file":
        import io
        return environ["wsgi.file_wrapper"](io.BytesIO(body))
    return [body]


_validated = validator(inner)


def application(environ, start_response):
    try:
        return _validated(environ, start_response)
    finally:
        gc.collect()
