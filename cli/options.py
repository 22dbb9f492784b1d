"""Click options built from the library's config dataclasses: one source for every default and every help text.

Each command's settings are the fields of one frozen dataclass (``TrainConfig`` in ``ghp/train.py``, ``EvalConfig``
in ``ghp/evaluate.py``, ``ExportConfig`` in ``export/api.py``). :func:`config_options` turns every field into one
option, as CleanRL's documented ``Args`` and tyro do: the name is the field's (``n_envs`` -> ``--n-envs``), the
default is the field's default, the help is the docstring written under the field, the type comes from the
annotation. :func:`build_config` turns the parsed options back into the dataclass. So a field appears once and is
the same in the library, on the command line, in ``--help`` and in a run's ``config.json``.

**Adding an option** (for every engineer): add a field with a default and a docstring under it to the command's
config dataclass. Nothing else: the option, its ``--help`` line and its default follow. Types understood:

- ``int``, ``float``, ``str``, ``pathlib.Path``;
- ``bool``: a flag (``--x``; ``--x/--no-x`` when the default is ``True``);
- ``tuple[int, ...]``: a comma list (``--widths 4,8,16``);
- ``X | None`` with default ``None``: optional, ``None`` meaning "decided elsewhere" (for ``TrainConfig``, the
  per-environment default of :func:`ghp.train.resolve`, shown as such in ``--help``).

Optional field metadata, ``field(default=..., metadata={...})``, only where the plain rule is not enough:

- ``"choices"``: the allowed strings, taken from the module's constant (``ALGOS``, ``DECODERS``...): ``click.Choice``;
- ``"min"``: lowest allowed integer (``click.IntRange``);
- ``"flag"``: the option's name when it is not the field's (``env_id`` is ``--env``);
- ``"required"``: the command line must give it (``--env``), though the library has a default;
- ``"show_default"``: how ``--help`` names a default that the value does not show (``None`` meaning a rule);
- ``"parse"``: a function from the option's text to the field's value (raising ``ValueError``), for other types.
- ``"parse_all"``: a repeatable option; the function turns the tuple of all its texts into the field's value
  (raising ``ValueError``), e.g. ``--env-kwargs`` pairs into a dict; ``"metavar"`` names its argument.

Options that are not settings of the computation (``--resume``, ``--force``, ``--quiet``, ``--json``, the
policy choice of ``ghp export``) stay ordinary click options in the command.

Docstrings are written for the library (reST ``code``); the help shows them as plain text.
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import inspect
import re
import textwrap
import types
import typing
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])
C = TypeVar("C")


@functools.cache
def field_docs(cls: type) -> dict[str, str]:
    """The docstring written under each field of dataclass ``cls`` (and its bases), by field name."""
    docs: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        if not dataclasses.is_dataclass(klass):
            continue
        try:
            source = textwrap.dedent(inspect.getsource(klass))
        except (OSError, TypeError):
            continue
        body = ast.parse(source).body[0]
        assert isinstance(body, ast.ClassDef)
        for node, nxt in zip(body.body, body.body[1:], strict=False):
            if (
                isinstance(node, ast.AnnAssign)
                and isinstance(node.target, ast.Name)
                and isinstance(nxt, ast.Expr)
                and isinstance(nxt.value, ast.Constant)
                and isinstance(nxt.value.value, str)
            ):
                docs[node.target.id] = inspect.cleandoc(nxt.value.value)
    return docs


def help_text(doc: str) -> str:
    """A field docstring as one plain line of help: first paragraph, reST roles and literals unwrapped."""
    text = doc.split("\n\n")[0]
    text = re.sub(r":\w+:`~?([^`]+)`", r"\1", text)  # :func:`resolve` -> resolve
    text = text.replace("``", "")
    return " ".join(text.split())


class IntList(click.ParamType):
    """``4,8,16`` -> ``(4, 8, 16)``."""

    name = "INTS"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> tuple[int, ...]:
        if isinstance(value, (tuple, list)):
            return tuple(int(v) for v in value)
        try:
            return tuple(int(t) for t in str(value).replace(" ", "").split(",") if t != "")
        except ValueError:
            self.fail(f"expected comma-separated integers, got {value!r}", param, ctx)


class Parsed(click.ParamType):
    """Text turned into a value by a field's ``parse`` function (metadata)."""

    name = "TEXT"

    def __init__(self, parse: Callable[[str], Any]) -> None:
        self.parse = parse

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if not isinstance(value, str):
            return value
        try:
            return self.parse(value)
        except ValueError as e:
            self.fail(" ".join(str(e).split()), param, ctx)


