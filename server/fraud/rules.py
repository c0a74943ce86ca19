"""The Radar rule language: parse `{action} if {condition}`, evaluate it, and compile it to SQL.

    block if :card_country: != :ip_country: and :amount_in_usd: > 500
    review if :card_count_for_ip_address_hourly: > 3
    allow if :email: in @vip_customers
    review if :risk_score: >= 65 and not :is_3d_secure:

Why it is built this way:

- **A real grammar, never `eval`.** The syntax is a small LALR grammar run by lark. At an error,
  lark's interactive parser says exactly which tokens would have been accepted there, so a
  refused rule names its 1-based column and what was expected ("expected an attribute like
  :amount:, 'not' or '(' at column 10, found '500'").
- **Checked against the catalogue at parse time.** Attributes come from a typed catalogue
  (`server.fraud.signals.CATALOGUE`); an unknown attribute, a type mismatch, an ordering
  operator on text, or a value outside a closed set (`:risk_level: = 'hihgest'`) is refused
  when the rule is saved, not discovered while a payment waits.
- **One meaning, two evaluators.** `Rule.evaluate` runs a rule against one payment's signals;
  `Rule.to_sql` compiles the same condition into a parameterized SQL boolean so a backtest is a
  single `SELECT count(*) ... WHERE <expr>` over stored signals. Both follow the same semantics:
  - a comparison or membership test whose signal is missing (absent, `None`, the wrong type or
    not a finite number) is **false**, and `not` negates that result (SQL: each test is wrapped
    in `COALESCE(..., false)`, so SQL's unknown never leaks into `NOT`);
  - text is compared ignoring ASCII letter case (SQL folds with `translate`, which does not
    depend on the database's collation); lists and literals are folded the same way;
  - numbers compare as IEEE doubles (SQL casts to `double precision`).
- **Order of decision** (`decide`): allow rules, then block, then review; within an action the
  given order; the first match decides. Shadow rules are evaluated and reported but never decide.

A list referenced by a rule but absent from `lists` at evaluation counts as empty; pass
`known_lists` to `parse` to refuse unknown aliases when a rule is saved.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from difflib import get_close_matches
from typing import Any, Literal

from lark import Lark, Token, Tree, UnexpectedCharacters, UnexpectedInput, UnexpectedToken

from server.errors import ErrorCode, InvalidRequest
from server.fraud.signals import Signal, SignalType

Action = Literal["allow", "block", "review"]
ACTIONS: dict[str, Action] = {"allow": "allow", "block": "block", "review": "review"}  # the grammar's words
ACTION_ORDER: tuple[Action, ...] = ("allow", "block", "review")
MAX_RULE_LENGTH = 1000
MAX_NESTING = 32

_GRAMMAR = r"""
start: ACTION IF condition
?condition: disjunction
?disjunction: conjunction (OR conjunction)*
?conjunction: negation (AND negation)*
?negation: NOT negation -> negate
         | primary
?primary: comparison
        | membership
        | ATTRIBUTE -> truth
        | LPAR condition RPAR -> group
comparison: ATTRIBUTE COMPARATOR operand
membership: ATTRIBUTE IN (LIST_ALIAS | LPAR literal (COMMA literal)* RPAR)
?operand: ATTRIBUTE | literal
?literal: STRING | NUMBER | TRUE | FALSE

