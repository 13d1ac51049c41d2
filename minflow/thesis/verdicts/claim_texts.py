"""The words of rules v2: what the thesis says of each finding C1-C10 (``THESIS``: section, statement) and
the rule that decides it (``RULES``), one line each. The rules' code is ``claims.py``; why they are as they
are: reproduction/RULES.md. Kept apart from the code so that each fits on a screen."""

RULES = {
    "C1": "Per D, on Q(p) (generalisation s=1, t=0): (a) mean log p_theta <= mean log p + 3 se(gap); "
          "(b) small gap (ours): Delta_HC <= 0.25 sd(log p).",
    "C2": "Per D, every test set of every family: |H*(q,p) - H(q,p)| <= 4 se(H*(q,p)). "
          "A claim about the estimator with the true density: its checks are its subject.",
    "C3": "Per D, generalisation with t=0 over all s: (a) roughly constant gap (ours): max_s gap - min_s gap "
          "<= max(0.5 mean_s gap, 0.1 sd(log p over Q(p))); (b) (ours) Var(log p_theta)/Var(log p) in [2/3, 3/2] at every s.",
    "C4": "Per D, generalisation with s=1, over = H*(q,p) - H*(q,p_theta) signed: (a) at every t>0 the model "
          "over-rates: over > max(3 se, 0.05 sd(log p)) (ours); (b) over strictly increases along T; "
          "(c) at every t>0, D*(q||p_theta) < KL(q||p).",
    "C5": "D=20, generalisation s=0.75, t=0.25: (a) (ours) sep of log p_theta between Q(q) and Q(p) <= 0.2; "
          "(b) (ours) TNR of p_theta at TPR 0.975 <= 0.10. Calibration: the same for log p.",
    "C6": "Perturbed s=1, t=0: (a) per D, sep_p - sep_ptheta > 3 se(sep); (b) per D >= 50, sep_ptheta <= 0.1 (ours); "
          "(c) sep_ptheta does not increase with D (ours: tolerance 0.02 + 3 se). Calibration: sep_p per D.",
    "C7": "Per D: (a) (ours) for >= 75% of the (s,t), |H*(q_delta,p_theta) - H*(q,p_theta)| < |H*(q_delta,p) - H*(q,p)|; "
          "(b) at t=1 (the thesis's hard cases; not evaluated without t=1 in the grid) some s>1 has "
          "D*(q_delta||p_theta) < D*(q||p_theta). Calibration: the same with the analytic KL(.||p).",
    "C8": "Outlier s=1, t=0, per D: (a) the model over-rates: over > max(3 se, 0.05 sd(log p)) (ours); "
          "(b) (ours) sep_ptheta <= 0.5; (c) at D=100: mean log p_theta over Q(q_out) - over Q(p) > 3 se. "
          "Calibration: sep_p.",
    "C9": "Outlier family, per D: (a) at t=0, mean log p_theta strictly decreases as s grows; (b) at t=0, "
          "Var(log p_theta) strictly increases as s grows; (c) at s=1, mean log p_theta strictly decreases as t grows. "
          "Calibration: whether log p shows the same trends.",
    "C10": "D=50, TPR 0.975; outlier averages over the thesis's grid (t <= 0.75): (a) (ours) mean TNR(p_theta) <= 0.5; "
           "(b) mean TNR(p_theta) over s<1 < over s>=1; perturbed s=1,t=0: (c) (ours) TNR(p_theta) <= 0.10, "
           "(d) (ours) TNR(p) - TNR(p_theta) >= 0.10; perturbed s=0.25,t=0.5: (e) (ours) TNR(p_theta) <= 0.10, "
           "(f) (ours) TNR(p) - TNR(p_theta) >= 0.10. Calibration: TNR(p) mean and min on outliers (thesis 0.98, 0.96), "
           "on the perturbed sets (thesis 0.38, 0.91).",
}

THESIS = {
    "C1": ("4", "On Q(p), E_p[log p_theta] <= E_p[log p] with a small gap for every D; the KDEs overlap."),
    "C2": ("3.2.1-2", "H*(q,p) matches the analytic H(q,p), and H*(q,p) - H(q) matches KL(q||p), for every q."),
    "C3": ("5.2.1", "Changing only s (t=0): Delta_HC stays roughly constant; Var(log p_theta) tracks Var(log p)."),
    "C4": ("5.2.2", "Increasing t (s=1): H*(q,p_theta) falls below H*(q,p), Delta_HC grows with t; D*(q||p_theta) < KL(q||p)."),
    "C5": ("5.2.3", "s=0.75, t=0.25 (D=20): the KDEs of log p_theta over Q(q) and over Q(p) overlap almost fully."),
    "C6": ("6.2.1", "Perturbed (s=1,t=0): log p_theta cannot tell Q(q_delta) from Q(p), more so as D grows "
                    "(indistinguishable for D>=50), while log p still can."),
    "C7": ("6.2.2", "For each (s,t), H*(q_delta,p_theta) stays close to H*(q,p_theta); for hard cases (t=1, s>1) "
                    "D*(q_delta||p_theta) can be below D*(q||p_theta)."),
    "C8": ("7.1", "Outliers: p_theta overestimates their density; log p_theta over Q(q_out) overlaps Q(p); "
                  "at D=100 outliers get a slightly higher mean log p_theta than training data."),
    "C9": ("7.1.1", "Outlier variants: smaller s raises log p_theta and shrinks its variance; larger s lowers it and "
                    "widens it; larger t lowers it."),
    "C10": ("8.2", "D=50, TPR 0.975: TNR of p_theta is poor on outliers (worst for s<1), about 0.98 with the true p; "
                   "perturbed s=1,t=0: 0.02 (p_theta) vs 0.38 (p); s=0.25,t=0.5: ~0 (p_theta) vs 0.91 (p)."),
}
