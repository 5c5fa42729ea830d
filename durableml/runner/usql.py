r"""U-SQL (Azure Data Lake Analytics, retired 2024-02-29) to DuckDB SQL: the common subset, and nothing else.

:func:`translate` turns a U-SQL script into :class:`Query` and :class:`Output` steps that
:mod:`durableml.runner.adla` runs on an in-memory DuckDB. The translator is a small tokenizer, a statement
splitter (``;`` outside parentheses) and one parser per statement kind; whatever it does not know is refused
with :class:`Unsupported`, naming the construct and the script line, before anything runs.

Supported statements (each ends with ``;``; ``//`` and ``/* */`` comments are allowed)::

    DECLARE @in string = "/data/searchlog.tsv";       // a variable: a literal, another variable, +, -, * ...
    DECLARE EXTERNAL @region string = "en-us";        // a job parameter: a step param of that name replaces it
    DECLARE @since DateTime = DateTime.Parse("2024-01-01");

    @log =                                            // EXTRACT: typed columns from files
        EXTRACT UserId int, Region string, Duration int?, Start DateTime
        FROM @in                                      // or "path", "a" + @b, several paths, "{*}.csv" file sets
        USING Extractors.Tsv(skipFirstNRows: 1, silent: true);   // Csv / Tsv / Text(delimiter: '|')

    @totals =                                         // SELECT: WHERE, GROUP BY, HAVING, JOIN ... ON, UNION
        SELECT Region, COUNT(*) AS Queries, SUM(Duration) AS Total, AVG(Duration) AS Mean
        FROM @log
        WHERE Region != "" && Duration >= 10 || Region == @region
        GROUP BY Region
        ORDER BY Total DESC FETCH 10 ROWS;            // ORDER BY ... [OFFSET n ROWS] FETCH [FIRST] n ROWS

    OUTPUT @totals TO "/out/totals.csv"
        ORDER BY Total DESC
        USING Outputters.Csv(outputHeader: true, quoting: true);  // Csv / Tsv / Text(delimiter: ';')

Types: ``string``, ``int``, ``long``, ``short``, ``byte``, ``sbyte``, ``double``, ``float``, ``decimal``,
``DateTime``, ``bool``, ``Guid``, ``char`` (and their ``System`` names, ``Int32``, ``String``...), each also
nullable (``int?``); they become ``VARCHAR``, ``INTEGER``, ``BIGINT``, ``SMALLINT``, ``UTINYINT``, ``TINYINT``,
``DOUBLE``, ``FLOAT``, ``DECIMAL(38,10)``, ``TIMESTAMP``, ``BOOLEAN``, ``UUID``, ``VARCHAR``.

Expressions: column names (``alias.column`` too), ``@variables``, C# string (``"a\"b"``, ``@"C:\x"``),
char, number (``1.5m``, ``10L``) and ``true``/``false``/``null`` literals, ``== != < <= > >= && || !`` and
SQL's ``AND OR NOT IN BETWEEN LIKE IS [NOT] NULL CASE``, ``x == null`` (``IS NULL``), arithmetic (``+`` next
to a string literal concatenates), the
aggregates ``COUNT SUM AVG MIN MAX`` (``COUNT(*)``, ``COUNT(DISTINCT x)``), ``DateTime.Parse("...")``.

Refused, with the line: C# method calls and user-defined functions (``x.ToUpper()``, ``MyUdfs.F(x)``), C#
member access (``x.Length``, ``DateTime.Now``: a dotted name must start with an ``AS`` alias),
``new``, lambdas, ``?:`` and ``??``, casts; ``REFERENCE ASSEMBLY``, ``USING`` namespace aliases, ``CREATE``,
``USE``, ``DROP``, ``ALTER``, ``INSERT``, ``IF``, ``SET``, ``DEPLOY RESOURCE``, ``IMPORT PACKAGE``;
``PROCESS``, ``REDUCE``, ``COMBINE``, ``CROSS APPLY``, ``SEMIJOIN``, window functions (``OVER``), catalog
tables (``FROM dbo.T``), user-defined extractors and outputters (``USING new X()``), file-set virtual columns
(``{date:yyyy}``), extractor and outputter options other than the ones below.

Extractor options: ``delimiter`` (Text), ``skipFirstNRows``, ``silent`` (skip rows that do not fit the
columns), ``quoting``, ``nullEscape``, ``encoding: Encoding.UTF8``. Outputter options: ``outputHeader``,
``quoting`` (string values in double quotes, as U-SQL), ``delimiter`` (Text), ``nullEscape``,
``encoding: Encoding.UTF8``. Where DuckDB differs from U-SQL: ``DateTime`` is read in ISO form
(``yyyy-MM-dd[ HH:mm:ss]``) and written as ``yyyy-MM-dd HH:mm:ss``, ``bool`` as ``true``/``false``; an empty
field is null for every type; ``/`` of two integers is a floating-point division.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable, Mapping, Optional, Sequence, Union

__all__ = [
    "UsqlError",
    "Unsupported",
    "Query",
    "Output",
    "Step",
    "translate",
    "substitute_placeholders",
    "PRELUDE",
]


class UsqlError(Exception):
    """A script durableml cannot run: ``line`` is its line in the script (1-based)."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"U-SQL line {line}: {message}")
        self.line = line


