"""The thesis room's second floor: the rules that turn a results table into verdicts on claims C1-C10.

    claims       the checks of each claim and their bars (BARS): the one source of every bar
    claim_texts  what the thesis says (THESIS) and what each rule checks (RULES), one line each
    multiseed    counting verdicts over seeds; mean +- sd
    notes        the reading of the seeds pasted below REPRODUCTION.md's headline
    robustness   each verdict over a range of its bar

It reads tables through the pipeline's ``lookup``; it never runs a cell and writes no document.

    from minflow.thesis.verdicts import check_claims
    for result in check_claims(table): print(result.id, result.verdict)
"""
from .claims import BARS, ClaimResult, check_claims, sep

__all__ = ["BARS", "ClaimResult", "check_claims", "sep"]
