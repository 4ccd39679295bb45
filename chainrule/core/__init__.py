"""The core: primitives and bind, interpreters and tracers, avals, symbolic zeros, pytrees, the
graph IR and named errors. It imports nothing else of chainrule."""
from .avals import ShapedArray, get_aval, is_differentiable_dtype, result_dtype
from .errors import (ChainruleError, ChunkMismatchError, ConcretizationError, EscapedTracerError, GraphTypeError,
                     InvalidArgumentError, LazyArrayError, LazyComputeError, UnknownChunksError,
                     MissingRuleError, NonDifferentiableInputError, NonScalarOutputError,
                     PerturbationConfusionError, ShapeMismatchError, UnsupportedFunctionError)
from .graph import (Eqn, Graph, Lit, Var, eval_graph, graph_phase, pp_graph, split_list,
                    substitute, typecheck, with_inputs, with_unused_inputs)
from .interpreter import Interpreter, new_interpreter
from .primitive import Primitive, bind
from .tracer import PrimalTracer, Tracer
from .tree import (TreeDef, broadcast_prefix, register_dataclass, register_pytree_node, tree_flatten, tree_leaves,
                   tree_map, tree_unflatten)
from .zeros import (COEFFICIENT, NONE_STRUCTURAL, AmbiguousZero, UndefPrimal, Zero, any_of,
                   is_undefined, add_any_p, add_tangents, call_rule, check_ambiguous_body,
                   carries_derivative, incoming_loose, reset_incoming_loose, set_incoming_loose,
                   check_ambiguous, decide_when_run, forward_only, infinite_somewhere, instantiate,
                   is_concrete, linear_unknown, loose_after, may_hold_zero, peek, real_dtype,
                   reset_forward_only, reset_stage_decisions, reset_watch_ambiguous,
                   stage_decisions, strict_operands, strict_products, tangent_aval, structural_part,
                   transpose_rule, watch_ambiguous, zeros_like_aval, any_infinite)
