"""DynamoDB expressions in the emulator without re-parsing them on every request.

A profile of the local stack under load put 60 % of the emulator's time in moto's DynamoDB, most of it
in expressions: every UpdateItem and every item of a TransactWriteItems parses its update expression
twice (the request handler's check, then the backend), builds and runs a ten-pass validator over the
tree, deep-copies the item for a stream the table may not have, and parses each condition expression
two or three times. The expressions themselves are a handful of fixed strings; only their values change.

- Condition expressions: a parsed condition depends only on its text and on the names and values it
  refers to, and evaluating it keeps no state. `ConditionExpressionParser.parse` answers from a cache
  keyed by exactly those, with the names and values it found (the handler checks unused ones from them).
- The request handler parses update expressions only to list the names and values they use: its parser
  is given a cache by text (the backend's, whose tree the validator rewrites, is left alone).
- `update_item` runs the common form of update expression itself: top-level attributes only, `SET a =
  operand [+|- operand]` (operand: a value, an attribute or `if_not_exists(attribute, operand)`), `REMOVE
  a, ...` and numeric `ADD a :n`, compiled once per text. Every operand is read from the item as it was
  before the update, as DynamoDB does. Anything else - nested paths, sets, list_append, DELETE,
  attribute_updates, a table with a stream, and every request moto would refuse (a missing name or
  value, overlapping paths, a key attribute, an operand of the wrong type or missing, an index key of
  the wrong type or empty, an item over the size limit) - goes to moto's own `update_item`, unchanged,
  so its answers and errors stay moto's.
tests/unit/test_moto_expressions.py runs each form through both and compares items and errors.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

_TOKEN = re.compile(r"\s*(?:(#[A-Za-z0-9_]+)|(:[A-Za-z0-9_]+)|([A-Za-z_][A-Za-z0-9_]*)|([,=+\-()]))")
_CLAUSES = ("SET", "REMOVE", "ADD")
_SIZE_LIMIT = 400_000  # below moto's own check (405 000): near the limit moto decides
_SET_TYPES = {"S", "N", "B", "BOOL", "NULL", "M", "L"}
_originals: dict[str, tuple[Any, Any, Any]] = {}  # name: (owner, moto's, ours)


# -- update expressions ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Path:
    token: str  # "#name" or a plain attribute name


@dataclass(frozen=True)
class _Value:
    token: str  # ":value"


@dataclass(frozen=True)
class _IfNotExists:
    path: _Path
    default: _Path | _Value


_Operand = _Path | _Value | _IfNotExists


@dataclass(frozen=True)
class _Set:
    path: _Path
    left: _Operand
    operator: str | None = None  # "+" or "-"
    right: _Operand | None = None


@dataclass(frozen=True)
class _Remove:
    path: _Path


@dataclass(frozen=True)
class _Add:
    path: _Path
    value: _Value


_Action = _Set | _Remove | _Add


class _Unsupported(Exception):
    """Not the common form (or not valid): moto's own update_item decides."""


class _Tokens:
    def __init__(self, text: str):
        self.items: list[str] = []
        position = 0
        while position < len(text):
            if text[position:].isspace():
                break
            match = _TOKEN.match(text, position)
            if match is None:
                raise _Unsupported(text)
            self.items.append(next(group for group in match.groups() if group is not None))
            position = match.end()
        self.index = 0

    def peek(self) -> str | None:
        return self.items[self.index] if self.index < len(self.items) else None

    def take(self, expected: str | None = None) -> str:
        token = self.peek()
        if token is None or (expected is not None and token != expected):
            raise _Unsupported(expected or "end")
        self.index += 1
        return token


@functools.lru_cache(maxsize=1024)
def compile_update(expression: str) -> tuple[_Action, ...] | None:
    """The actions of an update expression in the common form, or None for anything else."""
    try:
        return tuple(_parse_actions(_Tokens(expression)))
    except _Unsupported:
        return None


def _parse_actions(tokens: _Tokens) -> list[_Action]:
    actions: list[_Action] = []
    seen: set[str] = set()
    while tokens.peek() is not None:
        clause = tokens.take().upper()
        if clause not in _CLAUSES or clause in seen:
            raise _Unsupported(clause)
        seen.add(clause)
        while True:
            actions.append(_parse_action(clause, tokens))
            if tokens.peek() != ",":
                break
            tokens.take(",")
    if not actions:
        raise _Unsupported("empty")
    return actions


def _parse_action(clause: str, tokens: _Tokens) -> _Action:
    path = _parse_path(tokens)
    if clause == "REMOVE":
        return _Remove(path)
    if clause == "ADD":
        return _Add(path, _parse_value(tokens))
    tokens.take("=")
    left = _parse_operand(tokens)
    if tokens.peek() in ("+", "-"):
        operator = tokens.take()
        return _Set(path, left, operator, _parse_operand(tokens))
    return _Set(path, left)


