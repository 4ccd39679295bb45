"""Imports point down only (ARCHITECTURE.md, "Layers")."""
import ast
import pathlib

PKG = pathlib.Path(__file__).resolve().parents[1] / "chainrule"

# layer of a top-level subpackage/module -> layers it may import from (besides itself)
ALLOWED = {
    "core": set(),
    "ops": {"core"},
    "interpreters": {"core"},
    "numpy": {"core", "ops"},
    "scipy": {"core", "ops", "numpy"},
    "api": {"core", "ops", "interpreters", "numpy"},
    "jit": {"core", "ops", "interpreters", "numpy", "api"},
    "loops": {"core", "ops", "interpreters", "numpy", "api"},
    "custom": {"core", "ops", "interpreters", "numpy", "api"},
    "implicit": {"core", "ops", "interpreters", "numpy", "api", "custom"},
    "testing": {"core", "ops", "interpreters", "numpy", "api", "jit"},
    "sparse": {"core", "ops", "interpreters", "numpy", "scipy", "api"},
    "tensor": {"core", "numpy", "scipy", "api"},
    "nn": {"core", "ops", "numpy", "scipy", "api", "tensor"},   # fused layers: ops/nn.py
    "optim": {"core", "numpy", "scipy", "api", "tensor"},
    "autograd": {"core", "numpy", "api", "tensor"},
    "contrib": {"api", "package"},
    "optimize": {"package"},                 # contrib modules on the public API only
    "integrate": {"package", "optimize", "odesolve"},
    "odesolve": {"package"},
}
TOP = {"__main__", "tour", "__init__", "package", "cli", "plot"}     # may import anything


def _layer(path):
    rel = path.relative_to(PKG)
    return rel.parts[0].removesuffix(".py")


def _imported_layers(path):
    tree = ast.parse(path.read_text())
    pkg_parts = path.relative_to(PKG.parent).with_suffix("").parts[:-1]
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = pkg_parts[: len(pkg_parts) - node.level + 1]
                target = base + tuple((node.module or "").split(".")) if node.module else base
                names = [target + (a.name,) for a in node.names] if not node.module else [target]
            elif node.module and node.module.split(".")[0] == "chainrule":
                names = [tuple(node.module.split("."))]
            else:
                continue
            for parts in names:
                parts = tuple(p for p in parts if p)
                yield parts[1].removesuffix(".py") if len(parts) > 1 else "package", node.lineno
        elif isinstance(node, ast.Import):
            for a in node.names:
                parts = a.name.split(".")
                if parts[0] == "chainrule":
                    yield (parts[1] if len(parts) > 1 else "package"), node.lineno


def test_imports_point_down():
    bad = []
    for path in sorted(PKG.rglob("*.py")):
        layer = _layer(path)
        if layer in TOP:
            continue
        allowed = ALLOWED.get(layer)
        assert allowed is not None, f"{path}: layer '{layer}' is not in the layering table"
        for target, line in _imported_layers(path):
            if target != layer and target not in allowed:
                bad.append(f"{path.relative_to(PKG.parent)}:{line} imports chainrule.{target}")
    assert not bad, "imports that point up or sideways:\n" + "\n".join(bad)


def test_core_imports_nothing_else():
    for path in (PKG / "core").rglob("*.py"):
        for target, line in _imported_layers(path):
            assert target == "core", f"{path}:{line} imports chainrule.{target}"
