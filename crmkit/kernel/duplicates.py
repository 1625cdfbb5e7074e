"""Duplicate detection: rules registered by plugins, their keys in one index.

A rule (``DuplicateRule``) turns a record into keys: an INN, an email
domain, a phone in E.164, the words of a normalised name. Records that share
a key are candidates. An exact rule takes them as they are; a fuzzy rule
treats the key as a block and scores the pairs within it by the similarity
of their names (rapidfuzz), keeping those that reach the threshold. Fuzzy
scoring therefore never compares two records that share no word.

The keys live in ``kernel_match_key``, refreshed by the rule owners when
the records they come from change (:func:`reindex`), so finding every
candidate group is a GROUP BY in the database and matching one new record
is an index look-up. Everything is read through the acting user's access:
a user sees candidates only among the records they may see.
"""
from __future__ import annotations

import contextlib
import contextvars

from .db import among
from .errors import AccessDenied, ValidationError
from .models import DuplicateSetting, MatchKey

MODES = ("warn", "strict", "off")
CHUNK = 50_000   # ids per reindex pass (sent as one parameter: ``db.among``)


def rules(crm, entity):
    """The entity's rules with the administrator's settings applied."""
    found = crm.registry.rules_of(entity)
    if not found:
        return []
    cache = _settings_cache.get()
    settings = cache.get(entity) if cache is not None else None
    if settings is None:
        settings = {s.rule: {"mode": s.mode, "threshold": s.threshold}
                    for s in DuplicateSetting.select().where(DuplicateSetting.entity == entity)}
        if cache is not None:
            cache[entity] = settings
    return [(rule, settings.get(rule.name, {})) for rule in found]


_settings_cache = contextvars.ContextVar("duplicate_settings", default=None)


@contextlib.contextmanager
def settings_read_once():
    """Read the rules' settings once inside the block (an import matches
    every row: it keeps the settings it started with)."""
    token = _settings_cache.set({})
    try:
        yield
    finally:
        _settings_cache.reset(token)


def configure(crm, entity, rule, mode=None, threshold=None):
    """Set how strict a rule is (administrators only)."""
    from .db import transaction, utcnow
    if not crm.actor.is_admin:
        from .i18n import Message
        raise AccessDenied(Message("{what}: it needs the role {roles}", context="kernel.message", roles="administrator",
                                   what=Message("user {login} may not configure duplicate rules", domain="kernel",
                                                login=repr(crm.actor.login))))
    known = {r.name: r for r in crm.registry.rules_of(entity)}
    if rule not in known:
        raise ValidationError({"rule": f"unknown rule {rule!r} of {entity}; rules: "
                                       f"{', '.join(sorted(known)) or 'none'}"})
    errors = {}
    if mode is not None and mode not in MODES:
        errors["mode"] = f"must be one of {', '.join(MODES)}"
    if threshold is not None and not (0 < float(threshold) <= 100):
        errors["threshold"] = "must be above 0 and at most 100"
    if errors:
        raise ValidationError(errors)
    with transaction():
        row = DuplicateSetting.get_or_none((DuplicateSetting.entity == entity) & (DuplicateSetting.rule == rule))
        row = row or DuplicateSetting(entity=entity, rule=rule, mode=known[rule].mode)
        if mode is not None:
            row.mode = mode
        if threshold is not None:
            row.threshold = float(threshold)
        row.changed_by, row.changed_at = crm.actor.login, utcnow()
        row.save()
    return row


def _mode(rule, setting):
    return setting.get("mode") or rule.mode


def _threshold(rule, setting):
    return float(setting.get("threshold") or rule.threshold)


