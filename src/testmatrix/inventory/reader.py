"""Reads one test file with `ast` (nothing is imported) and finds its in-code
platform skips: skipif/xfail marks (decorators, pytest.param marks, pytestmark),
pytest.skip/xfail calls under platform conditions, and GPU-count requirements."""

from __future__ import annotations

import ast
import copy

from testmatrix.inventory import evaluate as ev
from testmatrix.inventory.bindings import (
    ALIAS_DEPTH,
    Resolve,
    bound_if,
    bound_once,
    helper,
    imported_as,
)
from testmatrix.inventory.found import (
    CLASS,
    FIXTURE,
    FUNCTION,
    GPU_NEED,
    HELPER,
    MODULE,
    PARAM,
    PYTESTMARK,
    SKIP_CALL,
    SKIPIF,
    UNKNOWN_ID,
    XFAIL,
    XFAIL_CALL,
    FileInventory,
    InCodeSkip,
)
from testmatrix.inventory.predicates import Config

_SKIP_CALLS = {"pytest.skip": SKIP_CALL, "skip": SKIP_CALL, "self.skipTest": SKIP_CALL}
_SKIP_CALLS |= {"pytest.xfail": XFAIL_CALL, "xfail": XFAIL_CALL}


def read(path: str, source: str, cfg: Config) -> FileInventory:
    """Every in-code skip of one file; a file that does not parse is one error."""
    try:
        tree = ast.parse(source, filename=path)
    except SyntaxError as exc:
        return FileInventory(path, error=f"line {exc.lineno}: {exc.msg}")
    except ValueError as exc:  # null bytes
        return FileInventory(path, error=str(exc))
    reader = _Reader(path, tree, cfg, source.splitlines())
    reader.module(tree.body)
    if any(s.scope == HELPER for s in reader.found):
        reader.add_calls()  # only then: walking every test's body costs
    return FileInventory(path, tuple(reader.found), tuple(reader.tests))


def _text(node: ast.expr | None) -> str:
    if node is None:
        return ""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return ast.unparse(node)


def _kw(call: ast.Call, *names: str) -> ast.expr | None:
    return next((k.value for k in call.keywords if k.arg in names), None)


def _name_of(node: ast.expr) -> str:
    """'pytest.mark.skipif' for a call or a reference, its dotted source (built by
    hand for names and attributes: ast.unparse costs ten times more)."""
    node = node.func if isinstance(node, ast.Call) else node
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return ast.unparse(node) + "".join(f".{p}" for p in reversed(parts))


class _Mark:
    """A mark found in an expression: its kind, condition, reason and GPU need."""

    __slots__ = ("condition", "gpus", "kind", "reason", "site", "xfail")

    def __init__(self, kind: str, condition: str, reason: str, site: ast.AST):
        self.kind, self.condition, self.reason, self.site = (
            kind,
            condition,
            reason,
            site,
        )
        self.gpus: int | None = None
        self.xfail = kind in (XFAIL, XFAIL_CALL)


