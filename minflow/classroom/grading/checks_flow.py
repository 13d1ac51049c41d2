"""Plans of the flow exercises: coupling, conditioner, flow_log_prob, training loss, NICE.

Each ``plan_<exercise>(rng, variant)`` returns the exercise's cases (``checker.Case``) on fresh
inputs drawn from ``rng``; expected values are computed here, by ``reference.py``, scipy and
autograd Jacobians, never by the child.
"""
import autograd
import autograd.numpy as anp
import numpy as np
from scipy.stats import multivariate_normal

from . import reference as ref
from .checker import Case, compare

COUPLING = "minflow.bijectors.coupling"
GRAD_HINT = ("autograd must differentiate your code: compute with the namespace functions "
             "(xp = namespace(x); xp.exp, xp.sum, @), not math.* or in-place assignment into arrays")
GRAD_WRONG = "autograd ran, but the gradient differs: fix the value checks first"
SIGN_HINT = ("check the sign of the log-determinant: the forward map scales x_b by exp(+s), so "
             "log|det J| = +sum_j s_j (eq. 6); minus that is the inverse's")
FLOW_SIGN_HINT = ("check the sign of the log-determinant: f maps data x to latent z, so "
                  "log p_theta(x) = log p_Z(f(x)) + log|det J_f(x)| (eq. 2)")


def call(label, fn, inputs, judge, **kw):
    """A case that calls ``fn`` ("module:function") with the inputs, in order, as its arguments
    (a scalar goes as a Python number, an array as an array)."""
    args = [{"json": v.item()} if isinstance(v, np.generic) else k for k, v in inputs.items()]
    arrays = {k: v for k, v in inputs.items() if not isinstance(v, np.generic)}
    return Case(label, "call", arrays, judge, fn=fn, args=args, **kw)


def _xst(rng):
    n, d = int(rng.integers(4, 9)), int(rng.integers(2, 6))
    return rng.standard_normal((n, d)), 0.8 * rng.standard_normal((n, d)), rng.standard_normal((n, d))


def _layer_case(label, rng, cls, direction, judge_fn, standins=(), module=COUPLING):
    """A coupling layer of the student's module (D odd or even, random mask), the stand-in conditioner."""
    dim, mask = int(rng.integers(4, 8)), str(rng.choice(["half", "alternate"]))
    idx_a, idx_b = ref.columns(dim, mask)
    out_dim = 2 * len(idx_b) if cls == "AffineCoupling" else len(idx_b)
    W, b = 0.7 * rng.standard_normal((len(idx_a), out_dim)), 0.5 * rng.standard_normal(out_dim)
    x = rng.standard_normal((int(rng.integers(4, 8)), dim))
    return Case(f"{label} (D={dim}, mask={mask!r})", "coupling_layer", {"W": W, "b": b, "x": x},
                lambda out: judge_fn(out, x, W, b, mask), module=module, cls=cls, dim=dim, mask=mask,
                direction=direction, standins=list(standins))


def plan_coupling_forward(rng, variant):
    x_b, s, t = _xst(rng)
    fn, inputs = f"{COUPLING}:affine_forward", {"x_b": x_b, "s": s, "t": t}
    wrong = [(x_b * np.exp(-s) + t, "did you use exp(-s)? The forward map multiplies by exp(+s) (eq. 3)"),
             ((x_b + t) * np.exp(s), "scale first, then shift: y_b = x_b * exp(s) + t"),
             (x_b * s + t, "s is a log-scale: multiply by exp(s), not by s"),
             (x_b * np.exp(s), "the shift t is missing"),
             ((x_b - t) * np.exp(-s), "that is the inverse map (eq. 4); the forward is eq. 3")]
    x2, s2, t2 = _xst(rng)

    def layer(out, x, W, b, mask):
        idx_a, idx_b, s_, t_ = ref.coupling_parts(x, W, b, mask)
        compare(out["y"], ref.assemble(x, idx_b, ref.affine_forward(x[:, idx_b], s_, t_)),
                "AffineCoupling.forward(params, x)[0]", {"x": x})
    return [
        call("s = 0 and t = 0 give the identity", fn, {"x_b": x_b, "s": 0 * s, "t": 0 * t},
             lambda o: compare(o["value"], x_b, "affine_forward(x_b, 0, 0)"), trivial=True),
        call(f"random x_b, s, t {x_b.shape}", fn, inputs,
             lambda o: compare(o["value"], x_b * np.exp(s) + t, "affine_forward(x_b, s, t)", inputs, wrong)),
        call(f"random x_b, s, t {x2.shape}", fn, {"x_b": x2, "s": s2, "t": t2},
             lambda o: compare(o["value"], x2 * np.exp(s2) + t2, "affine_forward(x_b, s, t)", {"x_b": x2})),
        Case("autograd differentiates it in s", "grad", inputs, lambda o: compare(
            o["value"], x_b * np.exp(s), "grad of sum(affine_forward(x_b, s, t)) in s", hint=GRAD_WRONG),
            fn=fn, args=list(inputs), wrt=1, error_hint=GRAD_HINT),
        _layer_case("inside AffineCoupling.forward", rng, "AffineCoupling", "forward", layer, ["affine_log_det"]),
    ]


