# A service script for a threads=0 daemon (loaded with WSGIImportScript): it
# installs a signal handler (allowed in service daemons) and then runs
# forever, writing its pid and a heartbeat count to a file next to it.
import os
import signal
import time

signal.signal(signal.SIGUSR2, lambda signum, frame: None)

MARK = os.path.join(os.path.dirname(__file__), "service.mark")
count = 0
while True:
    count += 1
    with open(MARK + ".tmp", "w") as f:
        f.write("%d %d\n" % (os.getpid(), count))
    os.replace(MARK + ".tmp", MARK)
    time.sleep(0.1)
