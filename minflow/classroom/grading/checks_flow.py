"""Checks of the flow exercises: coupling layers, conditioner, flow_log_prob, training loss.

Each ``check_<exercise>(ck, module)`` gets the student's module and records cases in ``ck``.
"""
import importlib
from contextlib import ExitStack

import autograd
import autograd.numpy as anp
import numpy as np
from scipy.stats import multivariate_normal

from . import reference as ref
from .checker import compare, patched

GRAD_HINT = ("autograd must differentiate your code: compute with the namespace functions "
             "(xp = namespace(x); xp.exp, xp.sum, @), not math.* or in-place assignment into arrays")
GRAD_WRONG = "autograd ran, but the gradient differs: fix the value checks above first"
SIGN_HINT = ("check the sign of the log-determinant: the forward map scales x_b by exp(+s), so "
             "log|det J| = +sum_j s_j (eq. 6); minus that is the inverse's")
FLOW_SIGN_HINT = ("check the sign of the log-determinant: f maps data x to latent z, so "
                  "log p_theta(x) = log p_Z(f(x)) + log|det J_f(x)| (eq. 2); the minus sign belongs to "
                  "the inverse direction z -> x")


def _module(name):
    return importlib.import_module(name)


def _coupling_inputs(seed, n=6, d=3):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, d)), 0.8 * rng.standard_normal((n, d)), rng.standard_normal((n, d))


def _layer_params(layer, rng):
    """Random (non-identity) conditioner parameters of the student's layer, shaped by its init."""
    shapes = [(np.shape(W), np.shape(b)) for W, b in layer.init(np.random.default_rng(0))]
    return ref.random_params(shapes, rng)


def _ref_affine_layer(x, params, d_a, s_max=2.0):
    """The AffineCoupling's forward with mask='half', flip=False, by reference formulas."""
    x_a, x_b = x[:, :d_a], x[:, d_a:]
    out = ref.mlp(params, x_a)
    d_b = x.shape[1] - d_a
    s = s_max * anp.tanh(out[:, :d_b] / s_max)
    return anp.concatenate([x_a, ref.affine_forward(x_b, s, out[:, d_b:])], axis=1), ref.affine_log_det(s)


# the student's functions that a coupling layer calls, by module (each module holds its own name mlp)
LAYER_FUNCTIONS = (("minflow.conditioner", ("mlp",)),
                   ("minflow.bijectors.coupling", ("mlp", "affine_forward", "affine_inverse", "affine_log_det")),
                   ("minflow.bijectors.additive", ("mlp", "additive_forward", "additive_inverse")))


def _isolated_layer(*keep):
    """A context in which every coupling exercise and the MLP are the grader's references, except
    the student's functions named in ``keep``: a check of one exercise grades that exercise only."""
    stack = ExitStack()
    for module_name, names in LAYER_FUNCTIONS:
        stack.enter_context(patched(_module(module_name), **{n: getattr(ref, n) for n in names if n not in keep}))
    return stack


def _random_layer(layer, seed, n):
    """The student's ``layer`` (D=5), random conditioner parameters for it, and points x: (n, 5)."""
    x = np.random.default_rng(seed + 1).standard_normal((n, 5))
    return layer, _layer_params(layer, np.random.default_rng(seed)), x


# --- lesson 02: the affine coupling -----------------------------------------------------------
def check_coupling_forward(ck, coupling):
    x_b, s, t = _coupling_inputs(1)
    inputs = {"x_b": x_b, "s": s, "t": t}
    with ck.case("s = 0 and t = 0 give the identity, y_b = x_b"):
        compare(coupling.affine_forward(x_b, 0 * s, 0 * t), x_b, "affine_forward(x_b, s=0, t=0)", {"x_b": x_b})
    with ck.case("random x_b, s, t (N=6, d_b=3)"):
        compare(coupling.affine_forward(x_b, s, t), x_b * np.exp(s) + t, "affine_forward(x_b, s, t)", inputs,
                mistakes=[(x_b * np.exp(-s) + t, "did you use exp(-s)? The forward map multiplies by exp(+s) "
                                                 "(eq. 3); exp(-s) belongs to the inverse (eq. 4)"),
                          ((x_b + t) * np.exp(s), "scale first, then shift: y_b = x_b * exp(s) + t"),
                          (x_b * s + t, "s is a log-scale: multiply by exp(s), not by s"),
                          (x_b * np.exp(s), "the shift t is missing"),
                          (x_b * np.exp(s) - t, "add the shift t, do not subtract it"),
                          ((x_b - t) * np.exp(-s), "that is the inverse map (eq. 4); the forward is eq. 3")])
    with ck.case("autograd differentiates it: d/ds sum(y_b) = x_b * exp(s)", error_hint=GRAD_HINT):
        grad = autograd.grad(lambda s_: anp.sum(coupling.affine_forward(x_b, s_, t)))(s)
        compare(grad, x_b * np.exp(s), "autograd.grad of sum(affine_forward(x_b, s, t)) in s", inputs,
                hint=GRAD_WRONG)
    with ck.case("inside AffineCoupling.forward (D=5, random conditioner)"):
        layer, params, x = _random_layer(coupling.AffineCoupling(5, hidden=(8,)), 2, 7)
        with _isolated_layer("affine_forward"):
            y, _ = layer.forward(params, x)
        compare(y, _ref_affine_layer(x, params, 2)[0], "AffineCoupling(5).forward(params, x)", {"x": x})


