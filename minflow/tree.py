"""Tiny helpers for parameter trees: nested lists, tuples and dicts of arrays."""


def tree_leaves(tree):
    """All arrays of ``tree``, depth first, in a fixed order."""
    if isinstance(tree, dict):
        return [leaf for k in sorted(tree) for leaf in tree_leaves(tree[k])]
    if isinstance(tree, (list, tuple)):
        return [leaf for t in tree for leaf in tree_leaves(t)]
    return [tree]


def tree_map(fn, tree, *rest):
    """Apply ``fn`` leafwise to ``tree`` (and the trees in ``rest``), keeping the structure."""
    if isinstance(tree, dict):
        return {k: tree_map(fn, tree[k], *(r[k] for r in rest)) for k in tree}
    if isinstance(tree, (list, tuple)):
        return type(tree)(tree_map(fn, *children) for children in zip(tree, *rest))
    return fn(tree, *rest)


def tree_unflatten(template, leaves):
    """The tree with the structure of ``template`` and the arrays of ``leaves`` (in tree_leaves order)."""
    leaves = iter(leaves)

    def build(t):
        if isinstance(t, dict):
            return {k: build(t[k]) for k in sorted(t)}
        if isinstance(t, (list, tuple)):
            return type(t)(build(c) for c in t)
        return next(leaves)
    return build(template)


def tree_paths(tree, prefix=""):
    """(path, leaf) pairs, paths like ``"3/0/1"``: used to name arrays in checkpoints."""
    if isinstance(tree, dict):
        return [pl for k in sorted(tree) for pl in tree_paths(tree[k], f"{prefix}{k}/")]
    if isinstance(tree, (list, tuple)):
        return [pl for i, t in enumerate(tree) for pl in tree_paths(t, f"{prefix}{i}/")]
    return [(prefix.rstrip("/"), tree)]
