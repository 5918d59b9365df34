#!/usr/bin/env python3
"""Every module a target imports is one of its declared dependencies (or the toolchain's own): SwiftPM builds an
undeclared import only by luck of the build order. Reads `swift package dump-package`; exits 1 listing offenders."""
import json
import os
import re
import subprocess
import sys

TOOLCHAIN = {
    "Swift", "_Concurrency", "Glibc", "Darwin", "Musl", "Dispatch", "Synchronization", "Foundation",
    "FoundationEssentials", "FoundationNetworking", "Testing", "XCTest", "_StringProcessing",
}

def main() -> int:
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    package = json.loads(subprocess.check_output(["swift", "package", "dump-package"], cwd=root))
    problems = []
    for target in package["targets"]:
        if target["type"] not in ("regular", "executable", "test"):
            continue
        declared = set()
        for dependency in target.get("dependencies", []):
            for kind in ("byName", "target", "product"):
                if kind in dependency:
                    declared.add(dependency[kind][0])
        path = target.get("path") or os.path.join("Tests" if target["type"] == "test" else "Sources", target["name"])
        imported = {}
        for folder, _, files in os.walk(os.path.join(root, path)):
            for name in files:
                if not name.endswith(".swift"):
                    continue
                file = os.path.join(folder, name)
                for line in open(file, encoding="utf-8"):
                    match = re.match(r"\s*(?:@testable |@_exported |public |package |internal )*import\s+(?:struct |class |enum |func )?([A-Za-z_][A-Za-z0-9_]*)", line)
                    if match:
                        imported.setdefault(match.group(1), os.path.relpath(file, root))
        for module, file in sorted(imported.items()):
            if module not in declared and module not in TOOLCHAIN and module != target["name"]:
                problems.append(f"{target['name']}: imports {module} ({file}) without declaring it")
    for problem in problems:
        print(problem)
    return 1 if problems else 0

if __name__ == "__main__":
    sys.exit(main())
