"""The core: primitives and bind, interpreters and tracers, avals, symbolic zeros, pytrees, the
graph IR and named errors. It imports nothing else of chainrule."""
from .avals import ShapedArray, get_aval, is_differentiable_dtype, result_dtype
from .errors import (ChainruleError, ChunkMismatchError, ConcretizationError, EscapedTracerError, GraphTypeError,
                     InvalidArgumentError, LazyArrayError, LazyComputeError, UnknownChunksError,
                     MissingRuleError, NonDifferentiableInputError, NonScalarOutputError,
                     PerturbationConfusionError, ShapeMismatchError, UnsupportedFunctionError)
from .graph import Eqn, Graph, Lit, Var, eval_graph, graph_phase, pp_graph, typecheck
from .interpreter import Interpreter, new_interpreter
from .primitive import Primitive, bind
from .tracer import PrimalTracer, Tracer
from .tree import (TreeDef, broadcast_prefix, register_dataclass, register_pytree_node, tree_flatten, tree_leaves,
                   tree_map, tree_unflatten)
from .zeros import (AmbiguousZero, UndefPrimal, Zero, is_undefined, add_any_p, add_tangents,
                    call_rule, carries_derivative, check_ambiguous, decide_when_run, infinite_somewhere, instantiate, is_concrete, loose_after,
                    may_hold_zero, peek, reset_stage_decisions, reset_watch_ambiguous, stage_decisions, strict_products, tangent_aval,
                    transpose_rule, watch_ambiguous, zeros_like_aval)
