"""Write a benchmark's tables into docs/benchmarks.md, headed by where they were measured.

Each table is a named section between two HTML comments::

    <!-- benchmark: NAME -->
    ## TITLE
    | version | commit | machine | date | command |
    ...
    <!-- /benchmark: NAME -->

:func:`write_section` replaces the section of that name, or appends it, and leaves the
rest of the file as it is, so every script keeps its own tables current and a reader
sees, above each one, the code, machine and command that produced it.  :func:`tee`
collects what a script prints so that the same text goes to the terminal and the file.
"""

from __future__ import annotations

import contextlib
import datetime
import io
import os
import platform
import re
import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REPORT = ROOT / "docs" / "benchmarks.md"


def commit() -> str:
    """Short hash of HEAD, with ``+changes`` when src/ or benchmarks/ differ from it."""
    def git(*args):
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout.strip()

    head = git("rev-parse", "--short", "HEAD") or "unknown"
    return head + ("+changes" if git("status", "--porcelain", "--", "src", "benchmarks") else "")


def machine() -> str:
    """OS and architecture, cores this process may use, and memory, in one phrase."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    try:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
        memory_text = f", {memory:.0f} GiB"
    except (ValueError, OSError, AttributeError):
        memory_text = ""
    return f"{cores} cores{memory_text} ({platform.system()} {platform.machine()}, Python {platform.python_version()})"


#: Environment variables that change what a benchmark measures: shown in its command.
SETTINGS = ("PARTITIVE_FAMILIES",)


def command(argv=None) -> str:
    """The command line that ran the script, with the script's path from the repository
    and any of SETTINGS set in the environment."""
    argv = sys.argv if argv is None else argv
    script = Path(argv[0]).resolve()
    with contextlib.suppress(ValueError):
        script = script.relative_to(ROOT)
    settings = [f"{name}={shlex.quote(os.environ[name])}" for name in SETTINGS if name in os.environ]
    return " ".join([*settings, shlex.join(["python", str(script), *argv[1:]])])


def header(argv=None) -> str:
    """The table that heads a section: version, commit, machine, date and command."""
    from partitive import __version__

    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
    return (
        "| version | commit | machine | date | command |\n|---|---|---|---|---|\n"
        f"| {__version__} | `{commit()}` | {machine()} | {date} | `{command(argv)}` |\n"
    )


def add_arguments(parser) -> None:
    """The options every reporting script takes: where to write, or not to."""
    parser.add_argument("--report", default=str(REPORT), help="Markdown file the tables are written into")
    parser.add_argument("--no-report", action="store_true", help="print the tables only")


def write_section(name: str, title: str, body: str, path=REPORT, argv=None) -> Path:
    """Replace (or append) section ``name`` of ``path`` with ``title``, the header and ``body``."""
    path = Path(path)
    start, end = f"<!-- benchmark: {name} -->", f"<!-- /benchmark: {name} -->"
    section = f"{start}\n## {title}\n\n{header(argv)}\n{body.strip()}\n{end}"
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.DOTALL)
    if pattern.search(text):
        text = pattern.sub(lambda _: section, text, count=1)
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    tmp = path.with_suffix(".md.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
    return path


class _Tee(io.TextIOBase):
    def __init__(self, stream):
        self.stream, self.copy = stream, io.StringIO()

    def write(self, text):
        self.stream.write(text)
        return self.copy.write(text)

    def flush(self):
        self.stream.flush()


@contextlib.contextmanager
def tee():
    """Print as usual and keep a copy: ``with tee() as out: ...; out.getvalue()``."""
    original = sys.stdout
    sys.stdout = _Tee(original)
    try:
        yield sys.stdout.copy
    finally:
        sys.stdout = original
