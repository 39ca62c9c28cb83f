# Reads wsgi.input the way QUERY_STRING says and reports what it got as
# "op:ascii(result)" lines: read, read-n (read(5) until b''), readline,
# readline-n (readline(4) until b''), readlines, readlines-hint
# (readlines(6) once, then read()), iter, close (read(3), close()).
def application(environ, start_response):
    inp = environ["wsgi.input"]
    op = environ.get("QUERY_STRING", "")
    out = []
    if op == "read":
        out.append(inp.read())
        out.append(inp.read())
    elif op == "read-n":
        while True:
            b = inp.read(5)
            out.append(b)
            if not b:
                break
    elif op == "readline":
        while True:
            b = inp.readline()
            out.append(b)
            if not b:
                break
    elif op == "readline-n":
        while True:
            b = inp.readline(4)
            out.append(b)
            if not b:
                break
    elif op == "readlines":
        out.append(inp.readlines())
    elif op == "readlines-hint":
        out.append(inp.readlines(6))
        out.append(inp.read())
    elif op == "iter":
        out.extend(list(inp))
    elif op == "close":
        out.append(inp.read(3))
        inp.close()
    elif op == "none":
        pass
    body = "".join(ascii(x) + "\n" for x in out).encode()
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body]