class Unsupported(UsqlError):
    """A U-SQL construct outside the subset durableml runs (``construct`` names it)."""

    def __init__(self, line: int, construct: str) -> None:
        super().__init__(line, f"{construct} is not supported (durableml runs a subset of U-SQL on DuckDB)")
        self.construct = construct


@dataclass(frozen=True)
class Query:
    """A statement to run as is: an EXTRACT or SELECT assigned to a rowset (``CREATE TEMP TABLE``)."""

    line: int
    what: str
    sql: str


@dataclass(frozen=True)
class Output:
    """OUTPUT of a rowset to a file; :meth:`copy_sql` needs the rowset's string columns (they get quoted)."""

    line: int
    table: str
    path: str
    order_by: str = ""
    header: bool = False
    quoting: bool = True
    delimiter: str = ","
    null_text: str = ""

    @property
    def what(self) -> str:
        return f"OUTPUT to {self.path!r}"

    def copy_sql(self, string_columns: Sequence[str] = ()) -> str:
        select = f"SELECT * FROM {self.table}" + (f" ORDER BY {self.order_by}" if self.order_by else "")
        options = [
            "FORMAT csv",
            f"HEADER {'true' if self.header else 'false'}",
            f"DELIMITER {_sql_string(self.delimiter)}",
            f"NULLSTR {_sql_string(self.null_text)}",
        ]
        if self.quoting and string_columns:
            options.append("FORCE_QUOTE (" + ", ".join(_quote_ident(c) for c in string_columns) + ")")
        if not self.quoting:
            options.append("QUOTE ''")
        return f"COPY ({select}) TO {_sql_string(self.path)} ({', '.join(options)})"


Step = Union[Query, Output]

PRELUDE = ("CREATE OR REPLACE TEMP MACRO usql_datetime_parse(s) AS CAST(s AS TIMESTAMP)",)
"""SQL the driver runs before the steps (helpers the translation uses)."""

_TYPES = {
    "string": "VARCHAR",
    "String": "VARCHAR",
    "char": "VARCHAR",
    "Char": "VARCHAR",
    "int": "INTEGER",
    "Int32": "INTEGER",
    "long": "BIGINT",
    "Int64": "BIGINT",
    "short": "SMALLINT",
    "Int16": "SMALLINT",
    "byte": "UTINYINT",
    "Byte": "UTINYINT",
    "sbyte": "TINYINT",
    "SByte": "TINYINT",
    "double": "DOUBLE",
    "Double": "DOUBLE",
    "float": "FLOAT",
    "Single": "FLOAT",
    "decimal": "DECIMAL(38,10)",
    "Decimal": "DECIMAL(38,10)",
    "DateTime": "TIMESTAMP",
    "bool": "BOOLEAN",
    "Boolean": "BOOLEAN",
    "Guid": "UUID",
}
_KEYWORDS = frozenset(
    "SELECT DISTINCT ALL AS FROM WHERE GROUP BY HAVING ORDER ASC DESC JOIN INNER LEFT RIGHT FULL OUTER CROSS "
    "ON UNION INTERSECT EXCEPT AND OR NOT IN BETWEEN IS NULL LIKE CASE WHEN THEN ELSE END VALUES".split()
)
_AGGREGATES = frozenset({"COUNT", "SUM", "AVG", "MIN", "MAX"})
_REFUSED_KEYWORDS = {
    "PROCESS": "PROCESS (a user-defined processor)",
    "REDUCE": "REDUCE (a user-defined reducer)",
    "COMBINE": "COMBINE (a user-defined combiner)",
    "APPLY": "CROSS APPLY / OUTER APPLY (a user-defined applier or EXPLODE)",
    "EXPLODE": "EXPLODE",
    "PRODUCE": "PRODUCE (a user-defined operator)",
    "SEMIJOIN": "SEMIJOIN",
    "ANTISEMIJOIN": "ANTISEMIJOIN",
    "OVER": "OVER (window functions)",
    "SAMPLE": "SAMPLE",
    "EXTRACT": "EXTRACT inside a query (assign it to a rowset first)",
    "OPTION": "OPTION (query hints)",
}
_STATEMENTS = {
    "REFERENCE": "REFERENCE ASSEMBLY (assemblies / C# code)",
    "USING": "USING (C# namespace aliases)",
    "CREATE": "CREATE",
    "USE": "USE",
    "DROP": "DROP",
    "ALTER": "ALTER",
    "INSERT": "INSERT",
    "TRUNCATE": "TRUNCATE",
    "DEPLOY": "DEPLOY RESOURCE",
    "IMPORT": "IMPORT PACKAGE",
    "IF": "IF ... ELSE",
    "SET": "SET (system variables)",
    "EXPORT": "EXPORT",
}
_EXTRACTORS = {"Csv": ",", "Tsv": "\t", "Text": ","}
_OUTPUTTERS = {"Csv": ",", "Tsv": "\t", "Text": ","}


