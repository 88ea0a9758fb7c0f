"""Every table, imported in one place so that Alembic sees the whole schema.

This is the one module of the core allowed to import the domain packages (the
architecture test knows it, and checks that every module defining a table is named here:
a new table module left out of this list fails the suite).
"""

from landing_templates import models as landing_models
from landing_templates import page_event_folds, page_events
from landing_templates.coupons import models as coupon_models
from richsms import accounts, events
from richsms.accounts import profile, sessions, signin_delays
from sender.audience import models as audience_models
from sender.audience import suppression
from sender.campaigns import models as campaign_models
from sender.compose import library
from sender.delivery import models as delivery_models
from sender.results import click_minutes, report_cache
from sender.webhooks import models as webhook_models
from shortener import click_days
from shortener import models as shortener_models

TABLE_MODULES = (
    accounts,
    profile,
    sessions,
    signin_delays,
    events,
    audience_models,
    campaign_models,
    delivery_models,
    shortener_models,
    click_days,
    webhook_models,
    report_cache,
    click_minutes,
    landing_models,
    page_events,
    page_event_folds,
    coupon_models,
    library,
    suppression,
)
