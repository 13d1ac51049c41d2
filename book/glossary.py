r"""The book's glossary page, and the links from each lesson's first use of a term to it.

TERMS: (anchor, name, definition in Markdown with its formula in $...$, the thesis section, the pattern of the
term in the lessons' prose). `glossary_markdown()` is the page (glossary.html, one anchor per term);
`link_terms(nb)` links, on one lesson page, the first occurrence of each term in the prose to
glossary.html#<anchor>: markdown cells only (never code or printed output), and never inside an equation,
a code span (except one that is exactly the term, as `sep`), a link, an HTML tag or a heading. The prose
typesets its math, so a term is often written only as inline math ($\Delta_{HC}$, $\mathrm{KL}(p \| q)$):
an inline equation that contains the term's symbol (MATH) is linked whole. The lesson files are not
changed: the notebook is changed after it ran, before it becomes HTML.
"""
import re

PAGE = "glossary.html"

TERMS = (
    ("h-star", "H* (the estimated cross-entropy)",
     r"The cross-entropy of a model $p_\theta$ on a sample $x_1, \dots, x_N$ of $q$, estimated by the sample mean "
     r"of eq. 14: $H^*(q, p_\theta) = -\frac{1}{N}\sum_{i=1}^{N} \log p_\theta(x_i)$, in nats (the thesis prints "
     r"it without the minus sign). Its expectation is the cross-entropy $H(q, p_\theta)$.",
     "3.2.1, eq. 14", r"H\*"),
    ("d-star", "D* (the estimated KL divergence)",
     r"The KL divergence of $p_\theta$ from $q$ estimated from the same sample: "
     r"$D^*(q \| p_\theta) = H^*(q, p_\theta) - H(q)$, with $H(q) = \frac{1}{2}\log\det(2\pi e\,\Sigma_q)$ for a "
     r"Gaussian $q$; in expectation $\mathrm{KL}(q \| p_\theta) \ge 0$.",
     "3.2.2", r"D\*"),
    ("delta-hc", "Delta_HC (the cross-entropy gap)",
     r"How far the model's cross-entropy on a fresh sample $Q(p)$ of the training distribution is from the true "
     r"density's: $\Delta_{HC} = \left|H^*(p, p) - H^*(p, p_\theta)\right|$, in expectation "
     r"$\mathrm{KL}(p \| p_\theta)$ (eq. 18). The lessons call a fit close when $\Delta_{HC} \le 0.25\,\mathrm{sd}(\log p)$.",
     "5.2.1", r"Delta_\{?HC\}?|Δ_HC"),
    ("sep", "sep (separability, this project's)",
     r"How well log-likelihood scores tell a test set $Q(q)$ from a sample $Q(p)$ of the training distribution: "
     r"$\mathrm{sep} = |2\,\mathrm{AUROC} - 1|$, 0 when the two score distributions coincide and 1 when they do "
     r"not overlap. The thesis reads the same thing from its KDEs by eye; OVL (below) is its number for it.",
     "6 (the KDEs it puts a number on)", r"`sep`|\bsep\b"),
    ("ovl", "OVL (the overlap coefficient)",
     r"The thesis's measure of how much two distributions of scores overlap: "
     r"$\mathrm{OVL} = \int \min[f(v), g(v)]\,dv$, with $f$ and $g$ the densities (KDEs) of the log-likelihoods of "
     r"the two sets; 1 when they coincide, 0 when they share no mass ($1 - \mathrm{OVL}$ is their total-variation "
     r"distance). For two equal-variance Gaussians $\delta$ standard deviations apart, $\mathrm{OVL} = 2\Phi(-\delta/2)$ "
     r"while $\mathrm{sep} = 2\Phi(\delta/\sqrt{2}) - 1$.",
     "3.2.4", r"\bOVL\b|overlap coefficient"),
    ("tnr", "TNR at a fixed TPR",
     r"The out-of-distribution detector of section 8.1 fits bounds $L < U$ on the log-likelihoods of in-distribution "
     r"points so that a fraction $\mathrm{TPR}$ (0.975 here) falls inside, and flags a point $y$ when "
     r"$\log p_\theta(y) \notin [L, U]$; the true negative rate is the fraction of an out-of-distribution set that is "
     r"flagged, $\mathrm{TNR} = \frac{1}{M}\sum_{j=1}^{M} \mathbf{1}[\log p_\theta(y_j) \notin [L, U]]$.",
     "8.1", r"\bTNR\b"),
    ("typical-set", "the typical set",
     r"Where a high-dimensional distribution puts its mass: the points whose log-density is close to minus the "
     r"entropy, $A_\epsilon = \{x : |{-\tfrac{1}{D}}\log p(x) - \tfrac{1}{D}H(p)| \le \epsilon\}$. For "
     r"$N(0, I_D)$ it is a thin shell of radius about $\sqrt{D}$, far from the mode $x = 0$, whose density is the "
     r"highest but near which almost no sample lies.",
     "5.2.1", r"typical set"),
    ("kl", "KL (the Kullback-Leibler divergence)",
     r"$\mathrm{KL}(q \| p) = \int q(x) \log\frac{q(x)}{p(x)}\,dx \ge 0$, zero only when $q = p$, and not symmetric; "
     r"for two Gaussians it has the closed form of Proposition 1.",
     "2.2.2, eq. 9; 3.2.2, Proposition 1", r"\bKL\b|Kullback-Leibler"),
    ("cross-entropy", "cross-entropy",
     r"The expected code length, in nats, of samples of $q$ under the density $p$: "
     r"$H(q, p) = -\int q(x)\log p(x)\,dx = H(q) + \mathrm{KL}(q \| p)$ (eq. 10), so it is smallest, $H(q)$, "
     r"when $p = q$. Maximum likelihood minimises $H(p, p_\theta)$ (eq. 15-17).",
     "2.2.2, eq. 10", r"(?i:cross-entropy)"),
)


