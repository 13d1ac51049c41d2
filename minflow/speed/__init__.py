"""The speed room: the model's numbers, computed faster. Nothing in the model imports it.

It offers two engines, ``ENGINES`` (the package face installs them in ``minflow.engine``):

* ``"primitives"`` (the default) - evaluation by the in-place kernels of ``kernels.py``;
  training by autograd over one hand-differentiated primitive per affine coupling
  (``primitives.py``), so any flow trains, and couplings cost one autograd node each;
* ``"manual"``     - the same evaluation; training by the backward pass written out by hand
  (``manual.py``, a lesson in itself); flows of affine couplings only.

Both update the parameters with ``adam.py``, Adam with fewer allocations.

``tests/test_speed.py`` checks both against the reference engine (log_prob 1e-10, gradients 1e-8).
"""
from ..engine import Engine
from . import kernels, manual, primitives
from .adam import adam_step_fused

# handed to minflow.engine by the package face (minflow/__init__.py); importing this room registers nothing
ENGINES = {"primitives": Engine(log_prob=kernels.log_prob_in_place, value_and_grad=primitives.primitive_value_and_grad,
                                adam_step=adam_step_fused),
           "manual": Engine(log_prob=kernels.log_prob_in_place, value_and_grad=manual.manual_value_and_grad,
                            adam_step=adam_step_fused)}
DEFAULT = "primitives"
