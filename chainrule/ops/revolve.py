"""Binomial checkpointing (Revolve) for the backward pass of long scans."""


def transpose(cts, args, lin, body, n_consts, n_carry, length, reverse, checkpoints):
    raise NotImplementedError
