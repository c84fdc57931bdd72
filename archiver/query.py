"""The search language: a lexer and a recursive-descent parser producing an AST.

Pure: no database, no clock. ``search.py`` compiles the AST to an FTS5 ``MATCH``
expression plus SQL filters, so user text never reaches FTS5 unparsed.

::

    query    := or_expr
    or_expr  := and_expr ("OR" and_expr)*
    and_expr := unary (["AND"] unary)*          # juxtaposition is AND
    unary    := ("NOT" | "-") unary | near
    near     := primary ("w/N" primary)*        # a w/5 b: within 5 words
    primary  := "(" or_expr ")" | "NEAR(" text+ ["," N] ")" | FIELD ":" value
              | "phrase" | word | prefix*

Operators are upper case (``AND``, ``OR``, ``NOT``, ``NEAR``); lower-case ``and`` is a word.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from archiver.errors import QueryError

FIELDS = (
    "from",
    "participant",
    "chat",
    "custodian",
    "platform",
    "kind",
    "has",
    "edited",
    "after",
    "before",
    "on",
)
DEFAULT_NEAR = 10


# --- AST ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Term:
    text: str
    prefix: bool
    column: int


@dataclass(frozen=True)
class Phrase:
    text: str
    column: int


@dataclass(frozen=True)
class Near:
    items: tuple[Term | Phrase, ...]
    distance: int
    column: int


@dataclass(frozen=True)
class Field:
    name: str
    value: str
    column: int


@dataclass(frozen=True)
class And:
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    child: Node
    column: int


Node = Term | Phrase | Near | Field | And | Or | Not


# --- lexer --------------------------------------------------------------------------------

TokKind = Literal[
    "word", "phrase", "field", "lparen", "rparen", "comma", "op", "within", "near", "minus"
]


@dataclass(frozen=True)
class Token:
    kind: TokKind
    value: str
    column: int  # 1-based
    extra: str = ""  # field value for "field" tokens


_FIELD = re.compile(r"([A-Za-z]+):")
_WITHIN = re.compile(r"[wW]/(\d+)$")
_WORD_END = re.compile(r'[\s()",]')


def tokenize(query: str) -> list[Token]:
    tokens: list[Token] = []
    i, n = 0, len(query)
    while i < n:
        ch = query[i]
        col = i + 1
        if ch.isspace():
            i += 1
        elif ch == "(":
            tokens.append(Token("lparen", ch, col))
            i += 1
        elif ch == ")":
            tokens.append(Token("rparen", ch, col))
            i += 1
        elif ch == ",":
            tokens.append(Token("comma", ch, col))
            i += 1
        elif ch == '"':
            end = query.find('"', i + 1)
            if end < 0:
                raise QueryError('unterminated phrase: add the closing "', query, col)
            tokens.append(Token("phrase", query[i + 1 : end], col))
            i = end + 1
            if i < n and query[i] == "*":
                raise QueryError("a phrase cannot end in *; put * on its last word", query, i + 1)
        elif (
            ch == "-"
            and i + 1 < n
            and not query[i + 1].isspace()
            and (i == 0 or query[i - 1].isspace() or query[i - 1] == "(")
        ):
            tokens.append(Token("minus", ch, col))
            i += 1
        else:
            field = _FIELD.match(query, i)
            if field and field.group(1).lower() in FIELDS:
                name = field.group(1).lower()
                j = field.end()
                if j < n and query[j] == '"':
                    end = query.find('"', j + 1)
                    if end < 0:
                        raise QueryError(
                            'unterminated quoted value: add the closing "', query, j + 1
                        )
                    value, i = query[j + 1 : end], end + 1
                else:
                    m = _WORD_END.search(query, j)
                    end = m.start() if m else n
                    value, i = query[j:end], end
                if not value.strip():
                    raise QueryError(
                        f"{name}: needs a value, e.g. {name}:{_example(name)}", query, j + 1
                    )
                tokens.append(Token("field", name, col, value))
                continue
            if field and not field.group(1).lower().startswith(("http", "https", "mailto")):
                raise QueryError(
                    f"unknown field {field.group(1)!r}; fields are: {', '.join(FIELDS)} "
                    "(to search for the word, put it in quotes)",
                    query,
                    col,
                )
            m = _WORD_END.search(query, i)
            end = m.start() if m else n
            word = query[i:end]
            if word == "NEAR" and end < n and query[end] == "(":
                tokens.append(Token("near", word, col))
            elif word in ("AND", "OR", "NOT"):
                tokens.append(Token("op", word, col))
            elif _WITHIN.match(word):
                tokens.append(Token("within", word, col))
            else:
                tokens.append(Token("word", word, col))
            i = end
    return tokens


def _example(name: str) -> str:
    return {
        "from": '"Dana Whitfield"',
        "participant": "Dana",
        "chat": '"Deal Desk"',
        "custodian": "dana@broker.example",
        "platform": "whatsapp",
        "kind": "media",
        "has": "attachment",
        "edited": "true",
        "after": "2024-01-01",
        "before": "2024-02-01",
        "on": "2024-01-15",
    }[name]


# --- parser -------------------------------------------------------------------------------


class _Parser:
    def __init__(self, query: str) -> None:
        self.query = query
        self.tokens = tokenize(query)
        self.pos = 0

    def error(self, message: str, token: Token | None = None) -> QueryError:
        column = token.column if token else len(self.query) + 1
        return QueryError(message, self.query, column)

    def peek(self) -> Token | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> Token:
        tok = self.tokens[self.pos]
        self.pos += 1
        return tok

    def parse(self) -> Node:
        if not self.tokens:
            raise QueryError(
                'empty query: give words, "a phrase" or a filter such as from:Dana', self.query, 1
            )
        node = self.or_expr()
        tok = self.peek()
        if tok is not None:
            if tok.kind == "rparen":
                raise self.error("unmatched ')': remove it or add '(' before", tok)
            raise self.error(f"unexpected {tok.value!r}", tok)
        return node

    def or_expr(self) -> Node:
        children = [self.and_expr()]
        while (tok := self.peek()) is not None and tok.kind == "op" and tok.value == "OR":
            self.take()
            if self._at_end_of_operand():
                raise self.error("OR needs a term after it", self.peek() or tok)
            children.append(self.and_expr())
        return children[0] if len(children) == 1 else Or(tuple(children))

    def _at_end_of_operand(self) -> bool:
        tok = self.peek()
        return (
            tok is None
            or tok.kind in ("rparen", "comma")
            or (tok.kind == "op" and tok.value in ("AND", "OR"))
        )

    def and_expr(self) -> Node:
        if self._at_end_of_operand():
            tok = self.peek()
            what = (
                f"{tok.value} needs a term before it"
                if tok and tok.kind == "op"
                else 'expected a word, "phrase" or filter'
            )
            raise self.error(what, tok)
        children = [self.unary()]
        while (tok := self.peek()) is not None:
            if tok.kind == "op" and tok.value == "AND":
                self.take()
                if self._at_end_of_operand():
                    raise self.error("AND needs a term after it", self.peek() or tok)
                children.append(self.unary())
            elif tok.kind in ("rparen", "comma") or (tok.kind == "op" and tok.value == "OR"):
                break
            else:
                children.append(self.unary())
        return children[0] if len(children) == 1 else And(tuple(children))

    def unary(self) -> Node:
        tok = self.peek()
        if tok is not None and (tok.kind == "minus" or (tok.kind == "op" and tok.value == "NOT")):
            self.take()
            if self._at_end_of_operand():
                raise self.error(f"{tok.value} needs a term after it", self.peek() or tok)
            return Not(self.unary(), tok.column)
        return self.within()

    def within(self) -> Node:
        first = self.primary()
        tok = self.peek()
        if tok is None or tok.kind != "within":
            return first
        items = [first]
        distances = []
        while (tok := self.peek()) is not None and tok.kind == "within":
            self.take()
            nxt = self.peek()
            if nxt is None or nxt.kind not in ("word", "phrase"):
                raise self.error(f'{tok.value} needs a word or "phrase" after it', nxt)
            items.append(self.primary())
            distances.append(int(_WITHIN.match(tok.value).group(1)))  # type: ignore[union-attr]
        operands: list[Term | Phrase] = []
        for item in items:
            if not isinstance(item, Term | Phrase):
                raise QueryError('w/N joins words or "phrases" only', self.query, first_col(item))
            operands.append(item)
        pairs = [
            Near((operands[k], operands[k + 1]), distances[k], operands[k].column)
            for k in range(len(distances))
        ]
        return pairs[0] if len(pairs) == 1 else And(tuple(pairs))

    def primary(self) -> Node:
        tok = self.peek()
        if tok is None:
            raise self.error('expected a word, "phrase" or filter at the end')
        if tok.kind == "lparen":
            self.take()
            if (inner := self.peek()) is not None and inner.kind == "rparen":
                raise self.error("empty parentheses", inner)
            node = self.or_expr()
            close = self.peek()
            if close is None or close.kind != "rparen":
                raise QueryError("missing ')' to close the '(' here", self.query, tok.column)
            self.take()
            return node
        if tok.kind == "near":
            return self.near()
        if tok.kind == "field":
            self.take()
            return Field(tok.value, tok.extra, tok.column)
        if tok.kind == "phrase":
            self.take()
            if not tok.value.strip():
                raise self.error("empty phrase", tok)
            return Phrase(tok.value, tok.column)
        if tok.kind == "word":
            self.take()
            prefix = tok.value.endswith("*")
            text = tok.value.rstrip("*") if prefix else tok.value
            if "*" in text:
                raise self.error("* is only allowed at the end of a word (prefix search)", tok)
            if not text:
                raise self.error("a lone * matches nothing; put it after a few letters", tok)
            return Term(text, prefix, tok.column)
        raise self.error(f"unexpected {tok.value!r}", tok)

    def near(self) -> Node:
        start = self.take()
        self.take()  # "("
        items: list[Term | Phrase] = []
        distance = DEFAULT_NEAR
        while True:
            tok = self.peek()
            if tok is None:
                raise QueryError("missing ')' to close NEAR(", self.query, start.column)
            if tok.kind == "rparen":
                self.take()
                break
            if tok.kind == "comma":
                self.take()
                num = self.peek()
                if num is None or num.kind != "word" or not num.value.isdigit():
                    raise self.error("NEAR(..., N) needs a number of words after the comma", num)
                self.take()
                distance = int(num.value)
                close = self.peek()
                if close is None or close.kind != "rparen":
                    raise QueryError("missing ')' to close NEAR(", self.query, start.column)
                self.take()
                break
            node = self.primary()
            if not isinstance(node, Term | Phrase):
                raise QueryError('NEAR( ) takes words and "phrases" only', self.query, tok.column)
            items.append(node)
        if len(items) < 2:
            raise QueryError(
                "NEAR( ) needs at least two words or phrases", self.query, start.column
            )
        return Near(tuple(items), distance, start.column)


def first_col(node: Node) -> int:
    """The column where a node starts (for error messages)."""
    if isinstance(node, And | Or):
        return first_col(node.children[0])
    return node.column


def parse(query: str) -> Node:
    """The AST of ``query``, or a ``QueryError`` pointing at the column."""
    return _Parser(query).parse()