ACTION.2: /(allow|block|review)(?![A-Za-z0-9_])/i
IF.2: /if(?![A-Za-z0-9_])/i
AND.2: /and(?![A-Za-z0-9_])/i
OR.2: /or(?![A-Za-z0-9_])/i
NOT.2: /not(?![A-Za-z0-9_])/i
IN.2: /in(?![A-Za-z0-9_])/i
TRUE.2: /true(?![A-Za-z0-9_])/i
FALSE.2: /false(?![A-Za-z0-9_])/i
ATTRIBUTE: /:[A-Za-z_][A-Za-z0-9_]*:/
LIST_ALIAS: /@[A-Za-z_][A-Za-z0-9_-]*/
STRING: /'(?:[^'\\]|\\.)*'/ | /"(?:[^"\\]|\\.)*"/
NUMBER: /-?(?:\d+(?:\.\d*)?|\.\d+)/
COMPARATOR: "<=" | ">=" | "!=" | "=" | "<" | ">"
LPAR: "("
RPAR: ")"
COMMA: ","
%ignore /[ \t\r\n]+/
"""

_PARSER = Lark(_GRAMMAR, parser="lalr", lexer="basic", maybe_placeholders=False)

# What each terminal means to a person writing a rule, in the order we list them.
_EXPECTED_WORDS: dict[str, str] = {
    "ACTION": "allow, block or review",
    "IF": "'if'",
    "ATTRIBUTE": "an attribute like :amount:",
    "COMPARATOR": "an operator (=, !=, <, <=, >, >=)",
    "IN": "'in'",
    "LIST_ALIAS": "a list like @blocked_emails",
    "STRING": "a string like 'US'",
    "NUMBER": "a number",
    "TRUE": "true",
    "FALSE": "false",
    "NOT": "'not'",
    "AND": "'and'",
    "OR": "'or'",
    "LPAR": "'('",
    "COMMA": "','",
    "RPAR": "')'",
    "$END": "the end of the rule",
}

_ASCII_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_ASCII_LOWER = "abcdefghijklmnopqrstuvwxyz"
_FOLD = str.maketrans(_ASCII_UPPER, _ASCII_LOWER)
_SQL_TYPES = {SignalType.NUMBER: "double precision", SignalType.BOOL: "boolean", SignalType.STRING: "text"}


def fold(text: str) -> str:
    """ASCII case folding, exactly what the SQL side does with `translate`."""
    return text.translate(_FOLD)


class RuleError(InvalidRequest):
    """A rule that cannot be saved: where (1-based column) and what was expected there."""

    def __init__(self, message: str, column: int, expected: Sequence[str] = (), found: str | None = None,
                 param: str = "rule") -> None:
        super().__init__(message, param=param, code=ErrorCode.INVALID_RULE,
                         extra={"column": column, "expected": list(expected)})
        self.column = column
        self.expected = tuple(expected)
        self.found = found


# ---------------------------------------------------------------------------------------- the tree


@dataclass(frozen=True)
class Attribute:
    name: str
    type: SignalType


@dataclass(frozen=True)
class Value:
    value: str | float | bool
    type: SignalType


@dataclass(frozen=True)
class Comparison:
    left: Attribute
    op: str
    right: Attribute | Value


@dataclass(frozen=True)
class InValues:
    attribute: Attribute
    values: tuple[str | float, ...]


@dataclass(frozen=True)
class InList:
    attribute: Attribute
    alias: str


@dataclass(frozen=True)
class Truth:
    attribute: Attribute


@dataclass(frozen=True)
class Not:
    operand: Condition


@dataclass(frozen=True)
class BoolOp:
    op: Literal["and", "or"]
    operands: tuple[Condition, ...]


Condition = Comparison | InValues | InList | Truth | Not | BoolOp


@dataclass(frozen=True)
class SqlCondition:
    """A parameterized SQL boolean (`$1`, `$2`, ... numbered from `first_param`) and its parameters."""

    sql: str
    params: list[Any]


@dataclass(frozen=True)
class Rule:
    action: Action
    condition: Condition
    text: str
    attributes: frozenset[str]
    lists: frozenset[str]
    id: str | None = None
    shadow: bool = False

    def evaluate(self, signals: Mapping[str, Any], lists: Mapping[str, Collection[str]]) -> bool:
        """Whether the condition holds. Lists map alias -> values (fold them with `fold_list`)."""
        return _evaluate(self.condition, signals, lists)

    def to_sql(self, column_for_attr: Callable[[str], str], list_param: Callable[[str], Iterable[str]],
               first_param: int = 1) -> SqlCondition:
        """The condition as SQL over stored signals.

        `column_for_attr(name)` returns an SQL expression yielding the signal as text (e.g.
        `jsonb_signal("signals")` gives `signals->>'name'`); `list_param(alias)` returns the list's
        values, which are bound as one `text[]` parameter.
        """
        compiler = _SqlCompiler(column_for_attr, list_param, first_param)
        return SqlCondition(compiler.compile(self.condition), compiler.params)

    def with_options(self, *, id: str | None = None, shadow: bool | None = None) -> Rule:
        return replace(self, id=self.id if id is None else id, shadow=self.shadow if shadow is None else shadow)


def jsonb_signal(column: str) -> Callable[[str], str]:
    """`column_for_attr` for signals stored as one JSONB object per payment."""
    return lambda name: f"{column}->>'{name}'"


def fold_list(values: Iterable[str]) -> frozenset[str]:
    """A value list prepared for `Rule.evaluate`: folded like every other text comparison."""
    return frozenset(fold(v) for v in values)


# ---------------------------------------------------------------------------------------- parsing


def parse(text: str, catalogue: Mapping[str, Signal], *, known_lists: Collection[str] | None = None,
          id: str | None = None, shadow: bool = False) -> Rule:
    """Parse and type-check one rule; raise `RuleError` naming the column and what was expected."""
    if len(text) > MAX_RULE_LENGTH:
        raise RuleError(f"a rule is at most {MAX_RULE_LENGTH} characters", MAX_RULE_LENGTH + 1)
    tree = _syntax_tree(text)
    builder = _Builder(catalogue, known_lists)
    action_token, _if, condition_tree = tree.children
    condition = builder.condition(condition_tree, depth=0)
    return Rule(action=ACTIONS[str(action_token).lower()], condition=condition, text=text,
                attributes=frozenset(builder.attributes), lists=frozenset(builder.lists), id=id, shadow=shadow)


def _syntax_tree(text: str) -> Tree:
    # Tokens are fed one by one so that, at an error, the parser state from just before the
    # offending token is at hand: its `accepts()` is exactly what could have come there.
    parser = _PARSER.parse_interactive()
    before = parser
    try:
        for token in _PARSER.lex(text):  # a lexing error leaves `parser` untouched
            before = parser.copy(deepcopy_values=False)
            parser.feed_token(token)
        before = parser.copy(deepcopy_values=False)
        return parser.feed_eof()
    except UnexpectedCharacters as error:
        if error.pos_in_stream is not None and text[error.pos_in_stream] in "'\"":
            quote = text[error.pos_in_stream]
            raise RuleError(f"the string at column {error.column} is never closed; expected {quote} to end it",
                            error.column, [quote], quote) from None
        raise _syntax_error(text, error, parser.accepts()) from None
    except UnexpectedToken as error:
        raise _syntax_error(text, error, before.accepts()) from None


def _syntax_error(text: str, error: UnexpectedInput, accepted: set[str]) -> RuleError:
    expected = [_EXPECTED_WORDS[terminal] for terminal in _EXPECTED_WORDS if terminal in accepted]
    column, found = _error_place(text, error)
    return RuleError(f"expected {_one_of(expected)} at column {column}, found {found}", column, expected, found)


def _error_place(text: str, error: UnexpectedInput) -> tuple[int, str]:
    token = getattr(error, "token", None)
    if token is not None and token.type == "$END" or error.pos_in_stream is None:
        return len(text) + 1, "the end of the rule"
    start = error.pos_in_stream
    word = re.match(r"\S{1,24}", text[start:])
    return error.column, repr(word.group(0) if word else text[start])


def _one_of(words: Sequence[str]) -> str:
    if len(words) <= 1:
        return words[0] if words else "nothing more"
    return ", ".join(words[:-1]) + " or " + words[-1]


class _Builder:
    """Turns lark's tree into `Condition` objects, checking names, types and values."""

    def __init__(self, catalogue: Mapping[str, Signal], known_lists: Collection[str] | None) -> None:
        self.catalogue = catalogue
        self.known_lists = known_lists
        self.attributes: set[str] = set()
        self.lists: set[str] = set()

    def condition(self, node: Tree | Token, depth: int) -> Condition:
        if depth > MAX_NESTING:
            raise RuleError(f"the condition nests deeper than {MAX_NESTING} levels at column {_column(node)}",
                            _column(node))
        if isinstance(node, Token):  # only reachable through a bare literal, which the grammar forbids
            raise RuleError(f"expected a condition at column {node.column}", node.column or 1)
        kind = node.data
        parts = node.children
        if kind == "disjunction" or kind == "conjunction":
            operands = tuple(self.condition(child, depth + 1) for child in parts[::2])
            return BoolOp("or" if kind == "disjunction" else "and", operands)
        if kind == "negate":
            return Not(self.condition(parts[1], depth + 1))
        if kind == "group":
            return self.condition(parts[1], depth + 1)
        if kind == "truth":
            return self.truth(_tokens(parts)[0])
        if kind == "comparison":
            left, op, right = _tokens(parts)
            return self.comparison(left, op, right)
        if kind == "membership":
            return self.membership(_tokens(parts))
        raise AssertionError(f"unexpected rule node {kind}")

    def attribute(self, token: Token) -> Attribute:
        name = token[1:-1]
        signal = self.catalogue.get(name)
        if signal is None:
            close = get_close_matches(name, list(self.catalogue), n=1)
            hint = f" (did you mean :{close[0]}:?)" if close else ""
            raise RuleError(f"unknown attribute {token} at column {_column(token)}{hint}; "
                            "expected an attribute from the signal catalogue", _column(token),
                            ["an attribute from the signal catalogue"], str(token))
        self.attributes.add(name)
        return Attribute(name, signal.type)

    def truth(self, token: Token) -> Truth:
        attribute = self.attribute(token)
        if attribute.type is not SignalType.BOOL:
            raise RuleError(f"{token} is a {attribute.type}; expected a comparison after it at column "
                            f"{_column(token) + len(token)}", _column(token) + len(token), ["a comparison"])
        return Truth(attribute)

    def comparison(self, left_token: Token, op: Token, right_token: Token) -> Comparison:
        left = self.attribute(left_token)
        right = self.attribute(right_token) if right_token.type == "ATTRIBUTE" else self.literal(right_token, left)
        if right.type is not left.type:
            raise RuleError(f"{left_token} is a {left.type} but {right_token} is a {right.type}; expected a "
                            f"{left.type} at column {_column(right_token)}", _column(right_token),
                            [f"a {left.type}"], str(right_token))
        if op in ("<", "<=", ">", ">=") and left.type is not SignalType.NUMBER:
            raise RuleError(f"{op} compares numbers but {left_token} is a {left.type}; expected = or != at column "
                            f"{_column(op)}", _column(op), ["=", "!="], str(op))
        return Comparison(left, str(op), right)

    def membership(self, parts: list[Token]) -> InValues | InList:
        attribute_token, target = parts[0], parts[2]
        attribute = self.attribute(attribute_token)
        if target.type == "LIST_ALIAS":
            return self.in_list(attribute_token, attribute, target)
        if attribute.type is SignalType.BOOL:
            raise RuleError(f"{attribute_token} is a bool; 'in' needs a string or number attribute at column "
                            f"{_column(attribute_token)}", _column(attribute_token), ["a string or number attribute"])
        literals = [self.literal(token, attribute) for token in parts[3:-1:2]]
        for token, literal in zip(parts[3:-1:2], literals, strict=True):
            if literal.type is not attribute.type:
                raise RuleError(f"{attribute_token} is a {attribute.type} but {token} is a {literal.type}; "
                                f"expected a {attribute.type} at column {_column(token)}", _column(token),
                                [f"a {attribute.type}"], str(token))
        return InValues(attribute, tuple(literal.value for literal in literals))

    def in_list(self, attribute_token: Token, attribute: Attribute, alias_token: Token) -> InList:
        if attribute.type is not SignalType.STRING:
            raise RuleError(f"value lists hold strings but {attribute_token} is a {attribute.type}; expected "
                            f"a string attribute at column {_column(attribute_token)}", _column(attribute_token),
                            ["a string attribute"])
        alias = alias_token[1:]
        if self.known_lists is not None and alias not in self.known_lists:
            raise RuleError(f"unknown list {alias_token} at column {_column(alias_token)}; expected one of the "
                            "account's value lists", _column(alias_token), ["a value list alias"], str(alias_token))
        self.lists.add(alias)
        return InList(attribute, alias)

    def literal(self, token: Token, against: Attribute) -> Value:
        if token.type == "NUMBER":
            return Value(float(token), SignalType.NUMBER)
        if token.type in ("TRUE", "FALSE"):
            return Value(token.type == "TRUE", SignalType.BOOL)
        value = re.sub(r"\\(.)", r"\1", token[1:-1])
        allowed = self.catalogue[against.name].values
        if allowed and against.type is SignalType.STRING and fold(value) not in {fold(v) for v in allowed}:
            words = ", ".join(repr(v) for v in allowed)
            raise RuleError(f":{against.name}: is one of {words}; expected one of them at column {_column(token)}",
                            _column(token), [repr(v) for v in allowed], str(token))
        return Value(fold(value), SignalType.STRING)


