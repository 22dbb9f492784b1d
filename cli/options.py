"""Click options built from the library's config dataclasses: one source for every default and every help text.

Each command's settings are the fields of one frozen dataclass (``TrainConfig`` in ``ghp/rl/config.py``, ``EvalConfig``
in ``ghp/rollout/evaluate.py``, ``ExportConfig`` in ``export/job.py``). :func:`config_options` turns every field into
one
option, as CleanRL's documented ``Args`` and tyro do: the name is the field's (``n_envs`` -> ``--n-envs``), the
default is the field's default, the help is the docstring written under the field, the type comes from the
annotation. A command names its dataclass, ``@click.command(cls=ConfigCommand, config="ghp.rl.config:TrainConfig")``, so
that listing the commands imports no library; :func:`build_config` turns the parsed options back into the
dataclass. So a field appears once and is the same in the library, on the command line, in ``--help`` and in a
run's ``config.json``.

**Adding an option** (for every engineer): add a field with a default and a docstring under it to the command's
config dataclass. Nothing else: the option, its ``--help`` line and its default follow. Types understood:

- ``int``, ``float``, ``str``, ``pathlib.Path``;
- ``bool``: a flag (``--x``; ``--x/--no-x`` when the default is ``True`` or, for ``bool | None``, ``None``);
- ``tuple[int, ...]``: a comma list (``--widths 4,8,16``);
- ``X | None`` with default ``None``: optional, ``None`` meaning "decided elsewhere" (for ``TrainConfig``, the
  per-environment default of :func:`ghp.rl.config.resolve`, shown as such in ``--help``).

Optional field metadata, ``field(default=..., metadata={...})``, only where the plain rule is not enough:

- ``"choices"``: the allowed strings, taken from the module's constant (``ALGOS``, ``DECODERS``...): ``click.Choice``;
- ``"min"``: lowest allowed integer (``click.IntRange``);
- ``"flag"``: the option's name when it is not the field's (``env_id`` is ``--env``);
- ``"required"``: the command line (or a ``--config`` file) must give it (``--env``), though the library has a
  default;
- ``"show_default"``: how ``--help`` names a default that the value does not show (``None`` meaning a rule);
- ``"parse"``: a function from the option's text to the field's value (raising ``ValueError``), for other types;
  ``"join"``: how a config file's list becomes that text (default ``,``; ``--arch`` joins with ``-``).
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
import importlib
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
    """``4,8,16`` -> ``(4, 8, 16)``, through :func:`ghp.space.arch.parse_ints`."""

    name = "INTS"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> tuple[int, ...]:
        if isinstance(value, (tuple, list)):
            try:
                return tuple(whole_number(v) for v in value)
            except ValueError:
                self.fail(f"expected a list of whole numbers, got {value!r}", param, ctx)
        if not isinstance(value, str):
            self.fail(f"expected comma-separated integers, got {value!r}", param, ctx)
        from ghp.space.arch import parse_ints

        try:
            return parse_ints(value)
        except ValueError:
            self.fail(f"expected comma-separated integers, got {value!r}", param, ctx)


def whole_number(value: Any) -> int:
    """A config file's integer: an int, an integral finite float (``1.0e6``) or its text; never a bool or ``1.7``.

    Raises:
        ValueError: anything else.
    """
    if isinstance(value, bool):
        raise ValueError(f"expected a whole number, got {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if value.is_integer():  # False for inf and nan
            return int(value)
        raise ValueError(f"expected a whole number, got {value!r}")
    if isinstance(value, str):
        text = value.strip().replace("_", "")
        try:
            return int(text)
        except ValueError:
            pass
        try:
            return whole_number(float(text))
        except (ValueError, OverflowError):
            raise ValueError(f"expected a whole number, got {value!r}") from None
    raise ValueError(f"expected a whole number, got {value!r}")


class Parsed(click.ParamType):
    """Text turned into a value by a field's ``parse`` function (metadata)."""

    name = "TEXT"

    def __init__(self, parse: Callable[[str], Any], join: str = ",") -> None:
        self.parse = parse
        self.join = join

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, (list, tuple)) and all(type(v) in (str, int) for v in value):
            value = self.join.join(map(str, value))  # a config file's list: the option's text form
        if not isinstance(value, str):
            self.fail(f"expected text like the option's, got {value!r}", param, ctx)
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


