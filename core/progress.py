"""Progress of long steps (building or loading a default): code reports with `report()`; the CLI shows a rich bar
(`cli_bar`), a page installs a callback (`reporting`) that drives its `st.progress`."""

from __future__ import annotations

import contextvars
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

__all__ = ["report", "reporting", "cli_bar"]

Reporter = Callable[[float | None, str], None]  # (fraction done in [0, 1] or None when unknown, what is happening)
_reporter: contextvars.ContextVar[Reporter | None] = contextvars.ContextVar("verticals_progress", default=None)


def report(fraction: float | None, text: str) -> None:
    """Tell whoever watches (a CLI bar, a page) how far a long step is; a no-op when nobody watches.

    >>> report(0.5, "half way")  # nobody watching: nothing happens
    >>> seen = []
    >>> with reporting(lambda fraction, text: seen.append((fraction, text))):
    ...     report(0.5, "half way")
    >>> seen
    [(0.5, 'half way')]
    """
    reporter = _reporter.get()
    if reporter is not None:
        reporter(None if fraction is None else min(1.0, max(0.0, float(fraction))), text)


@contextmanager
def reporting(callback: Reporter) -> Iterator[None]:
    """Send every `report()` made inside the block (same thread) to `callback(fraction, text)`."""
    token = _reporter.set(callback)
    try:
        yield
    finally:
        _reporter.reset(token)


@contextmanager
def cli_bar(description: str, estimate_s: float | None = None, delay_s: float = 5.0) -> Iterator[None]:
    """A rich progress bar on stderr for a step that may be long: it appears only once the step has run `delay_s`
    seconds, moves with the fractions reported inside (else with elapsed / `estimate_s`), and vanishes at the end.

    >>> with cli_bar("quick step"):  # done before the delay: nothing is shown
    ...     pass
    """
    state = {"fraction": None, "text": description}
    done = threading.Event()

    def remember(fraction: float | None, text: str) -> None:
        state["fraction"], state["text"] = (fraction if fraction is not None else state["fraction"]), text

    def draw() -> None:
        if done.wait(delay_s) or not sys.stderr.isatty():
            return
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

        started = time.monotonic() - delay_s
        estimate = f" (about {estimate_s / 60:.0f} min)" if estimate_s and estimate_s >= 90 else (
            f" (about {estimate_s:.0f} s)" if estimate_s else "")
        with Progress(TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(), TimeElapsedColumn(),
                      console=Console(stderr=True), transient=True) as bar:
            task = bar.add_task(description + estimate, total=1.0)
            while not done.wait(0.5):
                fraction = state["fraction"]
                if fraction is None and estimate_s:
                    fraction = min(0.95, (time.monotonic() - started) / estimate_s)
                bar.update(task, completed=fraction or 0.0, description=f"{state['text']}{estimate}")

    thread = threading.Thread(target=draw, name="verticals-progress", daemon=True)
    with reporting(remember):
        thread.start()
        try:
            yield
        finally:
            done.set()
            thread.join(timeout=2)