def glossary_markdown():
    """The glossary page (Markdown): one paragraph per term, each with its anchor."""
    lines = ["# Glossary", "",
             "The terms of the lessons and the thesis, each with its formula and the thesis section that defines "
             "it. Each lesson links the first use of a term here. [Contents](index.html)", ""]
    for anchor, name, text, section, _ in TERMS:
        lines += [f'<a id="{anchor}"></a>', "", f"**{name.replace('*', chr(92) + '*')}** (thesis section {section}). {text}", ""]
    return "\n".join(lines)


# Where a term is never linked: fenced code, display and inline math, code spans, links and images, HTML
# tags and autolinks, URLs, and headings.
PROTECTED = re.compile(r"```.*?```|\$\$.*?\$\$|\$[^$\n]+\$|`[^`\n]+`|!?\[[^\]]*\]\([^)]*\)|</?[A-Za-z][^>\n]*>"
                       r"|https?://\S+|^#[^\n]*", re.S | re.M)


# The symbol of each term inside inline math ($...$), as the lessons typeset it.
MATH = {"h-star": r"H\^\{?(?:\\ast|\*)\}?", "d-star": r"D\^\{?(?:\\ast|\*)\}?", "delta-hc": r"\\Delta_\{?HC\}?",
        "sep": r"\\mathrm\{sep\}", "ovl": r"\\mathrm\{OVL\}", "tnr": r"\\mathrm\{TNR\}", "kl": r"\\mathrm\{KL\}"}


def _math_term(span, anchor):
    """True when span is an inline equation ($...$, not $$...$$) that writes the term's symbol; one with a
    bracket is left alone (it would end the link's text early)."""
    return (anchor in MATH and span.startswith("$") and not span.startswith("$$") and not re.search(r"[\[\]]", span)
            and re.search(MATH[anchor], span) is not None)


def _link_first(source, pattern, anchor):
    """source with the first free match of pattern linked to the glossary; None if there is none."""
    pos = 0
    spans = [(m.start(), m.end()) for m in PROTECTED.finditer(source)] + [(len(source), len(source))]
    for start, end in spans:
        m = re.search(pattern, source[pos:start])
        if m:
            a, b = pos + m.start(), pos + m.end()
            return source[:a] + f"[{source[a:b]}]({PAGE}#{anchor})" + source[b:]
        span = source[start:end]
        if start < end and ((re.fullmatch(pattern, span) and span[0] == "`") or _math_term(span, anchor)):
            return source[:start] + f"[{span}]({PAGE}#{anchor})" + source[end:]
        pos = end
    return None


def link_terms(nb):
    """Link the first use of each glossary term in the lesson's markdown cells; -> the anchors linked."""
    linked = []
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        for anchor, _, _, _, pattern in TERMS:
            if anchor in linked:
                continue
            new = _link_first(cell.source, pattern, anchor)
            if new is not None:
                cell.source = new
                linked.append(anchor)
    return linked
