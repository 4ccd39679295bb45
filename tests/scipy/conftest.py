"""The derivative tables share tests/ops/gradcases.py (the suite runs with --import-mode=importlib,
which puts no test directory on sys.path)."""
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "ops"))
