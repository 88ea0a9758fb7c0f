"""Composing a message: what a recipient receives and what it costs.

Owns the plain-text templates (the merge-field contract of `richsms.merge.fields`), the exact
GSM-7/UCS-2 encoding analysis, GSM-7 suggestions, the opt-out mention, the one composition
path (`composition`), the message library, and the analysis of a text over an audience.

May import: the core, `sender.audience`, `shortener` and `landing_templates`, and any area's
tables.
"""
