"""The thesis room's second floor: the rules that turn a results table into verdicts on claims C1-C10.

    claims       the checks of each claim and their bars (BARS): the one source of every bar
    claim_texts  what the thesis says (THESIS) and what each rule checks (RULES), one line each
    facts        what one run found, in sentences, per claim (the lessons' "This run vs the thesis")
    multiseed    counting verdicts over seeds; mean +- sd
    notes        the reading of the seeds pasted below REPRODUCTION.md's headline
    robustness   each verdict over a range of its bar

It reads tables through the pipeline's ``lookup``; it never runs a cell and writes no document.
Every bar and every sentence on a claim, in REPRODUCTION.md and in the lessons, comes from here.

    from minflow.thesis.verdicts import check_claims, claim_facts
    for result in check_claims(table): print(result.id, result.verdict)
    for fact in claim_facts(table, "C3"): print(fact["text"])
"""
from .claims import BARS, ClaimResult, check_claims, sep
from .facts import claim_facts, fit_standard, fit_standard_sentence, trend_word
from .multiseed import fmt, fmt_pm

__all__ = ["BARS", "ClaimResult", "check_claims", "sep", "claim_facts", "fit_standard", "fit_standard_sentence",
           "trend_word", "fmt", "fmt_pm"]