# --- tokens -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Token:
    kind: str  # "str" | "char" | "num" | "var" | "ident" | "op"
    text: str
    line: int
    value: str = ""  # the decoded value of a string or char literal


_OPERATORS = ("==", "!=", "<=", ">=", "&&", "||", "=>", "??", "::", "<>")
_SINGLE = "()[],.;=<>+-*/%!?:{}&|^~"
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NUMBER = re.compile(r"(\d+(\.\d+)?([eE][+-]?\d+)?)([mMlLfFdD]|UL|ul|u|U)?")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "0": "\0", "\\": "\\", '"': '"', "'": "'"}


def _decode(body: str, line: int) -> str:
    out, i = [], 0
    while i < len(body):
        ch = body[i]
        if ch == "\\":
            nxt = body[i + 1 : i + 2]
            if nxt not in _ESCAPES:
                raise UsqlError(line, f"unknown escape sequence \\{nxt} in a string literal")
            out.append(_ESCAPES[nxt])
            i += 2
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def tokenize(script: str) -> list[Token]:
    """The tokens of ``script`` (comments and blanks dropped), each with its line."""
    tokens: list[Token] = []
    i, line, n = 0, 1, len(script)
    while i < n:
        ch = script[i]
        if ch == "\n":
            line += 1
            i += 1
        elif ch.isspace():
            i += 1
        elif script.startswith("//", i):
            end = script.find("\n", i)
            i = n if end < 0 else end
        elif script.startswith("/*", i):
            end = script.find("*/", i + 2)
            if end < 0:
                raise UsqlError(line, "a /* comment is not closed")
            line += script.count("\n", i, end)
            i = end + 2
        elif script.startswith('@"', i):  # C# verbatim string: "" is a quote, backslashes are literal
            j, parts = i + 2, []
            while True:
                end = script.find('"', j)
                if end < 0:
                    raise UsqlError(line, "a string literal is not closed")
                parts.append(script[j:end])
                if script.startswith('""', end):
                    parts.append('"')
                    j = end + 2
                    continue
                break
            text = script[i : end + 1]
            tokens.append(Token("str", text, line, "".join(parts)))
            line += text.count("\n")
            i = end + 1
        elif ch == '"' or ch == "'":
            j = i + 1
            while j < n and script[j] != ch and script[j] != "\n":
                j += 2 if script[j] == "\\" else 1
            if j >= n or script[j] != ch:
                raise UsqlError(line, "a string literal is not closed")
            value = _decode(script[i + 1 : j], line)
            tokens.append(Token("str" if ch == '"' else "char", script[i : j + 1], line, value))
            i = j + 1
        elif ch == "@":
            match = _IDENT.match(script, i + 1)
            if match is None:
                if script.startswith("@@", i):
                    raise Unsupported(line, "@@ system variables")
                raise UsqlError(line, "'@' must start a variable or rowset name")
            tokens.append(Token("var", "@" + match.group(), line))
            i = match.end()
        elif ch.isdigit():
            match = _NUMBER.match(script, i)
            assert match is not None
            tokens.append(Token("num", match.group(1), line))
            i = match.end()
        elif ch == "[":  # a [quoted identifier]
            end = script.find("]", i)
            if end < 0 or "\n" in script[i:end]:
                raise UsqlError(line, "a [quoted identifier] is not closed")
            tokens.append(Token("ident", script[i + 1 : end], line, "bracket"))
            i = end + 1
        elif _IDENT.match(script, i):
            match = _IDENT.match(script, i)
            assert match is not None
            tokens.append(Token("ident", match.group(), line))
            i = match.end()
        elif script.startswith(_OPERATORS, i):
            op = script[i : i + 2]
            tokens.append(Token("op", op, line))
            i += 2
        elif ch in _SINGLE:
            tokens.append(Token("op", ch, line))
            i += 1
        else:
            raise UsqlError(line, f"unexpected character {ch!r}")
    return tokens


