"""The audience: who may be messaged, and how they are found.

Owns contacts (their phone, language, time zone, custom fields), consent and its events,
the CSV import, groups, segments, the suppression list and erasure.

May import: the core (`richsms`, whose event outbox erasure blanks replies in),
`shortener` and `landing_templates` tables, and any area's tables (`sender.*.models`:
segments filter on messages received). No other area's services.
"""
