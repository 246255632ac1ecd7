"""Command-line options made from the parameters of :class:`partitive.PPP`.

Each parameter becomes an option with PPP's default, its constraints (read from
``PPP._parameter_constraints``) and the description in PPP's docstring, so that the
command and the estimator cannot disagree.
"""

from __future__ import annotations

import re
from numbers import Integral, Real

import click
from sklearn.utils._param_validation import Interval, StrOptions, make_constraint

from .estimator import PPP


def _kind(constraint) -> str | None:
    """The kind of value a (made) sklearn constraint admits, as far as a command line can give it."""
    kind = getattr(constraint, "type", None)
    if isinstance(constraint, StrOptions):
        return "options"
    if constraint.__class__.__name__ == "_NoneConstraint":
        return "none"
    if constraint.__class__.__name__ == "_Booleans":
        return "boolean"
    if isinstance(kind, type) and issubclass(kind, Integral):
        return "integer"
    if isinstance(kind, type) and issubclass(kind, Real):
        return "float"
    return None


#: How each kind reads in a metavar, and in the message for a value it refuses.
_METAVARS = {"none": "none", "boolean": "true|false", "integer": "INTEGER", "float": "FLOAT"}
_WORDS = {"none": "'none'", "boolean": "true or false", "integer": "an integer", "float": "a number"}

_UNREAD = object()


class PPPParameter(click.ParamType):
    """A command-line value for a parameter of PPP, read and checked by its constraints."""

    def __init__(self, name: str):
        self.param = name
        self.constraints = [make_constraint(c) for c in PPP._parameter_constraints[name]]
        self.name = self.get_metavar(None)

    def get_metavar(self, param, ctx=None) -> str:
        words = [
            "|".join(sorted(c.options)) if _kind(c) == "options" else _METAVARS.get(_kind(c), "VALUE")
            for c in self.constraints
        ]
        return "|".join(dict.fromkeys(words))

    def convert(self, value, param, ctx):
        if not isinstance(value, str):  # PPP's own default
            return value
        for c in self.constraints:
            candidate = self._read(c, value.strip())
            if candidate is not _UNREAD and c.is_satisfied_by(candidate):
                return candidate
        self.fail(f"{value!r} is not {self.described()}", param, ctx)

    def described(self) -> str:
        """What the parameter accepts, in a command-line user's words."""
        return " or ".join(
            " or ".join(map(repr, sorted(c.options))) if _kind(c) == "options"
            else str(c) if isinstance(c, Interval) else _WORDS.get(_kind(c), str(c))
            for c in self.constraints
        )

    @staticmethod
    def _read(constraint, text):
        kind = _kind(constraint)
        try:
            if kind == "options":
                return text if text in constraint.options else _UNREAD
            if kind == "none":
                return None if text.lower() == "none" else _UNREAD
            if kind == "boolean":
                return click.BOOL.convert(text, None, None)
            if kind in ("integer", "float"):
                return int(text) if kind == "integer" else float(text)
        except (ValueError, click.BadParameter):
            pass
        return _UNREAD


def ppp_help() -> dict:
    """Each PPP parameter's description, from the Parameters section of its docstring."""
    doc = PPP.__doc__ or ""
    section = re.search(r"\n\s*Parameters\n\s*-+\n(.*?)\n\s*\n\s*[A-Z][a-z]+\n\s*-+\n", doc, re.S)
    helps, name = {}, None
    for line in (section.group(1) if section else "").splitlines():
        head = re.match(r"^ {4}(\w+) :", line)
        if head:
            name = head.group(1)
            helps[name] = []
        elif name and line.strip():
            helps[name].append(line.strip())
    return {k: " ".join(v).replace("``", "") for k, v in helps.items()}


def ppp_options(function):
    """Add an option for every parameter of PPP, with PPP's default and description."""
    defaults, helps = PPP().get_params(), ppp_help()
    for name in reversed(list(defaults)):
        function = click.option(
            "--" + name.replace("_", "-"), name, type=PPPParameter(name), default=defaults[name],
            show_default=defaults[name] is not None, help=helps.get(name, ""),
        )(function)
    return function