def reindex(crm, entity, ids=None):
    """Recompute the keys of ``ids`` (every record when None) of ``entity``
    for every rule, inside the caller's transaction."""
    found = crm.registry.rules_of(entity)
    if not found:
        return 0
    ids = None if ids is None else sorted({int(i) for i in ids if i is not None})
    if ids == []:
        return 0
    chunks = [None] if ids is None else [ids[i:i + CHUNK] for i in range(0, len(ids), CHUNK)]
    written = 0
    for rule in found:
        for chunk in chunks:
            q = MatchKey.delete().where((MatchKey.entity == entity) & (MatchKey.rule == rule.name))
            (q.where(among(MatchKey.record_id, chunk)) if chunk is not None else q).execute()
            rows = list({(entity, rule.name, str(row[1])[:320], int(row[0]),
                          str(row[2] if len(row) > 2 else "")[:300]): None
                         for row in rule.keys(crm, chunk) or () if row[1]})
            if rows:
                crm.bulk_insert(MatchKey, ["entity", "rule", "key", "record_id", "text"], rows)
            written += len(rows)
    return written


def _keys_of_visible(crm, entity, rule, *fields):
    """The rule's keys of the records the user may see: the entity's access
    query joined to the index (a key look-up per visible record, no list of
    every visible id)."""
    pk = crm.registry.entity(entity).model._meta.primary_key
    return (crm.query(entity, *fields).join(MatchKey, on=(MatchKey.record_id == pk))
            .where((MatchKey.entity == entity) & (MatchKey.rule == rule.name)))


def _visible_among(crm, entity, ids):
    pk = crm.registry.entity(entity).model._meta.primary_key
    return {i for (i,) in crm.query(entity, pk).where(pk.in_(sorted(ids))).tuples()} if ids else set()


def _score(rule, texts_a, texts_b):
    from rapidfuzz import fuzz, process
    return process.cdist(texts_a, texts_b, scorer=fuzz.token_sort_ratio, workers=1,
                         score_cutoff=rule.threshold * 0.5)


def _accepted(rule, pairs_text):
    """Which scored pairs the rule's own check keeps (all without one)."""
    if rule.accept is None:
        return [True] * len(pairs_text)
    return [bool(rule.accept(a, b)) for a, b in pairs_text]


def _block_members(crm, entity, rule, keys=None):
    """``key, id, text`` of every visible member of the rule's blocks (keys
    shared by 2 to ``block_limit`` visible records), over the whole index or
    only the blocks of ``keys``. With keys, each chunk is two statements
    over a list of values (the blocks, then their members), never a subquery
    nested in another (PostgreSQL planned those as scans); the lists go
    as one parameter each (``db.among``)."""
    import pandas as pd
    count = pw_count()

    def blocks():
        return (_keys_of_visible(crm, entity, rule, MatchKey.key).group_by(MatchKey.key)
                .having((count >= 2) & (count <= rule.block_limit)))

    def members(where):
        return crm.frame(_keys_of_visible(crm, entity, rule, MatchKey.key, MatchKey.record_id, MatchKey.text)
                         .where(where), ["key", "id", "text"])
    if keys is None:
        return members(MatchKey.key.in_(blocks()))
    found = [k for (k,) in blocks().where(among(MatchKey.key, sorted(keys))).tuples()]
    return members(among(MatchKey.key, found)) if found else pd.DataFrame(columns=["key", "id", "text"])


