"""The training step of examples/cnn_digits.py, chainrule's Tensor API beside torch eager.

``python -m benchmarks.cnn_step [--batch 32] [--repeat 30] [--cpu]``: the same network (Conv2d 1->16,
BatchNorm2d, ReLU, MaxPool2d, Conv2d 16->32, BatchNorm2d, ReLU, MaxPool2d, Dropout, Linear
128->10) with the same weights, float64, on one thread (NumPy's BLAS and torch alike): forward,
cross-entropy, backward and an AdamW step per call, on a batch of 8x8 images. The two steps are
timed alternately, so both see the same machine load; prints the median and best time per step
of each, the ratio of the medians and the load average, after checking that both compute the
same loss and gradients in eval mode.
"""
import argparse
import os
import statistics
import time

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")     # before NumPy loads its BLAS

import numpy as np  # noqa: E402


def _models(torch):
    import chainrule.nn as cnn
    tnn = torch.nn

    def build(m):
        return m.Sequential(m.Conv2d(1, 16, 3, padding=1), m.BatchNorm2d(16), m.ReLU(),
                            m.MaxPool2d(2), m.Conv2d(16, 32, 3, padding=1), m.BatchNorm2d(32),
                            m.ReLU(), m.MaxPool2d(2), m.Flatten(), m.Dropout(0.25),
                            m.Linear(128, 10))
    theirs = build(tnn).double()
    ours = build(cnn)
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    return ours, theirs


CLOCK = time.perf_counter


def _interleaved(steps, repeat):
    """Per step function, the list of ``repeat`` times (``CLOCK``), measured in alternation."""
    for step in steps:
        step()
    times = [[] for _ in steps]
    for _ in range(repeat):
        for step, ts in zip(steps, times):
            t0 = CLOCK()
            step()
            ts.append(CLOCK() - t0)
    return times


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--cpu", action="store_true",
                        help="time the process's CPU time instead of the wall clock (steadier "
                             "on a loaded machine)")
    args = parser.parse_args(argv)
    global CLOCK
    CLOCK = time.process_time if args.cpu else time.perf_counter
    import torch
    import chainrule as cr
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    x0 = rng.random((args.batch, 1, 8, 8))
    y0 = rng.integers(0, 10, args.batch)
    ours, theirs = _models(torch)
    opt = cr.optim.AdamW(ours.parameters(), lr=1e-3)
    topt = torch.optim.AdamW(theirs.parameters(), lr=1e-3)
    x, y, tx, ty = cr.tensor(x0), y0, torch.tensor(x0), torch.tensor(y0)

    def ours_step():
        loss = cr.nn.functional.cross_entropy(ours(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss

    def torch_step():
        loss = torch.nn.functional.cross_entropy(theirs(tx), ty)
        topt.zero_grad()
        loss.backward()
        topt.step()
        return loss

    ours.eval(), theirs.eval()          # deterministic check: same loss, same gradients
    a, b = ours_step(), torch_step()
    assert abs(a.item() - b.item()) < 1e-10
    for p, tp in zip(ours.parameters(), theirs.parameters()):
        np.testing.assert_allclose(p.data, tp.detach().numpy(), rtol=1e-9, atol=1e-12)
    ours.train(), theirs.train()
    ours_t, torch_t = _interleaved([ours_step, torch_step], args.repeat)
    t_ours, t_torch = statistics.median(ours_t), statistics.median(torch_t)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"CNN training step, batch {args.batch}, float64, 1 thread, "
          f"{'CPU' if args.cpu else 'wall'} time, median of {args.repeat} "
          f"(best): chainrule Tensor {t_ours * 1e3:.2f} ms ({min(ours_t) * 1e3:.2f}), torch "
          f"eager {t_torch * 1e3:.2f} ms ({min(torch_t) * 1e3:.2f}), ratio "
          f"{t_ours / t_torch:.2f}; load average {load:.2f}")
    return t_ours, t_torch


if __name__ == "__main__":
    main()
