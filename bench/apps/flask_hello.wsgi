# bench/apps/flask_app.py's JSON API, called for /api/items/20?offset=5 on
# every request, its body consumed, answering "Hello World!\n": so that
# bench/callgrind.py --app (which checks that body) counts the instructions
# of a Flask request in the daemon (minus those of plain hello: the app's
# share).  The Flask app is repeated here because callgrind.py copies only
# this one file into its ServerRoot.
from flask import Flask, jsonify, request

app = Flask(__name__)

ITEMS = [{"id": i, "name": "item%d" % i, "value": i * i, "tags": ["a", "b"]}
         for i in range(100)]


@app.route("/api/items/<int:count>")
def items(count):
    offset = request.args.get("offset", 0, type=int)
    chosen = ITEMS[offset:offset + count]
    return jsonify(count=len(chosen), items=chosen)


BODY = b"Hello World!\n"


def application(environ, start_response):
    environ = dict(environ, PATH_INFO="/api/items/20", SCRIPT_NAME="",
                   QUERY_STRING="offset=5")
    status = []
    result = app(environ, lambda s, h, e=None: status.append(s))
    try:
        body = b"".join(result)
    finally:
        if hasattr(result, "close"):
            result.close()
    if not status or not status[0].startswith("200") or b'"count":20' not in body.replace(b" ", b""):
        raise RuntimeError("flask answered %r %r" % (status, body[:100]))
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(BODY)))])
    return [BODY]
