"""Where a server's time goes, from py-spy's collapsed stacks (`bench.run --profile DIR`).

    .venv/bin/python -m bench.profile_summary DIR/switchboard-fanout_chat_100-*.txt [--top 25]

Prints the functions with the most samples on top of the stack (self) and
anywhere in it (inclusive), as shares of all samples.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path


def frame_name(frame: str) -> str:
    # py-spy frames look like "emit (socketio/async_server.py:123)"; drop the line number.
    name, _, where = frame.partition(" (")
    path = where.rstrip(")").rsplit(":", 1)[0]
    for marker in ("site-packages/", "lib/python3.11/", "src/"):
        if marker in path:
            path = path.split(marker, 1)[1]
    return f"{name} ({path})" if path else name


def summarise(paths: list[Path]) -> tuple[int, Counter[str], Counter[str]]:
    total = 0
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    for path in paths:
        for line in path.read_text(errors="replace").splitlines():
            stack, _, count_text = line.rpartition(" ")
            if not stack or not count_text.isdigit():
                continue
            count = int(count_text)
            frames = [frame_name(f) for f in stack.split(";") if f]
            if not frames:
                continue
            total += count
            own[frames[-1]] += count
            for name in set(frames):
                inclusive[name] += count
    return total, own, inclusive


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.profile_summary")
    p.add_argument("files", nargs="+", type=Path)
    p.add_argument("--top", type=int, default=25)
    args = p.parse_args(argv)
    total, own, inclusive = summarise(args.files)
    if not total:
        print("no samples")
        return 1
    for title, counter in (("self", own), ("inclusive", inclusive)):
        print(f"\n{title} (of {total} samples)")
        for name, count in counter.most_common(args.top):
            print(f"{100 * count / total:6.1f} %  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
