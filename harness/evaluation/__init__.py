"""Inherited-weight evaluation of subnets: precise-BN recalibration, the fast tree evaluator, the reference loop.

Public API (what scoring calls):

* :func:`evaluate` (and :func:`evaluate_with_info`, which also says what ran) -- one score per arch;
* :func:`check_realised_params` -- does a submission's own module realise the #params the space says?
"""

from harness.evaluation.api import EvalResult, evaluate, evaluate_with_info
from harness.evaluation.fast import FastOptions
from harness.evaluation.params_check import check_realised_params
from harness.evaluation.protocol import EvalData, eval_data_for, make_eval_data

__all__ = [
    "EvalData",
    "EvalResult",
    "FastOptions",
    "check_realised_params",
    "eval_data_for",
    "evaluate",
    "evaluate_with_info",
    "make_eval_data",
]
