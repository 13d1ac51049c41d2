"""Gaussians with known parameters: the thesis's training and test distributions.

The training distribution is p = N(mu_p, Sigma_p) (section 3.1). The thesis does not say
how mu_p and Sigma_p were drawn; here (our choice, every number exposed):

    Sigma = Q diag(lambda) Q^T,  Q Haar-random orthogonal,
    lambda geometric from lambda_min to condition_number * lambda_min, mean(lambda) = mean_variance
    mu ~ N(0, mean_scale^2 I_D)

A spread spectrum in a random basis gives strong, dense correlations: in D = 50 with the
defaults the total correlation 1/2 (sum_i log Sigma_ii - log det Sigma) is ~19 nats.

Test families on the grid Lambda = S x T (eq. 19, 22):

    q(s, t)       = N(mu_p + t 1,          s^2 Sigma_p)              eq. 12-13  "generalisation"
    q_delta(s, t) = N(mu_p + t 1 + beta u, s^2 Sigma_p + alpha I)    eq. 20-21  "perturbed"
    q_out(s, t)   = N(mu_q + t 1,          s^2 Sigma_q)              section 7  "outlier"

with u ~ U([-1, 1]^D) drawn once. Outliers (our construction; Sigma_p = L_p L_p^T, w = L_p^-1 1 / c,
c = |L_p^-1 1|: the shift 1 whitened by p; e a random unit vector orthogonal to w):

    mu_q = mu_p + r L_p d,  r^2 = D + z sqrt(2 D),  d = rho (-w) + sqrt(1 - rho^2) e
    Sigma_q = (1 - gamma) Sigma_p + gamma Sigma_ind,  Sigma_ind drawn like Sigma_p, independently

z = outlier_mean_z: mu_q is at Mahalanobis distance r, so log p(mu_q) = E_p[log p] - z sd_p[log p].
rho = outlier_approach, the cosine between L_p^-1 (mu_p - mu_q) and w: mu_q + t 1 is at squared distance
r^2 - 2 rho r c t + c^2 t^2, so at rho > 0 a shift t > 0 first moves q_out towards p. gamma =
outlier_cov_mix; Sigma_ind has outlier_condition_number and outlier_mean_variance. Defaults z = 3,
rho = 0.2, gamma = 1, Sigma_ind = 0.03 I (condition number 1): the member of tools/calibrate_outliers.py
closest to the thesis's true-density TNRs at D = 50. How these and ALPHA_DEFAULT, BETA_DEFAULT were
chosen: reproduction/NOTES.md, "Calibration of the perturbation and outlier families".
"""
import inspect
import math

import numpy as np
from scipy.linalg import solve_triangular

from ..prior import LOG_2PI
from ..validation import check_batch, check_dtype, check_int, check_positive, check_rng
from .checks import real_array, real_number

S_DEFAULT = (0.25, 0.5, 0.75, 1.0, 1.25, 1.75)
T_DEFAULT = (0.0, 0.25, 0.5, 0.75)
FAMILIES = ("generalisation", "perturbed", "outlier")

CONDITION_NUMBER = 100.0
MEAN_VARIANCE = 1.0
MEAN_SCALE = 1.0
# Beyond these, float64 cannot hold the distributions: a covariance of condition number 1e13+ is singular to
# rounding (Cholesky fails or lies), and a mean of |mu| ~ 1e300 swallows every unit-scale draw (x = mu + L z == mu)
MAX_CONDITION_NUMBER = 1e12
MAX_MEAN_SCALE = 1e6
ALPHA_DEFAULT = 0.08
BETA_DEFAULT = 0.2
OUTLIER_MEAN_Z, OUTLIER_APPROACH, OUTLIER_COV_MIX = 3.0, 0.2, 1.0
OUTLIER_CONDITION_NUMBER, OUTLIER_MEAN_VARIANCE = 1.0, 0.03  # Sigma_ind = Sigma_q = 0.03 I


