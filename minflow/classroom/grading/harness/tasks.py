"""The tasks of the grading child: call the student's functions on the grader's inputs, save outputs.

Loaded by ``zygote.py`` in the sandbox, from the read-only harness folder. A task gets arrays
(``inputs``) and JSON ``params`` and returns {output name: value}; ``record_line`` encodes the
values as raw numbers (arrays keep their dtype; tuples, lists and None are kept as such) for the
grader, which decodes them with limits and judges them in its own process. The stand-ins replace the student's *other* exercises
where a task needs them (a conditioner, a log-density, a KL), through the clean copy's
``minflow.replaceable`` table (no module's names are reassigned); none of them is a solution.
"""
import base64
import importlib
import json
import os
import traceback

import autograd
import autograd.numpy as anp
import numpy as np

ROOT = {"path": ""}
LIMIT_MESSAGE = 600  # characters of an exception's text kept (the grader cuts again)
MODULES = ("minflow", "minflow.flow", "minflow.bijectors.coupling", "minflow.bijectors.additive",
           "minflow.conditioner", "minflow.thesis.information", "minflow.thesis.ood", "minflow.thesis.gaussians",
           "minflow.practice.estimates", "minflow.practice.parts", "minflow.practice.sampling",
           "minflow.practice.training", "minflow.practice.derive")


def preload(clean_root):
    """Import the clean copy's modules once, before the forks (an import error is a case's error later)."""
    ROOT["path"] = os.path.realpath(clean_root)
    import scipy.stats  # noqa: F401 - loaded once for every fork
    for name in MODULES:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - reported by the cases that need the module
            pass


def load_inputs(path):
    if not os.path.exists(path):
        return {}
    with np.load(path, allow_pickle=False) as data:
        return {k: data[k] for k in data.files}


def _fn(spec):
    module, attr = spec.split(":")
    return getattr(importlib.import_module(module), attr)


def _arg(inputs, spec):
    """An argument: an input's name, {"json": value}, or {"pairs": [[W, b], ...]} (an MLP's params)."""
    if isinstance(spec, str):
        return inputs[spec]
    if "pairs" in spec:
        return [(inputs[w], inputs[b]) for w, b in spec["pairs"]]
    if "list" in spec or "tuple" in spec:
        items = [_arg(inputs, s) for s in spec.get("list", spec.get("tuple"))]
        return items if "list" in spec else tuple(items)
    return spec["json"]


def _args(inputs, names):
    return [_arg(inputs, n) for n in names]


# --- stand-ins for the student's other exercises (not solutions) ------------------------------
def standin_conditioner(params, x, activation="relu"):
    W, b = params[0]
    return anp.sin(anp.dot(x, W) + b)


def standin_log_prob(layers, params, x):
    W, b = params[0]
    return anp.sum(anp.sin(anp.dot(x, W)), axis=1) + anp.sum(b)


def standin_kl(q, p):
    return 0.37 * q.dim + float(np.sum(p.mean ** 2))


def _grader_layers(inputs):
    """ScaleShift (z = x * c + b, c > 0) and Dense (z = x @ A) as subclasses of the student's Bijector."""
    base = importlib.import_module("minflow.bijectors").Bijector

    class ScaleShift(base):
        def __init__(self, dim):
            self.dim = dim

        def forward(self, p, x):
            return x * p[0] + p[1], anp.sum(anp.log(p[0])) * anp.ones(x.shape[0])

        def inverse(self, p, z):
            return (z - p[1]) / p[0], -anp.sum(anp.log(p[0])) * anp.ones(z.shape[0])

    class Dense(base):
        def __init__(self, dim):
            self.dim = dim

        def forward(self, p, x):
            return anp.dot(x, p[0]), anp.linalg.slogdet(p[0])[1] * anp.ones(x.shape[0])

        def inverse(self, p, z):
            return anp.dot(z, anp.linalg.inv(p[0])), -anp.linalg.slogdet(p[0])[1] * anp.ones(z.shape[0])

    d = inputs["A"].shape[0]
    layers = [ScaleShift(d), Dense(d), ScaleShift(d)]
    params = [(inputs["c1"], inputs["b1"]), (inputs["A"],), (inputs["c2"], inputs["b2"])]
    return layers, params


def _standing_in(standins):
    """The clean copy's ``minflow.replaceable.standing_in``: while it lasts, each function named
    ("module:function", an entry of its TABLE) is the stand-in. No module's names are reassigned."""
    return importlib.import_module("minflow.replaceable").standing_in(standins)


# --- the tasks ------------------------------------------------------------------------------
def task_call(inputs, params):
    return {"value": _fn(params["fn"])(*_args(inputs, params["args"]))}


def task_grad(inputs, params):
    """autograd.grad of sum(fn(*args)) in args[wrt]."""
    fn, args, i = _fn(params["fn"]), _args(inputs, params["args"]), params["wrt"]
    loss = lambda a: anp.sum(fn(*args[:i], a, *args[i + 1:]) ** params.get("power", 1))  # noqa: E731
    return {"value": autograd.grad(loss)(args[i])}


def task_gaussians(inputs, params):
    gaussian = importlib.import_module("minflow.thesis.gaussians").Gaussian
    args = [gaussian(inputs[m], inputs[c]) for m, c in params["gaussians"]]
    standins = {"minflow.thesis.information:kl_gaussian": standin_kl} if params.get("standin_kl") else {}
    with _standing_in(standins):
        return {"value": _fn(params["fn"])(*args)}