def _tokens(children: list[Tree | Token]) -> list[Token]:
    """The children of a rule the grammar builds from tokens only."""
    tokens = [child for child in children if isinstance(child, Token)]
    assert len(tokens) == len(children), "a leaf rule holds tokens only"
    return tokens


def _column(node: Tree | Token) -> int:
    while isinstance(node, Tree):
        node = node.children[0]
    return node.column or 1


# ---------------------------------------------------------------------------------------- evaluation


def _evaluate(condition: Condition, signals: Mapping[str, Any], lists: Mapping[str, Collection[str]]) -> bool:
    if isinstance(condition, BoolOp):
        results = (_evaluate(c, signals, lists) for c in condition.operands)
        return all(results) if condition.op == "and" else any(results)
    if isinstance(condition, Not):
        return not _evaluate(condition.operand, signals, lists)
    if isinstance(condition, Truth):
        return _value(condition.attribute, signals) is True
    if isinstance(condition, Comparison):
        left = _value(condition.left, signals)
        right = _value(condition.right, signals) if isinstance(condition.right, Attribute) else condition.right.value
        return left is not None and right is not None and _compare(left, condition.op, right)
    value = _value(condition.attribute, signals)
    if value is None:
        return False
    if isinstance(condition, InValues):
        return value in condition.values
    return value in lists.get(condition.alias, ())