class _Reader:
    def __init__(self, path: str, tree: ast.Module, cfg: Config, lines: list[str]):
        self.path, self.cfg, self.lines = path, cfg, lines
        self.names = {
            **imported_as(tree.body),
            **bound_once(tree.body),
            **bound_if(tree.body),
        }
        self.helpers = {
            s.name: h
            for s in tree.body
            if isinstance(s, ast.FunctionDef) and (h := helper(s)) is not None
        }
        self.found: list[InCodeSkip] = []
        self.tests: list[tuple[str, tuple[str, ...]]] = []
        self.test_nodes: list[tuple[int, ast.AST]] = []
        self.locals: dict[int, dict[str, ast.expr]] = {}  # by id of a function body

    def add_calls(self) -> None:
        """Each test's used names get the functions it calls (a skip in a helper
        skips the tests that call it)."""
        for index, node in self.test_nodes:
            qual, args = self.tests[index]
            called = [
                n.func.id
                for n in ast.walk(node)
                if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)
            ]
            self.tests[index] = (qual, tuple(dict.fromkeys([*args, *called])))

    # -- conditions --------------------------------------------------------------
    def resolve(self, expr: ast.expr, body: list[ast.stmt] | None = None) -> str:
        """A condition's source with names bound once (in the module, or in the
        function `body`) and predicate helpers replaced by their values."""
        names = self.names
        if body:
            local = self.locals.get(id(body))
            if local is None:
                local = self.locals[id(body)] = bound_once(body)
            names = {**names, **local}
        if not any(
            (isinstance(n, ast.Name) and n.id in names)
            or (
                isinstance(n, ast.Call)
                and isinstance(n.func, ast.Name)
                and n.func.id in self.helpers
            )
            for n in ast.walk(expr)
        ):
            return ast.unparse(expr)  # nothing to replace: no copy
        return ast.unparse(Resolve(names, self.helpers).visit(copy.deepcopy(expr)))

    def relevant(self, condition: str) -> bool:
        return ev.about(condition, self.cfg)[0]

    def need(self, mark: _Mark) -> None:
        """The GPUs a mark's condition needs; one that only counts GPUs is a need."""
        _, mark.gpus, platform = ev.about(mark.condition, self.cfg)
        if mark.gpus is not None and not platform:
            mark.kind = GPU_NEED

    def add(self, mark: _Mark, scope: str, covers: str, **more: object) -> None:
        site = mark.site
        line = getattr(site, "lineno", 1)
        written = self.lines[line - 1].strip() if line <= len(self.lines) else ""
        self.found.append(
            InCodeSkip(
                path=self.path,
                line=line,
                col=getattr(site, "col_offset", 0),
                end_line=getattr(site, "end_lineno", None) or line,
                kind=mark.kind,
                scope=scope,
                covers=covers,
                condition=mark.condition,
                written=written,
                reason=mark.reason,
                gpus=mark.gpus,
                xfail=mark.xfail,
                **more,  # type: ignore[arg-type]
            )
        )

    # -- marks -------------------------------------------------------------------
    def marks(
        self, expr: ast.expr, site: ast.AST | None = None, depth: int = 0
    ) -> list:
        """The platform marks an expression holds: a mark, a list of them, `+` of
        lists, `*marks(...)`, or a module-level name bound to any of these."""
        site = site or expr
        if depth > ALIAS_DEPTH:
            return []
        if isinstance(expr, (ast.List, ast.Tuple)):
            return [m for e in expr.elts for m in self.marks(e, None, depth)]
        if isinstance(expr, ast.Starred):
            return self.marks(expr.value, site, depth)
        if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Add):
            return self.marks(expr.left, None, depth) + self.marks(
                expr.right, None, depth
            )
        if not isinstance(expr, (ast.Call, ast.Name, ast.Attribute)):
            return []
        name = _name_of(expr)
        last = name.rsplit(".", 1)[-1]
        if (
            isinstance(expr, ast.Call)
            and last in ("skipif", "xfail")
            and ("mark" in name or name == last)
        ):
            return self.condition_mark(
                expr, SKIPIF if last == "skipif" else XFAIL, site
            )
        if (
            isinstance(expr, ast.Call)
            and last in ("skipIf", "skipUnless")
            and (name.startswith("unittest.") or name == last)
        ):
            return self.unittest_mark(expr, last == "skipUnless", site)
        if last in self.cfg.gpu_marks and isinstance(expr, ast.Call):
            return [self.gpu_mark(expr, self.cfg.gpu_marks[last], site)]
        if last in self.cfg.skips:
            call = expr if isinstance(expr, ast.Call) else None
            reason = _text(_kw(call, "reason", "msg")) if call else ""
            if call and not reason and call.args:
                reason = _text(call.args[0])
            return [_Mark(SKIPIF, self.cfg.skips[last], reason or name, site)]
        if isinstance(expr, ast.Name) and expr.id in self.names:
            return self.marks(self.names[expr.id], site, depth + 1)
        return []

    def condition_mark(self, call: ast.Call, kind: str, site: ast.AST) -> list:
        cond = call.args[0] if call.args else _kw(call, "condition")
        if cond is None or (
            isinstance(cond, ast.Constant) and isinstance(cond.value, str)
        ):
            return []  # unconditional, or a string condition pytest evaluates
        condition = self.resolve(cond)
        if not self.relevant(condition):
            return []
        mark = _Mark(kind, condition, _text(_kw(call, "reason")), site)
        self.need(mark)
        return [mark]

    def unittest_mark(self, call: ast.Call, unless: bool, site: ast.AST) -> list:
        """unittest.skipIf(condition, reason) and skipUnless (the negation)."""
        if not call.args:
            return []
        cond = call.args[0]
        if unless:
            cond = ast.UnaryOp(ast.Not(), cond)
        condition = self.resolve(cond)
        if not self.relevant(condition):
            return []
        reason = _text(call.args[1] if len(call.args) > 1 else _kw(call, "reason"))
        mark = _Mark(SKIPIF, condition, reason, site)
        self.need(mark)
        return [mark]

    def gpu_mark(self, call: ast.Call, keyword: str, site: ast.AST) -> _Mark:
        arg = None
        if keyword.isdigit():
            index = int(keyword)
            arg = call.args[index] if len(call.args) > index else None
        else:
            arg = _kw(call, keyword) or (call.args[0] if call.args else None)
        value = arg.value if isinstance(arg, ast.Constant) else None
        need = value if type(value) is int else None
        shown = str(need) if need is not None else _text(arg) or "?"
        mark = _Mark(GPU_NEED, f"{ev.GPUS} < {shown}", f"needs {shown} GPUs", site)
        if need is None:  # a computed count: whether it fires depends on it
            mark.condition = f"{ev.GPUS} < __need__"
        mark.gpus = need
        return mark

    # -- where marks and calls are ------------------------------------------------
    def module(self, body: list[ast.stmt]) -> None:
        for stmt in body:
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
                self.function(stmt, "")
            elif isinstance(stmt, ast.ClassDef):
                self.klass(stmt, "")
            elif _is_pytestmark(stmt):
                for mark in self.marks(stmt.value):  # type: ignore[attr-defined]
                    mark.kind = GPU_NEED if mark.kind == GPU_NEED else PYTESTMARK
                    self.add(mark, MODULE, "")
            else:
                self.calls([stmt], [], MODULE, "", [])
                self.generated(stmt)

    def generated(self, stmt: ast.stmt) -> None:
        """`marks=` given to a module's own records (vLLM's VLMTestInfo(...,
        marks=...)): they mark parameter sets generated from them, which ones the
        reader cannot say."""
        for node in ast.walk(stmt):
            if not isinstance(node, ast.Call) or _name_of(node).endswith("param"):
                continue
            marks = _kw(node, "marks")
            if marks is not None:
                for mark in self.marks(marks):
                    self.add(mark, PARAM, "", param=UNKNOWN_ID)

    def klass(self, node: ast.ClassDef, prefix: str) -> None:
        qual = f"{prefix}{node.name}"
        for dec in node.decorator_list:
            for mark in self.marks(dec):
                self.add(mark, CLASS, qual)
        for stmt in node.body:
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
                self.function(stmt, qual + "::")
            elif isinstance(stmt, ast.ClassDef):
                self.klass(stmt, qual + "::")
            elif _is_pytestmark(stmt):
                for mark in self.marks(stmt.value):  # type: ignore[attr-defined]
                    mark.kind = GPU_NEED if mark.kind == GPU_NEED else PYTESTMARK
                    self.add(mark, CLASS, qual)

    def function(
        self, node: ast.FunctionDef | ast.AsyncFunctionDef, prefix: str
    ) -> None:
        qual = f"{prefix}{node.name}"
        fixture = _fixture(node)
        if node.name.startswith("test") and fixture is None:
            args = node.args.posonlyargs + node.args.args + node.args.kwonlyargs
            self.test_nodes.append((len(self.tests), node))
            self.tests.append((qual, tuple(a.arg for a in args)))
        if fixture is None:  # marks on a fixture do nothing
            for dec in node.decorator_list:
                for mark in self.marks(dec):
                    self.add(mark, FUNCTION, qual)
                if isinstance(dec, ast.Call) and _name_of(dec).endswith("parametrize"):
                    self.params(dec, qual)
        scope, covers = FUNCTION, qual
        if fixture is not None:
            scope, covers = FIXTURE, node.name
        elif not prefix and not node.name.startswith("test"):
            scope, covers = HELPER, node.name  # covers the tests that call it
        self.calls(node.body, [], scope, covers, node.body, autouse=bool(fixture))

    def params(self, call: ast.Call, qual: str) -> None:
        values = call.args[1] if len(call.args) > 1 else _kw(call, "argvalues")
        if isinstance(values, ast.Name) and values.id in self.names:
            values = self.names[values.id]  # a module-level list of parameter sets
        if isinstance(values, (ast.ListComp, ast.GeneratorExp)):
            elements, every = [values.elt], True  # each generated set has the marks
        elif isinstance(values, (ast.List, ast.Tuple)):
            elements, every = list(values.elts), False
        else:
            return
        for element in elements:
            if not (
                isinstance(element, ast.Call) and _name_of(element).endswith("param")
            ):
                continue
            marks = _kw(element, "marks")
            if marks is None:
                continue
            param = None if every else _param_id(element)
            for mark in self.marks(marks):
                self.add(mark, PARAM, qual, param=param)

    def calls(
        self,
        stmts: list[ast.stmt],
        conds: list[ast.expr],
        scope: str,
        covers: str,
        local: list[ast.stmt],
        outer: ast.If | None = None,
        autouse: bool = False,
    ) -> None:
        """pytest.skip/xfail calls under `if` conditions, at any depth of blocks."""
        for stmt in stmts:
            if isinstance(stmt, ast.If):
                self.calls(
                    stmt.body, [*conds, stmt.test], scope, covers, local, stmt, autouse
                )
                negated = ast.UnaryOp(ast.Not(), stmt.test)
                self.calls(
                    stmt.orelse, [*conds, negated], scope, covers, local, None, autouse
                )
            elif isinstance(
                stmt, (ast.With, ast.AsyncWith, ast.For, ast.AsyncFor, ast.While)
            ):
                self.calls(stmt.body, conds, scope, covers, local, None, autouse)
            elif isinstance(stmt, ast.Try):
                for block in (stmt.body, stmt.orelse, stmt.finalbody):
                    self.calls(block, conds, scope, covers, local, None, autouse)
                for handler in stmt.handlers:
                    self.calls(handler.body, conds, scope, covers, local, None, autouse)
            elif isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
                kind = _SKIP_CALLS.get(_name_of(stmt.value))
                if kind and conds:
                    self.skip_call(
                        stmt.value, kind, conds, scope, covers, local, outer, autouse
                    )

    def skip_call(
        self,
        call: ast.Call,
        kind: str,
        conds: list[ast.expr],
        scope: str,
        covers: str,
        local: list[ast.stmt],
        outer: ast.If | None,
        autouse: bool,
    ) -> None:
        test = conds[0] if len(conds) == 1 else ast.BoolOp(ast.And(), conds)
        condition = self.resolve(test, local)
        if not self.relevant(condition):
            return
        reason = _text(call.args[0] if call.args else _kw(call, "reason", "msg"))
        mark = _Mark(kind, condition, reason, call)
        self.need(mark)
        self.add(mark, scope, covers, autouse=autouse)
        if outer is not None:  # the block starts at its `if`, which holds the condition
            last = self.found[-1]
            written = self.lines[outer.lineno - 1].strip()
            moved = {"line": outer.lineno, "col": outer.col_offset, "written": written}
            self.found[-1] = InCodeSkip(**{**last.as_dict(), **moved})


def _is_pytestmark(stmt: ast.stmt) -> bool:
    if isinstance(stmt, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
        targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
        return any(isinstance(t, ast.Name) and t.id == "pytestmark" for t in targets)
    return False


def _fixture(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool | None:
    """None for no fixture; else whether it is autouse."""
    for dec in node.decorator_list:
        name = _name_of(dec)
        if name.rsplit(".", 1)[-1] == "fixture":
            auto = _kw(dec, "autouse") if isinstance(dec, ast.Call) else None
            return isinstance(auto, ast.Constant) and auto.value is True
    return None


def _param_id(param: ast.Call) -> str:
    """A pytest.param's id: its `id=`, else pytest's own for plain values."""
    given = _kw(param, "id")
    if given is not None:
        value = given.value if isinstance(given, ast.Constant) else None
        return value if isinstance(value, str) else UNKNOWN_ID
    parts = []
    for arg in param.args:
        if not isinstance(arg, ast.Constant) or isinstance(arg.value, bytes):
            return UNKNOWN_ID
        parts.append(str(arg.value))
    return "-".join(parts) if parts else UNKNOWN_ID
