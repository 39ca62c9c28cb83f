# Importable only if harness_extra.pth in the WSGIPythonPath dir was honoured
# (site.addsitedir).
MARKER = "pth-mod-ok"
