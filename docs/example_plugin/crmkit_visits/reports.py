"""Reports: aggregate in SQL through crm.query (access-filtered), shape in pandas."""
import peewee as pw

from crmkit.core.models import Partner

from .models import Visit


def by_partner(crm):
    q = (crm.query("visits.visit", Partner.name.alias("partner"), pw.fn.COUNT(Visit.id).alias("visits"),
                   pw.fn.SUM(Visit.kilometres).alias("kilometres"))
         .join(Partner, on=(Visit.partner == Partner.id)).group_by(Partner.name).order_by(Partner.name))
    return crm.frame(q)
