"""The grader's checks: one function per exercise of ``minflow.exercises``.

Nothing here is copied into a students' workspace. Every expected value is computed here,
independently of the workspace: plain NumPy formulas, autograd Jacobians with ``slogdet``,
``scipy.stats`` and brute-force counts. A check receives the student's module and a ``Checker``
and runs a few *cases*; an exercise scores the fraction of its cases that pass.

``runner.py`` is the script that ``minflow.grade`` starts in a subprocess, with the workspace
first on ``sys.path`` so that ``import minflow`` loads the student's copy.
"""
from . import checks_flow, checks_info

# name -> (module of the student's workspace the check needs, check function)
CHECKS = {
    "flow_log_prob": ("minflow.flow", checks_flow.check_flow_log_prob),
    "coupling_forward": ("minflow.bijectors.coupling", checks_flow.check_coupling_forward),
    "coupling_inverse": ("minflow.bijectors.coupling", checks_flow.check_coupling_inverse),
    "coupling_log_det": ("minflow.bijectors.coupling", checks_flow.check_coupling_log_det),
    "mlp": ("minflow.conditioner", checks_flow.check_mlp),
    "mean_nll": ("minflow.flow", checks_flow.check_mean_nll),
    "gaussian_entropy": ("minflow.information", checks_info.check_gaussian_entropy),
    "kl_gaussian": ("minflow.information", checks_info.check_kl_gaussian),
    "cross_entropy_gaussian": ("minflow.information", checks_info.check_cross_entropy_gaussian),
    "tpr_bounds": ("minflow.ood", checks_info.check_tpr_bounds),
    "true_negative_rate": ("minflow.ood", checks_info.check_true_negative_rate),
    "auroc": ("minflow.ood", checks_info.check_auroc),
    "additive_coupling": ("minflow.bijectors.coupling", checks_flow.check_additive_coupling),
}