def _value(attribute: Attribute, signals: Mapping[str, Any]) -> str | float | bool | None:
    """The signal's value normalised for comparison, or None when missing or of the wrong type."""
    raw = signals.get(attribute.name)
    if attribute.type is SignalType.BOOL:
        return raw if isinstance(raw, bool) else None
    if attribute.type is SignalType.NUMBER:
        if isinstance(raw, bool) or not isinstance(raw, int | float) or not math.isfinite(raw):
            return None
        return raw
    return fold(raw) if isinstance(raw, str) else None


def _compare(left: Any, op: str, right: Any) -> bool:
    if op == "=":
        return left == right
    if op == "!=":
        return left != right
    if op == "<":
        return left < right
    if op == "<=":
        return left <= right
    if op == ">":
        return left > right
    return left >= right


@dataclass(frozen=True)
class Decision:
    """The outcome of the rules for one payment.

    `action` is the deciding rule's action, or "allow" when no enforced rule matched (then `rule`
    is None). `matched` lists every enforced rule that matched, in decision order; `shadow_matched`
    the shadow rules that matched, which are logged but never decide.
    """

    action: Action
    rule: Rule | None
    matched: list[Rule] = field(default_factory=list)
    shadow_matched: list[Rule] = field(default_factory=list)


def decide(rules: Sequence[Rule], signals: Mapping[str, Any], lists: Mapping[str, Collection[str]]) -> Decision:
    """Allow rules, then block, then review (each in the given order); the first match decides."""
    ordered = sorted(rules, key=lambda rule: ACTION_ORDER.index(rule.action))
    matched = [rule for rule in ordered if not rule.shadow and rule.evaluate(signals, lists)]
    shadow = [rule for rule in ordered if rule.shadow and rule.evaluate(signals, lists)]
    first = matched[0] if matched else None
    return Decision(first.action if first else "allow", first, matched, shadow)


