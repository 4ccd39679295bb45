"""The training step of examples/cnn_digits.py, chainrule's Tensor API beside torch eager.

``python -m benchmarks.cnn_step [--batch 32] [--repeat 30]``: the same network (Conv2d 1->16,
BatchNorm2d, ReLU, MaxPool2d, Conv2d 16->32, BatchNorm2d, ReLU, MaxPool2d, Dropout, Linear
128->10) with the same weights, float64, on one thread: forward, cross-entropy, backward and an
AdamW step per call, on a batch of 8x8 images. Prints the best time per step of each and their
ratio, after checking that both compute the same loss and gradients in eval mode.
"""
import argparse
import time

import numpy as np


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


def _best(step, repeat):
    step()
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        step()
        best = min(best, time.perf_counter() - t0)
    return best


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args(argv)
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
    t_ours, t_torch = _best(ours_step, args.repeat), _best(torch_step, args.repeat)
    print(f"CNN training step, batch {args.batch}, float64, 1 thread: chainrule Tensor "
          f"{t_ours * 1e3:.2f} ms, torch eager {t_torch * 1e3:.2f} ms, ratio "
          f"{t_ours / t_torch:.2f}")
    return t_ours, t_torch


if __name__ == "__main__":
    main()
