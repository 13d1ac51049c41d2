"""Text written into a generated exercises workspace (the package is ``minflow.exercises``).

Kept here, with the grader, so that the generator stays short; nothing here is a solution.
"""
# Every module of the speed layer (minflow/engines, minflow/fast.py) is replaced by this in a workspace.
STANDIN = '''"""Stand-in for minflow's speed layer in an exercises workspace.

The real module computes the exercised formulas in fast, fused code: it would give the solutions
away and run instead of yours. Here every fast path falls back to the reference code, which is
yours: Flow.log_prob runs flow.log_prob, and every training engine is autograd through flow.mean_nll.
"""
ENABLED = False  # Flow.log_prob takes the reference path
BEST_CHUNK = 4096


def log_prob(layers, params, x, chunk_size=None):
    from minflow.flow import log_prob as reference

    return reference(layers, params, x)


def reference_engine(layers):
    """(params, x) -> (mean NLL, its gradient), by autograd through your mean_nll."""
    from autograd import value_and_grad
    from minflow.flow import mean_nll

    value_and_grad_fn = value_and_grad(mean_nll)
    return lambda params, x: value_and_grad_fn(params, layers, x)


def __getattr__(name):
    if name.endswith("_engine"):
        return reference_engine
    raise AttributeError(f"{__name__}.{name}: not in an exercises workspace (the speed layer is left out)")
'''

# exercises/README.md; {count} and {rows} are filled in by minflow.exercises.workspace_readme.
README = """# minflow exercises

This folder is a copy of the minflow library in which {count} pieces have been cut out.
Each one is a stub that raises `NotImplementedError("Exercise <name>: <hint>")`; replace the
stub (the `raise` line and the comment above it) by your code. Everything else is the working
library, so once a piece is done, the code around it runs on your implementation.

Conventions: `forward` maps data x to latent z, `inverse` maps z to x, `log_prob` is in nats,
arrays are `(N, D)`. Compute with `xp = namespace(x)` (`xp.exp`, `xp.sum`, ...) as the stubbed
functions already do, and never assign into arrays: autograd must be able to differentiate
your code. The docstring above each stub gives the formula, the thesis equation and the shapes.

## The exercises, in order

| # | exercise | lesson | where | hint |
| --- | --- | --- | --- | --- |
{rows}

## Trying your code

Run Python from this folder, so that `import minflow` loads your copy:

```bash
cd exercises
python -c "import minflow; print(minflow.__file__)"   # must print a path inside this folder
PYTHONPATH=. python ../lessons/02_affine_coupling.py    # a lesson, on your implementation
```

## Grading

Your teacher grades the folder with the minflow repository's grader (its checks are not in this
folder):

```bash
python -m minflow.grade --workspace exercises             # every exercise
python -m minflow.grade coupling_log_det --workspace exercises   # just one
```

Each exercise scores the fraction of its checks that pass; a failed check names the input, the
expected and the obtained values, and often the likely mistake ("check the sign of the
log-determinant"). A stub scores 0 for its exercise only.
"""
