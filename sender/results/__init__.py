"""Results: what campaigns, pages and the audience achieved, read from the record.

Owns campaign reports and the cache the chores keep, reading delay, subscriber growth,
page results and CSV exports. It writes nothing but its report cache.

May import: every other area, `shortener`, `landing_templates` and the core.
"""
