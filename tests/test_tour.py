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


def test_tour_simulation_gradients_agree():
    """The applications section: the scan gradient, with and without checkpoints, is the
    same number, and within 1% of the coarser Python-loop flight's (a finer time step)."""
    import re
    out = subprocess.run([sys.executable, "-m", "chainrule", "tour", "--section", "6"],
                         capture_output=True, text=True, timeout=120, check=True).stdout

    def value(label):
        return float(re.search(re.escape(label) + r"\s+(-?[\d.]+)", out).group(1))
    loop = value("d range / d angle, chainrule:")
    fd = value("d range / d angle, finite differences:")
    scan = value("d range / d angle, scan:")
    held = value("d range / d angle, scan, 20 states held:")
    assert abs(loop - fd) < 1e-5 * abs(fd)
    assert scan == held
    assert abs(scan - loop) < 0.01 * abs(loop)
