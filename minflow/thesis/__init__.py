"""The thesis room: the experiments of de Bruin (TU Delft, 2024) on top of the model.

    gaussians      p, q(s, t), q_delta(s, t), q_out(s, t): the thesis's Gaussian test distributions
    information    entropy, KL and cross-entropy, analytic and estimated (sections 2.2, 3.2)
    ood            likelihood bounds, TNR, AUROC, typicality (sections 3.2.4, 8)
    plotting       KDE panels
    checks         input checks shared by the above: reject (never coerce), name the argument
    pipeline/      what runs and stores the cells of a reproduction (config, runner, run files)
    verdicts/      the rules of claims C1-C10, their bars and words, counting over seeds
    documents/     figures, REPRODUCTION.md, provenance, and the studies (capacity, ablations, regimes)
    cli            ``python -m minflow reproduce | claims | figures | report | capacity``

Each floor imports only those listed above it (and the science: gaussians ... checks).
It imports the model (``minflow.flow``, ``minflow.train``, ...), never the other way round.
"""
