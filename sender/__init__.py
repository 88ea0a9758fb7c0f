"""The sender: everything from a contact list to a delivered, measured message.

One package per business area; each opens with what it owns and what it may import, and
`tests/core/test_architecture.py` holds every area to that contract. From the bottom up:

- `audience/`: contacts, phones, CSV import, consent, groups, segments, custom fields,
  suppression, erasure.
- `compose/`: templates, encoding, suggestions, the one composition path, the message
  library, the analysis of a text over an audience.
- `webhooks/`: subscriptions and the signed deliveries of events to them.
- `delivery/`: sender numbers, quiet hours, the outbox and its workers, rates, providers,
  receipts, inbound messages.
- `campaigns/`: campaigns and their states, scheduling, the planning job, automations,
  unitary and test sends.
- `results/`: what was achieved: campaign reports, reading delay, growth, exports.

Any area may read any area's tables (its `models` module): the schema is shared; services
are imported downwards only. `chores.py` (the loop that runs planning, reports and
webhooks) and `demo.py` (the living demo) sit above every area and compose them.
"""
