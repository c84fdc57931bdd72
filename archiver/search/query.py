"""The search language: a lexer, a recursive-descent parser producing an AST, and the
split of a query into the clauses that search words and the filters that narrow it.

Pure: no database, no clock. ``search.py`` compiles the result to an FTS5 ``MATCH``
expression plus SQL filters, so user text never reaches FTS5 unparsed.

Precedence (syntax 2, the Gmail and Google Vault convention), loosest first::

    query    := and_expr
    and_expr := or_expr (["AND"] or_expr)*       # juxtaposition is AND, the loosest
    or_expr  := unary ("OR" unary)*              # a b OR c  is  a AND (b OR c)
    unary    := ("NOT" | "-") unary | within
    within   := primary ("w/N" primary)*         # a w/5 b: within 5 words
    primary  := "(" and_expr ")" | "NEAR(" text+ ["," N] ")" | FIELD ":" value
              | "phrase" | word | prefix*

Field filters (``from:``, ``after:`` ...) apply to the whole query wherever they are
written: the query is the AND of its top-level clauses, and a filter is one of them. A
group made only of filters (``(from:Sam OR from:Lee)``, ``-kind:system``) is a filter
too. A filter that is one side of an OR whose other side is words, or that is negated
together with words, cannot apply to the whole query; such a query is refused with a
``QueryError`` pointing at the filter, never half-applied.

Syntax 1 (AND binding tighter than OR, a filter applying where it is written) is what
queries meant before syntax 2. It is kept only for legal holds whose query was written
then: what a hold preserves must not change under it.

Operators are upper case (``AND``, ``OR``, ``NOT``, ``NEAR``). A lower-case ``or``,
``and`` or ``not`` is searched as a word, with a warning saying so.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Literal

from archiver.core.errors import QueryError

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
SYNTAX = 2  # the query language of this version; 1 is kept for holds written before it
SYNTAXES = (1, 2)
MAX_DEPTH = 24  # parentheses and NOTs inside one another (FTS5's own parser has a limit)
OPERATORS = ("AND", "OR", "NOT")
MAX_NEAR = 1_000_000  # words apart in w/N and NEAR( , N)


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
_WITHIN = re.compile(r"[wW]/([0-9]+)$")
_WORD_END = re.compile(r'[\s()",]')
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")  # not tab, newline, CR


def tokenize(query: str) -> list[Token]:
    control = _CONTROL.search(query)
    if control:
        raise QueryError(
            f"the query holds the control character U+{ord(control.group()):04X}; remove it",
            query,
            control.start() + 1,
        )
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
                raise QueryError(unknown_field(field.group(1)), query, col)
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


def unknown_field(name: str) -> str:
    """The error for ``name:``, which is not a field: a did-you-mean and the valid ones."""
    close = difflib.get_close_matches(name.lower(), FIELDS, n=1, cutoff=0.6)
    hint = f" (did you mean {close[0]}:?)" if close else ""
    return (
        f"unknown field {name!r}{hint}; fields are: {', '.join(FIELDS)} "
        "(to search for the word, put it in quotes)"
    )


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
    def __init__(self, query: str, syntax: int) -> None:
        if syntax not in SYNTAXES:
            raise QueryError(f"unknown query syntax {syntax}; known: {SYNTAXES}")
        self.query = query
        self.syntax = syntax
        self.tokens = tokenize(query)
        self.pos = 0
        self.depth = 0
        self.grouped: set[int] = set()  # id() of the nodes written in parentheses
        self.warnings: list[str] = _operator_words(self.tokens)

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
        node = self.expr()
        tok = self.peek()
        if tok is not None:
            if tok.kind == "rparen":
                raise self.error("unmatched ')': remove it or add '(' before", tok)
            raise self.error(f"unexpected {tok.value!r}", tok)
        return node

    def expr(self) -> Node:
        return self.and_expr() if self.syntax == 2 else self.or_expr_1()

    def _at_end_of_operand(self) -> bool:
        tok = self.peek()
        return (
            tok is None
            or tok.kind in ("rparen", "comma")
            or (tok.kind == "op" and tok.value in ("AND", "OR"))
        )

    def _expect_operand(self) -> None:
        if self._at_end_of_operand():
            tok = self.peek()
            what = (
                f"{tok.value} needs a term before it"
                if tok and tok.kind == "op"
                else 'expected a word, "phrase" or filter'
            )
            raise self.error(what, tok)

    def _after(self, op: Token) -> None:
        """Consume ``op`` (AND, OR) and check that an operand follows it."""
        self.take()
        if self._at_end_of_operand():
            raise self.error(f"{op.value} needs a term after it", self.peek() or op)

    def _ends_group(self, tok: Token) -> bool:
        return tok.kind in ("rparen", "comma")

    # syntax 2: AND (written or implied) is the loosest, OR binds tighter

    def and_expr(self) -> Node:
        self._expect_operand()
        children = [self.or_expr()]
        while (tok := self.peek()) is not None and not self._ends_group(tok):
            explicit = tok.kind == "op" and tok.value == "AND"
            if explicit:
                self._after(tok)
            children.append(self.or_expr())
            if explicit and any(self._bare_or(c) for c in children[-2:]):
                self._warn_and_or(tok)
        return children[0] if len(children) == 1 else And(tuple(children))

    def or_expr(self) -> Node:
        self._expect_operand()
        children = [self.unary()]
        while (tok := self.peek()) is not None and tok.kind == "op" and tok.value == "OR":
            self._after(tok)
            children.append(self.unary())
        return children[0] if len(children) == 1 else Or(tuple(children))

    def _bare_or(self, node: Node) -> bool:
        return isinstance(node, Or) and id(node) not in self.grouped

    def _warn_and_or(self, tok: Token) -> None:
        if any(w.startswith("AND at column") for w in self.warnings):
            return  # once is enough
        self.warnings.append(
            f"AND at column {tok.column} meets OR without parentheses: OR binds tighter, so "
            "'a AND b OR c' means 'a AND (b OR c)'; add parentheses to make the intent explicit"
        )

    # syntax 1: AND binds tighter than OR (the meaning of queries in older holds)

    def or_expr_1(self) -> Node:
        self._expect_operand()
        children = [self.and_expr_1()]
        while (tok := self.peek()) is not None and tok.kind == "op" and tok.value == "OR":
            self._after(tok)
            children.append(self.and_expr_1())
        return children[0] if len(children) == 1 else Or(tuple(children))

    def and_expr_1(self) -> Node:
        self._expect_operand()
        children = [self.unary()]
        while (tok := self.peek()) is not None:
            if tok.kind == "op" and tok.value == "AND":
                self._after(tok)
            elif self._ends_group(tok) or (tok.kind == "op" and tok.value == "OR"):
                break
            children.append(self.unary())
        return children[0] if len(children) == 1 else And(tuple(children))

    # both syntaxes

    def _enter(self, tok: Token) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error(
                f"nested too deeply: at most {MAX_DEPTH} levels of parentheses and NOT", tok
            )

    def unary(self) -> Node:
        tok = self.peek()
        if tok is not None and (tok.kind == "minus" or (tok.kind == "op" and tok.value == "NOT")):
            self.take()
            if self._at_end_of_operand():
                raise self.error(f"{tok.value} needs a term after it", self.peek() or tok)
            self._enter(tok)
            try:
                return Not(self.unary(), tok.column)
            finally:
                self.depth -= 1
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
            distances.append(self.distance(tok, tok.value[2:]))
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
            return self.group(tok)
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
        if tok.kind == "within":
            raise self.error(f'{tok.value} needs a word or "phrase" before it', tok)
        raise self.error(f"unexpected {tok.value!r}", tok)

    def group(self, tok: Token) -> Node:
        self.take()
        if (inner := self.peek()) is not None and inner.kind == "rparen":
            raise self.error("empty parentheses", inner)
        self._enter(tok)
        try:
            node = self.expr()
        finally:
            self.depth -= 1
        close = self.peek()
        if close is None or close.kind != "rparen":
            raise QueryError("missing ')' to close the '(' here", self.query, tok.column)
        self.take()
        self.grouped.add(id(node))
        return node

    def distance(self, tok: Token, digits: str) -> int:
        """N of ``w/N`` or ``NEAR(..., N)``."""
        if int(digits) > MAX_NEAR:
            raise self.error(f"distance {digits} is too large: at most {MAX_NEAR} words", tok)
        return int(digits)

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
                if num is None or num.kind != "word" or not _is_count(num.value):
                    raise self.error("NEAR(..., N) needs a number of words after the comma", num)
                self.take()
                distance = self.distance(num, num.value)
                close = self.peek()
                if close is None or close.kind != "rparen":
                    raise QueryError("missing ')' to close NEAR(", self.query, start.column)
                self.take()
                break
            node = self.primary() if tok.kind in ("word", "phrase") else None
            if not isinstance(node, Term | Phrase):
                raise QueryError('NEAR( ) takes words and "phrases" only', self.query, tok.column)
            items.append(node)
        if len(items) < 2:
            raise QueryError(
                "NEAR( ) needs at least two words or phrases", self.query, start.column
            )
        return Near(tuple(items), distance, start.column)


def _is_count(text: str) -> bool:
    return text.isascii() and text.isdigit()


def _operator_words(tokens: list[Token]) -> list[str]:
    """Warnings for lower-case and/or/not written among other terms (searched as words)."""
    if len(tokens) < 2:
        return []
    out: list[str] = []
    for tok in tokens:
        if tok.kind == "word" and tok.value.upper() in OPERATORS and tok.value not in OPERATORS:
            warning = (
                f"{tok.value!r} is searched as a word; use {tok.value.upper()} "
                f'(or write "{tok.value}" in quotes to search for the word)'
            )
            if warning not in out:
                out.append(warning)
    return out


def first_col(node: Node) -> int:
    """The column where a node starts (for error messages)."""
    if isinstance(node, And | Or):
        return first_col(node.children[0])
    return node.column


def parse(query: str, syntax: int = SYNTAX) -> Node:
    """The AST of ``query``, or a ``QueryError`` pointing at the column."""
    return _Parser(query, syntax).parse()


# --- what a query means: words, and filters over the whole of it ----------------------------


@dataclass(frozen=True)
class Query:
    """A parsed query as the AND of its top-level clauses, sorted by what they test."""

    root: Node
    text: tuple[Node, ...]  # clauses over the words of a message
    filters: tuple[Node, ...]  # clauses of filters only: each narrows the whole query
    mixed: tuple[Node, ...]  # syntax 1 only: words and filters in one clause
    warnings: tuple[str, ...]


def analyze(query: str, syntax: int = SYNTAX) -> Query:
    """Parse ``query`` and sort its clauses; in syntax 2 a filter that cannot apply to the
    whole query (an alternative to words, or negated with words) is a ``QueryError``."""
    parser = _Parser(query, syntax)
    root = parser.parse()
    text: list[Node] = []
    filters: list[Node] = []
    mixed: list[Node] = []
    for clause in conjuncts(root):
        has_field, has_text = _contents(clause)
        if not has_text:
            filters.append(clause)
        elif not has_field:
            text.append(clause)
        elif syntax == 1:
            mixed.append(clause)
        else:
            raise _half_applied(clause, query)
    return Query(root, tuple(text), tuple(filters), tuple(mixed), tuple(parser.warnings))


def conjuncts(node: Node) -> list[Node]:
    """The clauses ANDed at the top of ``node`` (nested ANDs flattened)."""
    if isinstance(node, And):
        return [c for child in node.children for c in conjuncts(child)]
    return [node]


def _contents(node: Node) -> tuple[bool, bool]:
    """(has a filter, has words) somewhere in ``node``."""
    if isinstance(node, Field):
        return True, False
    if isinstance(node, Term | Phrase | Near):
        return False, True
    found = [_contents(c) for c in _children(node)]
    return any(f for f, _ in found), any(t for _, t in found)


def _children(node: Node) -> tuple[Node, ...]:
    if isinstance(node, And | Or):
        return node.children
    return (node.child,) if isinstance(node, Not) else ()


def _first_field(node: Node) -> Field:
    if isinstance(node, Field):
        return node
    for child in _children(node):
        if _contents(child)[0]:
            return _first_field(child)
    raise AssertionError(node)


def _half_applied(clause: Node, query: str) -> QueryError:
    f = _first_field(clause)
    if isinstance(clause, Or):
        message = (
            f"{f.name}: cannot be one side of an OR with words: filters apply to the whole "
            f"query. Move it out of the OR to narrow the whole search, or run one search "
            f"for the words and one for {f.name}:"
        )
    else:
        message = (
            f"{f.name}: cannot be negated together with words: filters apply to the whole "
            f"query. Negate the filter on its own (-{f.name}:...) and the words on their own"
        )
    return QueryError(message, query, f.column)
