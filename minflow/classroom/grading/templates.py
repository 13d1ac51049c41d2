"""Text written into a generated exercises workspace (by ``minflow.classroom.exercises``).

Kept here, with the grader, so that the generator stays short; nothing here is a solution.
"""
# The workspace's minflow/speed/ holds this one file, in place of the speed room.
SPEED_STANDIN = '''"""Stand-in for minflow's speed room in an exercises workspace.

In a workspace every flow runs the reference engine, your code: ``Flow.log_prob`` evaluates your
``flow_log_prob`` (and through it your couplings and MLP), and ``fit`` differentiates your
``mean_nll`` with autograd. The real speed room computes the same formulas in fused code: it would
give the solutions away and run instead of your code, so it is left out, and no other engine is
registered (``minflow.engine.names()`` is ``['reference']``).
"""
from .. import engine

engine.DEFAULT = "reference"
'''

# exercises/README.md; {count} and {rows} are filled in by minflow.classroom.exercises.workspace_readme.
README = """# minflow exercises

This folder is a copy of the minflow library in which {count} pieces have been cut out.
Each one is a stub that raises `NotImplementedError("Exercise <name>: <hint>")`; replace the
stub (the `raise` line and the comment above it) by your code. Everything else is the working
library, so once a piece is done, the code around it runs on your implementation: every flow
here uses the reference engine (`flow.engine == "reference"`), which is your code; the library's
faster engines (`minflow/speed/`) are left out of this folder.

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
python -m minflow.classroom.grade --workspace exercises                    # every exercise
python -m minflow.classroom.grade coupling_log_det --workspace exercises   # just one
```

Each exercise scores the fraction of its checks that pass; a failed check names the input, the
expected and the obtained values, and often the likely mistake ("check the sign of the
log-determinant"). A stub scores 0 for its exercise only.
"""
