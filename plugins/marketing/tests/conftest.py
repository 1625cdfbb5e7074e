"""Shared helpers: a recording channel plugin and a small primary-interest data set."""
import datetime as dt
import types

import pytest

from crmkit import ChannelSpec, PermanentFailure, PluginMeta, hookimpl


def make_channel_plugin(deliveries, fail_for=()):
    """A plugin registering "email" and "sms" channels that record what they deliver."""
    module = types.ModuleType("marketing_testchannel")
    module.__file__ = __file__
    module.PLUGIN = PluginMeta(name="testchannel")

    def deliver(crm, message):
        if message.recipient in fail_for:
            raise PermanentFailure("550 no such mailbox")
        deliveries.append(message)

    @hookimpl
    def crmkit_register_channels(register):
        register(ChannelSpec("email", deliver, address_kind="email"))
        register(ChannelSpec("sms", deliver, address_kind="phone"))

    module.crmkit_register_channels = crmkit_register_channels
    return module


@pytest.fixture
def sent():
    return []


@pytest.fixture
def mcrm(open_crm, sent):
    """A session with the recording channels installed."""
    return open_crm(extra=[make_channel_plugin(sent)])


# client name, access group or None
CLIENTS = ["Протон", "Альтаир", "Ассоль", "Видео маркет", "Все для дома Магазин", "Торговый дом Сигма"]
# deal name, client, status, potential, channel, source (event name or partner name) or None
DEALS = [
    ("Продажа телевизоров", "Протон", "won", "884.70", "Выставки", "Мир бытовой техники"),
    ("Продажа пылесосов", "Альтаир", "won", "884.70", "Выставки", "Мир бытовой техники"),
    ("Продажа вентиляторов", "Ассоль", "won", "884.70", "Выставки", "Мир бытовой техники"),
    ("что-то продаём", "Альтаир", "in_work", "0", "Выставки", "Акция: Распродажа бытовой техники"),
    ("Покупка кондиционеров", "Видео маркет", "lost", "707.76", "Выставки", 'Выставка "Электронный мир"'),
    ("Продажа в магазины Все для дома", "Все для дома Магазин", "in_work", "10000", "Сеть магазинов",
     "Диваны и кровати (магазин)"),
    ("Продажа в магазины Сигма", "Торговый дом Сигма", "in_work", "5000", None, None),
]


def build_seed(crm, access_group=None):
    """The presentation's 2015 primary interest from a small data set."""
    from crmkit_marketing.api import set_primary_interest
    group = crm.create("core.access_group", {"name": access_group}).id if access_group else None
    partners = {name: crm.create("core.partner", {"name": name, "access_group": group}).id
                for name in CLIENTS + ["Диваны и кровати (магазин)"]}
    channels = {"Выставки": crm.create("marketing.channel", {"name": "Выставки", "impact_type": "event"}).id,
                "Сеть магазинов": crm.create("marketing.channel", {"name": "Сеть магазинов",
                                                                   "impact_type": "partner"}).id}
    events = {name: crm.create("marketing.event", {"name": name, "planned_start": "2015-04-15",
                                                   "budget_planned": "100000", "budget_actual": "90000"}).id
              for name in ("Мир бытовой техники", "Акция: Распродажа бытовой техники", 'Выставка "Электронный мир"')}
    deals = {}
    for name, client, status, potential, channel, source in DEALS:
        deal = crm.create("deals.deal", {"name": name, "client": partners[client], "start_date": "2015-03-03",
                                         "potential": potential, "currency": "USD"})
        if status == "lost":
            reason = crm.create("deals.loss_reason", {"name": "Проигрыш конкуренту"}).id
            crm.update("deals.deal", deal.id, {"status": status, "loss_reason": reason})
        elif status != "in_work":
            crm.update("deals.deal", deal.id, {"status": status})
        deals[name] = deal.id
        if channel:
            ref = ("marketing.event", events[source]) if source in events else ("core.partner", partners[source])
            set_primary_interest(crm, ("deals.deal", deal.id), channels[channel], ref)
    # a deal outside the period does not count
    late = crm.create("deals.deal", {"name": "Сделка 2016", "client": partners["Протон"],
                                     "start_date": "2016-02-01", "potential": "1", "currency": "USD"})
    set_primary_interest(crm, ("deals.deal", late.id), channels["Выставки"],
                         ("marketing.event", events["Мир бытовой техники"]))
    return {"partners": partners, "channels": channels, "events": events, "deals": deals}


PERIOD_2015 = {"date_from": dt.date(2015, 1, 1), "date_to": dt.date(2015, 12, 31)}
