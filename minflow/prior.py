"""The standard-normal prior p_Z = N(0, I_D) (thesis section 2.1.3)."""
import math

import numpy as np

from .backend import namespace
from .validation import check_int, check_rng

LOG_2PI = math.log(2.0 * math.pi)  # the one definition in minflow


def standard_normal_log_prob(z):
    """log N(z; 0, I) = -1/2 ||z||^2 - D/2 log(2 pi), in nats.

    z: (N, D) -> (N,)
    """
    xp = namespace(z)
    return -0.5 * xp.sum(z * z, axis=1) - 0.5 * z.shape[1] * LOG_2PI


def standard_normal_sample(n, dim, rng, dtype=np.float64):
    """z ~ N(0, I_D): (n, D), drawn from the numpy Generator ``rng``."""
    n = check_int(n, "n", minimum=1)
    return check_rng(rng).standard_normal((n, check_int(dim, "dim", minimum=1))).astype(dtype)
