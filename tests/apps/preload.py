# A WSGIImportScript: marks its interpreter and logs that it ran.
import builtins
import os
import sys

import mod_wsgi

builtins.HARNESS_PRELOADED = "pid %d group %r" % (os.getpid(), mod_wsgi.application_group)
print("harness-preloaded " + builtins.HARNESS_PRELOADED, file=sys.stderr)
