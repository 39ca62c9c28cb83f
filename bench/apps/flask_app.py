# Flask JSON API for the real-application cells of bench/run.py: a route
# with a URL converter and a query argument, answering a list of records
# with jsonify.  Served as a WSGI script (mod_wsgi-express) and as
# flask_app:application (gunicorn, granian).
from flask import Flask, jsonify, request

app = Flask(__name__)

ITEMS = [{"id": i, "name": "item%d" % i, "value": i * i, "tags": ["a", "b"]}
         for i in range(100)]


@app.route("/api/items/<int:count>")
def items(count):
    offset = request.args.get("offset", 0, type=int)
    chosen = ITEMS[offset:offset + count]
    return jsonify(count=len(chosen), items=chosen)


application = app