def split_statements(tokens: Sequence[Token]) -> list[list[Token]]:
    """The statements: token runs ending with ``;`` outside parentheses (empty statements dropped)."""
    statements: list[list[Token]] = []
    current: list[Token] = []
    depth = 0
    for token in tokens:
        if token.kind == "op" and token.text in "([":
            depth += 1
        elif token.kind == "op" and token.text in ")]":
            depth -= 1
        if token.kind == "op" and token.text == ";" and depth <= 0:
            if current:
                statements.append(current)
            current, depth = [], 0
            continue
        current.append(token)
    if current:
        raise UsqlError(current[0].line, "the statement starting here does not end with ';'")
    return statements


# --- translation -------------------------------------------------------------------------------------------


def _sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@dataclass
class _Variable:
    sql: str
    text: Optional[str]  # the value when it is a constant string (paths)


@dataclass
class _Scope:
    params: Mapping[str, object]
    variables: dict[str, _Variable] = field(default_factory=dict)
    rowsets: dict[str, str] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)

    def new_table(self, name: str) -> str:
        self.counts[name] = self.counts.get(name, 0) + 1
        return _quote_ident(f"{name[1:]}_{self.counts[name]}")


class _Cursor:
    def __init__(self, tokens: Sequence[Token]) -> None:
        self.tokens = list(tokens)
        self.i = 0

    def peek(self, offset: int = 0) -> Optional[Token]:
        j = self.i + offset
        return self.tokens[j] if j < len(self.tokens) else None

    def is_(self, text: str, offset: int = 0) -> bool:
        token = self.peek(offset)
        return token is not None and token.text == text and token.kind in ("ident", "op")

    def next(self, what: str) -> Token:
        token = self.peek()
        if token is None:
            last = self.tokens[-1].line if self.tokens else 1
            raise UsqlError(last, f"the statement ends where {what} was expected")
        self.i += 1
        return token

    def expect(self, text: str) -> Token:
        token = self.next(repr(text))
        if token.text != text or token.kind not in ("ident", "op"):
            raise UsqlError(token.line, f"expected {text!r}, found {token.text!r}")
        return token

    def until(self, *stops: str) -> list[Token]:
        """The tokens up to (not including) the first of ``stops`` outside parentheses, or to the end."""
        taken: list[Token] = []
        depth = 0
        while (token := self.peek()) is not None:
            if depth == 0 and token.kind in ("ident", "op") and token.text in stops:
                break
            if token.kind == "op" and token.text in "([":
                depth += 1
            elif token.kind == "op" and token.text in ")]":
                depth -= 1
            taken.append(token)
            self.i += 1
        return taken

    def done(self) -> bool:
        return self.i >= len(self.tokens)


def _literal(value: object) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, float)):
        return repr(value)
    if value is None:
        return "NULL"
    return _sql_string(str(value))


def _expression(tokens: Sequence[Token], scope: _Scope, tables: bool = False) -> str:
    """C#-flavoured U-SQL expression (or, with ``tables``, a whole query) as DuckDB SQL."""
    out: list[str] = []
    cur = _Cursor(tokens)
    after_as = (t for k, t in enumerate(tokens) if k and tokens[k - 1].text == "AS" and tokens[k - 1].kind == "ident")
    aliases = frozenset(t.text for t in after_as if t.kind == "ident") if tables else frozenset()
    while (token := cur.peek()) is not None:
        cur.i += 1
        nxt = cur.peek()
        if token.kind == "var":
            if tables and token.text in scope.rowsets:
                out.append(scope.rowsets[token.text])
            elif token.text in scope.variables:
                out.append("(" + scope.variables[token.text].sql + ")")
            elif token.text in scope.rowsets:
                raise UsqlError(token.line, f"rowset {token.text} used as a value")
            else:
                raise UsqlError(token.line, f"{token.text} is not declared before this statement")
        elif token.kind in ("str", "char"):
            out.append(_sql_string(token.value))
        elif token.kind == "num":
            out.append(token.text)
        elif token.kind == "op":
            out.append(_operator(token, cur, out))
        else:
            out.append(_identifier(token, cur, scope, tables, nxt, aliases))
    return " ".join(out)


