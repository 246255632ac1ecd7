"""Phase-by-phase progress on stderr for the command line, shown only to a person at a terminal.

Each phase (reading, growing the tree, writing) is a spinner with its elapsed time and a
tick when done.  The fit reports nothing from inside, so there are no percentages to
invent.  Redirected or with ``--quiet``, nothing is printed.
"""

from __future__ import annotations

from contextlib import contextmanager

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn


class Phases:
    """``with Phases(quiet) as phases: with phases("Reading"): ...``"""

    def __init__(self, quiet: bool = False):
        console = Console(stderr=True)
        self._progress = None
        if not quiet and console.is_terminal:
            self._progress = Progress(
                SpinnerColumn(finished_text="[green]\u2713"), TextColumn("{task.description}"),
                TimeElapsedColumn(), console=console,
            )

    def __enter__(self):
        if self._progress is not None:
            self._progress.start()
        return self

    def __exit__(self, *exc):
        if self._progress is not None:
            self._progress.stop()

    @contextmanager
    def __call__(self, description: str):
        if self._progress is None:
            yield
            return
        task = self._progress.add_task(description, total=1)
        yield
        self._progress.update(task, completed=1)
