# A WSGIImportScript that ends its process at once: the daemon group that
# imports it dies before it accepts a request, over and over (a crash loop).
import os

os._exit(3)
