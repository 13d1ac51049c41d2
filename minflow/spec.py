"""The model's specification: every option of ``RealNVP`` in one frozen record, each default written once.

    spec = RealNVPSpec()                                        # the thesis's core model
    wide = dataclasses.replace(spec, hidden=(128, 128), s_max=None)
    flow = RealNVP(dim, spec=wide, rng=rng)                     # or RealNVP(dim, hidden=(128, 128), ...)

The thesis's runs, the regime sweep, the lessons, the classroom's reference and the benchmarks'
PyTorch model hold a ``RealNVPSpec`` (or read its defaults) instead of restating the fields.
A spec is checked once, when it is made: a bad field is a ValueError/TypeError naming it.

The layers it builds (section 2.1, appendix D for the options), for k = 0 .. n_layers - 1:

    [ActNorm]  [LU linear | permutation (k > 0)]  coupling(mask, flip = k odd when nothing permutes)
"""
import dataclasses
from dataclasses import dataclass

from . import bijectors, conditioner
from .bijectors.coupling import MASKS, S_MAX, check_s_max
from .validation import check_bool, check_hidden, check_int

COUPLINGS = ("affine", "additive")
PERMUTATIONS = (None, "reverse", "random")


@dataclass(frozen=True)
class RealNVPSpec:
    """Every option of RealNVP (the architecture; not the dimension, dtype or engine)."""

    n_layers: int = 8                          # coupling layers K
    hidden: tuple = conditioner.HIDDEN         # widths of each conditioner MLP's hidden layers
    activation: str = conditioner.ACTIVATION   # a name of conditioner.ACTIVATIONS
    mask: str = MASKS[0]                       # "half": x_a = first D//2 columns; "alternate": even columns
    coupling: str = COUPLINGS[0]               # "affine" (eq. 3) or "additive" (NICE: s = 0)
    permutation: str = None                    # None (halves alternate), "reverse" or "random" between couplings
    actnorm: bool = False                      # Glow's ActNorm before each coupling
    lu: bool = False                           # Glow's LU 1x1 linear layer before each coupling
    s_max: float = S_MAX                       # bound on s: s = s_max tanh(s_raw / s_max); None: unbounded

    def __post_init__(self):
        check = {"n_layers": lambda v: check_int(v, "n_layers", minimum=1),
                 "hidden": lambda v: tuple(check_hidden(v)),
                 "activation": _activation, "mask": lambda v: _choice(v, "mask", MASKS),
                 "coupling": lambda v: _choice(v, "coupling", COUPLINGS),
                 "permutation": lambda v: _choice(v, "permutation", PERMUTATIONS),
                 "actnorm": lambda v: check_bool(v, "actnorm"), "lu": lambda v: check_bool(v, "lu"),
                 "s_max": check_s_max}
        for f in dataclasses.fields(self):
            object.__setattr__(self, f.name, check[f.name](getattr(self, f.name)))

    def layers(self, dim, rng):
        """The bijectors of a flow on D = dim (see the module docstring); ``rng`` draws the random ones."""
        layers = []
        for k in range(self.n_layers):
            if self.actnorm:
                layers.append(bijectors.ActNorm(dim))
            if self.lu:
                layers.append(bijectors.LULinear(dim, perm=rng.permutation(dim)))
            elif self.permutation == "reverse" and k > 0:
                layers.append(bijectors.Reverse(dim))
            elif self.permutation == "random" and k > 0:
                layers.append(bijectors.RandomPermutation(dim, rng))
            layers.append(self._coupling(dim, flip=k % 2 == 1 and self.permutation is None and not self.lu))
        return layers

    def _coupling(self, dim, flip):
        if self.coupling == "affine":
            return bijectors.AffineCoupling(dim, self.hidden, self.mask, flip, self.activation, self.s_max)
        return bijectors.AdditiveCoupling(dim, self.hidden, self.mask, flip, self.activation)

    def to_dict(self):
        """JSON-ready: {field: value}, hidden as a list, s_max None when unbounded."""
        return {f.name: list(v) if isinstance(v := getattr(self, f.name), tuple) else v
                for f in dataclasses.fields(self)}

    @classmethod
    def from_dict(cls, data, name="spec"):
        """The inverse of ``to_dict``; a missing field takes its default, an unknown one is an error."""
        if not isinstance(data, dict):
            raise TypeError(f"{name}: expected a dict of RealNVPSpec fields, got {type(data).__name__}")
        unknown = sorted(set(data) - {f.name for f in dataclasses.fields(cls)})
        if unknown:
            raise ValueError(f"{name}: unknown fields {unknown}; RealNVPSpec has {field_names()}")
        return cls(**data)


def field_names():
    return [f.name for f in dataclasses.fields(RealNVPSpec)]


def make_spec(spec=None, **options):
    """``spec`` (default ``RealNVPSpec()``) with ``options`` replaced, checked: RealNVP's arguments.

    An option that is not a field is a TypeError naming it (as an unknown keyword argument is)."""
    if spec is None:
        spec = RealNVPSpec()
    elif not isinstance(spec, RealNVPSpec):
        raise TypeError(f"spec: expected a RealNVPSpec, got {type(spec).__name__}")
    unknown = sorted(set(options) - set(field_names()))
    if unknown:
        raise TypeError(f"RealNVP got unexpected options {unknown}; its options are {field_names()}")
    return dataclasses.replace(spec, **options) if options else spec


def _choice(value, name, allowed):
    if not any(value is a or (isinstance(value, str) and value == a) for a in allowed):
        raise ValueError(f"{name}: expected one of {list(allowed)}, got {value!r}")
    return value


def _activation(name):
    conditioner.activation(name)  # a ValueError listing the known names
    return name