def _operator(token: Token, cur: _Cursor, out: list[str]) -> str:
    text = token.text
    if text in ("==", "!=") and cur.is_("null"):
        cur.i += 1
        return "IS NULL" if text == "==" else "IS NOT NULL"
    simple = {"==": "=", "!=": "<>", "&&": "AND", "||": "OR", "!": "NOT"}
    if text in simple:
        return simple[text]
    following = cur.peek()
    if text == "+" and (
        (out and out[-1].startswith(("'", "('"))) or (following is not None and following.kind in ("str", "char"))
    ):
        return "||"  # C#'s string concatenation
    if text in ("(", ")", ",", "*", "+", "-", "/", "%", "<", ">", "<=", ">=", "<>", "=", "."):
        if text == "(" and (t := cur.peek()) is not None and t.kind == "ident" and t.text in _TYPES and cur.is_(")", 1):
            raise Unsupported(token.line, f"the C# cast ({t.text})")
        return text
    names = {"=>": "C# lambdas (=>)", "?": "the C# conditional operator ?:", "??": "the C# operator ??",
             "{": "C# braces", "[": "C# indexers", ":": "':' here"}  # fmt: skip
    raise Unsupported(token.line, names.get(text, f"the operator {text!r}"))


def _dotted(first: Token, cur: _Cursor) -> list[str]:
    parts = [first.text]
    while cur.is_(".") and (t := cur.peek(1)) is not None and t.kind == "ident":
        parts.append(t.text)
        cur.i += 2
    return parts


def _identifier(
    token: Token, cur: _Cursor, scope: _Scope, tables: bool, nxt: Optional[Token], aliases: frozenset[str]
) -> str:
    text = token.text
    if token.value == "bracket":
        return _quote_ident(text)
    if text in _REFUSED_KEYWORDS:
        raise Unsupported(token.line, _REFUSED_KEYWORDS[text])
    if text == "FETCH":
        return _fetch(token, cur)
    if text == "OFFSET":
        count = cur.next("a row count")
        if count.kind != "num":
            raise UsqlError(count.line, f"OFFSET needs a number of rows, found {count.text!r}")
        if cur.is_("ROWS") or cur.is_("ROW"):
            cur.i += 1
        return f"OFFSET {count.text} ROWS"
    if text in ("FROM", "JOIN") and tables:
        source = cur.peek()
        if source is not None and source.kind == "ident" and source.text not in ("VALUES",):
            name = ".".join(_dotted(cur.next("a source"), cur))
            if cur.is_("("):
                raise Unsupported(source.line, f"the table-valued function {name}()")
            raise Unsupported(source.line, f"reading the U-SQL catalog table {name} (use EXTRACT from files)")
        return text
    if text in _KEYWORDS:
        return text
    if text in ("true", "false", "null"):
        return text.upper()
    if text == "new":
        raise Unsupported(token.line, "C# object creation (new ...)")
    if text in _AGGREGATES and nxt is not None and nxt.text == "(":
        return text
    previous = cur.peek(-2) if cur.i >= 2 else None
    if previous is not None and previous.kind == "ident" and previous.text == "AS":
        return _quote_ident(text)  # an alias, maybe with its column list: AS T(a, b)
    parts = _dotted(token, cur)
    name = ".".join(parts)
    if cur.is_("("):
        if name == "DateTime.Parse":
            return "usql_datetime_parse"
        raise Unsupported(token.line, f"the C# method or user-defined function {name}()")
    if len(parts) > 2 or (len(parts) == 2 and parts[0] not in aliases):
        raise Unsupported(token.line, f"the C# member access {name}")
    return ".".join(_quote_ident(p) for p in parts)


def _fetch(token: Token, cur: _Cursor) -> str:
    if cur.is_("FIRST") or cur.is_("NEXT"):
        cur.i += 1
    count = cur.next("a row count")
    if count.kind != "num":
        raise UsqlError(count.line, f"FETCH needs a number of rows, found {count.text!r}")
    if cur.is_("ROWS") or cur.is_("ROW"):
        cur.i += 1
    if cur.is_("ONLY"):
        cur.i += 1
    return f"FETCH FIRST {count.text} ROWS ONLY"


def _type(cur: _Cursor, what: str) -> str:
    token = cur.next(f"the type of {what}")
    if token.kind != "ident":
        raise UsqlError(token.line, f"expected the type of {what}, found {token.text!r}")
    if cur.is_("<") or cur.is_("["):
        raise Unsupported(token.line, f"the column type {token.text}{cur.peek().text}...")  # type: ignore[union-attr]
    name = ".".join(_dotted(token, cur))
    if name.startswith("System."):
        name = name[len("System.") :]
    if name not in _TYPES:
        raise Unsupported(token.line, f"the type {name}")
    if cur.is_("?"):
        cur.i += 1
    return _TYPES[name]