def _inverse_mistakes(y_b, s, t):
    return [((y_b - t) * np.exp(s), "did you use exp(-s)? The inverse divides by exp(s): "
                                    "x_b = (y_b - t) * exp(-s) (eq. 4)"),
            (y_b * np.exp(-s) - t, "undo the steps in reverse order: subtract t first, then divide by exp(s)"),
            ((y_b + t) * np.exp(-s), "subtract the shift t, do not add it"),
            ((y_b - t) / s, "s is a log-scale: divide by exp(s), not by s"),
            (y_b * np.exp(s) + t, "that is the forward map (eq. 3); the inverse undoes it (eq. 4)")]


def check_coupling_inverse(ck, coupling):
    y_b, s, t = _coupling_inputs(4)
    inputs = {"y_b": y_b, "s": s, "t": t}
    with ck.case("random y_b, s, t (N=6, d_b=3)"):
        compare(coupling.affine_inverse(y_b, s, t), (y_b - t) * np.exp(-s), "affine_inverse(y_b, s, t)", inputs,
                mistakes=_inverse_mistakes(y_b, s, t))
    x_b = np.random.default_rng(5).standard_normal(s.shape)
    y_2 = ref.affine_forward(x_b, 2.5 * s, t)
    with ck.case("round trip: affine_inverse(affine_forward(x_b, s, t), s, t) = x_b"):
        compare(coupling.affine_inverse(y_2, 2.5 * s, t), x_b, "affine_inverse(x_b * exp(s) + t, s, t)",
                {"x_b": x_b, "s": 2.5 * s, "t": t}, mistakes=_inverse_mistakes(y_2, 2.5 * s, t))
    with ck.case("autograd differentiates it: d/dt sum(x_b) = -exp(-s)", error_hint=GRAD_HINT):
        grad = autograd.grad(lambda t_: anp.sum(coupling.affine_inverse(y_b, s, t_)))(t)
        compare(grad, -np.exp(-s), "autograd.grad of sum(affine_inverse(y_b, s, t)) in t", inputs, hint=GRAD_WRONG)
    with ck.case("AffineCoupling.inverse undoes its forward (D=5, random conditioner)"):
        layer, params, x = _random_layer(coupling.AffineCoupling(5, hidden=(8,)), 6, 7)
        y, _ = _ref_affine_layer(x, params, 2)
        with _isolated_layer("affine_inverse"):
            x_back, _ = layer.inverse(params, y)
        compare(x_back, x, "AffineCoupling(5).inverse(params, y), y = forward(x)", {"x": x})


def _slogdet_rows(fn, x):
    """log|det d fn(x_i) / d x_i| for every row of x, by autograd's Jacobian: (N, d) -> (N,)."""
    return np.array([np.linalg.slogdet(autograd.jacobian(fn(i))(x[i]))[1] for i in range(len(x))])


def check_coupling_log_det(ck, coupling):
    x_b, s, t = _coupling_inputs(8, n=5)
    with ck.case("s = 0: the identity has log|det J| = 0 in every row"):
        compare(coupling.affine_log_det(0 * s), np.zeros(len(s)), "affine_log_det(s=0)", {"s": 0 * s},
                mistakes=[(np.zeros(s.shape[1]), "one log-det per row (example): sum over axis=1, shape (N,)")])
    with ck.case("random s (N=5, d_b=3), against log|det| of autograd's Jacobian of eq. 3"):
        expected = _slogdet_rows(lambda i: lambda v: ref.affine_forward(v, s[i], t[i]), x_b)
        compare(coupling.affine_log_det(s), expected, "affine_log_det(s)", {"s": s},
                mistakes=[(-expected, SIGN_HINT),
                          (np.sum(np.exp(s), axis=1), "the diagonal of the Jacobian is exp(s) and you need the "
                                                      "LOG of the determinant: sum_j s_j, not sum_j exp(s_j)"),
                          (np.prod(np.exp(s), axis=1), "that is det J itself; the flow needs log|det J| = sum_j s_j"),
                          (np.sum(s, axis=0), "one log-det per row (example): sum over axis=1, shape (N,)"),
                          (np.sum(s), "one log-det per row (example): sum over axis=1 only, shape (N,)"),
                          (np.mean(s, axis=1), "sum over the d_b coordinates, not the mean")])
    with ck.case("AffineCoupling.forward's log_det against autograd's Jacobian of the whole layer (D=5)"):
        layer, params, x = _random_layer(coupling.AffineCoupling(5, hidden=(8,)), 9, 4)
        with _isolated_layer("affine_log_det"):
            _, ld = layer.forward(params, x)
            expected = _slogdet_rows(lambda i: lambda v: layer.forward(params, v[None, :])[0][0], x)
        compare(ld, expected, "AffineCoupling(5).forward(params, x)[1]", {"x": x},
                mistakes=[(-expected, SIGN_HINT)])


