"""The base interpreter: evaluation.

There is no evaluation tracer. When ``bind`` finds no tracer among its arguments it calls the
primitive's ``impl`` directly, which is the whole of eager evaluation; this module only offers
that as a named function for symmetry with the other interpreters and for tests.
"""


def evaluate(prim, *args, **params):
    """Apply a primitive's implementation to raw arrays."""
    return prim.rule("impl")(*args, **params)