# ---------------------------------------------------------------------------------------- SQL


_SQL_OPS = {"=": "=", "!=": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">="}


class _SqlCompiler:
    def __init__(self, column_for_attr: Callable[[str], str], list_param: Callable[[str], Iterable[str]],
                 first_param: int) -> None:
        self.column_for_attr = column_for_attr
        self.list_param = list_param
        self.next_param = first_param
        self.params: list[Any] = []

    def bind(self, value: Any, sql_type: str) -> str:
        self.params.append(value)
        placeholder = f"${self.next_param}::{sql_type}"
        self.next_param += 1
        return placeholder

    def column(self, attribute: Attribute) -> str:
        text = f"({self.column_for_attr(attribute.name)})"
        if attribute.type is SignalType.STRING:
            return f"translate({text}, '{_ASCII_UPPER}', '{_ASCII_LOWER}')"
        return f"{text}::{_SQL_TYPES[attribute.type]}"

    def compile(self, condition: Condition) -> str:
        if isinstance(condition, BoolOp):
            joiner = " AND " if condition.op == "and" else " OR "
            return "(" + joiner.join(self.compile(c) for c in condition.operands) + ")"
        if isinstance(condition, Not):
            return f"(NOT {self.compile(condition.operand)})"
        if isinstance(condition, Truth):
            return f"COALESCE({self.column(condition.attribute)}, false)"
        if isinstance(condition, Comparison):
            left = self.column(condition.left)
            right = (self.column(condition.right) if isinstance(condition.right, Attribute)
                     else self.bind(condition.right.value, _SQL_TYPES[condition.right.type]))
            return f"COALESCE({left} {_SQL_OPS[condition.op]} {right}, false)"
        column = self.column(condition.attribute)
        element = _SQL_TYPES[condition.attribute.type]
        if isinstance(condition, InValues):
            values = list(condition.values)
        else:
            values = sorted(fold_list(self.list_param(condition.alias)))
        return f"COALESCE({column} = ANY({self.bind(values, element + '[]')}), false)"
