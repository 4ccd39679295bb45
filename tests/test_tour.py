import subprocess
import sys


def test_tour_runs_and_shows_the_lecture_values():
    out = subprocess.run([sys.executable, "-m", "chainrule"], capture_output=True, text=True,
                         timeout=120, check=True).stdout
    assert "cr.grad(f)(2.0)                         21.0" in out
    assert "cr.grad(cr.grad(f))(2.0)                16.0" in out
    assert "forward wins" in out and "reverse wins" in out
    for n in range(1, 10):
        assert f"\n{n}. " in out
