"""Profile a running sitewatch with py-spy and say what dominates its CPU.

`record` samples the process from outside (no change to sitewatch, ~1-2 % overhead
with --nonblocking); `summarize` reads py-spy's collapsed stacks ("frame;frame;...
count", idle frames left out) and ranks packages and functions by the share of
busy samples they account for, on their own (self) and with what they call.

Usable alone on a saved profile:  python bench/hotspots.py PROFILE.txt
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

_FRAME = re.compile(r"^(?P<func>.*) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")


def _py_spy() -> str | None:
    """Return py-spy's path: on PATH, or beside this Python (a virtualenv not activated)."""
    beside = Path(sys.executable).parent / "py-spy"
    return shutil.which("py-spy") or (str(beside) if beside.exists() else None)


def available() -> bool:
    """Tell whether py-spy is installed (it is in the project's `test` extra)."""
    return _py_spy() is not None


def record(
    pid: int, seconds: float, output: Path, cpu: int | None, rate: int = 100
) -> subprocess.Popen[bytes]:
    """Sample `pid` `rate` times a second for `seconds` into `output`; return the sampler."""
    command = [_py_spy() or "py-spy", "record", "--pid", str(pid), "--duration", str(int(seconds))]
    # --gil: only the thread holding the GIL is sampled, so waits (epoll, a queue)
    # are not mistaken for work.
    command += ["--rate", str(rate), "--nonblocking", "--gil"]
    command += ["--format", "raw", "--output", str(output)]
    cpus = {cpu} if cpu is not None else None

    def pin() -> None:
        if cpus is not None and hasattr(os, "sched_setaffinity"):
            os.sched_setaffinity(0, cpus)

    return subprocess.Popen(
        command,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        preexec_fn=pin,  # noqa: PLW1509 - run.py starts no threads of its own
    )


def _area(path: str) -> str:
    """Name the package or module a source file belongs to, for grouping."""
    if "site-packages/" in path:
        rest = path.split("site-packages/", 1)[1]
        parts = rest.split("/")
        return parts[0] if len(parts) == 1 or parts[0] != "aiohttp" else f"aiohttp/{parts[1]}"
    if "/sitewatch/" in path:
        return "sitewatch/" + path.rsplit("/sitewatch/", 1)[1]
    match = re.search(r"/python3\.\d+/(.*)$", path)
    if match:
        module = match.group(1)
        return module.split("/")[0] if "/" in module else module
    return path or "?"


def _parse(line: str) -> tuple[list[tuple[str, str]], int] | None:
    stack, _, count = line.rstrip().rpartition(" ")
    if not stack or not count.isdigit():
        return None
    frames = []
    for raw in stack.split(";"):
        match = _FRAME.match(raw)
        if match:
            frames.append((match["func"], match["file"]))
        else:
            frames.append((raw, ""))
    return frames, int(count)


def summarize(path: Path, top: int = 15) -> list[str]:
    """Rank areas and functions by their share of busy samples; return report lines."""
    own_area: Counter[str] = Counter()
    own_func: Counter[str] = Counter()
    total_func: Counter[str] = Counter()
    samples = 0
    for line in path.read_text(errors="replace").splitlines():
        parsed = _parse(line)
        if parsed is None:
            continue
        frames, count = parsed
        samples += count
        func, file = frames[-1]
        own_area[_area(file)] += count
        own_func[f"{func} ({_area(file)})"] += count
        for name in {f"{f} ({_area(p)})" for f, p in frames}:
            total_func[name] += count
    if not samples:
        return ["  (no samples: was the process busy?)"]

    def share(count: int) -> str:
        return f"{100 * count / samples:5.1f}%"

    lines = [f"  {samples} busy samples", "  self time by package/module:"]
    lines += [f"    {share(c)}  {name}" for name, c in own_area.most_common(top)]
    lines.append("  self time by function:")
    lines += [f"    {share(c)}  {name}" for name, c in own_func.most_common(top)]
    lines.append("  inclusive time, sitewatch functions (with what they call):")
    # The entry point holds every stack of the main thread: it says nothing.
    entry = ("(sitewatch/cli.py)", "(sitewatch/__main__.py)")
    ours = [
        (n, c) for n, c in total_func.most_common() if "(sitewatch/" in n and not n.endswith(entry)
    ]
    lines += [f"    {share(c)}  {name}" for name, c in ours[:top]]
    return lines


def compare(old: Path, new: Path, top: int = 25) -> list[str]:
    """Rank functions by how many more busy samples (self time) `new` has than `old`.

    For two trees sampled side by side over the same window at the same rate, a
    sample is the same slice of CPU in both: the differences are where the CPU went.
    """
    counts = [_own_by_function(old), _own_by_function(new)]
    totals = [sum(c.values()) for c in counts]
    lines = [f"  busy samples: old {totals[0]}, new {totals[1]} ({totals[1] - totals[0]:+d})"]
    names = set(counts[0]) | set(counts[1])
    moved = sorted(names, key=lambda n: abs(counts[1][n] - counts[0][n]), reverse=True)
    for name in moved[:top]:
        before, after = counts[0][name], counts[1][name]
        lines.append(f"    {after - before:+6d}  {before:6d} -> {after:6d}  {name}")
    return lines


def _own_by_function(path: Path) -> Counter[str]:
    own: Counter[str] = Counter()
    for line in path.read_text(errors="replace").splitlines():
        parsed = _parse(line)
        if parsed is not None:
            frames, count = parsed
            func, file = frames[-1]
            own[f"{func} ({_area(file)})"] += count
    return own


if __name__ == "__main__":
    print("\n".join(summarize(Path(sys.argv[1]))))
