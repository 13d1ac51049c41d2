"""The classroom room: exercise hand-outs generated from the library's fenced solutions, and their grader.

    python -m minflow.classroom.exercises generate [--out exercises] | handout --roster ids --secret-file s
    python -m minflow.classroom.grade [EXERCISE ...] [--workspace DIR] | --batch DIR --csv scores.csv --jobs N

``catalog.py`` lists the exercises, ``fences.py`` cuts solutions out and finds students' regions,
``variants.py`` derives each student's variant, ``practice/`` holds the templates of the exercises
the library has no place for, ``exercises.py`` writes hand-outs, ``grade.py`` and ``report.py``
grade them with ``grading/`` (plans, the sandbox, the child harness). It imports the model and
the thesis room, never the speed room; neither imports it, and none of it is copied into a
hand-out. See docs/TEACHERS.md.
"""
