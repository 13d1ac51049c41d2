"""The classroom's own exercises: small, self-contained functions that the library has no fence for.

Each module here is a template of a workspace module ``minflow/practice/<name>.py``: the generator
(``minflow.classroom.exercises``) copies it with every exercise fence stubbed, the
VARIANT block removed and each ``{variant:<key>}`` in a docstring replaced by the
student's variant in words (``variants.py``). The solutions read the variant constants of the
VARIANT block; a workspace has no such constants, so a student writes the values of their own
variant, and a solution pasted from this public file raises ``NameError`` there.
"""
