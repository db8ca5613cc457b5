"""Stored items that no longer parse: a list skips them instead of failing as a whole.

Each one is logged with its key (never its content: it may hold prompts or secrets) and counted in the
`UnreadableStoredItems` metric (dimension `item_type`), so an operator sees it and can repair the item.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from avatarsmith.observability import logger

T = TypeVar("T")

METRIC_NAME = "UnreadableStoredItems"
METRIC_NAMESPACE = "Avatarsmith"
#: What a parser raises on an item that does not fit the model (pydantic's ValidationError is a ValueError).
PARSE_ERRORS: tuple[type[Exception], ...] = (ValueError, KeyError, TypeError, AttributeError, RecursionError)


def report_unreadable(item_type: str, item: dict[str, Any], exc: BaseException) -> None:
    """Log the item's key and count it; the item itself stays untouched for an operator to repair."""
    logger.warning(
        "skipped a stored item that does not parse",
        extra={
            "item_type": item_type,
            "pk": str(item.get("pk", "")),
            "sk": str(item.get("sk", "")),
            "error": type(exc).__name__,
        },
    )
    from aws_lambda_powertools.metrics import MetricUnit, single_metric
    from aws_lambda_powertools.metrics.functions import is_metrics_disabled

    if is_metrics_disabled():
        return
    with single_metric(
        name=METRIC_NAME,
        unit=MetricUnit.Count,
        value=1,
        namespace=METRIC_NAMESPACE,
        default_dimensions={"service": "avatarsmith", "item_type": item_type},
    ):
        pass


def parse_one(item_type: str, item: dict[str, Any] | None, parse: Callable[[dict[str, Any]], T]) -> T | None:
    """A single read's item, parsed; None (reported) when it does not parse: a single read of an unreadable
    item answers like a missing one (404), as lists leave it out, never a 5xx."""
    if not item:
        return None
    try:
        return parse(item)
    except PARSE_ERRORS as exc:
        report_unreadable(item_type, item, exc)
        return None


def parse_readable(
    item_type: str, items: Iterable[dict[str, Any]], parse: Callable[[dict[str, Any]], T]
) -> list[T]:
    """Parse every item that parses; report (and leave out) every one that does not."""
    out: list[T] = []
    for item in items:
        try:
            out.append(parse(item))
        except PARSE_ERRORS as exc:
            report_unreadable(item_type, item, exc)
    return out
