"""The random numbers of the Tensor interface: one NumPy Generator, reseeded by
``manual_seed``, behind ``rand``, ``randn``, ``randint``, ``dropout`` and ``nn.init``."""
import numpy as np

__all__ = ["manual_seed", "seed", "generator", "get_rng_state", "set_rng_state"]

_state = {"rng": np.random.default_rng()}


def generator():
    """The NumPy Generator the Tensor interface draws from."""
    return _state["rng"]


def manual_seed(seed):
    """Reseed the generator (an int): the following draws are reproducible. Returns it."""
    _state["rng"] = np.random.default_rng(int(seed))
    return _state["rng"]


def seed():
    """Reseed from fresh entropy."""
    _state["rng"] = np.random.default_rng()
    return _state["rng"]


def get_rng_state():
    """The generator's state (a dict), for ``set_rng_state``."""
    return _state["rng"].bit_generator.state


def set_rng_state(state):
    _state["rng"].bit_generator.state = state
