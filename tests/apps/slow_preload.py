# A WSGIImportScript that takes 8 seconds: its daemon process is not ready
# to accept a request until it returns.
import time

time.sleep(8)
