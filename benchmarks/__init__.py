"""The benchmark workloads W1..W11 of the design notes (BENCHMARKS.md), one module each.

Run them with ``python -m benchmarks [--only W3] [--quick]`` from the repository root. Each
workload times chainrule beside its peers (JAX, PyTorch, HIPS autograd, all optional), checks
that every derivative agrees, prints a table and writes ``benchmarks/results/<id>.json``. The
shared logic (peers, timing, checking, tables, JSON, fresh-process memory) lives in
``_harness.py``; a workload module only states its sizes, its implementations and its closed
form.
"""

# id -> module, in the order they run. Kept free of imports so that a child process measuring
# one case loads only the workload it needs.
WORKLOADS = {
    "W1": "benchmarks.w1_scalar_loop",
    "W2": "benchmarks.w2_rosenbrock",
    "W3": "benchmarks.w3_tall_jacobian",
    "W4": "benchmarks.w4_wide_jacobian",
    "W5": "benchmarks.w5_dense_hessian",
    "W6": "benchmarks.w6_sparse_hessian",
    "W7": "benchmarks.w7_higher_order",
    "W8": "benchmarks.w8_physics",
    "W9": "benchmarks.w9_mlp",
    "W10": "benchmarks.w10_scipy",
    "W10K": "benchmarks.w10_kernels",
    "W11": "benchmarks.w11_out_of_core",
}
