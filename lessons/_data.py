"""2-D toy data shared by lessons 10 and 11 (samplers written out, no scikit-learn)."""
import numpy as np


def two_moons(n, rng, noise=0.08):
    """Two interleaved half circles (as in the RealNVP paper's toy figure), plus Gaussian noise: (n, 2)."""
    upper = rng.integers(0, 2, n) == 1
    angle = rng.uniform(0.0, np.pi, n)
    x = np.where(upper, np.cos(angle), 1.0 - np.cos(angle))
    y = np.where(upper, np.sin(angle), 0.5 - np.sin(angle))
    return np.stack([x, y], axis=1) + noise * rng.standard_normal((n, 2))
