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
import threading
import time

import jinja2
from jinja2.sandbox import SandboxedEnvironment, SecurityError

from .errors import ValidationError

MAX_OUTPUT = 200_000       # characters: of the output, and of any string or list made on the way
MAX_SECONDS = 2.0
MAX_ITEMS = 10_000         # range length
MAX_ITERATIONS = 200_000   # loop steps in one render, nested loops counted together
MAX_WIDTH = 1_000          # a padding, indent, wrap or format width
MAX_INT_BITS = 4_096       # an integer a template computes (about 1,233 digits)
MAX_DEPTH = 40             # nested macro and loop() calls
PARAM_RE = re.compile(r"#([A-Za-zА-Яа-яЁё_][\wЁё]*)#")
PERCENT_SPEC = re.compile(r"%(?:\([^)]*\))?[#0\- +]*(\*|\d+)?(?:\.(\*|\d+))?")
BRACE_SPEC = re.compile(r"\{[^{}]*:([^{}]*)\}|\{[^{}]*\{")


class TemplateTimeout(SecurityError):
    pass


def _size(value) -> int:
    """Items of a value, and the characters of the strings it holds (one level down)."""
    if isinstance(value, (str, bytes)):
        return len(value)
    if isinstance(value, dict):
        value = [*value.keys(), *value.values()]
    if isinstance(value, (list, tuple, set, frozenset)):
        return len(value) + sum(len(v) for v in value if isinstance(v, (str, bytes)))
    return 0


def _check_size(value, what="value"):
    if _size(value) > MAX_OUTPUT:
        raise SecurityError(f"a {what} of {_size(value)} items is over the limit of {MAX_OUTPUT}")
    return value


def _check_width(n, what="width"):
    if isinstance(n, int) and not isinstance(n, bool) and abs(n) > MAX_WIDTH:
        raise SecurityError(f"{what} {n} is over the limit of {MAX_WIDTH}")
    if isinstance(n, str) and len(n) > MAX_WIDTH:
        raise SecurityError(f"{what} of {len(n)} characters is over the limit of {MAX_WIDTH}")


def _check_percent_format(fmt):
    for star_or_width, precision in PERCENT_SPEC.findall(fmt):
        for part in (star_or_width, precision):
            if part == "*":
                raise SecurityError("a width taken from the arguments ('%*d') is not allowed")
            if part and int(part) > MAX_WIDTH:
                raise SecurityError(f"format width {part} is over the limit of {MAX_WIDTH}")


def _check_brace_format(fmt):
    for spec in BRACE_SPEC.findall(fmt):
        if spec is None:
            continue
        for number in re.findall(r"\d+", spec):
            if int(number) > MAX_WIDTH:
                raise SecurityError(f"format width {number} is over the limit of {MAX_WIDTH}")
    if re.search(r"\{[^{}]*:[^{}]*\{", fmt):
        raise SecurityError("a width taken from the arguments ('{:{}}') is not allowed")


def _int_bits(n) -> int:
    return abs(n).bit_length() if isinstance(n, int) and not isinstance(n, bool) else 0