def _base_type(annotation: Any) -> Any:
    """``X | None`` -> ``X``."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return annotation


def option_name(f: dataclasses.Field[Any]) -> str:
    """The option of field ``f``: its ``flag`` metadata, or ``--`` + the name with dashes."""
    return str(f.metadata.get("flag", "--" + f.name.replace("_", "-")))


def _default(f: dataclasses.Field[Any]) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return None


def _option(f: dataclasses.Field[Any], annotation: Any, doc: str, none_default: str | None) -> Callable[[F], F]:
    """One click option for field ``f``."""
    meta: Mapping[str, Any] = f.metadata
    kind = _base_type(annotation)
    default = _default(f)
    required = bool(meta.get("required")) or (
        f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    )
    kw: dict[str, Any] = {"help": help_text(doc), "show_default": True}
    decls = [option_name(f), f.name]
    if "parse_all" in meta:
        kw.update(multiple=True, type=str, callback=_parse_all(meta["parse_all"]), show_default=False)
        if "metavar" in meta:
            kw["metavar"] = meta["metavar"]
        if "show_default" in meta:
            kw["help"] = f"{kw['help']}  [default: {meta['show_default']}]"
        return click.option(*decls, **kw)
    if kind is bool:
        kw["default"] = bool(default)
        if default:
            decls[0] = f"{decls[0]}/--no-{decls[0][2:]}"
        else:
            kw.update(is_flag=True, show_default=False)
    else:
        if "parse" in meta:
            kw["type"] = Parsed(meta["parse"])
        elif "choices" in meta:
            kw["type"] = click.Choice(list(meta["choices"]))
        elif kind is int:
            kw["type"] = click.IntRange(min=meta["min"]) if "min" in meta else int
        elif kind is float:
            kw["type"] = float
        elif kind is Path:
            kw["type"] = click.Path(path_type=Path)
        elif typing.get_origin(kind) is tuple and typing.get_args(kind) == (int, ...):
            kw["type"] = IntList()
            if default is not None:  # as typed on the command line, not as a tuple
                kw.update(show_default=False, help=f"{kw['help']}  [default: {','.join(map(str, default))}]")
        elif kind is str:
            kw["type"] = str
        else:
            raise TypeError(f"{f.name}: no option type for {annotation!r}; give it a 'parse' function (cli/options.py)")
        kw["default"] = default
        shown = meta.get("show_default", none_default if default is None else None)
        if shown is not None:
            kw.update(show_default=False, help=f"{kw['help']}  [default: {shown}]")
        elif default is None:
            kw["show_default"] = False
    if required:
        kw.pop("default", None)
        kw.update(required=True, show_default=False)
    return click.option(*decls, **kw)


def _parse_all(parse: Callable[[tuple[str, ...]], Any]) -> Callable[[click.Context, click.Parameter, Any], Any]:
    """A click callback: every text of a repeatable option -> one value, a ``ValueError`` as a usage error."""

    def callback(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
        try:
            return parse(tuple(value or ()))
        except ValueError as e:
            raise click.BadParameter(" ".join(str(e).split()), ctx, param) from None

    return callback


def config_fields(cls: type) -> list[dataclasses.Field[Any]]:
    """The fields of ``cls`` that become options (all of them)."""
    return list(dataclasses.fields(cls))


def config_options(cls: type, none_default: str | None = None) -> Callable[[F], F]:
    """Decorator: one click option per field of the dataclass ``cls``, in field order.

    Args:
        cls: the command's config dataclass.
        none_default: how ``--help`` names the default of fields whose default is ``None``.
    """
    hints = typing.get_type_hints(cls)
    docs = field_docs(cls)
    options = [_option(f, hints[f.name], docs.get(f.name, ""), none_default) for f in config_fields(cls)]

    def decorate(fn: F) -> F:
        for opt in reversed(options):  # click lists options in the order of application, last applied first
            fn = opt(fn)
        return fn

    return decorate


def build_config(cls: type[C], options: dict[str, Any], **overrides: Any) -> C:
    """The ``cls`` instance of the parsed options: pops the fields' values out of ``options`` (what is left are the
    command's own options); ``overrides`` replace individual values (e.g. a translated path)."""
    values = {f.name: options.pop(f.name) for f in config_fields(cls) if f.name in options}
    values.update(overrides)
    return cls(**values)