def plan_coupling_inverse(rng, variant):
    y_b, s, t = _xst(rng)
    fn, inputs = f"{COUPLING}:affine_inverse", {"y_b": y_b, "s": s, "t": t}
    wrong = [((y_b - t) * np.exp(s), "did you use exp(-s)? x_b = (y_b - t) * exp(-s) (eq. 4)"),
             (y_b * np.exp(-s) - t, "undo the steps in reverse order: subtract t first, then divide by exp(s)"),
             ((y_b + t) * np.exp(-s), "subtract the shift t, do not add it"),
             (y_b * np.exp(s) + t, "that is the forward map (eq. 3); the inverse undoes it (eq. 4)")]
    x_b = rng.standard_normal(s.shape)
    y2 = ref.affine_forward(x_b, 2.5 * s, t)

    def layer(out, x, W, b, mask):
        _, idx_b, s_, t_ = ref.coupling_parts(x, W, b, mask)
        compare(out["y"], ref.assemble(x, idx_b, ref.affine_inverse(x[:, idx_b], s_, t_)),
                "AffineCoupling.inverse(params, y)[0]", {"y": x})
    return [
        call(f"random y_b, s, t {y_b.shape}", fn, inputs,
             lambda o: compare(o["value"], (y_b - t) * np.exp(-s), "affine_inverse(y_b, s, t)", inputs, wrong)),
        call("round trip: affine_inverse(x_b * exp(s) + t, s, t) = x_b", fn, {"y_b": y2, "s": 2.5 * s, "t": t},
             lambda o: compare(o["value"], x_b, "affine_inverse(affine_forward(x_b, s, t), s, t)", {"x_b": x_b})),
        Case("autograd differentiates it in t", "grad", inputs, lambda o: compare(
            o["value"], -np.exp(-s), "grad of sum(affine_inverse(y_b, s, t)) in t", hint=GRAD_WRONG),
            fn=fn, args=list(inputs), wrt=2, error_hint=GRAD_HINT),
        _layer_case("inside AffineCoupling.inverse", rng, "AffineCoupling", "inverse", layer, ["affine_log_det"]),
    ]


