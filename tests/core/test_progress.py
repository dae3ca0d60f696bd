"""core.progress: reports reach the installed callback (the page's st.progress) and the CLI bar never breaks output."""

from __future__ import annotations

import threading

from core import progress


def test_reports_go_to_the_callback_of_their_own_thread_only():
    seen, other = [], []
    with progress.reporting(lambda fraction, text: seen.append((fraction, text))):
        progress.report(2.0, "clamped")
        worker = threading.Thread(target=lambda: progress.report(0.5, "another thread"))  # a page in another session
        worker.start()
        worker.join()
        progress.report(None, "no fraction")
    progress.report(0.1, "after the block")
    assert seen == [(1.0, "clamped"), (None, "no fraction")] and not other


def test_cli_bar_passes_reports_and_results_through(capsys):
    with progress.cli_bar("step", estimate_s=1, delay_s=0.01):
        progress.report(0.5, "half")
        value = 42
    assert value == 42
    assert capsys.readouterr().out == ""  # stdout stays clean for JSON output
