"""ASP.NET-style route templates (``orders/{id:int}/{name?}``, ``files/{*rest}``) as the Functions host uses them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

from funchost.errors import ConfigError

_CONSTRAINTS = {
    "int": r"-?\d+",
    "long": r"-?\d+",
    "bool": r"(?i:true|false)",
    "alpha": r"[A-Za-z]+",
    "guid": r"[0-9A-Fa-f]{8}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{12}",
    "double": r"-?\d+(?:\.\d+)?",
    "float": r"-?\d+(?:\.\d+)?",
    "decimal": r"-?\d+(?:\.\d+)?",
    "datetime": r"[^/]+",
}
_PARAM = re.compile(r"^\{(\*)?([A-Za-z_][A-Za-z0-9_]*)(?::([A-Za-z]+)(?:\(([^)]*)\))?)?(\?)?(?:=([^}]*))?\}$")


@dataclass
class RouteTemplate:
    """A compiled route template; ``match`` returns the route parameters or None."""

    template: str
    regex: re.Pattern[str]
    literal_segments: int
    params: int

    def match(self, path: str) -> Optional[dict[str, str]]:
        m = self.regex.fullmatch(path.strip("/"))
        if not m:
            return None
        return {k: v for k, v in m.groupdict().items() if v is not None}

    @property
    def precedence(self) -> tuple[int, int]:
        """Sort key: more literal segments first, then fewer parameters (ASP.NET's ordering, simplified)."""
        return (-self.literal_segments, self.params)


def compile_route(template: str) -> RouteTemplate:
    """Compile ``template``; raises ConfigError naming the bad segment."""
    parts = [p for p in template.strip("/").split("/") if p != ""]
    pattern = ""
    literals = params = 0
    for i, seg in enumerate(parts):
        sep = "/" if i else ""
        m = _PARAM.match(seg)
        if not m:
            if "{" in seg or "}" in seg:
                raise ConfigError(
                    f"route template '{template}': segment '{seg}' is not a valid parameter; "
                    "use {name}, {name?}, {name:int} or {*rest}"
                )
            pattern += sep + re.escape(seg)
            literals += 1
            continue
        catch_all, name, constraint, _arg, optional, _default = m.groups()
        params += 1
        body = ".*" if catch_all else _CONSTRAINTS.get((constraint or "").lower(), r"[^/]+")
        if catch_all or optional:
            pattern += f"(?:{sep}(?P<{name}>{body}))?"
        else:
            pattern += f"{sep}(?P<{name}>{body})"
    return RouteTemplate(template, re.compile(pattern, re.IGNORECASE), literals, params)
