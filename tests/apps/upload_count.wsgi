# Streams wsgi.input in 64 KiB reads, counting bytes and a checksum, and
# reports peak RSS (KiB) so tests can see memory stayed bounded. An OSError
# while reading (client gone) is logged with a marker and re-raised.
import resource
import sys
import zlib


def application(environ, start_response):
    inp = environ["wsgi.input"]
    total = 0
    crc = 0
    try:
        while True:
            b = inp.read(65536)
            if not b:
                break
            total += len(b)
            crc = zlib.crc32(b, crc)
    except OSError as e:
        print("upload-aborted-marker after %d bytes: %r" % (total, e), file=environ["wsgi.errors"])
        raise
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    body = ("bytes=%d\ncrc=%d\nmaxrss=%d\n" % (total, crc, rss)).encode()
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body]
