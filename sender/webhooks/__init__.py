"""Webhooks: a marketer's URL told of clicks, redemptions, opt-outs, replies and receipts,
signed, from their own outbox, with retries, off every hot path.

May import: the core, `shortener`, `landing_templates`, and any area's tables.
"""