def candidate_pairs(crm, entity, rule_names=None, keys=None):
    """Every candidate pair among the records the user may see, as a
    DataFrame ``a, b, rule, key, score`` (``a < b``). Blocks are found by a
    GROUP BY in the database, over visible records only, so nothing hidden
    changes what a user gets (not even which blocks are too large).
    ``keys`` (``{rule: keys}``) keeps to the blocks of those keys."""
    import numpy as np
    import pandas as pd
    out = []
    for rule, setting in rules(crm, entity):
        if rule_names and rule.name not in rule_names:
            continue
        if keys is not None and not keys.get(rule.name):
            continue
        members = _block_members(crm, entity, rule, None if keys is None else keys[rule.name])
        if members.empty:
            continue
        members = members.drop_duplicates(["key", "id"])
        if not rule.fuzzy:
            pairs = members.merge(members, on="key", suffixes=("_a", "_b"))
            pairs = pairs[pairs["id_a"] < pairs["id_b"]]
            out.append(pd.DataFrame({"a": pairs["id_a"].to_numpy(), "b": pairs["id_b"].to_numpy(),
                                     "rule": rule.name, "key": pairs["key"].to_numpy(), "score": 100.0}))
            continue
        threshold = _threshold(rule, setting)
        found = []
        members = members.sort_values(["key", "id"])
        keys, ids, texts = members["key"].to_numpy(), members["id"].to_numpy(), members["text"].tolist()
        starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
        ends = np.r_[starts[1:], len(keys)]
        for start, end in zip(starts.tolist(), ends.tolist()):
            block = texts[start:end]
            scores = _score(rule, block, block)
            ia, ib = np.nonzero(np.triu(scores >= threshold, k=1))
            if len(ia):
                found.append((ids[start + ia], ids[start + ib], scores[ia, ib], keys[start],
                              [(block[x], block[y]) for x, y in zip(ia.tolist(), ib.tolist())]))
        if found:
            a = np.concatenate([f[0] for f in found])
            b = np.concatenate([f[1] for f in found])
            frame = pd.DataFrame({"a": np.minimum(a, b), "b": np.maximum(a, b), "rule": rule.name,
                                  "key": np.concatenate([np.full(len(f[0]), f[3], dtype=object) for f in found]),
                                  "score": np.concatenate([f[2] for f in found]).astype(float)})
            keep = _accepted(rule, [pair for f in found for pair in f[4]])
            out.append(frame[np.array(keep, dtype=bool)])
    if not out:
        return pd.DataFrame({"a": pd.Series(dtype="int64"), "b": pd.Series(dtype="int64"),
                             "rule": pd.Series(dtype=object), "key": pd.Series(dtype=object),
                             "score": pd.Series(dtype=float)})
    pairs = pd.concat(out, ignore_index=True)
    return (pairs.sort_values("score", ascending=False)
            .drop_duplicates(["a", "b", "rule"]).reset_index(drop=True))


def candidates_of(crm, entity, ids):
    """The candidate pairs (as ``candidate_pairs``) with at least one record
    of ``ids``: what an import of those records looks like in the base and
    within its own file. The keys of ``ids`` are read first, by record id,
    then only their blocks are paired."""
    import pandas as pd
    ids = sorted({int(i) for i in ids})
    keys: dict = {}
    for rule, key in (MatchKey.select(MatchKey.rule, MatchKey.key)
                      .where((MatchKey.entity == entity) & among(MatchKey.record_id, ids)).tuples()):
        keys.setdefault(rule, set()).add(key)
    pairs = candidate_pairs(crm, entity, keys=keys) if keys else candidate_pairs(crm, entity, keys={})
    mine = pd.Index(ids)
    return pairs[pairs["a"].isin(mine) | pairs["b"].isin(mine)].reset_index(drop=True)


IMPORT_CHECK_LIMIT = 50_000   # rows an import pairs itself; past it `duplicates find` does (and says so)
IMPORT_SHOWN = 20


def check_import(crm, entity, rows):
    """What an import brings of duplicates, inside its transaction:
    ``rows`` maps each imported id to its row in the file (None: more rows
    than ``IMPORT_CHECK_LIMIT``, not paired). A strict rule's pair (a row
    like a visible record, or two rows of the file alike) raises
    ``ValidationError`` naming the rows, so nothing is imported; the
    warn-mode pairs come back for the summary: ``{"checked", "pairs",
    "shown": [{"row", "like", "like_row", "rule", "score"}]}``."""
    if not crm.registry.rules_of(entity):
        return None
    if rows is None:
        return {"checked": False, "pairs": 0, "shown": []}
    modes = {rule.name: (_mode(rule, setting), rule.label or rule.name) for rule, setting in rules(crm, entity)}
    pairs = candidates_of(crm, entity, rows) if rows else candidate_pairs(crm, entity, keys={})
    found = []
    for a, b, rule, score in zip(pairs["a"].tolist(), pairs["b"].tolist(), pairs["rule"], pairs["score"]):
        mine, other = (a, b) if a in rows else (b, a)
        if other in rows and rows[other] > rows[mine]:   # two rows of the file: the later is like the earlier
            mine, other = other, mine
        mode, label = modes.get(rule, ("off", rule))
        if mode != "off":
            found.append({"row": rows[mine], "like": other, "like_row": rows.get(other), "rule": label,
                          "score": round(float(score)), "mode": mode})
    found.sort(key=lambda f: (f["row"], -f["score"]))
    for f in found:
        f["like"] = f"row {f['like_row']}" if f["like_row"] else crm.display(entity, crm.get(entity, f["like"]))
    strict = [f for f in found if f.pop("mode") == "strict"]
    if strict:
        shown = {}
        for f in strict[:IMPORT_SHOWN]:
            shown.setdefault(f["row"], {}).setdefault("_row", []).append(
                f"a duplicate of {f['like']} ({f['rule']}): merge them or change this one")
        raise ValidationError({"rows": f"{len({f['row'] for f in strict})} rows are duplicates under a strict "
                                       f"rule; nothing was imported"}, entity, rows=shown)
    return {"checked": True, "pairs": len(found), "shown": found[:IMPORT_SHOWN]}