def check_additive_coupling(ck, additive):
    x_b, _, t = _coupling_inputs(12)
    with ck.case("additive_forward(x_b, t) (N=6, d_b=3)"):
        compare(additive.additive_forward(x_b, t), x_b + t, "additive_forward(x_b, t)", {"x_b": x_b, "t": t},
                mistakes=[(x_b - t, "the forward map adds the shift: y_b = x_b + t")])
    with ck.case("additive_inverse(y_b, t) (N=6, d_b=3)"):
        compare(additive.additive_inverse(x_b, t), x_b - t, "additive_inverse(y_b, t)", {"y_b": x_b, "t": t},
                mistakes=[(x_b + t, "the inverse subtracts the shift: x_b = y_b - t")])
    with ck.case("AdditiveCoupling (D=5, alternate mask): forward against the formula, then the round trip"):
        layer, params, x = _random_layer(additive.AdditiveCoupling(5, hidden=(8,), mask="alternate"), 13, 6)
        with _isolated_layer("additive_forward", "additive_inverse"):
            y, _ = layer.forward(params, x)
            x_back, _ = layer.inverse(params, y)
        expected = x.copy()
        expected[:, 1::2] = x[:, 1::2] + ref.mlp(params, x[:, 0::2])
        compare(y, expected, "AdditiveCoupling(5, mask='alternate').forward(params, x)", {"x": x})
        compare(x_back, x, "AdditiveCoupling.inverse(params, forward(params, x))", {"x": x})


# --- lesson 02: the conditioner ---------------------------------------------------------------
def check_mlp(ck, conditioner):
    rng = np.random.default_rng(20)
    x = rng.standard_normal((6, 3))
    relu = lambda a: ref.ACTIVATIONS["relu"].value(np, a)  # noqa: E731
    with ck.case("no hidden layer: mlp([(W, b)], x) = x @ W + b"):
        params = ref.random_params(ref.mlp_shapes([3, 4]), rng)
        W, b = params[0]
        compare(conditioner.mlp(params, x), x @ W + b, "mlp([(W, b)], x)", {"x": x},
                mistakes=[(relu(x @ W + b), "no activation on the output layer: s and t must be able to be "
                                            "negative"),
                          (x @ W, "add the bias b")])
    params = ref.random_params(ref.mlp_shapes([3, 8, 8, 4]), rng)
    with ck.case("two hidden layers of 8, relu"):
        linear = x
        for W, b in params:
            linear = linear @ W + b
        compare(conditioner.mlp(params, x), ref.mlp(params, x), "mlp(params, x), widths 3-8-8-4", {"x": x},
                mistakes=[(relu(ref.mlp(params, x)), "no activation on the output layer: s and t must be able "
                                                     "to be negative"),
                          (linear, "apply the activation after every hidden layer (h = act(xp, h @ W + b))")])
    with ck.case("activation='tanh': the argument chooses the activation"):
        compare(conditioner.mlp(params, x, "tanh"), ref.mlp(params, x, "tanh"), "mlp(params, x, 'tanh')",
                {"x": x}, mistakes=[(ref.mlp(params, x, "relu"), "use the activation named by the third argument, "
                                                                 "activation_name: the `act` set above the stub")])
    with ck.case("autograd's gradient in the parameters", error_hint=GRAD_HINT):
        got = autograd.grad(lambda p: anp.sum(conditioner.mlp(p, x, "tanh") ** 2))(params)
        expected = autograd.grad(lambda p: anp.sum(ref.mlp(p, x, "tanh") ** 2))(params)
        flat = lambda g: np.concatenate([np.ravel(a) for pair in g for a in pair])  # noqa: E731
        compare(flat(got), flat(expected), "autograd.grad of sum(mlp(params, x)**2), flattened", hint=GRAD_WRONG)


