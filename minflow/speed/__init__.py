"""The speed room: the model's numbers, computed faster. Nothing in the model imports it.

It registers two engines with ``minflow.engine`` (the package face imports this room):

* ``"primitives"`` (the default) - evaluation by the in-place kernels of ``kernels.py``;
  training by autograd over one hand-differentiated primitive per affine coupling
  (``primitives.py``), so any flow trains, and couplings cost one autograd node each;
* ``"manual"``     - the same evaluation; training by the backward pass written out by hand
  (``manual.py``, a lesson in itself); flows of affine couplings only.

Both update the parameters with ``adam.py``, Adam with fewer allocations.

``tests/test_speed.py`` checks both against the reference engine (log_prob 1e-10, gradients 1e-8).
"""
from .. import engine
from . import kernels, manual, primitives
from .adam import adam_step_fused

engine.register("primitives", engine.Engine(log_prob=kernels.log_prob_in_place,
                                            value_and_grad=primitives.primitive_value_and_grad,
                                            adam_step=adam_step_fused))
engine.register("manual", engine.Engine(log_prob=kernels.log_prob_in_place,
                                        value_and_grad=manual.manual_value_and_grad, adam_step=adam_step_fused))