def plan_coupling_log_det(rng, variant):
    x_b, s, t = _xst(rng)
    fn = f"{COUPLING}:affine_log_det"
    expected = ref.slogdet_rows(lambda i: lambda v: ref.affine_forward(v, s[i], t[i]), x_b)
    wrong = [(-expected, SIGN_HINT), (np.sum(np.exp(s), axis=1), "log|det J| = sum_j s_j, not sum_j exp(s_j)"),
             (np.sum(s, axis=0), "one log-det per row: sum over axis=1, shape (N,)"),
             (np.mean(s, axis=1), "sum over the d_b coordinates, not the mean")]

    def layer(out, x, W, b, mask):
        idx_a, idx_b, _, _ = ref.coupling_parts(x, W, b, mask)

        def row(i):
            return lambda v: ref.assemble(v[None, :], idx_b, ref.affine_forward(
                v[None, idx_b], *ref.coupling_parts(v[None, :], W, b, mask)[2:]))[0]
        exp_ld = ref.slogdet_rows(row, x)
        compare(out["log_det"], exp_ld, "AffineCoupling.forward(params, x)[1]", {"x": x}, [(-exp_ld, SIGN_HINT)])
    return [
        call("s = 0: log|det J| = 0 in every row", fn, {"s": 0 * s},
             lambda o: compare(o["value"], np.zeros(len(s)), "affine_log_det(0)"), trivial=True),
        call(f"random s {s.shape}, against slogdet of autograd's Jacobian of eq. 3", fn, {"s": s},
             lambda o: compare(o["value"], expected, "affine_log_det(s)", {"s": s}, wrong)),
        _layer_case("the whole layer's log-det against autograd's Jacobian", rng, "AffineCoupling", "forward",
                    layer, ["affine_forward"]),
    ]


def plan_additive_coupling(rng, variant):
    x_b, _, t = _xst(rng)
    mod = "minflow.bijectors.additive"

    def layer(out, x, W, b, mask):
        _, idx_b = ref.columns(x.shape[1], mask)
        expected = ref.assemble(x, idx_b, x[:, idx_b] + ref.standin_conditioner(W, b, x[:, ref.columns(
            x.shape[1], mask)[0]]))
        compare(out["y"], expected, "AdditiveCoupling.forward(params, x)[0]", {"x": x})
    return [
        call(f"additive_forward(x_b, t) {x_b.shape}", f"{mod}:additive_forward", {"x_b": x_b, "t": t},
             lambda o: compare(o["value"], x_b + t, "additive_forward(x_b, t)", {"x_b": x_b},
                               [(x_b - t, "the forward map adds the shift: y_b = x_b + t")])),
        call(f"additive_inverse(y_b, t) {x_b.shape}", f"{mod}:additive_inverse", {"y_b": x_b, "t": t},
             lambda o: compare(o["value"], x_b - t, "additive_inverse(y_b, t)", {"y_b": x_b},
                               [(x_b + t, "the inverse subtracts the shift: x_b = y_b - t")])),
        _layer_case("inside AdditiveCoupling.forward", rng, "AdditiveCoupling", "forward", layer, module=mod),
    ]


def plan_mlp(rng, variant):
    fn, d_in = "minflow.conditioner:mlp", int(rng.integers(2, 6))
    x = rng.standard_normal((int(rng.integers(4, 9)), d_in))
    relu = lambda a: np.maximum(a, 0)  # noqa: E731
    one = ref.random_params([d_in, int(rng.integers(2, 6))], rng)
    deep = ref.random_params([d_in, *rng.integers(3, 9, 2), int(rng.integers(2, 6))], rng)
    (W, b), cases = one[0], []
    for label, params, act, wrong in (
            ("no hidden layer: x @ W + b", one, "relu", [(relu(x @ W + b), "no activation on the output layer"),
                                                        (x @ W, "add the bias b")]),
            ("two hidden layers, relu", deep, "relu", [(relu(ref.mlp(deep, x)), "no activation on the output layer")]),
            ("activation='tanh': the argument chooses the activation", deep, "tanh",
             [(ref.mlp(deep, x, "relu"), "use the activation named by the argument activation_name")])):
        inputs, spec = ref.params_inputs(params)
        expected = ref.mlp(params, x, act)
        cases.append(Case(label, "call", dict(inputs, x=x), lambda o, e=expected, w=wrong: compare(
            o["value"], e, "mlp(params, x, activation)", {"x": x}, w), fn=fn, args=[spec, "x", {"json": act}]))
    inputs, spec = ref.params_inputs(deep)
    expected = autograd.grad(lambda p: anp.sum(ref.mlp(p, x, "tanh")))(deep)
    flat = lambda g: np.concatenate([np.ravel(a) for pair in g for a in pair])  # noqa: E731
    cases.append(Case("autograd's gradient in the parameters", "grad", dict(inputs, x=x), lambda o: compare(
        flat(o["value"]), flat(expected), "grad of sum(mlp(params, x, 'tanh')), flattened", hint=GRAD_WRONG),
        fn=fn, args=[spec, "x", {"json": "tanh"}], wrt=0, error_hint=GRAD_HINT))
    return cases


