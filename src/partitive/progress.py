"""Progress on stderr for the command line, shown only to a person at a terminal.

Each phase (reading, growing the tree, writing) is a spinner with its elapsed time and a
tick when done.  Each pass over the rows of a file (sampling, reseeding, accumulating,
labelling, writing) is a bar counting its rows: the fit's sources
(:mod:`partitive.source`) advance it chunk by chunk through :meth:`Phases.track`, so the
core never imports rich.  Redirected or with ``--quiet``, nothing is printed.
"""

from __future__ import annotations

from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.text import Text


class _PassBar(BarColumn):
    """A bar for the passes over the rows; none for the phases."""

    def render(self, task):
        return Text("") if task.fields.get("phase") else super().render(task)


class Phases:
    """``with Phases(quiet) as phases: with phases("Reading"): ...``; a source's passes
    go through ``phases.track(description, total)``."""

    def __init__(self, quiet: bool = False):
        console = Console(stderr=True)
        self._progress = None
        if not quiet and console.is_terminal:
            self._progress = Progress(
                SpinnerColumn(finished_text="[green]\u2713"), TextColumn("{task.description}"),
                _PassBar(), TextColumn("{task.fields[rows]}"), TimeElapsedColumn(), console=console,
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
        task = self._progress.add_task(description, total=1, phase=True, rows="")
        yield
        self._progress.update(task, completed=1)

    @contextmanager
    def track(self, description: str, total: int | None):
        """Yield ``advance(rows)`` for a pass over ``total`` rows (None: not known)."""
        if self._progress is None:
            yield lambda rows: None
            return
        progress = self._progress
        task = progress.add_task(f"  {description}", total=total, rows="")
        done = [0]

        def advance(rows: int) -> None:
            done[0] += rows
            progress.update(task, advance=rows, rows=f"{done[0]:,} rows")

        yield advance
        # A pass of unknown length is complete when it ends.
        progress.update(task, total=done[0], completed=done[0])
