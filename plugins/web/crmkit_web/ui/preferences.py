"""The signed-in user's own preferences at ``/preferences`` (linked from the
header): their language (en, ru, or the browser's) and time zone (an IANA
name, or the operator's). A post runs the ``core.preferences`` action — the
one path by which a user changes their own ``core.user`` row — so an unknown
zone is refused beside its field with nothing written; the CSRF check runs
before the view, as on every POST. The user's sessions take the language at
once, so the next page is in it; the zone is read with the user on every
request."""
from __future__ import annotations

from crmkit import AccessDenied, CrmError, ValidationError, translate, translate_message

LANG_CHOICES = (("", "The browser's language"), ("ru", "Русский"), ("en", "English"))


def _zones():
    from zoneinfo import available_timezones
    return sorted(z for z in available_timezones() if "/" in z and not z.startswith(("Etc/", "SystemV/", "posix/",
                                                                                     "right/")))


def add_routes(bp):
    from flask import g, redirect, request, url_for

    from . import render

    def page(values, errors=None, saved=False, status=200):
        crm = g.crm
        from crmkit import operator_zone
        return render("web/preferences.html", title=translate("My preferences", crm.lang, context="core.user"),
                      values=values, errors=errors or {}, saved=saved, zones=_zones(),
                      langs=[(v, translate(t, crm.lang) if v == "" else t) for v, t in LANG_CHOICES],
                      operator_zone=str(operator_zone())), status

    @bp.route("/preferences", methods=["GET", "POST"], endpoint="preferences")
    def preferences():
        from crmkit.core.models import User
        crm = g.crm
        user = User.get_or_none(User.id == crm.actor.id)
        current = {"lang": (user.lang if user else "") or "", "time_zone": (user.time_zone if user else "") or ""}
        if request.method == "GET":
            return page(current, saved=request.args.get("saved") == "1")
        values = {"lang": request.form.get("lang", ""), "time_zone": request.form.get("time_zone", "").strip()}
        try:
            done = crm.act("core.preferences", None, **values)
        except ValidationError as exc:
            errors = {k: [translate_message(str(m), crm.lang, context="core.user") for m in (v if isinstance(v, list) else [v])]
                      for k, v in exc.errors.items()}
            return page(values, errors, status=422)
        except (AccessDenied, CrmError) as exc:
            return page(values, {"_": [translate(str(exc), crm.lang)]}, status=422)
        from .models import Session
        Session.update(lang=done["lang"], time_zone=done["time_zone"]).where(
            Session.login == crm.actor.login).execute()
        return redirect(url_for("ui.preferences", saved=1))
