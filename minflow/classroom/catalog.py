"""The exercises of the course, in order: the one table that the generator and the grader share.

An exercise is a fenced block (``# BEGIN EXERCISE <name>: <hint>``) in the library or in a
classroom template of ``practice/`` (which becomes ``minflow/practice/`` in a workspace), a lesson
in ``lessons/`` that teaches it, the thesis section it implements, and a ``plan_<name>`` of the
grader (``grading/checks_*.py``). ``variant`` names the keys of ``variants.VARIANTS`` that change
the exercise's specification per student ("" for none).
"""
from collections import namedtuple

PRACTICE = "minflow/practice/"  # where the templates of classroom/practice/ go in a workspace


class Exercise(namedtuple("Exercise", "name lesson title where section variant")):
    """One exercise: fence name, lesson number, title, where ("file: functions"), thesis section, variant keys."""

    __slots__ = ()

    @property
    def path(self):
        """The file that holds the fence in a workspace: ``minflow/flow.py``, ``minflow/practice/parts.py``."""
        return self.where.split(":")[0].strip()

    @property
    def module(self):
        """The module that holds the fence, the one its tasks call: ``minflow.flow``."""
        return self.path.removesuffix(".py").replace("/", ".")

    @property
    def source(self):
        """The file that holds the fence in the repository (practice/ lives in the classroom)."""
        return self.path.replace(PRACTICE, "minflow/classroom/practice/")


E = Exercise
EXERCISES = (
    E("flow_log_prob", "01", "log p_theta(x) by the change of variables", "minflow/flow.py: flow_log_prob",
      "2.1, eq. 2", ""),
    E("prior_log_prob", "01", "the prior's log-density", "minflow/practice/sampling.py: prior_log_prob",
      "2.1.3", "prior_scale"),
    E("sample_flow", "01", "sampling through the inverse", "minflow/practice/sampling.py: sample",
      "2.1.4", "prior_scale"),
    E("coupling_forward", "02", "the affine coupling, data -> latent",
      "minflow/bijectors/coupling.py: affine_forward", "2.1.1, eq. 3", ""),
    E("coupling_inverse", "02", "the affine coupling, latent -> data",
      "minflow/bijectors/coupling.py: affine_inverse", "2.1.1, eq. 4", ""),
    E("coupling_log_det", "02", "the coupling's log-determinant",
      "minflow/bijectors/coupling.py: affine_log_det", "2.1.2, eq. 5-6", ""),
    E("split_join", "02", "the split and join of a coupling, odd D too",
      "minflow/practice/parts.py: copied_columns, split, join", "2.1.1; appendix 3.2", "copy_part"),
    E("bounded_scale", "02", "the bound applied to s", "minflow/practice/parts.py: bounded_scale",
      "2.1.1", "s_bound"),
    E("inverse_log_det", "02", "derive it: the log-det of the inverse map",
      "minflow/practice/parts.py: inverse_log_det", "2.1.2, eq. 4-6", ""),
    E("mlp", "02", "the MLP conditioner that outputs s and t", "minflow/conditioner.py: mlp", "2.1.1, eq. 3", ""),
    E("mean_nll", "03", "the training loss", "minflow/flow.py: mean_nll", "4, eq. 15", ""),
    E("adam_step", "03", "one Adam step", "minflow/practice/training.py: adam_step", "4", "betas"),
    E("train_epoch", "03", "one training epoch", "minflow/practice/training.py: train_epoch", "4, eq. 15", ""),
    E("gaussian_entropy", "04", "the entropy of a Gaussian",
      "minflow/thesis/information.py: gaussian_entropy", "2.2, eq. 8", ""),
    E("kl_gaussian", "04", "KL divergence between Gaussians", "minflow/thesis/information.py: kl_gaussian",
      "3.2.2, Proposition 1", ""),
    E("cross_entropy_gaussian", "04", "cross-entropy = entropy + KL",
      "minflow/thesis/information.py: cross_entropy_gaussian", "2.2.2, eq. 10", ""),
    E("entropy_affine", "04", "derive it: the entropy after an affine map",
      "minflow/practice/derive.py: entropy_affine", "2.1 eq. 2; 2.2", ""),
    E("kl_isotropic", "04", "derive it: KL between isotropic Gaussians from the entropies",
      "minflow/practice/derive.py: kl_isotropic", "2.2.2, eq. 10", ""),
    E("sample_estimates", "04", "the estimates H* and D* with standard errors",
      "minflow/practice/estimates.py: cross_entropy_estimate, kl_estimate", "3.2.1-3.2.2, eq. 14", ""),
    E("tpr_bounds", "09", "likelihood bounds at a fixed TPR", "minflow/thesis/ood.py: tpr_bounds", "8.1", ""),
    E("ood_bounds", "09", "your bounds: the tail split of your variant", "minflow/practice/estimates.py: ood_bounds",
      "8.1", "lower_fraction"),
    E("true_negative_rate", "09", "the outlier detector and its TNR",
      "minflow/thesis/ood.py: is_outlier, true_negative_rate", "8.1", ""),
    E("auroc", "09", "AUROC from ranks", "minflow/thesis/ood.py: auroc", "8.1", ""),
    E("typicality_test", "09", "the typicality test",
      "minflow/practice/estimates.py: typicality_statistic, is_atypical", "3.2.4", ""),
    E("additive_coupling", "11", "NICE's additive coupling",
      "minflow/bijectors/additive.py: additive_forward, additive_inverse", "appendix 3.1.2", ""),
)
NAMES = tuple(e.name for e in EXERCISES)
BY_NAME = {e.name: e for e in EXERCISES}
LESSONS = {"01": "change of variables", "02": "affine coupling", "03": "training",
           "04": "entropy, KL and cross-entropy", "09": "out-of-distribution detection", "11": "extensions"}