class BoundedSandbox(SandboxedEnvironment):
    """A sandbox that also bounds time, memory and recursion.

    Every growth a template can cause is checked before it happens: powers
    and products of integers (by bit length), repeated and concatenated
    strings and lists, ``%`` and ``str.format`` widths, padding methods and
    filters (``center``, ``indent``, ``ljust`` ...), ``replace`` and
    ``join`` (by the size of their result), containers grown in place
    (``list.extend``, ``dict.update``), loop steps (every ``for`` counts),
    and macro/``loop()`` depth. Time is checked at every step; whatever
    still goes wrong (RecursionError, MemoryError) is turned into a
    ValidationError by ``render_user_template``.
    """

    intercepted_binops = frozenset({"*", "**", "+", "%", "//"})

    # a render's deadline, loop steps and call depth: per thread (a web server renders in many)
    _state = threading.local()
    deadline = property(lambda self: getattr(self._state, "deadline", None),
                        lambda self, v: setattr(self._state, "deadline", v))
    steps = property(lambda self: getattr(self._state, "steps", 0), lambda self, v: setattr(self._state, "steps", v))
    depth = property(lambda self: getattr(self._state, "depth", 0), lambda self, v: setattr(self._state, "depth", v))

    def __init__(self, **kwargs):
        super().__init__(loader=None, **kwargs)
        self.globals = {"range": self._range}  # no cycler, joiner, lipsum, dict
        self.filters = {name: self._bounded_filter(name, f) for name, f in self.filters.items()}
        self.filters["crmkit_bounded_loop"] = self._bounded_loop
        env = self

        @jinja2.pass_eval_context
        def bounded_concat(eval_ctx, items):
            from jinja2.runtime import markup_join, str_join
            env._check_time()
            if sum(len(str(i)) for i in items) > MAX_OUTPUT:
                raise SecurityError("the concatenation is too large")
            return markup_join(items) if eval_ctx.autoescape else str_join(items)
        self.filters["crmkit_bounded_concat"] = bounded_concat

    # -- time and steps ---------------------------------------------------
    def _check_time(self):
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise TemplateTimeout("template took too long")

    def _step(self):
        self.steps += 1
        if self.steps > MAX_ITERATIONS:
            raise SecurityError(f"template loops more than {MAX_ITERATIONS} steps")
        if not self.steps % 64:
            self._check_time()

    def _range(self, *args):
        rng = range(*args)
        if len(rng) > MAX_ITEMS:
            raise SecurityError(f"range of {len(rng)} items is over the limit of {MAX_ITEMS}")
        for i in rng:
            self._step()
            yield i

    def _bounded_loop(self, iterable):
        """Every ``{% for %}`` iterates through here (see ``_parse``)."""
        if iterable is None or isinstance(iterable, jinja2.Undefined):
            return
        for item in iterable:
            self._step()
            yield item

    def _parse(self, source, name, filename):
        from jinja2 import nodes
        tree = super()._parse(source, name, filename)
        for loop in tree.find_all(nodes.For):
            loop.iter = nodes.Filter(loop.iter, "crmkit_bounded_loop", [], [], None, None, lineno=loop.lineno)
        for concat in list(tree.find_all(nodes.Concat)):  # ``a ~ b``: bounded like ``a + b``
            concat.nodes = [nodes.Filter(nodes.List(concat.nodes), "crmkit_bounded_concat", [], [], None, None,
                                         lineno=concat.lineno)]
        return tree


    # -- operators --------------------------------------------------------
    def call_binop(self, context, operator, left, right):
        self._check_time()
        if operator == "**":
            if isinstance(right, (int, float)) and not isinstance(right, bool):
                if abs(right) > 64 * 64 or (_int_bits(left) > 1 and isinstance(right, int)
                                             and _int_bits(left) * right > MAX_INT_BITS):
                    raise SecurityError("the power is too large")
            return left ** right
        if operator == "*":
            if _int_bits(left) + _int_bits(right) > MAX_INT_BITS:
                raise SecurityError("the product is too large")
            for seq, n in ((left, right), (right, left)):
                if _size(seq) and isinstance(n, int) and _size(seq) * n > MAX_OUTPUT:
                    raise SecurityError("repetition too large")
            return left * right
        if operator == "+":
            if _size(left) + _size(right) > MAX_OUTPUT:
                raise SecurityError("the concatenation is too large")
            return left + right
        if operator == "%":
            if isinstance(left, str):
                _check_percent_format(left)
                return _check_size(left % right, "formatted string")
            return left % right
        return left // right

    # -- calls ------------------------------------------------------------
    SAFE_SELF_TYPES = (str, int, float, dict, list, tuple)
    PADDING = {"center", "ljust", "rjust", "zfill"}

    def is_safe_callable(self, obj):
        """Only plain data methods (``'x'.upper()``, ``d.items()``), the
        bounded ``range`` and jinja's own helpers may be called: never a
        method of an application object (``record.save()``)."""
        if not super().is_safe_callable(obj):
            return False
        if obj == self._range or getattr(obj, "crmkit_bounded", False):
            return True
        owner = getattr(obj, "__self__", None)
        if owner is not None:
            return isinstance(owner, self.SAFE_SELF_TYPES) or type(owner).__module__.startswith("jinja2")
        module = getattr(obj, "__module__", None) or ""   # builtins have None
        return type(obj).__module__.startswith("jinja2") or module.startswith("jinja2")

    def call(self, __context, __obj, *args, **kwargs):
        self._check_time()
        owner = getattr(__obj, "__self__", None)
        name = getattr(__obj, "__name__", "")
        if isinstance(owner, str):
            self._check_str_method(owner, name, args, kwargs)
        for value in (*args, *kwargs.values()):
            _check_size(value, "argument")
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                raise SecurityError(f"calls nest deeper than {MAX_DEPTH} (a recursive macro?)")
            result = super().call(__context, __obj, *args, **kwargs)
        finally:
            self.depth -= 1
        if isinstance(owner, (list, dict, set)):
            _check_size(owner, "container")
        return _check_size(result, "result") if isinstance(result, (str, list, tuple, dict, set)) else result

    def _check_str_method(self, text, name, args, kwargs):
        if name in self.PADDING and args:
            _check_width(args[0])
        elif name == "expandtabs":
            size = args[0] if args else kwargs.get("tabsize", 8)
            _check_width(size, "tab size")
            if text.count("\t") * (size if isinstance(size, int) else 8) + len(text) > MAX_OUTPUT:
                raise SecurityError("the expanded text is too large")
        elif name == "replace" and len(args) >= 2 and isinstance(args[0], str) and isinstance(args[1], str):
            count = text.count(args[0]) if args[0] else len(text) + 1
            if len(text) + count * len(args[1]) > MAX_OUTPUT:
                raise SecurityError("the replaced text is too large")
        elif name == "join" and args:
            items = list(args[0]) if not isinstance(args[0], (list, tuple)) else args[0]
            if sum(len(str(i)) for i in items[:MAX_OUTPUT + 1]) + len(text) * len(items) > MAX_OUTPUT:
                raise SecurityError("the joined text is too large")

    def wrap_str_format(self, value):
        wrapper = super().wrap_str_format(value)
        if wrapper is None:
            return None
        _check_brace_format(value.__self__)

        def bounded(*args, **kwargs):
            return _check_size(wrapper(*args, **kwargs), "formatted string")
        bounded.crmkit_bounded = True
        return bounded

    def getattr(self, obj, attribute):
        self._check_time()
        return super().getattr(obj, attribute)

    def getitem(self, obj, argument):
        self._check_time()
        return super().getitem(obj, argument)

    # -- filters ----------------------------------------------------------
    def _bounded_filter(self, name, f):
        """A builtin filter with its widths and result bounded."""
        env = self

        def pre(args, kwargs, value):
            if name in ("center", "indent", "wordwrap", "truncate", "batch", "slice"):
                for a in (*args, *kwargs.values()):
                    if isinstance(a, (int, str)) and not isinstance(a, bool):
                        _check_width(a, f"'{name}' argument")
            if name == "indent" and isinstance(value, str):
                width = args[0] if args else kwargs.get("width", 4)
                pad = len(width) if isinstance(width, str) else width if isinstance(width, int) else 4
                if (value.count("\n") + 1) * pad + len(value) > MAX_OUTPUT:
                    raise SecurityError("the indented text is too large")
            if name == "replace" and isinstance(value, str) and len(args) >= 2:
                old, new = str(args[0]), str(args[1])
                count = value.count(old) if old else len(value) + 1
                if len(value) + count * len(new) > MAX_OUTPUT:
                    raise SecurityError("the replaced text is too large")
            if name == "format" and isinstance(value, str):
                _check_percent_format(value)
            if name == "join":
                items = value if isinstance(value, (list, tuple)) else None
                sep = args[0] if args else kwargs.get("d", "")
                if items is not None and sum(len(str(i)) for i in items) + len(str(sep)) * len(items) > MAX_OUTPUT:
                    raise SecurityError("the joined text is too large")

        if getattr(f, "jinja_pass_arg", None) is not None:
            def bounded(first, value, *args, **kwargs):
                env._check_time()
                pre(args, kwargs, value)
                return _check_size(f(first, value, *args, **kwargs), f"'{name}' result")
        else:
            def bounded(value, *args, **kwargs):
                env._check_time()
                pre(args, kwargs, value)
                return _check_size(f(value, *args, **kwargs), f"'{name}' result")
        bounded.__name__ = getattr(f, "__name__", name)
        if getattr(f, "jinja_pass_arg", None) is not None:
            bounded.jinja_pass_arg = f.jinja_pass_arg
        return bounded


