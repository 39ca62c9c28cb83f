# A Flask app (Debian python3-flask for /usr/bin/python3), mounted under a
# prefix so that SCRIPT_NAME/PATH_INFO routing is exercised.
from flask import Flask, request

app = Flask(__name__)


@app.route("/hello/<name>")
def hello(name):
    return ("flask says hello to %s at %s" % (name, request.script_root),
            200, {"Content-Type": "text/x-flask; charset=utf-8"})


application = app