def pw_count():
    import peewee as pw
    return pw.fn.COUNT(MatchKey.record_id)


def groups(pairs):
    """Candidate groups from pairs: records linked by any chain of pairs
    are one group (union-find). Returns ``{id: group number}``."""
    parent: dict[int, int] = {}

    def root(x):
        while parent.get(x, x) != x:
            parent[x] = parent.get(parent[x], parent[x])
            x = parent[x]
        return x

    for a, b in zip(pairs["a"].tolist(), pairs["b"].tolist()):
        ra, rb = root(a), root(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    members = sorted({*pairs["a"].tolist(), *pairs["b"].tolist()})
    roots = {m: root(m) for m in members}
    numbers = {r: n for n, r in enumerate(sorted(set(roots.values())), start=1)}
    return {m: numbers[r] for m, r in roots.items()}


def matches(crm, entity, data, exclude_id=None):
    """Records the user may see that look like ``data`` (a record about to
    be written): ``[{"id", "rule", "score", "mode"}]``, best first. Every
    create of a partner asks this, so it stays on the key index: the size of
    each probed block first (an index-only count), then the members of the
    small blocks in one UNION, and a visible-members look-up cut at the
    limit for a block that is large in the whole base. As in
    ``candidate_pairs``, a block with more visible members than the rule's
    ``block_limit`` is skipped, so what is hidden changes nothing here."""
    import operator
    from functools import reduce
    wanted = {}
    for rule, setting in rules(crm, entity):
        if _mode(rule, setting) == "off":
            continue
        probes = [(str(k)[:320], t) for k, t in (rule.probe(crm, data) or []) if k]
        if probes:
            wanted[rule.name] = (rule, setting, probes)
    if not wanted:
        return []
    sizes = _block_sizes(entity, {name: {k for k, _ in probes} for name, (_, _, probes) in wanted.items()})

    def lookup(name, keys):   # one SELECT per rule keeps each on the (entity, rule, key) index
        q = MatchKey.select(MatchKey.rule, MatchKey.record_id, MatchKey.text).where(
            (MatchKey.entity == entity) & (MatchKey.rule == name) & MatchKey.key.in_(sorted(keys)))
        return q.where(MatchKey.record_id != exclude_id) if exclude_id is not None else q

    small, rows = [], []
    for name, (rule, _, probes) in wanted.items():
        keys = {k for k, _ in probes if sizes.get((name, k), 0)}
        if fits := {k for k in keys if sizes[(name, k)] <= rule.block_limit}:
            small.append(lookup(name, fits))
        for key in sorted(keys - fits):
            rows += _visible_block(crm, entity, rule, key, exclude_id)
    if small:
        rows += list(reduce(operator.add, small).tuples())   # UNION ALL
    rows = list(dict.fromkeys(rows))
    hits = []
    for name, (rule, setting, probes) in wanted.items():
        found = [(rid, text) for r, rid, text in rows if r == name]
        if not found:
            continue
        if rule.fuzzy:
            text = next((t for _, t in probes if t), "")
            if not text:
                continue
            scores = _score(rule, [text], [t for _, t in found])[0]
            hits += [(rule, setting, rid, float(sc)) for (rid, t), sc in zip(found, scores)
                     if sc >= _threshold(rule, setting) and _accepted(rule, [(text, t)])[0]]
        else:
            hits += [(rule, setting, rid, 100.0) for rid, _ in found]
    visible = _visible_among(crm, entity, {rid for _, _, rid, _ in hits})
    best: dict = {}
    for rule, setting, rid, score in hits:
        if rid not in visible:
            continue
        mode = _mode(rule, setting)
        old = best.get(rid)
        if old is None or score > old["score"] or (mode == "strict" and old["mode"] != "strict"):
            best[rid] = {"id": rid, "rule": rule.name, "score": score, "mode": mode,
                         "label": rule.label or rule.name}
    return sorted(best.values(), key=lambda m: (-m["score"], m["id"]))


def _block_sizes(entity, keys_by_rule):
    """``{(rule, key): members}`` over the whole index: a count per rule,
    joined by UNION ALL so that each stays on the (entity, rule, key) index
    (an OR across rules let PostgreSQL scan every key of the entity)."""
    import operator
    from functools import reduce
    parts = [MatchKey.select(MatchKey.rule, MatchKey.key, pw_count())
             .where((MatchKey.entity == entity) & (MatchKey.rule == name) & MatchKey.key.in_(sorted(keys)))
             .group_by(MatchKey.rule, MatchKey.key) for name, keys in keys_by_rule.items()]
    return {(r, k): n for r, k, n in reduce(operator.add, parts).tuples()}


def _visible_block(crm, entity, rule, key, exclude_id):
    """The visible members of a block that is large in the whole base, read
    up to one past the rule's limit: none when the user sees more than the
    limit (the block is skipped), else the block as ``(rule, id, text)``."""
    q = _keys_of_visible(crm, entity, rule, MatchKey.rule, MatchKey.record_id, MatchKey.text).where(
        MatchKey.key == key)
    if exclude_id is not None:
        q = q.where(MatchKey.record_id != exclude_id)
    found = list(q.limit(rule.block_limit + 1).tuples())
    return [] if len(found) > rule.block_limit else found


def candidate_groups(crm, entity, rule_names=None):
    """Candidate groups across the records the user may see: one row per
    record, ``group, id, <lookup>, name, reasons, score``, largest score first."""
    import pandas as pd
    pairs = candidate_pairs(crm, entity, rule_names)
    spec = crm.registry.entity(entity)
    lookup = spec.lookup or "id"
    columns = ["group", "id", *([lookup] if lookup != "id" else []), "name", "reasons", "score"]
    if pairs.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    number = groups(pairs)
    long = pd.concat([pairs[["a", "rule", "score"]].rename(columns={"a": "id"}),
                      pairs[["b", "rule", "score"]].rename(columns={"b": "id"})], ignore_index=True)
    per = long.groupby("id").agg(reasons=("rule", lambda r: ", ".join(sorted(set(r)))),
                                 score=("score", "max")).reset_index()
    per["group"] = per["id"].map(number)
    model = spec.model
    display = spec.display if isinstance(spec.display, str) else None
    fields = [model._meta.primary_key] + [getattr(model, f) for f in {lookup, display} - {"id", None}]
    names = crm.frame(crm.query(entity, *fields, include_marked=True).where(
        among(model._meta.primary_key, per["id"].tolist())))
    names = names.rename(columns={model._meta.primary_key.name: "id"})
    if display and display != "name":
        names["name"] = names[display]
    per = per.merge(names, on="id", how="left")
    if "name" not in per:
        per["name"] = per["id"].map(lambda i: crm.display(entity, model.get_by_id(i)))
    group_score = per.groupby("group")["score"].transform("max")
    per = per.assign(_g=group_score).sort_values(["_g", "group", "id"], ascending=[False, True, True])
    per["group"] = per["group"].map({g: n for n, g in enumerate(dict.fromkeys(per["group"]), start=1)})
    return per[[c for c in columns if c in per]].reset_index(drop=True)