def _parse_path(tokens: _Tokens) -> _Path:
    token = tokens.take()
    if token.startswith("#"):
        return _Path(token)
    if token[0].isalpha() or token[0] == "_":
        if token.upper() in _CLAUSES or token.upper() in _reserved_words() or tokens.peek() == "(":
            raise _Unsupported(token)
        return _Path(token)
    raise _Unsupported(token)


def _parse_value(tokens: _Tokens) -> _Value:
    token = tokens.take()
    if not token.startswith(":"):
        raise _Unsupported(token)
    return _Value(token)


def _parse_operand(tokens: _Tokens) -> _Operand:
    word = tokens.peek()
    if word is not None and word.startswith(":"):
        return _parse_value(tokens)
    if word == "if_not_exists":
        tokens.take()
        tokens.take("(")
        path = _parse_path(tokens)
        tokens.take(",")
        default: _Path | _Value = (
            _parse_value(tokens) if (tokens.peek() or "").startswith(":") else _parse_path(tokens)
        )
        tokens.take(")")
        return _IfNotExists(path, default)
    return _parse_path(tokens)


@functools.lru_cache(maxsize=1)
def _reserved_words() -> frozenset[str]:
    from moto.dynamodb.parsing.reserved_keywords import ReservedKeywords

    return frozenset(word.upper() for word in ReservedKeywords.get_reserved_keywords())


def plan_changes(
    actions: tuple[_Action, ...],
    attrs: dict[str, Any],
    names: dict[str, str] | None,
    values: dict[str, Any] | None,
    table: Any,
) -> list[tuple[str, Any]]:
    """(attribute, new DynamoType or None to remove) for each action, every operand read from `attrs` as
    they were before the update. Raises _Unsupported wherever moto would answer with an error."""
    from moto.dynamodb.models.dynamo_type import DynamoType

    names, values = names or {}, values or {}

    def name_of(path: _Path) -> str:
        if not path.token.startswith("#"):
            return path.token
        if path.token not in names:
            raise _Unsupported(path.token)
        return names[path.token]

    def value_of(value: _Value) -> Any:
        if value.token not in values or not isinstance(values[value.token], dict):
            raise _Unsupported(value.token)
        return DynamoType(values[value.token])

    def operand(term: _Operand) -> Any:
        if isinstance(term, _Value):
            return value_of(term)
        if isinstance(term, _IfNotExists):
            current = attrs.get(name_of(term.path))
            return current if current is not None else operand(term.default)
        current = attrs.get(name_of(term))
        if current is None:
            raise _Unsupported("the attribute does not exist")
        return current

    keys = {table.hash_key_attr, table.range_key_attr}
    index_keys, declared = _index_keys(table)
    changes: list[tuple[str, Any]] = []
    for action in actions:
        target = name_of(action.path)
        if target in keys or any(target == name for name, _ in changes):
            raise _Unsupported(target)
        if isinstance(action, _Remove):
            changes.append((target, None))
            continue
        if isinstance(action, _Add):
            amount, current = value_of(action.value), attrs.get(target)
            if amount.type != "N" or (current is not None and current.type != "N"):
                raise _Unsupported("ADD")
            changes.append((target, amount if current is None else current + amount))
            continue
        new = operand(action.left)
        if action.operator is not None:
            assert action.right is not None
            right = operand(action.right)
            if new.type != "N" or right.type != "N":
                raise _Unsupported("arithmetic on a non-number")
            new = new + right if action.operator == "+" else new - right
        if new.type not in _SET_TYPES:
            raise _Unsupported(new.type)
        if target in index_keys and (
            declared.get(target, new.type) != new.type or (new.type in ("S", "B") and not new.value)
        ):
            raise _Unsupported(target)
        changes.append((target, new))
    return changes


def _index_keys(table: Any) -> tuple[frozenset[str], dict[str, str]]:
    """The attributes any index of the table is keyed on, and the declared types; remembered on the
    table for as long as its index lists and definitions are the same objects (UpdateTable replaces them)."""
    sources = (table.indexes, table.global_indexes, table.attr)
    remembered = getattr(table, "_avatarsmith_index_keys", None)
    if remembered is None or any(a is not b for a, b in zip(remembered[0], sources, strict=True)):
        declared = {d["AttributeName"]: d["AttributeType"] for d in table.attr}
        remembered = (sources, frozenset(table.attribute_keys), declared)
        table._avatarsmith_index_keys = remembered
    return remembered[1], remembered[2]


