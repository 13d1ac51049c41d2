"""The classroom room: exercise workspaces generated from the library's fenced solutions, and their grader.

    python -m minflow.classroom.exercises generate [--out exercises]
    python -m minflow.classroom.grade [exercises]

It imports the model and the thesis room (whose information and OOD functions hold exercises);
neither imports it.
"""
