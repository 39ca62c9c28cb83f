#!/usr/bin/env python3
"""Differential run of the integration tests: ours against the references.

Runs the integration tests that drive Apache (tests/*.rs, minus the ones
that test our own tools: express, packaging, exports, error codes) once
with our module and once with each reference module (``MOD_WSGI_SO``):
Debian's mod_wsgi 4.9.4 and pip's mod_wsgi 6.1.1 (built into a venv of the
system Python by scripts/pip-mod_wsgi-venv.sh). Prints, test by test, where
the outcome with a reference differs from ours, as markdown (``--out FILE``
writes it there too). A test that returns early against a reference
(``ours_only!``: behaviour only our module has, such as WSGIRS log ids) is
reported as "ours only", not as a pass.

Usage (as root, after ``cargo build``):
    /usr/bin/python3 scripts/differential.py [--only wsgi_response,wsgi_input]
"""

import argparse
import os
import re
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SKIP_PREFIXES = ("express_", "packaging_", "exports", "error_codes", "apachectl")
RUNNING = re.compile(r"^\s*Running (?:tests/)?(\S+?)\.rs ")
RESULT = re.compile(r"^test (\S+) \.\.\. (ok|FAILED|ignored)")
OUTPUT = re.compile(r"^---- (\S+) (?:stdout|stderr) ----")
SKIPPED = "skipped against the reference mod_wsgi (ours-only)"


def test_files(only):
    names = sorted(f[:-3] for f in os.listdir(os.path.join(ROOT, "tests"))
                   if f.endswith(".rs"))
    if only:
        return [n for n in names if n in only]
    return [n for n in names if not n.startswith(SKIP_PREFIXES)]


def pip_reference():
    venv = subprocess.run(["bash", os.path.join(ROOT, "scripts/pip-mod_wsgi-venv.sh")],
                          check=True, capture_output=True, text=True).stdout.strip()
    return subprocess.run([os.path.join(venv, "bin/mod_wsgi-express"), "module-location"],
                          check=True, capture_output=True, text=True).stdout.strip()


def run(files, module, threads):
    """{binary::test: outcome} for one module (None: ours)."""
    env = dict(os.environ, PYO3_PYTHON="/usr/bin/python3")
    env.pop("MOD_WSGI_SO", None)
    if module:
        env["MOD_WSGI_SO"] = module
    cmd = ["cargo", "test", "--no-fail-fast"]
    for f in files:
        cmd += ["--test", f]
    cmd += ["--", "--test-threads=%d" % threads, "--show-output"]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True)
    outcomes, skipped = {}, set()
    binary, current = "?", None
    for line in proc.stdout.splitlines():
        m = RUNNING.match(line)
        if m:
            binary = m.group(1)
            continue
        m = RESULT.match(line)
        if m:
            outcomes["%s::%s" % (binary, m.group(1))] = m.group(2)
            continue
        m = OUTPUT.match(line)
        if m:
            current = "%s::%s" % (binary, m.group(1))
        elif current and SKIPPED in line:
            skipped.add(current)
    for name in skipped:
        if outcomes.get(name) == "ok":
            outcomes[name] = "ours only"
    return outcomes


def report(results, labels):
    ours = results[0]
    names = sorted(set().union(*results))
    lines = ["| test | " + " | ".join(labels) + " |",
             "|---|" + "---|" * len(labels)]
    differing = 0
    for name in names:
        row = [r.get(name, "-") for r in results]
        if all(v == row[0] for v in row[1:]) or any(v == "ours only" for v in row[1:]):
            continue
        differing += 1
        lines.append("| `%s` | %s |" % (name, " | ".join(row)))
    summary = []
    for label, r in zip(labels, results):
        counts = {}
        for v in r.values():
            counts[v] = counts.get(v, 0) + 1
        summary.append("- %s: %s" % (label, ", ".join(
            "%d %s" % (n, k) for k, n in sorted(counts.items()))))
    head = ["%d tests; %d differ in outcome between ours and a reference "
            "(tests that return early against a reference are left out):" %
            (len(names), differing), ""]
    return "\n".join(summary + [""] + head + lines) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", default="", help="comma-separated test files")
    ap.add_argument("--reference-4", default="/usr/lib/apache2/modules/mod_wsgi.so")
    ap.add_argument("--reference-6", default=None, help="default: pip's 6.1.1")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out")
    args = ap.parse_args()
    files = test_files(set(filter(None, args.only.split(","))))
    modules = [(None, "ours"), (args.reference_4, "mod_wsgi 4.9.4"),
               (args.reference_6 or pip_reference(), "mod_wsgi 6.1.1")]
    results, labels = [], []
    for module, label in modules:
        t = time.time()
        results.append(run(files, module, args.threads))
        labels.append(label)
        print("[differential] %s: %d tests in %.0f s" % (label, len(results[-1]),
                                                         time.time() - t), file=sys.stderr)
    text = report(results, labels)
    sys.stdout.write(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
