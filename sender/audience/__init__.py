"""The audience: who may be messaged, and how they are found.

Owns contacts (their phone, language, time zone, custom fields), consent and its events,
the CSV import, groups, segments, the suppression list and erasure.

May import: the core (`richsms`), `shortener` and `landing_templates` tables, and any
area's tables (`sender.*.models`: segments filter on messages received). No other area's
services, but for `sender.webhooks` (erasure blanks the texts of queued event payloads).
"""