def _required(f: dataclasses.Field[Any]) -> bool:
    """Whether field ``f`` must be given: ``required`` metadata, or no default at all."""
    no_default = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    return bool(f.metadata.get("required")) or no_default


def _default(f: dataclasses.Field[Any]) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return None


def _option(
    f: dataclasses.Field[Any], annotation: Any, doc: str, none_default: str | None
) -> tuple[list[str], dict[str, Any]]:
    """The declarations and settings of field ``f``'s click option."""
    meta: Mapping[str, Any] = f.metadata
    kind = _base_type(annotation)
    default = _default(f)
    required = _required(f)
    kw: dict[str, Any] = {"help": help_text(doc), "show_default": True}
    decls = [option_name(f), f.name]
    if "parse_all" in meta:
        kw.update(multiple=True, type=str, callback=_parse_all(meta["parse_all"]), show_default=False)
        if "metavar" in meta:
            kw["metavar"] = meta["metavar"]
        if "show_default" in meta:
            kw["help"] = f"{kw['help']}  [default: {meta['show_default']}]"
        return decls, kw
    if kind is bool:
        kw["default"] = default
        if default is None or default:  # --x/--no-x; None: neither given, decided elsewhere
            decls[0] = f"{decls[0]}/--no-{decls[0][2:]}"
            if default is None:
                kw["show_default"] = False
                if none_default:
                    kw["help"] = f"{kw['help']}  [default: {none_default}]"
        else:
            kw.update(is_flag=True, show_default=False)
    else:
        if "parse" in meta:
            kw["type"] = Parsed(meta["parse"], meta.get("join", ","))
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
    if required:  # checked by build_config, after a --config file had its say
        kw.update(default=None, show_default=False, help=f"{kw['help']}  [required]")
    return decls, kw


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
    options = [click.option(*decls, **kw) for decls, kw in _specs(cls, none_default)]

    def decorate(fn: F) -> F:
        for opt in reversed(options):  # click lists options in the order of application, last applied first
            fn = opt(fn)
        return fn

    return decorate


def _specs(cls: type, none_default: str | None) -> list[tuple[list[str], dict[str, Any]]]:
    hints = typing.get_type_hints(cls)
    docs = field_docs(cls)
    return [_option(f, hints[f.name], docs.get(f.name, ""), none_default) for f in config_fields(cls)]


def load_class(target: str) -> type:
    """``"package.module:Name"`` -> the class."""
    module, _, name = target.partition(":")
    cls = getattr(importlib.import_module(module), name)
    assert isinstance(cls, type)
    return cls


class ConfigCommand(click.Command):
    """A command whose options include one per field of a config dataclass, built when the command is first used.

    ``@click.command(cls=ConfigCommand, config="ghp.rl.config:TrainConfig")``: the dataclass is named, not imported, so
    listing the commands (``ghp --help``) imports no library; the options are the same as :func:`config_options`
    gives, before the command's own ones.
    """

    def __init__(self, *args: Any, config: str, none_default: str | None = None, **kwargs: Any) -> None:
        self.config_target = config
        self.none_default = none_default
        self._params: list[click.Parameter] | None = None
        super().__init__(*args, **kwargs)

    @property
    def config_class(self) -> type:
        """The config dataclass (imported on first use)."""
        return load_class(self.config_target)

    @property  # type: ignore[override]
    def params(self) -> list[click.Parameter]:
        # One list object, built once: click appends to and pops from it (its help option).
        if self._params is None:
            generated = [click.Option(d, **kw) for d, kw in _specs(self.config_class, self.none_default)]
            self._params = [*generated, *self._own]
        return self._params

    @params.setter
    def params(self, value: list[click.Parameter]) -> None:
        self._own = list(value)
        self._params = None


