"""The plugin's contract: one provider of exchange rates, source ``cbr``."""
from crmkit import hookimpl

SOURCE = "cbr"


@hookimpl
def crmkit_currency_rates(crm, source, day, content):
    if source != SOURCE:
        return None
    from .bulletin import fetch, parse
    return parse(content if content is not None else fetch(day))
