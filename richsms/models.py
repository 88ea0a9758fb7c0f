"""Every table, imported in one place so that Alembic sees the whole schema.

This is the one module of the core allowed to import the domain packages (the
architecture test knows it): each domain module that defines tables is imported whole,
so a new model is registered by being defined, never by a list to keep in step.
"""

from importlib import import_module

# The domain modules that define tables (a module listed here that does not exist yet
# is a mistake, not an option: the import fails loudly).
TABLE_MODULES = (
    "richsms.accounts",
    "sender.delivery.models",
    "shortener.models",
    "sender.webhooks.models",
    "sender.results.report_cache",
    "landing_templates.models",
    "landing_templates.page_events",
    "landing_templates.coupon_models",
    "sender.compose.library",
    "sender.audience.suppression",
)

for _name in TABLE_MODULES:
    import_module(_name)
