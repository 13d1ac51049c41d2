"""The functions that the classroom's grader may replace by a stand-in, and the one way it does so.

To grade one exercise on its own, the grader runs it with the student's *other* exercises replaced
by stand-ins (fixed functions, not solutions): ``AffineCoupling.forward`` with a fixed conditioner
instead of the student's ``mlp``, ``mean_nll`` with a fixed log-density instead of their
``flow_log_prob``, and so on. ``TABLE`` lists every such function, by "module:name", with the code
that calls it. Each is defined under ``@replaceable``: the decorator checks that the function is in
``TABLE`` and wraps it, so that *every* call of it, under any name the caller imported it by, first
looks for a stand-in. Outside the grader there is none and the wrapper calls the function itself,
so the numbers are the same. Importing registers nothing, and nothing reassigns a module's names:

    with standing_in({"minflow.conditioner:mlp": fixed_mlp}):
        layer.forward(params, x)          # s and t come from fixed_mlp

``tests/test_replaceable.py`` fails if an entry is not wrapped or if the code that uses it stops
calling it (e.g. a coupling layer that inlined eq. 3 instead of calling ``affine_forward``).
"""
import contextlib
import functools

# "module:function" -> the code that calls it (where a stand-in takes effect)
TABLE = {
    "minflow.conditioner:mlp": "AffineCoupling.scale_shift, AdditiveCoupling.shift (s and t, t)",
    "minflow.bijectors.coupling:affine_forward": "AffineCoupling.forward (eq. 3)",
    "minflow.bijectors.coupling:affine_inverse": "AffineCoupling.inverse (eq. 4)",
    "minflow.bijectors.coupling:affine_log_det": "AffineCoupling.forward and .inverse (eq. 5-6)",
    "minflow.flow:flow_log_prob": "mean_nll (eq. 15)",
    "minflow.thesis.information:kl_gaussian": "cross_entropy_gaussian (eq. 10)",
}

_STANDINS = {}  # "module:function" -> its stand-in; empty except inside ``standing_in``


def replaceable(fn):
    """``fn``, called through the table of stand-ins (``fn`` must be listed in ``TABLE``)."""
    key = f"{fn.__module__}:{fn.__name__}"
    if key not in TABLE:
        raise ValueError(f"replaceable: {key} is not listed in minflow/replaceable.py's TABLE")

    @functools.wraps(fn)
    def call(*args, **kwargs):
        return _STANDINS.get(key, fn)(*args, **kwargs)

    call.replaceable = key
    return call


@contextlib.contextmanager
def standing_in(standins):
    """Inside this block, each function named in ``standins`` ({"module:function": stand-in}) is the stand-in."""
    unknown = sorted(set(standins) - set(TABLE))
    if unknown:
        raise ValueError(f"standins: {unknown} are not listed in minflow/replaceable.py's TABLE {sorted(TABLE)}")
    before = dict(_STANDINS)
    _STANDINS.update(standins)
    try:
        yield
    finally:
        _STANDINS.clear()
        _STANDINS.update(before)
