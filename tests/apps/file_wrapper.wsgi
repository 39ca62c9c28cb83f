# wsgi.file_wrapper cases for tests/wsgi_file_wrapper.rs. The data file is
# data.bin next to this script (written by the test).
import io
import os

import mod_wsgi

DATA = os.path.join(os.path.dirname(__file__), "data.bin")


class LoggedFile(io.FileIO):
    def close(self):
        if not self.closed:
            print("file-closed", file=self.errors)
        super().close()


def application(environ, start_response):
    case = environ.get("PATH_INFO", "")
    qs = environ.get("QUERY_STRING", "")
    headers = [("Content-Type", "application/octet-stream")]
    wrapper = environ["wsgi.file_wrapper"]
    if case == "/same-type":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [repr(wrapper is mod_wsgi.FileWrapper).encode()]
    if case == "/real":
        f = LoggedFile(DATA, "rb")
        f.errors = environ["wsgi.errors"]
        f.seek(int(qs or 0))
        start_response("200 OK", headers)
        return wrapper(f, 4096)
    if case == "/real-capped":
        f = open(DATA, "rb")
        start_response("200 OK", headers + [("Content-Length", qs)])
        return wrapper(f)
    if case == "/bytesio":
        with open(DATA, "rb") as f:
            data = f.read()
        start_response("200 OK", headers)
        return wrapper(io.BytesIO(data), 1000)
    if case == "/after-write":
        write = start_response("200 OK", headers)
        write(b"prefix-")
        return wrapper(open(DATA, "rb"))
    start_response("404 Not Found", headers)
    return [b""]
