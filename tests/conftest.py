import subprocess
import sys

import pytest
from hypothesis import settings

from partitive.datasets import well_separated_blobs

# Property tests draw the same examples on every run: a failure on CI is one anyone can
# reproduce, and an example a random draw found is kept as a test of its own.  No
# deadline: an example's time is the machine's load, not the code's behaviour.
settings.register_profile("deterministic", derandomize=True, deadline=None)
settings.load_profile("deterministic")


@pytest.fixture
def three_blobs():
    return well_separated_blobs(3, 2, n_per=80, seed=1)


@pytest.fixture
def run_on_a_terminal():
    """``run_on_a_terminal(*args)``: the command's stderr as a terminal showed it."""
    return _on_a_terminal


def _on_a_terminal(*args):
    """Run the command with stderr on a pseudo-terminal; return what the terminal showed."""
    import os
    import pty

    leader, follower = pty.openpty()
    env = {**os.environ, "TERM": "xterm", "COLUMNS": "200"}
    proc = subprocess.Popen([sys.executable, "-m", "partitive", *map(str, args)],
                            stdout=subprocess.PIPE, stderr=follower, env=env)
    os.close(follower)
    shown = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the terminal closes when the process ends
            break
        if not chunk:
            break
        shown.append(chunk)
    proc.stdout.read()
    proc.stdout.close()
    assert proc.wait() == 0
    os.close(leader)
    return b"".join(shown).decode("utf-8", "replace")
