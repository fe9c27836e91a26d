"""The decoder's MAC budget: the paper's figure and the phone's bound (GMAC per second of audio).

Read as ``budget.BUDGET_HARD_GMACS`` at call time, so a test can lower the bound in one place.
"""
BUDGET_TARGET_GMACS = 6.31  # the paper's decoder
BUDGET_HARD_GMACS = 10.0  # the phone's bound