def _static_string(tokens: Sequence[Token], scope: _Scope) -> Optional[str]:
    """The value of ``"a" + @b + ...`` when every part is a constant string; None otherwise."""
    parts: list[str] = []
    for k, token in enumerate(tokens):
        if k % 2 == 1:
            if token.text != "+" or token.kind != "op":
                return None
        elif token.kind == "str":
            parts.append(token.value)
        elif token.kind == "var" and token.text in scope.variables:
            text = scope.variables[token.text].text
            if text is None:
                return None
            parts.append(text)
        else:
            return None
    return "".join(parts) if tokens and len(tokens) % 2 == 1 else None


def _declare(tokens: Sequence[Token], scope: _Scope) -> None:
    cur = _Cursor(tokens)
    cur.expect("DECLARE")
    external = cur.is_("EXTERNAL")
    if external:
        cur.i += 1
    name = cur.next("a variable name")
    if name.kind != "var":
        raise UsqlError(name.line, f"DECLARE needs an @name, found {name.text!r}")
    sql_type = None if cur.is_("=") else _type(cur, name.text)
    cur.expect("=")
    value = cur.until()
    if not value:
        raise UsqlError(name.line, f"DECLARE {name.text} has no value")
    if name.text in scope.variables or name.text in scope.rowsets:
        raise UsqlError(name.line, f"{name.text} is declared twice")
    param = name.text[1:]
    if external and param in scope.params:
        given = scope.params[param]
        text = given if isinstance(given, str) else None
        sql = _literal(given)
    else:
        text = _static_string(value, scope)
        sql = _sql_string(text) if text is not None else _expression(value, scope)
    if sql_type is not None and not (text is not None and sql_type == "VARCHAR"):
        sql = f"CAST({sql} AS {sql_type})"
    scope.variables[name.text] = _Variable(sql, text)


def _path(tokens: Sequence[Token], scope: _Scope, what: str) -> str:
    path = _static_string(tokens, scope)
    line = tokens[0].line if tokens else 0
    if path is None:
        raise UsqlError(line, f"{what} must be a string, a constant string variable, or those joined with +")
    for pattern in re.findall(r"\{[^}]*\}", path):
        if pattern != "{*}":
            raise Unsupported(line, f"the file set pattern {pattern} (virtual columns)")
    return path.replace("{*}", "*")


def _options(
    cur: _Cursor, family: str, known: Mapping[str, str], allowed: frozenset[str]
) -> tuple[str, dict[str, Token]]:
    """``Family.Name(arg: value, ...)``: the name and the arguments."""
    start = cur.next(f"{family}.<name>()")
    if start.text == "new":
        raise Unsupported(start.line, f"a user-defined {family[:-1].lower()} (USING new ...)")
    parts = _dotted(start, cur)
    name = ".".join(parts)
    if len(parts) != 2 or parts[0] != family:
        raise Unsupported(start.line, f"the user-defined {family[:-1].lower()} {name}")
    if parts[1] not in known:
        raise Unsupported(start.line, f"{name}")
    cur.expect("(")
    args: dict[str, Token] = {}
    while not cur.is_(")"):
        key = cur.next("an option name")
        if key.kind != "ident" or not cur.is_(":"):
            raise UsqlError(key.line, f"{name} takes named options (name: value), found {key.text!r}")
        cur.i += 1
        if key.text not in allowed:
            raise Unsupported(key.line, f"the {name} option {key.text}")
        value = cur.next(f"the value of {key.text}")
        if value.kind == "ident" and value.text == "Encoding":
            cur.expect(".")
            encoding = cur.next("an encoding")
            if encoding.text not in ("UTF8", "Default"):
                raise Unsupported(encoding.line, f"the encoding Encoding.{encoding.text} (UTF8 only)")
        args[key.text] = value
        if cur.is_(","):
            cur.i += 1
        elif not cur.is_(")"):
            raise UsqlError(value.line, f"expected ',' or ')' in {name}(...)")
    cur.expect(")")
    if not cur.done():
        token = cur.next("the end")
        raise UsqlError(token.line, f"unexpected {token.text!r} after {name}(...)")
    return parts[1], args


def _bool(token: Token, name: str) -> bool:
    if token.kind != "ident" or token.text not in ("true", "false"):
        raise UsqlError(token.line, f"{name} must be true or false, found {token.text!r}")
    return token.text == "true"


def _char(token: Token, name: str) -> str:
    if token.kind not in ("char", "str") or len(token.value) != 1:
        raise UsqlError(token.line, f"{name} must be one character, found {token.text!r}")
    return token.value


