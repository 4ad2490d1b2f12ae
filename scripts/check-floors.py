#!/usr/bin/env python3
"""Fails on an #include that climbs a floor (docs/DESIGN.md, "Floors").

Each library folder may include only its own headers and those of the floors below it; CMake's
link dependencies say the same thing, and this check catches a header-only climb that the linker
would never see. Run from anywhere: `python3 scripts/check-floors.py`.
"""
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent

# folder -> the project folders its files may include (its own included). Longest prefix wins.
BELOW = {
    "base": ["base"],
    "ltx": ["base", "ltx"],
    "storage": ["base", "storage"],
    "history": ["base", "ltx", "storage", "history"],
    "vfs/writer": ["base", "ltx", "storage", "history", "vfs/writer"],
    "vfs/replica": ["base", "ltx", "storage", "history", "vfs/replica"],
    "vfs/shim": ["base", "ltx", "storage", "history", "vfs/writer", "vfs/replica", "vfs/shim"],
    "extension": ["base", "ltx", "storage", "history", "vfs/writer", "vfs/replica", "vfs/shim",
                  "extension"],
    # The CLI reads and shapes remote history; it never runs a writer or a replica.
    "tools/cli": ["base", "ltx", "storage", "history", "tools/cli"],
    # `ltxvfs run`'s preload helper: it finds SQLite and the extension at run time, links nothing.
    "tools/run": ["tools/run"],
}
PROJECT_DIRS = ["base", "ltx", "storage", "history", "vfs", "extension", "tools"]
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')


def floor_of(path):
    rel = path.as_posix()
    best = None
    for folder in BELOW:
        if rel == folder or rel.startswith(folder + "/"):
            if best is None or len(folder) > len(best):
                best = folder
    return best


def main():
    problems = []
    for top in PROJECT_DIRS:
        for path in sorted((ROOT / top).rglob("*")):
            if path.suffix not in (".h", ".cpp", ".c"):
                continue
            rel = path.relative_to(ROOT)
            floor = floor_of(rel)
            if floor is None:
                problems.append(f"{rel}: in no floor; add its folder to scripts/check-floors.py")
                continue
            for n, line in enumerate(path.read_text().splitlines(), 1):
                m = INCLUDE.match(line)
                if not m or "/" not in m.group(1):
                    continue
                target = m.group(1)
                if not any(target.startswith(top_dir + "/") for top_dir in PROJECT_DIRS):
                    continue  # a system or third-party header
                if not any(target.startswith(allowed + "/") for allowed in BELOW[floor]):
                    problems.append(f"{rel}:{n}: includes {target}, above its floor ({floor})")
    for p in problems:
        print(p)
    if problems:
        print(f"{len(problems)} include(s) climb a floor; see docs/DESIGN.md, 'Floors'")
        return 1
    print("floors: every include stays on its floor or below")
    return 0


if __name__ == "__main__":
    sys.exit(main())
