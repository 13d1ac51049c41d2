"""The thesis room's top floor: what is written from runs and verdicts — figures, REPRODUCTION.md, studies.

    report, document       one run's claims and figures; REPRODUCTION.md from every committed run
    figures, figure_tools  the thesis's figures from a table and its kept log-densities
    provenance             what was fixed before which results, from git
    capacity, ablations, highd   studies that rerun the pipeline with other settings
    regimes, regimes_run, regimes_report   the pre-registered C10 sweep: rule, runs, map

It builds on the pipeline and the verdicts; neither imports it.
"""
