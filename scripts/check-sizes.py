#!/usr/bin/env python3
"""House rules on size, for non-test Rust code under src/ (the generated
bindings src/apache/sys.rs aside): no function over 100 lines, no file over
800 lines. Functions are found in rustfmt-formatted code: a line starting with
`fn`/`pub fn`/... and its closing brace at the same indentation. Code inside
`mod tests { ... }` (after #[cfg(test)]) and files named *_tests.rs or under
tests/ folders are test code. Prints each offence; exits 1 if there is any."""
import pathlib
import re
import sys

MAX_FN, MAX_FILE = 100, 800
FN = re.compile(r"^(\s*)(pub(\([^)]*\))?\s+)?(const\s+)?(async\s+)?(unsafe\s+)?(extern\s+\"C\"\s+)?fn\s+(\w+)")
root = pathlib.Path(__file__).resolve().parent.parent / "src"
bad = []
for path in sorted(root.rglob("*.rs")):
    rel = path.relative_to(root.parent)
    if path.name == "sys.rs" and path.parent.name == "apache":
        continue
    if path.name.endswith("_tests.rs") or "tests" in path.relative_to(root).parts[:-1]:
        continue
    lines = path.read_text().splitlines()
    test_from = None
    for i, line in enumerate(lines):
        if line.strip() == "#[cfg(test)]" and i + 1 < len(lines) and re.match(r"\s*(pub\s+)?mod\s+\w+", lines[i + 1]):
            test_from = i
            break
    code = lines if test_from is None else lines[:test_from]
    if len(code) > MAX_FILE:
        bad.append(f"{rel}: {len(code)} lines of non-test code (at most {MAX_FILE})")
    for i, line in enumerate(code):
        m = FN.match(line)
        if not m or line.rstrip().endswith(";"):
            continue
        indent = m.group(1)
        for j in range(i + 1, len(code)):
            if code[j] == indent + "}":
                n = j - i + 1
                if n > MAX_FN:
                    bad.append(f"{rel}:{i + 1}: fn {m.group(8)} is {n} lines (at most {MAX_FN})")
                break
for b in bad:
    print(b)
sys.exit(1 if bad else 0)