def check_covariance(cov, name="cov", dim=None):
    """Validate a covariance: (D, D), finite, symmetric, positive definite.

    Returns (cov, chol): the exactly symmetrised matrix and its lower Cholesky factor.
    """
    arr = real_array(cov, name)
    if arr.ndim != 2 or arr.shape[0] != arr.shape[1]:
        raise ValueError(f"{name}: expected a square (D, D) matrix, got shape {arr.shape}")
    if dim is not None and arr.shape[0] != dim:
        raise ValueError(f"{name}: expected shape ({dim}, {dim}) to match the mean, got {arr.shape}")
    if arr.shape[0] == 0 or not np.all(np.isfinite(arr)):
        raise ValueError(f"{name}: must be non-empty and contain only finite numbers")
    asym = np.max(np.abs(arr - arr.T))
    if asym > 1e-8 * max(1.0, np.max(np.abs(arr))):
        raise ValueError(f"{name}: not symmetric (max |cov - cov^T| = {asym:.3g})")
    arr = 0.5 * (arr + arr.T)
    try:
        chol = np.linalg.cholesky(arr)
    except np.linalg.LinAlgError:
        raise ValueError(f"{name}: not positive definite (Cholesky failed; smallest eigenvalue "
                         f"{_smallest_eigenvalue(arr)})") from None
    diag = np.diag(chol)
    if not np.all(np.isfinite(chol)) or (diag.min() / diag.max()) ** 2 < np.finfo(np.float64).eps:
        raise ValueError(f"{name}: numerically singular in float64 (condition number about "
                         f"{(diag.max() / diag.min()) ** 2:.3g} or more; smallest eigenvalue {_smallest_eigenvalue(arr)})")
    return arr, chol


def _smallest_eigenvalue(arr):
    try:
        return f"{np.linalg.eigvalsh(arr)[0]:.3g}"
    except np.linalg.LinAlgError:
        return "unknown (the eigensolver did not converge)"


class Gaussian:
    """N(mean, cov) with every quantity computed through the Cholesky factor L (cov = L L^T).

    .mean (D,), .cov (D, D), .chol (D, D) lower, .dim
    .sample(n, rng) -> (n, D);  .log_prob(x): (N, D) -> (N,) nats;  .entropy() -> nats
    """

    def __init__(self, mean, cov, name=None):
        mean = real_array(mean, "mean")
        if mean.ndim != 1 or mean.size == 0 or not np.all(np.isfinite(mean)):
            raise ValueError(f"mean: expected a finite 1-D array of shape (D,), got shape {mean.shape}")
        self.cov, self.chol = check_covariance(cov, "cov", dim=mean.size)
        self.mean, self.dim, self.name = mean, mean.size, name

    def log_det_cov(self):
        """log det Sigma = 2 sum_i log L_ii."""
        return 2.0 * float(np.sum(np.log(np.diag(self.chol))))

    def sample(self, n, rng, dtype=np.float64):
        """x = mu + L z, z ~ N(0, I): (n, D) of ``dtype`` (float32 or float64). Rows are drawn in
        order, so n rows in chunks from one Generator equal n rows in one call."""
        n = check_int(n, "n", minimum=1)
        dtype = check_dtype(dtype)
        x = check_rng(rng).standard_normal((n, self.dim)) @ self.chol.T
        x += self.mean  # in place: the same numbers as mean + L z, one (n, D) array fewer
        return x.astype(dtype, copy=False)

    def log_prob(self, x):
        """log N(x; mu, Sigma) = -1/2 ||L^{-1}(x - mu)||^2 - 1/2 log det Sigma - D/2 log 2 pi.

        x: (N, D) -> (N,) nats (computed in float64 whatever the input dtype).
        """
        x = check_batch(x, self.dim, "x")
        with np.errstate(over="ignore", invalid="ignore"):
            w = solve_triangular(self.chol, (x - self.mean).T, lower=True, check_finite=False)
            out = -0.5 * np.einsum("dn,dn->n", w, w) - 0.5 * self.log_det_cov() - 0.5 * self.dim * LOG_2PI
        if not np.all(np.isfinite(out)):
            raise ValueError(f"x: {int(np.sum(~np.isfinite(out)))} point(s) so far from the mean that the "
                             "log-density overflows float64")
        return out

    def entropy(self):
        """H = 1/2 log det(2 pi e Sigma) (section 2.2), in nats."""
        return 0.5 * self.dim * (1.0 + LOG_2PI) + 0.5 * self.log_det_cov()

    def affine(self, s, t, center=None, name=None):
        """The law of g(x; s, t) = (x - c) s + c + t for x ~ self (eq. 13): N(mu + t 1, s^2 Sigma).

        ``center`` c defaults to the mean; t is a scalar (added to every coordinate) or (D,).
        The mean is ``affine_map`` of the mean: g is affine, so E[g(x)] = g(E[x]).
        """
        s = check_positive(s, "s")
        c = self.mean if center is None else _check_center(center, self.dim)
        mean = affine_map(self.mean[None, :], s, t, c)[0]  # checks t
        return Gaussian(mean, s * s * self.cov, name=name)

    def __repr__(self):
        label = f"{self.name!r}, " if self.name else ""
        return f"Gaussian({label}dim={self.dim}, entropy={self.entropy():.4f} nats)"


def _check_center(center, dim):
    c = real_array(center, "center")
    if c.shape != (dim,) or not np.all(np.isfinite(c)):
        raise ValueError(f"center: expected a finite ({dim},) array, got shape {c.shape}")
    return c


