"""jinja2 environments.

Reports and other project-owned pages use a trusted package environment.
Anything a user edits (mailing and notification templates) renders in a
sandbox with bounds on output size, time, ranges and string/list growth;
1C-style ``#ПредставлениеПартнера#`` parameters are translated to the same
engine, so both kinds of parameter pass through the sandbox and values are
always data, never template source.
"""
from __future__ import annotations

import re
import time

import jinja2
from jinja2.sandbox import SandboxedEnvironment, SecurityError

from .errors import ValidationError

MAX_OUTPUT = 200_000       # characters
MAX_SECONDS = 2.0
MAX_ITEMS = 10_000         # range length; size of a * product
PARAM_RE = re.compile(r"#([A-Za-zА-Яа-яЁё_][\wЁё]*)#")


class TemplateTimeout(SecurityError):
    pass


class BoundedSandbox(SandboxedEnvironment):
    """A sandbox that also bounds time, ranges and repeated strings."""

    intercepted_binops = frozenset({"*", "**"})

    def __init__(self, **kwargs):
        super().__init__(loader=None, **kwargs)
        self.deadline = None
        self.globals = {"range": self._range}  # no cycler, joiner, lipsum, dict

    def _check_time(self):
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise TemplateTimeout("template took too long")

    def _range(self, *args):
        rng = range(*args)
        if len(rng) > MAX_ITEMS:
            raise SecurityError(f"range of {len(rng)} items is over the limit of {MAX_ITEMS}")
        for i in rng:
            self._check_time()
            yield i

    def call_binop(self, context, operator, left, right):
        self._check_time()
        if operator == "**":
            if isinstance(right, (int, float)) and abs(right) > 64:
                raise SecurityError("exponent too large")
            return left ** right
        for seq, n in ((left, right), (right, left)):
            if isinstance(seq, (str, list, tuple)) and isinstance(n, int) and len(seq) * n > MAX_ITEMS * 10:
                raise SecurityError("repetition too large")
        return left * right

    SAFE_SELF_TYPES = (str, int, float, dict, list, tuple)

    def is_safe_callable(self, obj):
        """Only plain data methods (``'x'.upper()``, ``d.items()``), the
        bounded ``range`` and jinja's own helpers may be called: never a
        method of an application object (``record.save()``)."""
        if not super().is_safe_callable(obj):
            return False
        if obj == self._range:
            return True
        owner = getattr(obj, "__self__", None)
        if owner is not None:
            return isinstance(owner, self.SAFE_SELF_TYPES) or type(owner).__module__.startswith("jinja2")
        return type(obj).__module__.startswith("jinja2") or getattr(obj, "__module__", "").startswith("jinja2")

    def call(self, __context, __obj, *args, **kwargs):
        self._check_time()
        return super().call(__context, __obj, *args, **kwargs)

    def getattr(self, obj, attribute):
        self._check_time()
        return super().getattr(obj, attribute)

    def getitem(self, obj, argument):
        self._check_time()
        return super().getitem(obj, argument)


_sandboxes: dict[bool, BoundedSandbox] = {}


def sandbox(html: bool) -> BoundedSandbox:
    if html not in _sandboxes:
        env = BoundedSandbox(autoescape=html, undefined=jinja2.ChainableUndefined)
        _sandboxes[html] = env
    return _sandboxes[html]


def translate_1c(source: str) -> str:
    """``#Имя#`` -> ``{{ p["Имя"] }}``: one engine for both syntaxes."""
    return PARAM_RE.sub(lambda m: '{{ p["%s"] }}' % m.group(1), source)


def parameters_used(source: str) -> set[str]:
    return set(PARAM_RE.findall(source)) | set(re.findall(r'p\[\s*["\']([^"\']+)["\']\s*\]', source))


def compile_user_template(source: str, html=False, field="template"):
    """Compile a user-edited template, or raise ValidationError naming ``field``."""
    if source is None:
        source = ""
    if len(source) > MAX_OUTPUT:
        raise ValidationError({field: f"template is longer than {MAX_OUTPUT} characters"})
    try:
        return sandbox(html).from_string(translate_1c(source))
    except jinja2.TemplateSyntaxError as exc:
        raise ValidationError({field: f"template syntax error at line {exc.lineno}: {exc.message}"}) from None


def render_user_template(source: str, context: dict, html=False, field="template") -> str:
    """Render a user template in the bounded sandbox.

    Errors (syntax, forbidden access, too long, too slow) raise
    ValidationError naming ``field``; the output never exceeds MAX_OUTPUT.
    """
    template = compile_user_template(source, html, field)
    env = template.environment
    env.deadline = time.monotonic() + MAX_SECONDS
    out, size = [], 0
    try:
        for chunk in template.generate(**context):
            size += len(chunk)
            if size > MAX_OUTPUT:
                raise SecurityError(f"output is longer than {MAX_OUTPUT} characters")
            env._check_time()
            out.append(chunk)
    except SecurityError as exc:
        raise ValidationError({field: f"template refused: {exc}"}) from None
    except jinja2.TemplateError as exc:
        raise ValidationError({field: f"template error: {exc}"}) from None
    except (TypeError, ValueError, ArithmeticError, LookupError, AttributeError) as exc:
        raise ValidationError({field: f"template error: {type(exc).__name__}: {exc}"}) from None
    finally:
        env.deadline = None
    return "".join(out)


_trusted: dict = {}


def trusted_environment(package_dirs) -> jinja2.Environment:
    """The environment for project-owned templates (report pages)."""
    key = tuple(str(p) for p in package_dirs)
    if key not in _trusted:
        _trusted[key] = jinja2.Environment(
            loader=jinja2.FileSystemLoader(list(key)),
            autoescape=jinja2.select_autoescape(["html", "xml"], default=True),
            trim_blocks=True, lstrip_blocks=True)
    return _trusted[key]


class RecordView:
    """What a user template sees of a record: its field values, and the
    records it refers to (fetched through the acting user's access), never
    its methods or back-references."""

    __slots__ = ("_crm", "_record")

    def __init__(self, crm, record):
        self._crm = crm
        self._record = record

    def __getattr__(self, name):
        import peewee as pw
        model = type(self._record)
        field = model._meta.fields.get(name)
        if field is None:
            raise AttributeError(name)
        if isinstance(field, pw.ForeignKeyField):
            rid = getattr(self._record, field.column_name if field.column_name.endswith("_id") else name + "_id", None)
            if rid is None:
                return None
            spec = self._crm.registry.spec_of_model(field.rel_model)
            if spec is None:
                return rid
            try:
                return RecordView(self._crm, self._crm.get(spec.name, rid))
            except Exception:  # not visible to the acting user
                return None
        return getattr(self._record, name)

    def __str__(self):
        spec = self._crm.registry.spec_of_model(type(self._record))
        return self._crm.display(spec.name, self._record) if spec else str(self._record.get_id())
