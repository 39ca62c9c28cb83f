# A service script for a threads=0 daemon (loaded with WSGIImportScript): it
# installs a SIGUSR2 handler (allowed in service daemons) that writes
# "service.usr2" next to it, and then runs forever, writing its pid and a
# heartbeat count to "service.mark".
import os
import signal
import time

MARK = os.path.join(os.path.dirname(__file__), "service.mark")


def on_usr2(signum, frame):
    with open(os.path.join(os.path.dirname(MARK), "service.usr2"), "w") as f:
        f.write("%d\n" % os.getpid())


signal.signal(signal.SIGUSR2, on_usr2)

count = 0
while True:
    count += 1
    with open(MARK + ".tmp", "w") as f:
        f.write("%d %d\n" % (os.getpid(), count))
    os.replace(MARK + ".tmp", MARK)
    time.sleep(0.1)
