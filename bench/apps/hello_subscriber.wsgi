# hello.wsgi with one event subscriber that does nothing: measures what
# building and publishing the request events costs (bench/callgrind.py --app).
import mod_wsgi

BODY = b"Hello World!\n"
HEADERS = [("Content-Type", "text/plain"), ("Content-Length", str(len(BODY)))]


@mod_wsgi.subscribe_events
def subscriber(name, **event):
    pass


def application(environ, start_response):
    start_response("200 OK", HEADERS)
    return [BODY]
