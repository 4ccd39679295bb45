"""The fuzz tests share tests/reliability/fuzzprog.py (the suite runs with
--import-mode=importlib, which puts no test directory on sys.path)."""
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
