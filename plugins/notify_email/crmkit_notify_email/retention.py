"""Purging sent messages: per-source retention offered by other plugins
(marketing's mailing groups) through ``crmkit_outbox_retention``, then a
general number of days that never undercuts those."""
from __future__ import annotations

from crmkit import ValidationError


def rules(crm) -> list[tuple[str, int]]:
    found = []
    hook = getattr(crm.pm.hook, "crmkit_outbox_retention", None)
    for result in (hook(crm=crm) if hook else []) or []:
        for prefix, days in result or []:
            if not prefix or int(days) < 0:
                raise ValidationError({"retention": f"bad rule {(prefix, days)!r}"})
            found.append((str(prefix), int(days)))
    return found


def purge(crm, days=None) -> dict:
    """Returns ``{scope: (days, deleted)}``."""
    done = {}
    found = rules(crm)
    for prefix, keep in found:
        done[prefix] = (keep, crm.outbox.purge(keep, source=prefix))  # one exact source
    if days is not None:
        # the general purge covers every source, so it keeps at least as long as any rule asks
        keep = max([days] + [k for _, k in found])
        done["all sources"] = (keep, crm.outbox.purge(keep))
    return done
