"""Debtor simulator, trainers, evaluation, ablation, curriculum and reports."""
