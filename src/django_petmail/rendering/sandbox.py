"""The sandboxed template engine for author-written content (subjects, HTML, text).

Authors are staff, but their templates are data: they must not reach settings, files, other
templates, Python objects or methods. Jinja2's immutable sandbox is the base; on top of it:

* no loader, and ``include`` / ``import`` / ``extends`` are rejected when a template is saved;
* no function or method calls at all (``{{ x.upper() }}`` is rejected), only filters;
* attribute access reads dictionary keys only (``{{ pet.name }}`` where ``pet`` is a dict),
  never Python attributes;
* unknown variables render as empty text and are reported, so a preview can flag them.

Templates are compiled once (per campaign, per field) and rendered per recipient.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from jinja2 import TemplateSyntaxError, Undefined, meta, nodes
from jinja2.exceptions import SecurityError
from jinja2.runtime import LoopContext
from jinja2.sandbox import ImmutableSandboxedEnvironment

from ..exceptions import TemplateError
from .tracking import check_links

#: Jinja statements that reach other templates.
_FORBIDDEN_NODES: dict[type[nodes.Node], str] = {
    nodes.Include: "{% include %}",
    nodes.Import: "{% import %}",
    nodes.FromImport: "{% from … import %}",
    nodes.Extends: "{% extends %}",
}

SAFE_FILTERS = frozenset(
    {
        "abs",
        "capitalize",
        "center",
        "default",
        "d",
        "escape",
        "e",
        "first",
        "float",
        "format",
        "int",
        "join",
        "last",
        "length",
        "count",
        "lower",
        "replace",
        "round",
        "safe",
        "string",
        "striptags",
        "title",
        "trim",
        "truncate",
        "upper",
        "wordcount",
        "wordwrap",
        "urlencode",
        "sort",
        "unique",
        "min",
        "max",
        "sum",
        "list",
        "batch",
        "slice",
        "indent",
    }
)


#: Read-only facts about the current ``{% for %}`` iteration (``{{ loop.index }}``).
_LOOP_ATTRIBUTES = frozenset(
    {"index", "index0", "revindex", "revindex0", "first", "last", "length", "depth", "depth0"}
)


#: Largest string/list a template may build with ``*`` and largest exponent for ``**``:
#: a template must not be able to exhaust a worker's memory or CPU.
MAX_REPEAT = 10_000
MAX_EXPONENT = 100


class _Environment(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "**":
            if isinstance(right, int | float) and abs(right) > MAX_EXPONENT:
                raise SecurityError(f"exponents above {MAX_EXPONENT} are not allowed")
            return left**right
        for seq, count in ((left, right), (right, left)):
            if (
                isinstance(seq, str | list | tuple)
                and isinstance(count, int)
                and len(seq) * max(count, 0) > MAX_REPEAT
            ):
                raise SecurityError(f"results longer than {MAX_REPEAT} are not allowed")
        return left * right

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        return False  # no Python attributes; getattr() below falls back to keys

    def getattr(self, obj: Any, attribute: str) -> Any:
        if isinstance(obj, Mapping) and attribute in obj:
            return obj[attribute]
        if isinstance(obj, LoopContext) and attribute in _LOOP_ATTRIBUTES:
            return getattr(obj, attribute)
        return self.undefined(obj=obj, name=attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        if isinstance(obj, Mapping | list | tuple | str):
            try:
                return obj[argument]
            except (KeyError, IndexError, TypeError):
                pass
        return self.undefined(obj=obj, name=str(argument))

    def call(self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        raise SecurityError("calling functions or methods is not allowed in email templates")


def _environment(autoescape: bool) -> _Environment:
    env = _Environment(autoescape=autoescape, undefined=Undefined, keep_trailing_newline=True)
    env.filters = {name: f for name, f in env.filters.items() if name in SAFE_FILTERS}
    env.globals = {}
    env.tests = {
        name: t
        for name, t in env.tests.items()
        if name
        in {
            "defined",
            "undefined",
            "none",
            "number",
            "string",
            "even",
            "odd",
            "divisibleby",
            "eq",
            "ne",
            "lt",
            "gt",
            "le",
            "ge",
            "in",
        }
    }
    return env


_HTML = _environment(autoescape=True)
_TEXT = _environment(autoescape=False)


@dataclass
class CompiledTemplate:
    source: str
    html: bool
    variables: frozenset[str]
    _template: Any = field(repr=False, default=None)

    def render(self, context: Mapping[str, Any], missing: set[str] | None = None) -> str:
        """Render with a plain-dict context; names the template uses but the context lacks
        render empty and are added to ``missing``."""
        data = dict(context)
        if missing is not None:
            unknown = self.variables - data.keys()
            missing.update(unknown)
        try:
            return str(self._template.render(data))
        except SecurityError as exc:
            raise TemplateError(f"not allowed: {exc}") from exc
        except Exception as exc:  # a filter given a wrong type, a division by zero…
            raise TemplateError(f"cannot be rendered: {exc}") from exc


def compile_template(source: str, *, html: bool) -> CompiledTemplate:
    """Parse, check and compile ``source``; :class:`TemplateError` explains any refusal."""
    env = _HTML if html else _TEXT
    try:
        ast = env.parse(source or "")
    except TemplateSyntaxError as exc:
        raise TemplateError(f"line {exc.lineno}: {exc.message}") from None
    _check(ast, env)
    if html:
        check_links(source or "")
    try:
        # Both compile the AST, so either can be the first to meet an unknown filter.
        variables = frozenset(meta.find_undeclared_variables(ast))
        template = env.from_string(ast)
    except TemplateSyntaxError as exc:  # e.g. an unknown filter
        raise TemplateError(f"line {exc.lineno}: {exc.message}") from None
    return CompiledTemplate(source or "", html, variables, template)


def _check(ast: nodes.Template, env: _Environment) -> None:
    for node_type, label in _FORBIDDEN_NODES.items():
        found = next(iter(ast.find_all(node_type)), None)
        if found is not None:
            raise TemplateError(f"line {found.lineno}: {label} is not allowed in email templates")
    call = next(iter(ast.find_all(nodes.Call)), None)
    if call is not None:
        raise TemplateError(
            f"line {call.lineno}: calling functions or methods is not allowed; use filters "
            "such as {{ name|upper }}"
        )
    for test in ast.find_all(nodes.Test):  # Jinja only looks tests up when rendering
        if test.name not in env.tests:
            raise TemplateError(f"line {test.lineno}: No test named {test.name!r}.")
    for name in ast.find_all(nodes.Name):
        if name.name.startswith("_"):
            raise TemplateError(f"line {name.lineno}: names starting with '_' are not allowed")
    for getattr_node in ast.find_all(nodes.Getattr):
        if getattr_node.attr.startswith("_"):
            raise TemplateError(
                f"line {getattr_node.lineno}: names starting with '_' are not allowed"
            )


__all__ = ["CompiledTemplate", "TemplateError", "compile_template"]


def template_field_errors(obj: Any, fields: dict[str, bool]) -> dict[str, list[str]]:
    """``{field: [message]}`` for each of ``obj``'s template fields (name → is HTML) that
    the sandbox refuses; model ``clean()`` methods raise these as a ``ValidationError``."""
    errors: dict[str, list[str]] = {}
    for name, html in fields.items():
        try:
            compile_template(getattr(obj, name) or "", html=html)
        except TemplateError as exc:
            errors[name] = [str(exc)]
    return errors
