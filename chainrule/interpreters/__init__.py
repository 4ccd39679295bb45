"""One transformation per module, each an Interpreter subclass plus a ``*_flat`` driver."""
