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


class PPPParameter(click.ParamType):
    """A command-line value for a parameter of PPP, read and checked by its constraints."""

    def __init__(self, name: str):
        self.param = name
        self.constraints = PPP._parameter_constraints[name]
        self.name = self.get_metavar(None)

    def get_metavar(self, param, ctx=None) -> str:
        words = []
        for c in map(make_constraint, self.constraints):
            kind = getattr(c, "type", None)
            if isinstance(c, StrOptions):
                words += sorted(c.options)
            elif c.__class__.__name__ == "_NoneConstraint":
                words.append("none")
            elif c.__class__.__name__ == "_Booleans":
                words += ["true", "false"]
            elif kind is not None and issubclass(kind, Integral):
                words.append("INTEGER")
            elif kind is not None and issubclass(kind, Real):
                words.append("FLOAT")
        return "|".join(dict.fromkeys(words)) or "VALUE"

    def convert(self, value, param, ctx):
        if not isinstance(value, str):  # PPP's own default
            return value
        text = value.strip()
        for c in map(make_constraint, self.constraints):
            candidate = self._read(c, text)
            if candidate is not _UNREAD and c.is_satisfied_by(candidate):
                return candidate
        self.fail(f"{value!r} is not {self.described()}", param, ctx)

    def described(self) -> str:
        """What the parameter accepts, in a command-line user's words."""
        words = []
        for c in map(make_constraint, self.constraints):
            kind = getattr(c, "type", None)
            if isinstance(c, StrOptions):
                words.append(" or ".join(map(repr, sorted(c.options))))
            elif c.__class__.__name__ == "_NoneConstraint":
                words.append("'none'")
            elif c.__class__.__name__ == "_Booleans":
                words.append("true or false")
            elif isinstance(c, Interval):
                words.append(str(c))
            elif kind is not None and issubclass(kind, Integral):
                words.append("an integer")
            elif kind is not None and issubclass(kind, Real):
                words.append("a number")
        return " or ".join(words)

    @staticmethod
    def _read(constraint, text):
        kind = getattr(constraint, "type", None)
        name = constraint.__class__.__name__
        try:
            if isinstance(constraint, StrOptions):
                return text if text in constraint.options else _UNREAD
            if name == "_NoneConstraint":
                return None if text.lower() == "none" else _UNREAD
            if name == "_Booleans":
                return click.BOOL.convert(text, None, None)
            if kind is not None and issubclass(kind, Integral):
                return int(text)
            if kind is not None and issubclass(kind, Real):
                return float(text)
        except (ValueError, click.BadParameter):
            pass
        return _UNREAD


_UNREAD = object()


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