class ProbeUndefined(jinja2.ChainableUndefined):
    """An undefined that is true: a save-time probe takes ``{% if record %}`` branches."""

    def __bool__(self):
        return True


_sandboxes: dict = {}


def sandbox(html: bool, probe=False) -> BoundedSandbox:
    if (html, probe) not in _sandboxes:
        _sandboxes[html, probe] = BoundedSandbox(
            autoescape=html, undefined=ProbeUndefined if probe else jinja2.ChainableUndefined)
    return _sandboxes[html, probe]


def translate_1c(source: str) -> str:
    """``#Имя#`` -> ``{{ p["Имя"] }}``: one engine for both syntaxes."""
    return PARAM_RE.sub(lambda m: '{{ p["%s"] }}' % m.group(1), source)


def parameters_used(source: str) -> set[str]:
    return set(PARAM_RE.findall(source)) | set(re.findall(r'p\[\s*["\']([^"\']+)["\']\s*\]', source))


def compile_user_template(source: str, html=False, field="template", probe=False):
    """Compile a user-edited template, or raise ValidationError naming ``field``."""
    if source is None:
        source = ""
    if len(source) > MAX_OUTPUT:
        raise ValidationError({field: f"template is longer than {MAX_OUTPUT} characters"})
    try:
        return sandbox(html, probe).from_string(translate_1c(source))
    except jinja2.TemplateSyntaxError as exc:
        raise ValidationError({field: f"template syntax error at line {exc.lineno}: {exc.message}"}) from None
    except (RecursionError, MemoryError, SyntaxError, ValueError, OverflowError) as exc:
        raise ValidationError({field: f"template refused: too deeply nested or too large ({type(exc).__name__})"}) \
            from None


