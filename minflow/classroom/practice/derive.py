"""Derive it: each docstring states the goal, not the formula (thesis sections 2.1, 2.2, 3.2).

Reference: https://repository.tudelft.nl/record/uuid:b2bdbbe2-2dda-4fce-8266-ae73bd12de91
"""
import numpy as np


def entropy_affine(entropy_x, A):
    """The entropy (nats) of y = x A + b for a random vector x with entropy ``entropy_x`` (a float),
    an invertible A: (D, D) and any shift b. Derive it from the change of variables (eq. 2)."""
    A = np.asarray(A, dtype=np.float64)
    # BEGIN EXERCISE entropy_affine: derive it: change of variables (eq. 2) inside H = -E[log p] (section 2.2)
    return float(entropy_x) + float(np.linalg.slogdet(A)[1])
    # END EXERCISE


def kl_isotropic(mean_q, scale_q, mean_p, scale_p):
    """KL(q || p) in nats for q = N(mean_q, scale_q^2 I), p = N(mean_p, scale_p^2 I) in D dimensions.

    mean_q, mean_p: (D,); scale_q, scale_p > 0 floats. Derive it from KL = H(q, p) - H(q)
    (eq. 10) and the definitions of section 2.2; no library function may be called.
    """
    mean_q, mean_p = np.asarray(mean_q, dtype=np.float64), np.asarray(mean_p, dtype=np.float64)
    # BEGIN EXERCISE kl_isotropic: derive it: KL = H(q, p) - H(q) (eq. 10) for two isotropic Gaussians
    d, ratio = mean_q.size, (scale_q / scale_p) ** 2
    gap = float(np.sum((mean_q - mean_p) ** 2)) / scale_p**2
    return 0.5 * (d * ratio + gap - d - d * np.log(ratio))
    # END EXERCISE