def _check_shift(t, dim):
    shift = real_array(t, "t")
    if shift.ndim > 1 or (shift.ndim == 1 and shift.size != dim) or not np.all(np.isfinite(shift)):
        raise ValueError(f"t: expected a finite scalar or a ({dim},) array, got shape {shift.shape}")
    return shift


def affine_map(x, s, t, center):
    """g(x; s, t) = (x - center) s + center + t (eq. 13): x: (N, D) -> (N, D).

    s > 0 a scalar; t a scalar (added to every coordinate) or (D,); center (D,) (thesis: mu_p).
    ``Gaussian.affine`` gives the law of g(x) for Gaussian x; this maps the points themselves."""
    s = check_positive(s, "s")
    x = check_batch(x, None, "x")
    return (x - _check_center(center, x.shape[1])) * s + center + _check_shift(t, x.shape[1])


def haar_orthogonal(dim, rng):
    """A Haar-distributed orthogonal (D, D) matrix: QR of a Gaussian matrix with sign(diag R) fixed."""
    dim = check_int(dim, "dim", minimum=1)
    q, r = np.linalg.qr(check_rng(rng).standard_normal((dim, dim)))
    return q * np.sign(np.diag(r))


def eigen_spectrum(dim, condition_number=CONDITION_NUMBER, mean_variance=MEAN_VARIANCE):
    """Geometrically spaced eigenvalues, largest / smallest = condition_number, mean = mean_variance."""
    dim = check_int(dim, "dim", minimum=1)
    kappa = check_positive(condition_number, "condition_number")
    if not 1 <= kappa <= MAX_CONDITION_NUMBER:
        raise ValueError(f"condition_number: expected a number in [1, {MAX_CONDITION_NUMBER:g}] (beyond, the "
                         f"covariance is singular in float64), got {kappa:g}")
    lam = kappa ** (np.arange(dim) / max(dim - 1, 1)) if dim > 1 else np.ones(1)
    return lam * check_positive(mean_variance, "mean_variance") / lam.mean()


def random_covariance(dim, rng, condition_number=CONDITION_NUMBER, mean_variance=MEAN_VARIANCE):
    """Sigma = Q diag(lambda) Q^T, Q Haar-random, lambda from ``eigen_spectrum``: (D, D).

    trace(Sigma) = D * mean_variance, so marginal variances average ``mean_variance``.
    """
    lam = eigen_spectrum(dim, condition_number, mean_variance)
    q = haar_orthogonal(dim, rng)
    cov = (q * lam) @ q.T
    return 0.5 * (cov + cov.T)


def correlation_summary(cov):
    """How correlated a Gaussian is: mean and max |rho_ij| (i != j) and the total correlation
    1/2 (sum_i log Sigma_ii - log det Sigma) in nats (0 iff independent coordinates)."""
    cov, chol = check_covariance(cov)
    sd = np.sqrt(np.diag(cov))
    rho = np.abs(cov / np.outer(sd, sd))[~np.eye(len(sd), dtype=bool)]
    total = 0.5 * (np.sum(np.log(np.diag(cov))) - 2.0 * np.sum(np.log(np.diag(chol))))
    return {"mean_abs_corr": float(rho.mean()) if rho.size else 0.0,
            "max_abs_corr": float(rho.max()) if rho.size else 0.0, "total_correlation": float(total)}


def grid(S=S_DEFAULT, T=T_DEFAULT):
    """Lambda = S x T (eq. 19): a list of (s, t) pairs, s outermost."""
    return [(check_positive(s, "s"), float(_check_shift(t, 1))) for s in S for t in T]