def _flow_problem(rng):
    """Inputs of the child's three grader layers, z = ((x c1 + b1) A) c2 + b2, and exact log p(x) by scipy."""
    d, n = int(rng.integers(2, 6)), int(rng.integers(4, 9))
    A = np.linalg.qr(rng.standard_normal((d, d)))[0] @ np.diag(rng.uniform(0.5, 1.6, d))
    c1, c2 = np.exp(0.4 * rng.standard_normal(d)), np.exp(0.4 * rng.standard_normal(d))
    b1, b2, x = rng.standard_normal(d), rng.standard_normal(d), rng.standard_normal((n, d))
    M = np.diag(c1) @ A @ np.diag(c2)
    c, M_inv = (b1 @ A) * c2 + b2, np.linalg.inv(M)
    exact = np.atleast_1d(multivariate_normal(-c @ M_inv, M_inv.T @ M_inv).logpdf(x))
    z, log_det = x @ M + c, np.full(n, np.linalg.slogdet(M)[1])
    return {"c1": c1, "b1": b1, "A": A, "c2": c2, "b2": b2, "x": x}, exact, z, log_det


def plan_flow_log_prob(rng, variant):
    fn_cases = []
    x0 = rng.standard_normal((int(rng.integers(3, 7)), int(rng.integers(2, 6))))
    e0 = ref.normal_log_prob(x0)
    fn_cases.append(Case(f"no layers: log N(x; 0, I), x {x0.shape}", "flow_log_prob", {"x": x0}, lambda o: compare(
        o["value"], e0, "flow_log_prob([], [], x)", {"x": x0}, [(-e0, "return log p(x), not -log p(x)")]),
        empty=True, trivial=True))
    for k in range(2):
        inputs, exact, z, log_det = _flow_problem(rng)
        lpz = ref.normal_log_prob(z)
        wrong = [(lpz - log_det, FLOW_SIGN_HINT), (lpz, "the log-determinant term of eq. 2 is missing"),
                 (ref.normal_log_prob(inputs["x"]) + log_det, "evaluate the prior at z = f(x), not at x")]
        fn_cases.append(Case(f"three layers (scale, dense, scale), D={len(inputs['A'])}, against scipy", "flow_log_prob",
                             inputs, lambda o, e=exact, w=wrong, x=inputs["x"]: compare(
                                 o["value"], e, "flow_log_prob(layers, params, x)", {"x": x}, w)))
    return fn_cases


def plan_mean_nll(rng, variant):
    cases = []
    for n in (int(rng.integers(5, 12)), int(rng.integers(20, 40))):
        d = int(rng.integers(2, 5))
        x, W, b = rng.standard_normal((n, d)), rng.standard_normal((d, 3)), rng.standard_normal(2)
        per_point = np.sum(np.sin(x @ W), axis=1) + np.sum(b)  # the child's stand-in log p_theta(x)
        wrong = [(np.mean(per_point), "the loss is the NEGATIVE mean log-likelihood (eq. 15)"),
                 (-np.sum(per_point), "divide by the batch size N: the loss is a mean (eq. 15)"),
                 (-per_point, "return one number, the mean over the batch")]
        cases.append(Case(f"the loss on a batch of {n} points", "mean_nll", {"x": x, "W": W, "b": b},
                          lambda o, e=-np.mean(per_point), w=wrong: compare(o["value"], e, "mean_nll(params, layers, x)",
                                                                            mistakes=w)))
    grad_W = -np.mean(np.cos(x @ W)[:, None, :] * x[:, :, None], axis=0)
    cases.append(Case("autograd's gradient of the loss (what fit() uses)", "mean_nll", {"x": x, "W": W, "b": b},
                      lambda o: compare(np.asarray(o["grad"][0][0]), grad_W, "grad of mean_nll in W", hint=GRAD_WRONG),
                      grad=True, error_hint=GRAD_HINT))
    return cases