def task_coupling_layer(inputs, params):
    """A coupling layer (hidden=(), the stand-in conditioner) of the student's module, forward or inverse."""
    module = params["module"]
    standins = {"minflow.conditioner:mlp": standin_conditioner}
    standins.update({f"minflow.bijectors.coupling:{name}": STANDINS[name] for name in params.get("standins", [])})
    layer = getattr(importlib.import_module(module), params["cls"])(params["dim"], hidden=(), mask=params["mask"])
    with _standing_in(standins):
        y, log_det = getattr(layer, params["direction"])([(inputs["W"], inputs["b"])], inputs["x"])
    return {"y": y, "log_det": log_det}


STANDINS = {"affine_forward": lambda x_b, s, t: x_b + 0.0 * s, "affine_log_det": lambda s: 0.0 * s[:, 0],
            "affine_inverse": lambda y_b, s, t: y_b + 0.0 * s}


def task_flow_log_prob(inputs, params):
    layers, layer_params = ([], []) if params.get("empty") else _grader_layers(inputs)
    return {"value": importlib.import_module("minflow.flow").flow_log_prob(layers, layer_params, inputs["x"])}


def task_mean_nll(inputs, params):
    flow = importlib.import_module("minflow.flow")
    p = [(inputs["W"], inputs["b"])]
    with _standing_in({"minflow.flow:flow_log_prob": standin_log_prob}):
        value = flow.mean_nll(p, [], inputs["x"])
        grad = autograd.grad(flow.mean_nll)(p, [], inputs["x"]) if params.get("grad") else None
    return {"value": value, "grad": grad}


def task_sample_flow(inputs, params):
    layers, layer_params = _grader_layers(inputs)
    sample, (n, seed) = _fn("minflow.practice.sampling:sample"), (params["n"], params["seed"])
    runs = [sample(layers, layer_params, n, np.random.default_rng(s)) for s in (seed, seed, seed + 1)]
    return {"x": runs[0], "again": runs[1], "other_seed": runs[2]}


def task_train_epoch(inputs, params):
    """One epoch of the student's loop on a diagonal Gaussian's NLL, plain SGD as the step."""
    seen = []

    def loss_and_grad(p, batch):
        seen.append(np.array(batch, dtype=np.float64))
        mu, log_s = p
        w = (batch - mu) * anp.exp(-log_s)
        grad_mu = -np.mean(w * anp.exp(-log_s), axis=0)
        grad_log_s = np.mean(1.0 - w * w, axis=0)
        return float(np.mean(0.5 * w * w + log_s)), [grad_mu, grad_log_s]

    def step(p, g):
        return [pi - params["lr"] * gi for pi, gi in zip(p, g)]

    out = _fn("minflow.practice.training:train_epoch")([inputs["mu"], inputs["log_s"]], loss_and_grad, inputs["x"],
                                                       params["batch_size"], step, np.random.default_rng(params["seed"]))
    return {"params": out, "batches": seen}


TASKS = {"call": task_call, "grad": task_grad, "gaussians": task_gaussians, "coupling_layer": task_coupling_layer,
         "flow_log_prob": task_flow_log_prob, "mean_nll": task_mean_nll, "sample_flow": task_sample_flow,
         "train_epoch": task_train_epoch}


def run_case(task, inputs, params):
    return {"status": "ok", "outputs": TASKS[task](inputs, params)}


# --- errors and outputs ----------------------------------------------------------------------
def error_record(err):
    """{status, message} for an exception of the student's code, with the line in the workspace."""
    message = f"{type(err).__name__}: {str(err)[:LIMIT_MESSAGE]}"
    if isinstance(err, NotImplementedError) and str(err).startswith("Exercise "):
        return {"status": "not implemented", "message": str(err)[:LIMIT_MESSAGE]}
    frames = [f for f in traceback.extract_tb(err.__traceback__)
              if ROOT["path"] and os.path.realpath(f.filename).startswith(ROOT["path"])]
    if frames:
        f = frames[-1]
        rel = os.path.relpath(os.path.realpath(f.filename), ROOT["path"])
        message += f" (in {rel}, line {f.lineno}, {f.name}: {(f.line or '').strip()})"
    return {"status": "error", "message": message}


LIMIT_ITEMS = 10000  # a list or tuple of more items is not a result of any task


def _encode(value, depth=0):
    """Plain JSON for ``value``: None, lists and tuples as such, numbers as raw bytes (base64) with their
    dtype and shape, anything else by its type's name only. No pickle: the grader decodes it with limits."""
    if value is None:
        return {"kind": "none"}
    if isinstance(value, (tuple, list)) and depth < 8 and len(value) <= LIMIT_ITEMS:
        return {"kind": type(value).__name__, "items": [_encode(v, depth + 1) for v in value]}
    value = getattr(value, "_value", value)  # an autograd box, should one escape
    try:
        arr = np.asarray(value)
    except Exception:  # noqa: BLE001
        return {"kind": "object", "type": type(value).__name__[:60]}
    if arr.dtype.kind not in "biufc" or arr.dtype.byteorder == ">":
        return {"kind": "object", "type": type(value).__name__[:60]}
    return {"kind": "array", "dtype": arr.dtype.str, "shape": list(arr.shape),
            "data": base64.b64encode(arr.tobytes()).decode("ascii")}


def record_line(k, record):
    """Case ``k``'s record as one line of JSON (bytes, newline-terminated) for the grader."""
    if "outputs" in record:
        record = dict(record, outputs={str(key): _encode(v) for key, v in record["outputs"].items()})
    return (json.dumps(dict(record, k=k), allow_nan=False) + "\n").encode()
