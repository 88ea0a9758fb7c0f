"""Campaigns and the other ways a message is produced.

Owns campaigns and their state machine (`states`), scheduling, the planning job and its
planner, automations, and unitary and test sends.

May import: the core, `shortener`, `landing_templates`, `sender.audience`, `sender.compose`,
`sender.delivery`, `sender.webhooks`, and any area's tables.
"""
