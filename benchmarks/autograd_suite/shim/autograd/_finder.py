"""``autograd.<path>`` -> a module whose attributes come from ``chainrule.<path>`` where it
has them, else from NumPy's or SciPy's module of that path (``autograd.numpy.random`` is
``numpy.random``: randomness is not differentiated)."""
import importlib
import importlib.abc
import importlib.machinery
import sys
import types

SOURCES = {"numpy", "scipy"}
OWN = {"autograd.test_util", "autograd._finder", "autograd.extend", "autograd.core",
       "autograd.tracer"}
ALIASES = {("scipy", "integrate"): ["integrate"]}     # chainrule.integrate


def _resolve(path):
    """The objects a name path can mean, chainrule's first (modules or attributes)."""
    found = []
    for names in (["chainrule"] + ALIASES.get(tuple(path), path), list(path)):
        try:
            found.append(importlib.import_module(".".join(names)))
        except ImportError:
            try:
                found.append(getattr(importlib.import_module(".".join(names[:-1])), names[-1]))
            except (ImportError, AttributeError, ValueError):
                pass
    return found


class _Proxy(types.ModuleType):
    def __init__(self, name, sources):
        super().__init__(name)
        self.__path__ = []
        self._sources = sources

    def __getattr__(self, attr):
        if attr.startswith("__") and attr != "__version__":
            raise AttributeError(attr)
        for src in self._sources:
            try:
                return getattr(src, attr)
            except AttributeError:
                pass
        sub = self.__name__ + "." + attr
        try:
            return importlib.import_module(sub)
        except ImportError:
            raise AttributeError(f"{self.__name__} has no {attr!r}") from None


class _Finder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def __init__(self):
        self.sources = {}

    def find_spec(self, name, path, target=None):
        if not name.startswith("autograd.") or name in OWN:
            return None
        parts = name.split(".")[1:]
        if parts[0] not in SOURCES:
            return None
        if parts[:2] == ["numpy", "random"]:
            sources = [importlib.import_module(".".join(parts))]
        else:
            sources = _resolve(parts)
        if not sources:
            return None
        self.sources[name] = sources
        return importlib.machinery.ModuleSpec(name, self, is_package=True)

    def create_module(self, spec):
        return _Proxy(spec.name, self.sources.pop(spec.name))

    def exec_module(self, module):
        pass


sys.meta_path.insert(0, _Finder())
