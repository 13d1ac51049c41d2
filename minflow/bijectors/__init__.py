"""Bijectors: each maps data-side x to latent-side y (``forward``) and back (``inverse``)."""
from .actnorm import ActNorm
from .additive import AdditiveCoupling
from .base import Bijector
from .coupling import AffineCoupling, Split
from .lu_linear import LULinear
from .permutation import Permutation, RandomPermutation, Reverse

REGISTRY = {cls.__name__: cls for cls in (AffineCoupling, AdditiveCoupling, Permutation, ActNorm, LULinear)}


def from_config(config):
    """Rebuild a bijector from its ``config()`` dict."""
    if not isinstance(config, dict) or config.get("type") not in REGISTRY:
        raise ValueError(f"layer config: expected a dict with 'type' in {sorted(REGISTRY)}, got {config!r}")
    args = {k: v for k, v in config.items() if k != "type"}
    try:
        return REGISTRY[config["type"]](**args)
    except TypeError as err:
        raise ValueError(f"layer config: bad arguments for {config['type']}: {err}") from err


__all__ = ["Bijector", "Split", "AffineCoupling", "AdditiveCoupling", "Permutation", "Reverse",
           "RandomPermutation", "ActNorm", "LULinear", "REGISTRY", "from_config"]