def build_config(
    cls: type[C], options: dict[str, Any], base: Mapping[str, Any] | None = None, source: str = "the config file"
) -> C:
    """The ``cls`` instance of the parsed options; pops the fields' values out of ``options`` (what is left are the
    command's own options).

    Args:
        cls: the command's config dataclass.
        options: the command's keyword arguments.
        base: settings read from a config file (:func:`ghp.hypernet.config.read_config_file`): they replace the
        defaults,
            and options given on the command line replace them.
        source: how error messages name ``base``.

    Raises:
        click.UsageError: a value of ``base`` the option would refuse, or a required option given nowhere.
    """
    ctx = click.get_current_context(silent=True)
    params = {p.name: p for p in ctx.command.params} if ctx is not None else {}
    values: dict[str, Any] = {}
    for f in config_fields(cls):
        if f.name not in options:
            continue
        values[f.name] = options.pop(f.name)
        if base is None or f.name not in base or _given(ctx, f.name):
            continue
        if "parse_all" in f.metadata:  # a file holds the value itself (a mapping), or the option's texts
            raw = base[f.name]
            if raw is None or isinstance(raw, dict):
                values[f.name] = {} if raw is None else raw
                continue
            if not (isinstance(raw, str) or (isinstance(raw, (list, tuple)) and all(isinstance(t, str) for t in raw))):
                raise click.UsageError(
                    f"{f.name} in {source}: expected a mapping of KEY: VALUE (or KEY=VALUE texts), got {raw!r}", ctx=ctx
                )
            try:
                values[f.name] = f.metadata["parse_all"]((raw,) if isinstance(raw, str) else tuple(raw))
            except ValueError as e:
                raise click.UsageError(f"{f.name} in {source}: {' '.join(str(e).split())}", ctx=ctx) from None
            continue
        values[f.name] = _convert(ctx, params.get(f.name), base[f.name], f.name, source)
    for f in config_fields(cls):
        if _required(f) and f.name in values and values[f.name] is None:
            raise click.UsageError(f"Missing option '{option_name(f)}'.", ctx=ctx)
    return cls(**values)


def _given(ctx: click.Context | None, name: str) -> bool:
    """Whether option ``name`` was given on the command line (or by an environment variable)."""
    if ctx is None:
        return True
    source = ctx.get_parameter_source(name)
    return source not in (None, click.core.ParameterSource.DEFAULT, click.core.ParameterSource.DEFAULT_MAP)


def _convert(ctx: click.Context | None, param: click.Parameter | None, value: Any, name: str, source: str) -> Any:
    """A config file's ``value`` through the option's own type (choices, ranges, comma lists are checked)."""
    if value is None or param is None:
        return value
    try:
        kind = param.type
        if isinstance(kind, click.types.IntParamType):  # IntRange too: click would truncate 1.7 to 1
            try:
                value = whole_number(value)
            except ValueError as e:
                raise click.BadParameter(str(e)) from None
        elif isinstance(kind, click.types.FloatParamType) and isinstance(value, bool):
            raise click.BadParameter(f"expected a number, got {value!r}")
        elif isinstance(param, click.Option) and param.is_flag and not isinstance(value, bool):
            raise click.BadParameter(f"expected true or false, got {value!r}")
        elif isinstance(kind, (click.types.StringParamType, click.Choice)) and not isinstance(value, str):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise click.BadParameter(f"expected text, got {value!r}")
        return kind.convert(value, param, ctx)
    except click.BadParameter as e:
        raise click.UsageError(f"{name} in {source}: {e.message}", ctx=ctx) from None
    except (OverflowError, TypeError) as e:
        raise click.UsageError(f"{name} in {source}: {value!r} is not a valid value ({e})", ctx=ctx) from None


def json_option(what: str, instead: str = "text") -> Callable[[F], F]:
    """``--json`` (parameter ``as_json``): print ``what`` as JSON instead of ``instead``; the command renders its
    result with :func:`echo_json`."""
    return click.option("--json", "as_json", is_flag=True, help=f"Print {what} as JSON instead of {instead}.")


def echo_json(result: Any) -> None:
    """Print a library result as one line of JSON: its ``to_dict()`` (every result type has one), or the value itself
    (a list of them, a plain dict)."""
    import json

    def plain(value: Any) -> Any:
        if hasattr(value, "to_dict"):
            return value.to_dict()
        if isinstance(value, (list, tuple)):
            return [plain(v) for v in value]
        return value

    click.echo(json.dumps(plain(result), default=str))