def _extract(target: Token, tokens: Sequence[Token], scope: _Scope, resolve: Callable[[str], str]) -> Query:
    cur = _Cursor(tokens)
    cur.expect("EXTRACT")
    columns: list[tuple[str, str]] = []
    while True:
        name = cur.next("a column name")
        if name.kind != "ident":
            raise UsqlError(name.line, f"expected a column name, found {name.text!r}")
        columns.append((name.text, _type(cur, name.text)))
        if not cur.is_(","):
            break
        cur.i += 1
    cur.expect("FROM")
    paths: list[str] = []
    while True:
        paths.append(resolve(_path(cur.until(",", "USING"), scope, "EXTRACT's FROM")))
        if not cur.is_(","):
            break
        cur.i += 1
    cur.expect("USING")
    allowed = frozenset({"skipFirstNRows", "silent", "quoting", "nullEscape", "encoding", "delimiter"})
    kind, args = _options(cur, "Extractors", _EXTRACTORS, allowed)
    delimiter = _EXTRACTORS[kind]
    if "delimiter" in args:
        if kind != "Text":
            raise Unsupported(args["delimiter"].line, f"the Extractors.{kind} option delimiter (use Extractors.Text)")
        delimiter = _char(args["delimiter"], "delimiter")
    options = [
        "columns={" + ", ".join(f"{_sql_string(n)}: {_sql_string(t)}" for n, t in columns) + "}",
        "header=false",
        "auto_detect=false",
        f"delim={_sql_string(delimiter)}",
    ]
    quoting = _bool(args["quoting"], "quoting") if "quoting" in args else True
    options += ["quote='\"'", "escape='\"'"] if quoting else ["quote=''", "escape=''"]
    if "skipFirstNRows" in args:
        skip = args["skipFirstNRows"]
        if skip.kind != "num" or not skip.text.isdigit():
            raise UsqlError(skip.line, f"skipFirstNRows must be a whole number, found {skip.text!r}")
        options.append(f"skip={skip.text}")
    if "silent" in args and _bool(args["silent"], "silent"):
        options.append("ignore_errors=true")
    if "nullEscape" in args:
        if args["nullEscape"].kind != "str":
            raise UsqlError(args["nullEscape"].line, "nullEscape must be a string")
        options.append(f"nullstr={_sql_string(args['nullEscape'].value)}")
    files = "[" + ", ".join(_sql_string(p) for p in paths) + "]"
    table = scope.new_table(target.text)
    scope.rowsets[target.text] = table
    sql = f"CREATE TEMP TABLE {table} AS SELECT * FROM read_csv({files}, {', '.join(options)})"
    return Query(target.line, f"EXTRACT into {target.text}", sql)


def _output(tokens: Sequence[Token], scope: _Scope, resolve: Callable[[str], str]) -> Output:
    cur = _Cursor(tokens)
    start = cur.expect("OUTPUT")
    source = cur.next("a rowset")
    if source.kind != "var":
        raise Unsupported(source.line, f"OUTPUT of {source.text!r} (OUTPUT takes a @rowset)")
    if source.text not in scope.rowsets:
        raise UsqlError(source.line, f"rowset {source.text} is not assigned before this statement")
    cur.expect("TO")
    path = resolve(_path(cur.until("ORDER", "USING"), scope, "OUTPUT's TO"))
    order_by = ""
    if cur.is_("ORDER"):
        cur.i += 1
        cur.expect("BY")
        order_tokens = cur.until("USING")
        order_by = _expression(order_tokens, scope)
    cur.expect("USING")
    allowed = frozenset({"outputHeader", "quoting", "delimiter", "nullEscape", "encoding"})
    kind, args = _options(cur, "Outputters", _OUTPUTTERS, allowed)
    delimiter = _OUTPUTTERS[kind]
    if "delimiter" in args:
        if kind != "Text":
            raise Unsupported(args["delimiter"].line, f"the Outputters.{kind} option delimiter (use Outputters.Text)")
        delimiter = _char(args["delimiter"], "delimiter")
    null_text = ""
    if "nullEscape" in args:
        if args["nullEscape"].kind != "str":
            raise UsqlError(args["nullEscape"].line, "nullEscape must be a string")
        null_text = args["nullEscape"].value
    return Output(
        line=start.line,
        table=scope.rowsets[source.text],
        path=path,
        order_by=order_by,
        header=_bool(args["outputHeader"], "outputHeader") if "outputHeader" in args else False,
        quoting=_bool(args["quoting"], "quoting") if "quoting" in args else True,
        delimiter=delimiter,
        null_text=null_text,
    )


