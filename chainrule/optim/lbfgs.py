"""L-BFGS with PyTorch's algorithm (the two-loop recursion on a history of curvature pairs,
a fixed step ``lr`` after the first iteration or PyTorch's strong Wolfe line search, its stopping
tests), so the iterates match ``torch.optim.LBFGS`` step for step. ``step(closure)`` runs up to
``max_iter`` iterations; ``closure`` clears the gradients, computes the loss, calls ``backward``
and returns the loss."""
import numpy as np

from ..core.errors import InvalidArgumentError
from ..tensor import enable_grad, no_grad
from .line_search import strong_wolfe
from .optimizers import Optimizer

__all__ = ["LBFGS"]


class LBFGS(Optimizer):
    """Limited-memory BFGS over all parameters (one group), flattened into one vector.

    ``line_search_fn``: None (the step is ``lr``, after a first step scaled by the gradient's
    1-norm) or ``"strong_wolfe"`` (PyTorch's line search from the step ``lr``, line_search.py;
    it evaluates the closure up to ``max_eval`` times per ``step``)."""

    def __init__(self, params, lr=1.0, max_iter=20, max_eval=None, tolerance_grad=1e-7,
                 tolerance_change=1e-9, history_size=100, line_search_fn=None):
        if line_search_fn not in (None, "strong_wolfe"):
            raise InvalidArgumentError(f"LBFGS: line_search_fn must be None or 'strong_wolfe', "
                                       f"got {line_search_fn!r}")
        super().__init__(params, dict(lr=lr, max_iter=max_iter,
                                      max_eval=max_iter * 5 // 4 if max_eval is None else
                                      max_eval, tolerance_grad=tolerance_grad,
                                      tolerance_change=tolerance_change,
                                      history_size=history_size,
                                      line_search_fn=line_search_fn))
        if len(self.param_groups) != 1:
            raise InvalidArgumentError("LBFGS takes one parameter group")

    def _flat_grad(self):
        return np.concatenate([np.zeros(p.size) if p.grad is None else
                               np.ravel(p.grad.data) for p in self.params])

    def _add(self, t, d):
        with no_grad():
            offset = 0
            for p in self.params:
                n = p.size
                p.data = p.data + t * d[offset:offset + n].reshape(p.shape)
                offset += n

    def _evaluate_along(self, closure, d):
        """``evaluate(t)`` for the line search: the loss and flat gradient at the parameters
        moved by ``t * d``, the parameters restored afterwards."""
        def evaluate(t):
            saved = [p.data for p in self.params]
            self._add(t, d)
            with enable_grad():
                loss = float(closure())
            flat_grad = self._flat_grad()
            with no_grad():
                for p, v in zip(self.params, saved):
                    p.data = v
            return loss, flat_grad
        return evaluate

    def step(self, closure):
        """Up to ``max_iter`` L-BFGS iterations; returns the loss of the first evaluation."""
        if closure is None:
            raise InvalidArgumentError("LBFGS.step needs a closure that returns the loss")
        g = self.param_groups[0]
        lr, history = g["lr"], g["history_size"]
        tol_grad, tol_change = g["tolerance_grad"], g["tolerance_change"]
        st = self.state.setdefault("lbfgs", {"func_evals": 0, "n_iter": 0})
        with enable_grad():
            orig_loss = closure()
        loss = float(orig_loss)
        evals = 1
        st["func_evals"] += 1
        flat_grad = self._flat_grad()
        if np.max(np.abs(flat_grad)) <= tol_grad:
            return orig_loss
        d, t = st.get("d"), st.get("t")
        old_dirs, old_stps, ro = st.get("old_dirs"), st.get("old_stps"), st.get("ro")
        h_diag, prev_grad, prev_loss = st.get("H_diag"), st.get("prev_flat_grad"), None
        n_iter = 0
        while n_iter < g["max_iter"]:
            n_iter += 1
            st["n_iter"] += 1
            if st["n_iter"] == 1:
                d, old_dirs, old_stps, ro, h_diag = -flat_grad, [], [], [], 1.0
            else:
                y, s = flat_grad - prev_grad, d * t
                ys = y @ s
                if ys > 1e-10:
                    if len(old_dirs) == history:
                        old_dirs.pop(0), old_stps.pop(0), ro.pop(0)
                    old_dirs.append(y), old_stps.append(s), ro.append(1.0 / ys)
                    h_diag = ys / (y @ y)
                al = [0.0] * len(old_dirs)
                q = -flat_grad
                for i in range(len(old_dirs) - 1, -1, -1):
                    al[i] = (old_stps[i] @ q) * ro[i]
                    q = q - al[i] * old_dirs[i]
                r = q * h_diag
                for i in range(len(old_dirs)):
                    be_i = (old_dirs[i] @ r) * ro[i]
                    r = r + (al[i] - be_i) * old_stps[i]
                d = r
            prev_grad, prev_loss = flat_grad.copy(), loss
            t = min(1.0, 1.0 / np.sum(np.abs(flat_grad))) * lr if st["n_iter"] == 1 else lr
            if flat_grad @ d > -tol_change:
                break
            ls_evals = 0
            opt_cond = False
            if g.get("line_search_fn") == "strong_wolfe":
                loss, flat_grad, t, ls_evals = strong_wolfe(
                    self._evaluate_along(closure, d), t, d, loss, flat_grad, flat_grad @ d,
                    max_ls=g["max_eval"] - evals)
                self._add(t, d)
                opt_cond = np.max(np.abs(flat_grad)) <= tol_grad
            elif n_iter != g["max_iter"]:
                self._add(t, d)
                with enable_grad():
                    loss = float(closure())
                flat_grad = self._flat_grad()
                opt_cond = np.max(np.abs(flat_grad)) <= tol_grad
                ls_evals = 1
            else:
                self._add(t, d)
            evals += ls_evals
            st["func_evals"] += ls_evals
            if n_iter == g["max_iter"] or evals >= g["max_eval"] or opt_cond:
                break
            if np.max(np.abs(d * t)) <= tol_change or abs(loss - prev_loss) < tol_change:
                break
        st.update(d=d, t=t, old_dirs=old_dirs, old_stps=old_stps, ro=ro, H_diag=h_diag,
                  prev_flat_grad=prev_grad, prev_loss=prev_loss)
        return orig_loss
