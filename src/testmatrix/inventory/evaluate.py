"""Three-valued evaluation of a skip condition on one target: it fires, it does not,
or it depends on something the skiplists do not say (an unknown sub-expression)."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from functools import lru_cache

from testmatrix.inventory.predicates import Config, Places

FIRES, QUIET, DEPENDS = "fires", "does-not-fire", "depends"
Tri = bool | None  # None: depends

# the GPU count of the session, in conditions the reader writes for GPU marks
GPUS = "__gpus__"


@dataclass(frozen=True)
class Where:
    """A target (platform, optional variant) and the GPUs its session leases (None:
    unknown here)."""

    platform: str
    variant: str | None = None
    gpus: int | None = None


def word(value: Tri) -> str:
    return DEPENDS if value is None else FIRES if value else QUIET


def holds(places: Places, where: Where) -> Tri:
    """Whether a predicate true at `places` is true on the target."""
    result: Tri = False
    for place in places:
        platform, _, variant = place.partition(":")
        if platform != where.platform:
            continue
        if not variant or variant == where.variant:
            return True
        if variant == "?" or where.variant is None:
            result = None  # some variants: unknown on the platform as a whole
    return result


@lru_cache(maxsize=4096)
def parse(text: str) -> ast.expr:
    return ast.parse(text, mode="eval").body


def _const_int(node: ast.expr) -> int | None:
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return node.value
    return None


def _count_side(node: ast.Compare, cfg: Config) -> tuple[str, int] | None:
    """('<' or '<=', N) for 'COUNT < N' or 'N > COUNT' style comparisons."""
    if len(node.ops) != 1:
        return None
    left, op, right = node.left, node.ops[0], node.comparators[0]
    flipped = {ast.Gt: ast.Lt, ast.GtE: ast.LtE, ast.Lt: ast.Gt, ast.LtE: ast.GtE}
    if _is_count(right, cfg) and _const_int(left) is not None:
        left, right = right, left
        op = flipped.get(type(op), type(op))()
    if not _is_count(left, cfg):
        return None
    n = _const_int(right)
    if n is None:
        return None
    names = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "=="}
    sign = names.get(type(op))
    return (sign, n) if sign else None


def _is_count(node: ast.expr, cfg: Config) -> bool:
    if isinstance(node, ast.Name) and node.id == GPUS:
        return True
    return isinstance(node, ast.Call) and cfg.is_device_count(ast.unparse(node))


def gpus_needed(expr: ast.expr, cfg: Config) -> int | None:
    """The GPUs a condition asks for ('count() < 4': 4), the most of any."""
    need = None
    for node in ast.walk(expr):
        if isinstance(node, ast.Compare):
            side = _count_side(node, cfg)
            if side and side[0] in ("<", "<="):
                n = side[1] + (side[0] == "<=")
                need = n if need is None else max(need, n)
    return need


def mentions_platform(expr: ast.expr, cfg: Config) -> bool:
    """Whether a condition names a known predicate or counts GPUs."""
    for node in ast.walk(expr):
        if isinstance(node, ast.Compare) and _count_side(node, cfg):
            return True
        if (
            isinstance(node, (ast.Call, ast.Attribute, ast.Name))
            and _lookup(node, cfg) is not None
        ):
            return True
    return False


def _lookup(node: ast.expr, cfg: Config) -> Places | None:
    func = ast.unparse(node.func) if isinstance(node, ast.Call) else None
    return cfg.lookup(ast.unparse(node), func)


def evaluate(expr: ast.expr, cfg: Config, where: Where, unknown: list[str]) -> Tri:
    """The condition's value on the target; the sub-expressions it could not
    decide are appended to `unknown`."""
    if isinstance(expr, ast.BoolOp):
        values = [evaluate(v, cfg, where, unknown) for v in expr.values]
        decisive = isinstance(expr.op, ast.Or)  # True decides an or, False an and
        if decisive in values:
            return decisive
        return None if None in values else not decisive
    if isinstance(expr, ast.UnaryOp) and isinstance(expr.op, ast.Not):
        value = evaluate(expr.operand, cfg, where, unknown)
        return None if value is None else not value
    if isinstance(expr, ast.Constant):
        return bool(expr.value)
    if isinstance(expr, ast.Compare):
        return _compare(expr, cfg, where, unknown)
    places = _lookup(expr, cfg)
    if places is not None:
        value = holds(places, where)
        if value is None:
            unknown.append(ast.unparse(expr))
        return value
    unknown.append(ast.unparse(expr))
    return None


def _compare(expr: ast.Compare, cfg: Config, where: Where, unknown: list[str]) -> Tri:
    side = _count_side(expr, cfg)
    if side is not None:
        if where.gpus is None:
            unknown.append("the session's GPU count")
            return None
        sign, n = side
        return {
            "<": where.gpus < n,
            "<=": where.gpus <= n,
            ">": where.gpus > n,
            ">=": where.gpus >= n,
            "==": where.gpus == n,
        }[sign]
    # `torch.version.hip is not None`: the predicate's truth, or its negation
    op = expr.ops[0] if len(expr.ops) == 1 else None
    right = expr.comparators[0]
    if (
        isinstance(op, (ast.Is, ast.IsNot))
        and isinstance(right, ast.Constant)
        and right.value is None
    ):
        places = _lookup(expr.left, cfg)
        if places is not None:
            value = holds(places, where)
            if value is None:
                unknown.append(ast.unparse(expr.left))
                return None
            return value if isinstance(op, ast.IsNot) else not value
    unknown.append(ast.unparse(expr))
    return None


def decide(text: str, cfg: Config, where: Where) -> tuple[Tri, tuple[str, ...]]:
    """A condition's source decided on a target, and what it depends on."""
    key = ("decide", text, where)
    found = cfg.memo.get(key)
    if found is None:
        unknown: list[str] = []
        value = evaluate(parse(text), cfg, where, unknown)
        found = cfg.memo[key] = (
            value,
            tuple(dict.fromkeys(unknown)) if value is None else (),
        )
    return found


def about(text: str, cfg: Config) -> tuple[bool, int | None, bool]:
    """What the reader asks of a condition's source, once per text: whether it
    names a predicate or counts GPUs, the GPUs it needs, and whether it names a
    predicate besides counting GPUs."""
    key = ("about", text)
    found = cfg.memo.get(key)
    if found is None:
        expr = parse(text)
        platform = any(
            isinstance(n, (ast.Call, ast.Attribute, ast.Name))
            and not cfg.is_device_count(ast.unparse(n))
            and _lookup(n, cfg) is not None
            for n in ast.walk(expr)
        )
        found = cfg.memo[key] = (
            mentions_platform(expr, cfg),
            gpus_needed(expr, cfg),
            platform,
        )
    return found