_rendering = threading.local()


def render_user_template(source: str, context: dict, html=False, field="template", probe=False) -> str:
    """Render a user template in the bounded sandbox.

    Errors of any kind (syntax, forbidden access, too long, too slow, too
    deep, too big) raise ValidationError naming ``field``; the output never
    exceeds MAX_OUTPUT.
    """
    template = compile_user_template(source, html, field, probe)
    env = template.environment
    if getattr(_rendering, "active", False):  # a parameter rendering a template inside a template
        raise ValidationError({field: "template refused: a template may not render another"})
    _rendering.active = True
    env.deadline = time.monotonic() + MAX_SECONDS
    env.steps = env.depth = 0
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
    except RecursionError:
        raise ValidationError({field: "template refused: it recurses too deeply"}) from None
    except MemoryError:
        raise ValidationError({field: "template refused: it needs too much memory"}) from None
    except Exception as exc:  # noqa: BLE001 - whatever a user's template does is the template's error
        raise ValidationError({field: f"template error: {type(exc).__name__}: {exc}"}) from None
    finally:
        env.deadline = None
        _rendering.active = False
    return "".join(out)


def check_user_template(source: str, html=False, field="template"):
    """Refuse at save time a template that breaks the bounds in any context
    the probes reach: rendered with every name undefined and false, then
    undefined and true (so a bomb behind ``{% if record %}`` shows). Only
    bound violations refuse; other errors need a real context and are
    judged when the template renders for one."""
    for probe in (False, True):
        try:
            render_user_template(source, {}, html=html, field=field, probe=probe)
        except ValidationError as exc:
            text = " ".join(str(m) for m in exc.errors.values())
            if "template refused" in text:
                raise


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
        from .zones import local_moment     # a moment as the acting user reads it: in their zone
        return local_moment(getattr(self._record, name), self._crm.zone)

    def __str__(self):
        spec = self._crm.registry.spec_of_model(type(self._record))
        return self._crm.display(spec.name, self._record) if spec else str(self._record.get_id())
