"""Train a small multilayer perceptron on scikit-learn's digits with chainrule's PyTorch-style
interface (chainrule.Tensor, chainrule.nn, chainrule.optim).

The digits data set has 1,797 images of 8x8 pixels (64 features, values 0..16) in 10 classes.
We hold out a stratified quarter as the test set, train a 64-64-10 tanh network with Adam on
mini-batches of 32 for 30 epochs, and report the test accuracy (about 97-98%, a few seconds on a
laptop CPU).

    pip install -e ".[examples]"          # scikit-learn (and matplotlib for --plot)
    python examples/mlp_digits.py
    python examples/mlp_digits.py --optimizer sgd --lr 0.1 --epochs 50 --plot loss.png
"""
import argparse
import os
import sys
import time

import numpy as np

import chainrule as cr


def load_data(seed):
    """-> (x_train, x_test, y_train, y_test): features scaled to [0, 1], integer labels."""
    try:
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split
    except ImportError:
        sys.exit("this example needs scikit-learn: pip install -e \".[examples]\"")
    x, y = load_digits(return_X_y=True)
    return train_test_split(x / 16.0, y, test_size=0.25, stratify=y, random_state=seed)


def make_model(hidden, seed):
    rng = np.random.default_rng(seed)
    return cr.nn.Sequential(cr.nn.Linear(64, hidden, rng=rng), cr.nn.Tanh(),
                            cr.nn.Linear(hidden, 10, rng=rng))


@cr.no_grad()
def accuracy(model, x, y):
    """Fraction of the rows of ``x`` (n, 64) whose predicted class equals ``y`` (n,)."""
    return float(np.mean(model(cr.tensor(x)).numpy().argmax(axis=1) == y))


def train(epochs=30, hidden=64, lr=1e-2, batch_size=32, optimizer="adam", seed=0, verbose=True):
    """Train and return ``(model, test accuracy, mean training loss per epoch)``."""
    x_train, x_test, y_train, y_test = load_data(seed)
    model = make_model(hidden, seed)
    if optimizer == "adam":
        opt = cr.optim.Adam(model.parameters(), lr=lr)
    else:
        opt = cr.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    rng = np.random.default_rng(seed)
    history = []
    for epoch in range(epochs):
        order = rng.permutation(len(x_train))
        losses = []
        for start in range(0, len(order), batch_size):
            batch = order[start:start + batch_size]
            logits = model(cr.tensor(x_train[batch]))
            loss = cr.nn.cross_entropy(logits, y_train[batch])
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
        history.append(float(np.mean(losses)))
        if verbose and (epoch % 5 == 4 or epoch == epochs - 1):
            print(f"epoch {epoch + 1:3d}  loss {history[-1]:.4f}  "
                  f"train accuracy {accuracy(model, x_train, y_train):.4f}")
    return model, accuracy(model, x_test, y_test), history


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    quick = os.environ.get("CHAINRULE_QUICK") == "1"        # the docs build: a short run
    parser.add_argument("--epochs", type=int, default=5 if quick else 30)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--lr", type=float, default=1e-2)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--optimizer", choices=["adam", "sgd"], default="adam")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--plot", metavar="FILE", help="save the training-loss curve (matplotlib)")
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    _, test_acc, history = train(args.epochs, args.hidden, args.lr, args.batch_size,
                                 args.optimizer, args.seed)
    print(f"test accuracy: {100 * test_acc:.2f}%  ({time.perf_counter() - t0:.1f} s)")
    if args.plot:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        plt.plot(range(1, len(history) + 1), history)
        plt.xlabel("epoch")
        plt.ylabel("mean training cross-entropy")
        plt.savefig(args.plot)
    return test_acc


# the documentation's gallery runs this script with these arguments:
# chainrule-gallery-args: --plot mlp_digits_loss.png
if __name__ == "__main__":
    main()