# -- the backend's update_item --------------------------------------------------------------------------
def _fast_update_item(original: Any) -> Any:
    from moto.dynamodb.comparisons import create_condition_expression_parser
    from moto.dynamodb.exceptions import ConditionalCheckFailed
    from moto.dynamodb.models.dynamo_type import DynamoType, bytesize

    from .moto_atomic import _LOCK

    @functools.wraps(original)
    def update_item(
        self: Any,
        table_name: str,
        key: dict[str, Any],
        update_expression: str,
        expression_attribute_names: dict[str, Any],
        expression_attribute_values: dict[str, Any],
        attribute_updates: dict[str, Any] | None = None,
        expected: dict[str, Any] | None = None,
        condition_expression: str | None = None,
        return_values_on_condition_check_failure: str | None = None,
    ) -> Any:
        def moto() -> Any:
            return original(
                self,
                table_name,
                key,
                update_expression,
                expression_attribute_names,
                expression_attribute_values,
                attribute_updates,
                expected,
                condition_expression,
                return_values_on_condition_check_failure,
            )

        actions = compile_update(update_expression) if update_expression else None
        table = self.tables.get(table_name)
        if (
            actions is None
            or attribute_updates
            or expected
            or table is None
            or table.stream_shard is not None
        ):
            return moto()
        key_attrs = [table.hash_key_attr] + ([table.range_key_attr] if table.range_key_attr else [])
        if set(key) != set(key_attrs):
            return moto()
        with _LOCK:
            hash_value = DynamoType(key[table.hash_key_attr])
            range_value = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
            if hash_value.type != table.hash_key_type or (
                range_value is not None and range_value.type != table.range_key_type
            ):
                return moto()
            item = table.get_item(hash_value, range_value)
            condition = create_condition_expression_parser(
                condition_expression, expression_attribute_names, expression_attribute_values
            ).parse()
            if not condition.expr(item):
                if return_values_on_condition_check_failure == "ALL_OLD" and item is not None:
                    raise ConditionalCheckFailed(item=item.to_json()["Attributes"])
                raise ConditionalCheckFailed
            before = dict(item.attrs) if item is not None else {}
            try:
                changes = plan_changes(
                    actions, before, expression_attribute_names, expression_attribute_values, table
                )
            except _Unsupported:
                return moto()
            after = dict(before)
            for name, value in changes:
                if value is None:
                    after.pop(name, None)
                else:
                    after[name] = value
            if sum(bytesize(name) + value.size() for name, value in after.items()) > _SIZE_LIMIT:
                return moto()
            if item is None:  # an update creates the item it does not find
                data = {table.hash_key_attr: key[table.hash_key_attr]}
                if table.range_key_attr:
                    data[table.range_key_attr] = key[table.range_key_attr]
                table.put_item(data)
                item = table.get_item(hash_value, range_value)
                after = {**dict(item.attrs), **after}
            dict.clear(item.attrs)  # the size was checked above, for the whole item at once
            dict.update(item.attrs, after)
            return item

    return update_item


# -- condition expressions ------------------------------------------------------------------------------
_REFERENCE = re.compile(r"[#:][A-Za-z0-9_]+")


def _cached_condition_parse(original: Any) -> Any:
    cache: dict[tuple[Any, ...], tuple[Any, list[str], list[str]]] = {}

    @functools.wraps(original)
    def parse(self: Any) -> Any:
        expression = self.condition_expression
        if not expression or not isinstance(expression, str):
            return original(self)
        names, values = self.expression_attribute_names or {}, self.expression_attribute_values or {}
        references = sorted(set(_REFERENCE.findall(expression)))
        key = (
            expression,
            tuple(repr(names.get(r)) if r[0] == "#" else repr(values.get(r)) for r in references),
        )
        hit = cache.get(key)
        if hit is None:
            op = original(self)  # errors are raised, never cached
            hit = (op, list(self.expr_attr_names_found), list(self.expr_attr_values_found))
            if len(cache) >= 4096:
                cache.clear()
            cache[key] = hit
            return op
        op, names_found, values_found = hit
        self.expr_attr_names_found.extend(names_found)
        self.expr_attr_values_found.extend(values_found)
        return op

    return parse


class _HandlerUpdateParser:
    """What the request handler reads of an update expression (the names and values it uses): the
    parsed tree, cached by text. The handler only reads it; the backend parses its own copy."""

    _original: Any = None

    @staticmethod
    @functools.lru_cache(maxsize=1024)
    def make(expression: str) -> Any:
        return _HandlerUpdateParser._original.make(expression)


def install() -> None:
    """The fast update_item takes moto_atomic's lock itself, whichever of the two is installed first."""
    if _originals:
        return
    from moto.dynamodb import responses
    from moto.dynamodb.comparisons import ConditionExpressionParser
    from moto.dynamodb.models import DynamoDBBackend

    replacements = {
        (ConditionExpressionParser, "parse"): _cached_condition_parse(ConditionExpressionParser.parse),
        (responses, "UpdateExpressionParser"): _HandlerUpdateParser,
        (DynamoDBBackend, "update_item"): _fast_update_item(DynamoDBBackend.update_item),
    }
    _HandlerUpdateParser._original = responses.UpdateExpressionParser
    _HandlerUpdateParser.make.cache_clear()
    for (owner, name), replacement in replacements.items():
        _originals[name] = (owner, getattr(owner, name), replacement)
        setattr(owner, name, replacement)


def uninstall() -> None:
    """Puts back what install() replaced, where nobody has replaced it since."""
    if not _originals:
        return
    for name, (owner, original, replacement) in _originals.items():
        if getattr(owner, name) is replacement:
            setattr(owner, name, original)
    _originals.clear()