# --- lessons 01 and 03: log p_theta(x) (flow_log_prob) and the training loss --------------------
def _flow_problem(seed, n):
    """Grader-made layers (scale-shift, dense, scale-shift), their params and points x: (n, 3).

    The whole flow is affine, z = x M + c, so x ~ N(-c M^-1, (M M^T)^-1): scipy.stats gives the
    exact log-density, independently of the change-of-variables code under test."""
    rng = np.random.default_rng(seed)
    ScaleShift, Dense = ref.grader_layers(_module("minflow.bijectors").Bijector)
    layers = [ScaleShift(3), Dense(3), ScaleShift(3)]
    A = np.linalg.qr(rng.standard_normal((3, 3)))[0] @ np.diag([1.5, 0.7, 1.1])
    params = [(0.4 * rng.standard_normal(3), rng.standard_normal(3)), (A,),
              (0.4 * rng.standard_normal(3), rng.standard_normal(3))]
    (a1, b1), _, (a2, b2) = params
    M = np.diag(np.exp(a1)) @ A @ np.diag(np.exp(a2))
    c = (b1 @ A) * np.exp(a2) + b2
    M_inv = np.linalg.inv(M)
    x = rng.standard_normal((n, 3))
    exact = multivariate_normal(-c @ M_inv, M_inv.T @ M_inv).logpdf(x)
    z = x @ M + c
    log_det = np.full(n, np.linalg.slogdet(M)[1])
    return layers, params, x, np.atleast_1d(exact), z, log_det


def _log_prob_mistakes(x, z, log_det):
    log_pz = multivariate_normal(np.zeros(x.shape[1])).logpdf(z)
    log_px = multivariate_normal(np.zeros(x.shape[1])).logpdf(x)
    return [(log_pz - log_det, FLOW_SIGN_HINT),
            (log_pz, "the log-determinant term of eq. 2 is missing"),
            (log_px + log_det, "evaluate the prior at z = f(x) (forward_pass), not at x"),
            (-(log_pz + log_det), "return log p_theta(x) itself, not its negative")]


def check_flow_log_prob(ck, flow):
    with ck.case("no layers: log p(x) = log N(x; 0, I) (D=3)"):
        x = np.random.default_rng(30).standard_normal((4, 3))
        expected = multivariate_normal(np.zeros(3)).logpdf(x)
        compare(flow.flow_log_prob([], [], x), expected, "flow_log_prob([], [], x)", {"x": x},
                mistakes=[(-expected, "return log p(x), not -log p(x)")])
    layers, params, x, exact, z, log_det = _flow_problem(31, 5)
    with ck.case("three layers: scale-shift, dense, scale-shift (D=3), against scipy.stats"):
        compare(flow.flow_log_prob(layers, params, x), exact, "flow_log_prob(layers, params, x)", {"x": x},
                mistakes=_log_prob_mistakes(x, z, log_det))
    with ck.case("one dense layer (D=3): log|det A| enters with the right sign"):
        A = 1.7 * params[1][0]
        M_inv = np.linalg.inv(A)
        expected = multivariate_normal(np.zeros(3), M_inv.T @ M_inv).logpdf(x)
        compare(flow.flow_log_prob(layers[1:2], [(A,)], x), expected, "flow_log_prob([dense], [(A,)], x)",
                {"x": x},
                mistakes=_log_prob_mistakes(x, x @ A, np.full(len(x), np.linalg.slogdet(A)[1])))
    with ck.case("Flow(layers, params, engine='reference').log_prob(x) runs on your flow_log_prob"):
        got = flow.Flow(layers, params, dim=3, engine="reference").log_prob(x)
        compare(got, exact, "Flow(layers, params, dim=3, engine='reference').log_prob(x)", {"x": x},
                mistakes=_log_prob_mistakes(x, z, log_det))


def check_mean_nll(ck, flow):
    with patched(flow, flow_log_prob=ref.flow_log_prob):
        for n, seed in ((8, 40), (32, 41)):
            layers, params, x, exact, z, log_det = _flow_problem(seed, n)
            with ck.case(f"the loss on a batch of {n} points (D=3), against scipy.stats"):
                compare(flow.mean_nll(params, layers, x), -np.mean(exact), "mean_nll(params, layers, x)",
                        {"x": x},
                        mistakes=[(np.mean(exact), "the loss is the NEGATIVE mean log-likelihood (eq. 15): "
                                                   "minimising it maximises the likelihood"),
                                  (-np.sum(exact), "divide by the batch size N: the loss is a mean (eq. 15), "
                                                   "so that it does not grow with the batch"),
                                  (-exact, "return one number, the mean over the batch, not one per point")])
        with ck.case("autograd's gradient of the loss (what fit() uses)", error_hint=GRAD_HINT):
            got = autograd.grad(flow.mean_nll)(params, layers, x)
            expected = autograd.grad(ref.reference_mean_nll)(params, layers, x)
            flat = lambda g: np.concatenate([np.ravel(a) for p in g for a in p])  # noqa: E731
            compare(flat(got), flat(expected), "autograd.grad(mean_nll)(params, layers, x), flattened",
                    hint=GRAD_WRONG)
