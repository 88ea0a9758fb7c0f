"""Delivery: how a message leaves and what comes back.

Owns sender numbers, quiet hours (`windows`), the outbox (`outbox`, its claims, answers and
sweeps), the sending worker, rates, the providers (console, smpp, http) behind one
interface, delivery receipts and inbound messages (keywords, replies).

May import: the core, `shortener`, `landing_templates`, `sender.audience`, `sender.compose`,
`sender.webhooks`, and any area's tables.
"""
