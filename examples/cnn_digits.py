"""Train a small convolutional network on scikit-learn's digits with chainrule's PyTorch-style
interface: Conv2d, BatchNorm2d, MaxPool2d and Dropout from chainrule.nn, AdamW with a cosine
learning-rate schedule from chainrule.optim.

The digits data set has 1,797 grayscale images of 8x8 pixels in 10 classes. We hold out a
stratified quarter as the test set and train

    conv 3x3 (1 -> 16) - batch norm - relu - max pool 2   (16 x 4 x 4)
    conv 3x3 (16 -> 32) - batch norm - relu - max pool 2  (32 x 2 x 2)
    dropout 0.25 - linear (128 -> 10)

on mini-batches of 32 for 15 epochs; the test accuracy is about 98-99%.

    pip install -e ".[examples]"          # scikit-learn (and matplotlib for --plot)
    python examples/cnn_digits.py
    python examples/cnn_digits.py --epochs 20 --plot loss.png
"""
import argparse
import sys
import time

import numpy as np

import chainrule as cr
from chainrule import nn


def load_data(seed):
    """-> (x_train, x_test, y_train, y_test): images (n, 1, 8, 8) scaled to [0, 1], labels."""
    try:
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split
    except ImportError:
        sys.exit("this example needs scikit-learn: pip install -e \".[examples]\"")
    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).reshape(-1, 1, 8, 8)
    return train_test_split(x, y, test_size=0.25, stratify=y, random_state=seed)


def make_model():
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Dropout(0.25), nn.Linear(32 * 2 * 2, 10))


@cr.no_grad()
def accuracy(model, x, y):
    """Fraction of the images ``x`` (n, 1, 8, 8) whose predicted class equals ``y`` (n,)."""
    model.eval()
    pred = model(cr.tensor(x)).argmax(dim=1).numpy()
    model.train()
    return float(np.mean(pred == y))


def train(epochs=15, lr=3e-3, batch_size=32, seed=0, verbose=True):
    """Train and return ``(model, test accuracy, mean training loss per epoch)``."""
    cr.manual_seed(seed)
    x_train, x_test, y_train, y_test = load_data(seed)
    model = make_model()
    opt = cr.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-3)
    schedule = cr.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    loss_fn = nn.CrossEntropyLoss()
    rng = np.random.default_rng(seed)
    history = []
    for epoch in range(epochs):
        order = rng.permutation(len(x_train))
        losses = []
        for start in range(0, len(order), batch_size):
            batch = order[start:start + batch_size]
            loss = loss_fn(model(cr.tensor(x_train[batch])), y_train[batch])
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
        schedule.step()
        history.append(float(np.mean(losses)))
        if verbose:
            print(f"epoch {epoch + 1:3d}  loss {history[-1]:.4f}  "
                  f"lr {schedule.get_last_lr()[0]:.5f}  "
                  f"test accuracy {accuracy(model, x_test, y_test):.4f}")
    return model, accuracy(model, x_test, y_test), history


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--plot", metavar="FILE", help="save the training-loss curve (matplotlib)")
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    _, test_acc, history = train(args.epochs, args.lr, args.batch_size, args.seed)
    print(f"test accuracy: {100 * test_acc:.2f}%  ({time.perf_counter() - t0:.1f} s)")
    if args.plot:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        plt.plot(range(1, len(history) + 1), history)
        plt.xlabel("epoch")
        plt.ylabel("mean training cross-entropy")
        plt.yscale("log")
        plt.savefig(args.plot)
    return test_acc


if __name__ == "__main__":
    main()
