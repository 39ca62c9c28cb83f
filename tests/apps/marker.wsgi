# Appends a line to the file named by the MARKER_FILE environment variable
# (SetEnv) each time the application runs, so tests can tell whether Python
# code ran for a connection.
def application(environ, start_response):
    with open(environ["MARKER_FILE"], "a") as f:
        f.write("ran\n")
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"marked\n"]
