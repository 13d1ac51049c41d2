"""The prior and generation (thesis sections 2.1.3-2.1.4).

The prior here is N(0, sigma^2 I_D), with the scale sigma of YOUR variant: {variant:prior_scale}
Generation draws z from the prior and maps it back to data, x = f^{-1}(z) (section 2.1.4).
Reference: https://repository.tudelft.nl/record/uuid:b2bdbbe2-2dda-4fce-8266-ae73bd12de91
"""
import numpy as np

from minflow.backend import namespace
from minflow.prior import LOG_2PI

# BEGIN VARIANT
PRIOR_SCALE = 1.0
# END VARIANT


def prior_log_prob(z):
    """log N(z; 0, sigma^2 I) in nats, sigma of your variant (section 2.1.3): z (N, D) -> (N,).

    Your sigma: {variant:prior_scale}
    """
    xp = namespace(z)
    # BEGIN EXERCISE prior_log_prob: section 2.1.3: the log-density of N(0, sigma^2 I), summed over D
    d = z.shape[1]
    return (-0.5 * xp.sum(z * z, axis=1) / PRIOR_SCALE**2 - 0.5 * d * LOG_2PI
            - d * np.log(PRIOR_SCALE))
    # END EXERCISE


def sample(layers, params, n, rng):
    """n points of the flow (section 2.1.4): z ~ N(0, sigma^2 I) drawn from ``rng``, then x = f^{-1}(z).

    layers: bijectors with ``inverse(p, z) -> (x, log_det)``, applied data -> latent in list order
    (so f^{-1} runs them backwards); params: one entry per layer; rng: numpy Generator.
    Your sigma: {variant:prior_scale}.  -> x: (n, D), D = layers[0].dim
    """
    # BEGIN EXERCISE sample_flow: section 2.1.4: draw from the prior, then undo the layers, last one first
    z = PRIOR_SCALE * rng.standard_normal((n, layers[0].dim))
    for layer, p in reversed(list(zip(layers, params))):
        z = layer.inverse(p, z)[0]
    return z
    # END EXERCISE
