# A Flask app receiving a multipart/form-data upload (file + text field) and
# answering with what it got: field value, file name, size and CRC-32.
import zlib

from flask import Flask, request

app = Flask(__name__)


@app.route("/upload", methods=["POST"])
def upload():
    f = request.files["file"]
    data = f.read()
    return "note=%s\nfilename=%s\nsize=%d\ncrc=%d\n" % (
        request.form["note"], f.filename, len(data), zlib.crc32(data)
    ), 200, {"Content-Type": "text/plain"}


application = app
