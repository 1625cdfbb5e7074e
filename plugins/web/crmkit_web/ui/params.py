"""Forms for a cerberus parameter schema: a report's parameters, an
action's. The inputs send text; the schema coerces it and refuses what it
cannot, naming the parameter (the same check as the CLI and the API)."""
from __future__ import annotations

import attrs


@attrs.frozen
class ParamField:
    name: str
    label: str
    widget: str          # text, number, date, datetime, checkbox, select
    required: bool = False
    choices: tuple = ()
    default: object = None


def _types(rules):
    t = rules.get("type", "string")
    return set(t) if isinstance(t, (list, tuple)) else {t}


def param_fields(crm, schema: dict, admin_only=("at",), labels=None, contexts=()):
    """The inputs of ``schema``; ``labels`` (a report spec's) name the parameters;
    ``contexts``: whose words they are, in order (a report's id; an action's
    name, then its entity), so each plugin's catalogue translates its own."""
    from crmkit import translate

    def say(text):
        for context in contexts:
            said = translate(text, crm.lang, context=context)
            if said != text:
                return said
        return translate(text, crm.lang)

    out = []
    for name, rules in schema.items():
        if not isinstance(rules, dict) or rules.get("readonly"):
            continue
        if name in admin_only and not crm.actor.is_admin:
            continue   # "when it happened" is for loading history
        types = _types(rules)
        text = rules["meta"].get("label", name) if isinstance(rules.get("meta"), dict) else name
        if text == name and isinstance((labels or {}).get(name), str):
            text = labels[name]
        lab = say(text)
        lab = lab.replace("_", " ").capitalize() if lab == name else lab
        kw = {"required": bool(rules.get("required")), "default": rules.get("default")}
        if rules.get("allowed"):
            out.append(ParamField(name, lab, "select",
                                  choices=tuple((v, say(str(v))) for v in rules["allowed"]), **kw))
        elif "boolean" in types:
            out.append(ParamField(name, lab, "checkbox", **kw))
        elif "datetime" in types:
            out.append(ParamField(name, lab, "datetime", **kw))
        elif "date" in types:
            out.append(ParamField(name, lab, "date", **kw))
        elif types <= {"integer", "float", "number"}:
            out.append(ParamField(name, lab, "number", **kw))
        else:
            out.append(ParamField(name, lab, "text", **kw))
    return out


def read(fields, form) -> dict:
    """The submitted values: blanks left out (defaults apply), boxes as booleans."""
    out = {}
    for f in fields:
        if f.widget == "checkbox":
            if f.name in form:
                out[f.name] = form.getlist(f.name)[-1:] == ["1"]
            continue
        raw = (form.get(f.name) or "").strip()
        if raw != "":
            out[f.name] = int(raw) if f.widget == "number" and raw.lstrip("-").isdigit() else raw
    return out
