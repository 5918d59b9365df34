#!/usr/bin/env python3
"""Symbolises the allocation stacks that `lookout bench pipeline --allocation-sites FILE` wrote.

Each line of FILE is a count and frames `object+offset`; frames in the lookout binary are looked up with addr2line
in the unstripped build of the same commit (the device gets a stripped copy), Swift names demangled. Prints each
stack's count and share, and its frames from the allocator's caller down, skipping the allocator and the Swift
runtime's allocation entry points so that the first line shown is the code that asked for memory.

Usage: python3 scripts/alloc-sites.py FILE BINARY [--top N] [--depth N]
"""
import argparse
import subprocess
import sys

# Frames that only pass an allocation on: shown stacks start below them.
PASS_THROUGH = ("malloc", "calloc", "realloc", "posix_memalign", "aligned_alloc", "memalign", "record_site",
                "swift_slowAlloc", "swift_allocObject", "swift_task_alloc", "operator new", "_Unwind_Backtrace",
                "unwind_frame", "swift::", "_swift_", "swift_")


def symbolise(binary, offsets):
    if not offsets:
        return {}
    ordered = sorted(offsets)
    lines = subprocess.run(["addr2line", "-f", "-e", binary] + [hex(o) for o in ordered], check=True,
                           capture_output=True, text=True).stdout.splitlines()
    names = lines[0::2]
    places = lines[1::2]
    demangled = subprocess.run(["swift-demangle", "--simplified"], input="\n".join(names), check=True,
                               capture_output=True, text=True).stdout.splitlines()
    return {offset: (name, place.rsplit("/", 1)[-1]) for offset, name, place in zip(ordered, demangled, places)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file")
    parser.add_argument("binary", help="the unstripped lookout of the same commit")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--depth", type=int, default=8)
    arguments = parser.parse_args()
    header = ""
    stacks = []
    with open(arguments.file) as handle:
        for line in handle:
            if line.startswith("#"):
                header = line.strip()
                continue
            fields = line.split()
            if not fields:
                continue
            frames = []
            for frame in fields[1:]:
                name, _, offset = frame.rpartition("+")
                frames.append((name, int(offset, 16)))
            stacks.append((int(fields[0]), frames))
    if not stacks:
        print(f"{arguments.file}: no stacks recorded")
        return 1
    binary_name = arguments.binary.rsplit("/", 1)[-1]
    offsets = {offset for _, frames in stacks for name, offset in frames if name == binary_name}
    symbols = symbolise(arguments.binary, offsets)
    total = sum(count for count, _ in stacks)
    print(f"{header}\n{total} recorded allocations in {len(stacks)} stacks")
    for count, frames in stacks[: arguments.top]:
        print(f"\n{count:8d} {count / total * 100:5.1f}%")
        shown = 0
        skipping = True
        for name, offset in frames:
            function, place = symbols.get(offset, (f"{name}+{offset:#x}", "")) if name == binary_name else (
                f"{name}+{offset:#x}", "")
            if skipping and name != binary_name:
                continue
            if skipping and any(function.startswith(p) or p in function.split("(")[0] for p in PASS_THROUGH):
                continue
            skipping = False
            print(f"           {function[:150]}  {place}")
            shown += 1
            if shown >= arguments.depth:
                break
    return 0


if __name__ == "__main__":
    sys.exit(main())