class ThesisDistributions:
    """p, q(s, t), q_delta(s, t) and q_out(s, t) in dimension D, all rebuilt from ``seed``.

    Three independent streams are spawned from ``np.random.SeedSequence(seed)``: (mu_p, Sigma_p),
    the perturbation direction u ~ U([-1, 1]^D), and the outliers' direction e and Sigma_ind.
    ``settings()`` records every number; ``ThesisDistributions(**settings)`` rebuilds it.
    """

    def __init__(self, dim, seed=0, *, alpha=ALPHA_DEFAULT, beta=BETA_DEFAULT,
                 condition_number=CONDITION_NUMBER, mean_variance=MEAN_VARIANCE, mean_scale=MEAN_SCALE,
                 outlier_condition_number=OUTLIER_CONDITION_NUMBER, outlier_mean_variance=OUTLIER_MEAN_VARIANCE,
                 outlier_mean_z=OUTLIER_MEAN_Z, outlier_cov_mix=OUTLIER_COV_MIX, outlier_approach=OUTLIER_APPROACH):
        self.dim = check_int(dim, "dim", minimum=1)
        self.seed = check_int(seed, "seed", minimum=0)
        self.alpha = _check_number(alpha, "alpha")
        self.beta = _check_number(beta, "beta")
        self.condition_number = _check_number(condition_number, "condition_number", 1.0, MAX_CONDITION_NUMBER)
        self.mean_variance = check_positive(mean_variance, "mean_variance")
        self.mean_scale = _check_number(mean_scale, "mean_scale", maximum=MAX_MEAN_SCALE)
        # None (only None) means "the same as p's"
        self.outlier_condition_number = _check_number(self.condition_number if outlier_condition_number is None
                                                      else outlier_condition_number, "outlier_condition_number", 1.0,
                                                      MAX_CONDITION_NUMBER)
        self.outlier_mean_variance = check_positive(self.mean_variance if outlier_mean_variance is None
                                                    else outlier_mean_variance, "outlier_mean_variance")
        # z = -sqrt(D / 2) puts mu_q on mu_p; below it the squared distance would be negative
        self.outlier_mean_z = _check_number(outlier_mean_z, "outlier_mean_z", minimum=-math.sqrt(self.dim / 2.0))
        self.outlier_cov_mix = _check_number(outlier_cov_mix, "outlier_cov_mix", maximum=1.0)
        self.outlier_approach = _check_number(outlier_approach, "outlier_approach", -1.0, 1.0)
        rng_p, rng_u, rng_q = (np.random.default_rng(s) for s in np.random.SeedSequence(self.seed).spawn(3))
        self.p = self._draw(rng_p, self.condition_number, self.mean_variance, self.mean_scale, "p")
        self.u = rng_u.uniform(-1.0, 1.0, size=self.dim)
        self.p_out = self._outlier(rng_q)

    def _draw(self, rng, kappa, mean_variance, mean_scale, name):
        mean = mean_scale * rng.standard_normal(self.dim)
        return Gaussian(mean, random_covariance(self.dim, rng, kappa, mean_variance), name=name)

    def _outlier(self, rng):
        """q_out(1, 0): mu_q = mu_p + r L_p d and Sigma_q a mix (module docstring)."""
        independent = self._draw(rng, self.outlier_condition_number, self.outlier_mean_variance, 1.0, None)
        e = independent.mean / np.linalg.norm(independent.mean)     # a uniformly random direction
        w = solve_triangular(self.p.chol, np.ones(self.dim), lower=True)
        w, rho = w / np.linalg.norm(w), self.outlier_approach
        perp = e - (e @ w) * w                                      # D = 1: none, d = -sign(rho) w (or e)
        d = (-rho * w + math.sqrt(1.0 - rho * rho) * perp / np.linalg.norm(perp) if self.dim > 1
             else -math.copysign(1.0, rho) * w if rho else e)
        radius = math.sqrt(max(self.dim + self.outlier_mean_z * math.sqrt(2.0 * self.dim), 0.0))  # max: rounding
        gamma = self.outlier_cov_mix
        return Gaussian(self.p.mean + radius * (self.p.chol @ d),
                        (1.0 - gamma) * self.p.cov + gamma * independent.cov, name="q_out(1, 0)")

    def q(self, s, t):
        """q(s, t) = N(mu_p + t 1, s^2 Sigma_p) (eq. 12)."""
        return self.p.affine(s, t, name=f"q({s}, {t})")

    def q_delta(self, s, t):
        """q_delta(s, t) = N(mu_p + t 1 + beta u, s^2 Sigma_p + alpha I) (eq. 21)."""
        q = self.p.affine(s, t)
        return Gaussian(q.mean + self.beta * self.u, q.cov + self.alpha * np.eye(self.dim),
                        name=f"q_delta({s}, {t})")

    def q_out(self, s, t):
        """q_out(s, t) = N(mu_q + t 1, s^2 Sigma_q) (section 7; mu_q, Sigma_q in the module docstring)."""
        return self.p_out.affine(s, t, name=f"q_out({s}, {t})")

    def family(self, name, s, t):
        """The test distribution of family ``name`` (one of FAMILIES) at (s, t)."""
        makers = {"generalisation": self.q, "perturbed": self.q_delta, "outlier": self.q_out}
        if name not in makers:
            raise ValueError(f"name: expected one of {FAMILIES}, got {name!r}")
        return makers[name](s, t)

    def settings(self):
        """Every number needed to rebuild this object (JSON-ready): ThesisDistributions(**settings())."""
        return {name: getattr(self, name) for name in inspect.signature(ThesisDistributions).parameters}

    def __repr__(self):
        return f"ThesisDistributions(dim={self.dim}, seed={self.seed}, alpha={self.alpha}, beta={self.beta})"


def _check_number(value, name, minimum=0.0, maximum=math.inf):
    """A finite real number in [minimum, maximum], returned as float."""
    return real_number(value, name, minimum, maximum)
