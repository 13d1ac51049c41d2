"""The exercises of the course, in order: the one table that the generator and the grader share.

An exercise is a fenced block in the library (``# BEGIN EXERCISE <name>: <hint>``), a lesson in
``lessons/`` that teaches it, and a ``check_<name>`` of the grader (``grading/checks_*.py``).
"""
from collections import namedtuple


class Exercise(namedtuple("Exercise", "name lesson title where")):
    """One exercise: its fence name, lesson number, title, and where ("file: functions")."""

    __slots__ = ()

    @property
    def path(self):
        """The file that holds the fence, relative to the repository: ``minflow/flow.py``."""
        return self.where.split(":")[0].strip()

    @property
    def module(self):
        """The module that holds the fence, the one its check receives: ``minflow.flow``."""
        return self.path.removesuffix(".py").replace("/", ".")


EXERCISES = (
    Exercise("flow_log_prob", "01", "log p_theta(x) by the change of variables", "minflow/flow.py: flow_log_prob"),
    Exercise("coupling_forward", "02", "the affine coupling, data -> latent",
             "minflow/bijectors/coupling.py: affine_forward"),
    Exercise("coupling_inverse", "02", "the affine coupling, latent -> data",
             "minflow/bijectors/coupling.py: affine_inverse"),
    Exercise("coupling_log_det", "02", "the coupling's log-determinant",
             "minflow/bijectors/coupling.py: affine_log_det"),
    Exercise("mlp", "02", "the MLP conditioner that outputs s and t", "minflow/conditioner.py: mlp"),
    Exercise("mean_nll", "03", "the training loss", "minflow/flow.py: mean_nll"),
    Exercise("gaussian_entropy", "04", "the entropy of a Gaussian",
             "minflow/thesis/information.py: gaussian_entropy"),
    Exercise("kl_gaussian", "04", "KL divergence between Gaussians", "minflow/thesis/information.py: kl_gaussian"),
    Exercise("cross_entropy_gaussian", "04", "cross-entropy = entropy + KL",
             "minflow/thesis/information.py: cross_entropy_gaussian"),
    Exercise("tpr_bounds", "09", "likelihood bounds at a fixed TPR", "minflow/thesis/ood.py: tpr_bounds"),
    Exercise("true_negative_rate", "09", "the outlier detector and its TNR",
             "minflow/thesis/ood.py: is_outlier, true_negative_rate"),
    Exercise("auroc", "09", "AUROC from ranks", "minflow/thesis/ood.py: auroc"),
    Exercise("additive_coupling", "11", "NICE's additive coupling",
             "minflow/bijectors/additive.py: additive_forward, additive_inverse"),
)
NAMES = tuple(e.name for e in EXERCISES)
BY_NAME = {e.name: e for e in EXERCISES}
LESSONS = {"01": "change of variables", "02": "affine coupling", "03": "training",
           "04": "entropy, KL and cross-entropy", "09": "out-of-distribution detection", "11": "extensions"}
