"""The classroom room: exercise workspaces generated from the library's fenced solutions, and their grader.

    python -m minflow.classroom.exercises generate [--out exercises]
    python -m minflow.classroom.grade [EXERCISE ...] [--workspace exercises]

``catalog.py`` lists the exercises, ``fences.py`` cuts the solutions out and pastes them back,
``exercises.py`` writes a workspace, ``grade.py`` grades one with the checks of ``grading/``.
It imports the model and the thesis room (whose information and OOD functions hold exercises),
never the speed room; neither imports it, and none of it is copied into a workspace.
"""
