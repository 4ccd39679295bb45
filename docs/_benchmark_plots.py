"""Figures of docs/benchmark-figures.md, drawn at build time from benchmarks/results/<id>.json
(the latest full run of each workload, as docs/benchmarks.md)."""
import json
import math
import re
import pathlib

import matplotlib.pyplot as plt
import numpy as np

import chainrule

# the plot directive runs this file without __file__; conf.py imports chainrule from the checkout
RESULTS = pathlib.Path(chainrule.__file__).resolve().parents[1] / "benchmarks" / "results"


def load():
    """{workload id: its JSON document}, full runs only, in workload order."""
    docs = {}
    for path in RESULTS.glob("w*.json"):
        if ".quick" not in path.name:
            doc = json.loads(path.read_text())
            if not doc.get("quick"):
                docs[doc["id"]] = doc
    return dict(sorted(docs.items(), key=lambda kv: (int(re.match(r"W(\d+)", kv[0])[1]), kv[0])))


def _timed(rows, case):
    return [r for r in rows if r["case"] == case and r["status"] == "ok"
            and r["kind"] != "function" and r["time_s"]]


def largest_compared_case(doc):
    """The last case (the largest) where chainrule and at least one peer both have a time."""
    cases = list(dict.fromkeys(r["case"] for r in doc["rows"]))
    for case in reversed(cases):
        kinds = {r["kind"] for r in _timed(doc["rows"], case)}
        if {"chainrule", "peer"} <= kinds:
            return case
    return None


def ratio_overview():
    """One panel per workload: time of each implementation / the fastest, largest case."""
    docs = {w: d for w, d in load().items() if largest_compared_case(d)}
    ncols = 3
    nrows = math.ceil(len(docs) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(13, 3.3 * nrows), squeeze=False)
    for ax, (wid, doc) in zip(axes.flat, docs.items()):
        case = largest_compared_case(doc)
        rows = sorted(_timed(doc["rows"], case), key=lambda r: r["time_s"])
        best = rows[0]["time_s"]
        ratios = np.array([r["time_s"] / best for r in rows])
        labels = [f"{r['impl']} ({r['mode']})" for r in rows]
        colors = ["C0" if r["kind"] == "chainrule" else "0.6" for r in rows]
        y = np.arange(len(rows))
        ax.barh(y, ratios, color=colors, left=0)
        ax.set_xscale("log")
        ax.set_xlim(0.8, max(10.0, ratios.max() * 2))
        ax.set_yticks(y, labels, fontsize=7)
        ax.invert_yaxis()
        ax.axvline(1.0, color="k", lw=0.8)
        ax.set_title(f"{wid}, {case}", fontsize=9)
        ax.tick_params(axis="x", labelsize=7)
    for ax in list(axes.flat)[len(docs):]:
        ax.set_axis_off()
    fig.supxlabel("time / fastest implementation (log scale; blue: chainrule, grey: peers)",
                  fontsize=9)
    fig.tight_layout()
    return fig


def chainrule_vs_best_peer():
    """Per workload and case: chainrule's best time / the best peer's (below 1: faster)."""
    fig, ax = plt.subplots(figsize=(8, 3.8))
    labels, values = [], []
    for wid, doc in load().items():
        for case in dict.fromkeys(r["case"] for r in doc["rows"]):
            rows = _timed(doc["rows"], case)
            ours = [r["time_s"] for r in rows if r["kind"] == "chainrule"]
            peers = [r["time_s"] for r in rows if r["kind"] == "peer"]
            if ours and peers:
                labels.append(f"{wid} {case}")
                values.append(min(ours) / min(peers))
    x = np.arange(len(values))
    ax.bar(x, values, color=["C2" if v <= 1 else "C3" for v in values])
    ax.set_yscale("log")
    ax.axhline(1.0, color="k", lw=0.8)
    ax.set_xticks(x, labels, rotation=70, ha="right", fontsize=7)
    ax.set_ylabel("chainrule / best peer")
    fig.tight_layout()
    return fig