def _statement(
    tokens: list[Token], scope: _Scope, read: Callable[[str], str], write: Callable[[str], str]
) -> Optional[Step]:
    first = tokens[0]
    if first.kind == "ident" and first.text == "DECLARE":
        _declare(tokens, scope)
        return None
    if first.kind == "ident" and first.text == "OUTPUT":
        return _output(tokens, scope, write)
    if first.kind == "var" and len(tokens) > 1 and tokens[1].text == "=":
        if len(tokens) < 3:
            raise UsqlError(first.line, f"{first.text} = needs a rowset expression")
        head = tokens[2]
        if head.kind == "ident" and head.text == "EXTRACT":
            return _extract(first, tokens[2:], scope, read)
        if head.kind == "ident" and head.text == "SELECT" or head.kind == "op" and head.text == "(":
            sql = _expression(tokens[2:], scope, tables=True)
            table = scope.new_table(first.text)
            scope.rowsets[first.text] = table
            return Query(first.line, f"SELECT into {first.text}", f"CREATE TEMP TABLE {table} AS {sql}")
        if head.kind == "ident" and head.text in _REFUSED_KEYWORDS:
            raise Unsupported(head.line, _REFUSED_KEYWORDS[head.text])
        if head.kind == "ident":
            name = ".".join(_dotted(head, _Cursor(tokens[3:])))
            raise Unsupported(head.line, f"the rowset expression {name} (a table-valued function or catalog object)")
        raise UsqlError(head.line, f"unexpected {head.text!r} in a rowset assignment")
    if first.kind == "ident" and first.text in _STATEMENTS:
        construct = _STATEMENTS[first.text]
        second = tokens[1] if len(tokens) > 1 else None
        if construct in ("CREATE", "USE", "DROP", "ALTER") and second is not None and second.text.isupper():
            construct = f"{first.text} {second.text}"
            if second.text in ("FUNCTION", "PROCEDURE", "ASSEMBLY", "TYPE"):
                construct += " (user-defined code)"
        return _refuse(first.line, construct)
    if first.kind == "var":
        raise UsqlError(first.line, f"a statement cannot start with {first.text} here")
    return _refuse(first.line, f"the statement {first.text} ...")


def _refuse(line: int, construct: str) -> Step:
    raise Unsupported(line, construct)


def translate(
    script: str,
    params: Optional[Mapping[str, object]] = None,
    read: Callable[[str], str] = str,
    write: Callable[[str], str] = str,
) -> list[Step]:
    """The DuckDB steps of U-SQL ``script``.

    ``params`` replace ``DECLARE EXTERNAL`` defaults of the same name; ``read``/``write`` map the paths of
    EXTRACT and OUTPUT to local paths. Raises :class:`UsqlError` (:class:`Unsupported` for a construct outside
    the subset) with the line, before anything runs.
    """
    scope = _Scope(params=dict(params or {}))
    steps: list[Step] = []
    for statement in split_statements(tokenize(script)):
        step = _statement(statement, scope, read, write)
        if step is not None:
            steps.append(step)
    return steps


_PLACEHOLDER = re.compile(r"@@([A-Za-z_][A-Za-z0-9_]*)@@")


def _comments(script: str) -> list[tuple[int, int]]:
    """The (start, end) offsets of the comments of ``script`` (strings are skipped over)."""
    spans: list[tuple[int, int]] = []
    i, n = 0, len(script)
    while i < n:
        if script.startswith("//", i) or script.startswith("/*", i):
            end = script.find("\n" if script[i + 1] == "/" else "*/", i + 2)
            end = n if end < 0 else end + (0 if script[i + 1] == "/" else 2)
            spans.append((i, end))
            i = end
        elif script.startswith('@"', i):
            end = script.find('"', i + 2)
            while end >= 0 and script.startswith('""', end):
                end = script.find('"', end + 2)
            i = n if end < 0 else end + 1
        elif script[i] in "\"'":
            j = i + 1
            while j < n and script[j] not in (script[i], "\n"):
                j += 2 if script[j] == "\\" else 1
            i = j + 1
        else:
            i += 1
    return spans


def substitute_placeholders(script: str, values: Mapping[str, str]) -> str:
    """Replace v1's ``@@name@@`` placeholders (an input's or output's path, or a param) by their values.

    Placeholders in comments are left alone; one that names nothing of the step is an error with its line."""
    comments = _comments(script)

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if any(start <= match.start() < end for start, end in comments):
            return match.group()
        if name not in values:
            line = script.count("\n", 0, match.start()) + 1
            raise UsqlError(
                line, f"@@{name}@@ names no input, output or param of the step (it has: {sorted(values) or 'none'})"
            )
        return values[name]

    return _PLACEHOLDER.sub(replace, script)
