"""The Android demo (android_demo/) without an Android SDK: what can be checked here is.

* Every ``.java`` and ``.kts`` file parses (tree-sitter), errors named by file:line.
* The app's calls into ExecuTorch's Java API match the signatures read in ExecuTorch's sources
  (``EXECUTORCH_API`` below: file, tag and commit), by a small type resolver over the Java
  syntax tree, and by javac against stubs generated from the same list.
* Every name the Java core hard-codes (manifest keys, "codes", "audio", dtypes, the ``next_``
  prefix, the method "forward", the format, the manifest suffix) matches what ``mobile_export``
  writes: a manifest is built by the exporter's own ``build_manifest`` for the tiny config, and
  the Java ``Manifest``/``CallLayout`` read it.
* The Gradle build includes both modules and pins executorch-android at the version the README
  names, which is the Python executorch pin that exports the ``.pte``.

Each checker is shown to fail on a broken or mutated copy. Fast: the tiny config, no export.
"""
from __future__ import annotations

import ast
import hashlib
import json
import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

tree_sitter = pytest.importorskip("tree_sitter")
tree_sitter_java = pytest.importorskip("tree_sitter_java")
tree_sitter_kotlin = pytest.importorskip("tree_sitter_kotlin")

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "android_demo"
APP_JAVA = DEMO / "app/src/main/java"
CORE_MAIN = DEMO / "tqcstream/src/main/java"
JAVA = tree_sitter.Language(tree_sitter_java.language())
KOTLIN = tree_sitter.Language(tree_sitter_kotlin.language())

# --------------------------------------------------------------------------------------------
# ExecuTorch's Android Java API, as Java sees it, read in pytorch/executorch at
# extension/android/executorch_android/src/main/java/org/pytorch/executorch/{Module,Tensor,
# EValue,DType,MethodMetadata,ExecutorchRuntimeException}.kt. The API is Kotlin there: a
# companion @JvmStatic fun is a static method, `const val` a static field, `val dataAsFloatArray`
# the getter getDataAsFloatArray(), `val isTensor` the method isTensor(), @JvmOverloads gives
# one overload per trailing default, `vararg` is Java varargs. Only what is identical at both
# refs below is listed. The app pins executorch-android 1.5.1 (the Python exporter's version);
# the v1.5.1 tag itself was not in the snapshot read, which holds v1.4.1 and main after the 1.4
# branch cut (version.txt 1.5.0): between them these files differ only by a Module.load
# overload taking BackendOptionsMap (main only, left out here).
EXECUTORCH_API = {
    "source": {
        "repository": "pytorch/executorch",
        "path": "extension/android/executorch_android/src/main/java/org/pytorch/executorch/",
        "refs": {"v1.4.1": "e4d02f41f7909e8ed5bf4a14ffc520d733453d9f",
                 "main (version.txt 1.5.0)": "cff6f4dd32e630945b7188512c1f2b4f102b05ad"},
    },
    "classes": {
        "Module": {
            "kind": "class", "implements": "java.io.Closeable",
            "static_fields": {"LOAD_MODE_FILE": "int", "LOAD_MODE_MMAP": "int", "LOAD_MODE_MMAP_USE_MLOCK": "int",
                              "LOAD_MODE_MMAP_USE_MLOCK_IGNORE_ERRORS": "int"},
            "static": ["Module load(String)", "Module load(String, int)", "Module load(String, int, int)",
                       "String[] readLogBufferStatic()"],
            "instance": ["EValue[] forward(EValue...)", "EValue[] execute(String, EValue...)",
                         "void loadMethod(String)", "String[] getMethods()",
                         "MethodMetadata getMethodMetadata(String)", "String[] readLogBuffer()",
                         "boolean etdump()", "boolean etdump(String)", "void destroy()", "void close()"],
        },
        "Tensor": {
            "kind": "abstract class",
            "static": ["ByteBuffer allocateByteBuffer(int)", "IntBuffer allocateIntBuffer(int)",
                       "FloatBuffer allocateFloatBuffer(int)", "LongBuffer allocateLongBuffer(int)",
                       "ShortBuffer allocateHalfBuffer(int)", "DoubleBuffer allocateDoubleBuffer(int)",
                       "Tensor fromBlob(byte[], long[])", "Tensor fromBlob(int[], long[])",
                       "Tensor fromBlob(float[], long[])", "Tensor fromBlob(short[], long[])",
                       "Tensor fromBlob(long[], long[])", "Tensor fromBlob(double[], long[])",
                       "Tensor fromBlob(ByteBuffer, long[])", "Tensor fromBlob(IntBuffer, long[])",
                       "Tensor fromBlob(FloatBuffer, long[])", "Tensor fromBlob(ShortBuffer, long[])",
                       "Tensor fromBlob(LongBuffer, long[])", "Tensor fromBlob(DoubleBuffer, long[])",
                       "Tensor fromBlobUnsigned(byte[], long[])", "Tensor fromBlobUnsigned(ByteBuffer, long[])",
                       "Tensor ones(long[], DType)", "Tensor zeros(long[], DType)", "long numel(long[])",
                       "Tensor fromByteArray(byte[])"],
            "instance": ["long numel()", "long[] shape()", "DType dtype()", "int dtypeJniCode()",
                         "byte[] getDataAsByteArray()", "short[] getDataAsShortArray()",
                         "byte[] getDataAsUnsignedByteArray()", "int[] getDataAsIntArray()",
                         "float[] getDataAsFloatArray()", "long[] getDataAsLongArray()",
                         "double[] getDataAsDoubleArray()", "void copyDataInto(FloatBuffer)",
                         "void copyDataInto(ByteBuffer)", "void copyDataInto(IntBuffer)",
                         "void copyDataInto(LongBuffer)", "void copyDataInto(DoubleBuffer)",
                         "void copyDataInto(ShortBuffer)", "void copyDataIntoUnsigned(ByteBuffer)",
                         "Buffer getRawDataBuffer()", "byte[] toByteArray()"],
        },
        "EValue": {
            "kind": "final class",
            "static": ["EValue optionalNone()", "EValue from(Tensor)", "EValue from(boolean)", "EValue from(long)",
                       "EValue from(double)", "EValue from(String)", "EValue fromByteArray(byte[])"],
            "instance": ["boolean isNone()", "boolean isTensor()", "boolean isBool()", "boolean isInt()",
                         "boolean isDouble()", "boolean isString()", "Tensor toTensor()", "boolean toBool()",
                         "long toInt()", "double toDouble()", "String toStr()", "byte[] toByteArray()"],
        },
        "DType": {
            "kind": "enum",
            "constants": ["UINT8", "INT8", "INT16", "INT32", "INT64", "HALF", "FLOAT", "DOUBLE", "COMPLEX_HALF",
                          "COMPLEX_FLOAT", "COMPLEX_DOUBLE", "BOOL", "QINT8", "QUINT8", "QINT32", "BFLOAT16",
                          "QINT4X2", "QINT2X4", "BITS1X8", "BITS2X4", "BITS4X2", "BITS8", "BITS16"],
            "instance_fields": {"jniCode": "int"},
            "static": ["DType fromJniCode(int)"],
            "instance": [],
        },
        "MethodMetadata": {
            "kind": "final class",
            "static": [],
            "instance": ["String getName()", "String[] getBackends()"],
        },
        "ExecutorchRuntimeException": {
            "kind": "class", "extends": "RuntimeException",
            "static": ["RuntimeException makeExecutorchException(int, String)"],
            "instance": ["int getErrorCode()", "String getDetailedError()"],
        },
    },
}
API_PACKAGE = "org.pytorch.executorch"
SIGNATURE = re.compile(r"^(?P<ret>[\w.\[\]]+) (?P<name>\w+)\((?P<params>[^)]*)\)$")


def _signatures(entries: list[str]) -> dict[str, list[tuple[list[str], str]]]:
    out: dict[str, list[tuple[list[str], str]]] = {}
    for e in entries:
        m = SIGNATURE.match(e)
        assert m, f"bad signature {e!r}"
        params = [p.strip() for p in m["params"].split(",") if p.strip()]
        out.setdefault(m["name"], []).append((params, m["ret"]))
    return out


API = {name: {"static": _signatures(c.get("static", [])), "instance": _signatures(c.get("instance", [])),
              "static_fields": {**c.get("static_fields", {}), **{k: name for k in c.get("constants", [])}},
              "instance_fields": c.get("instance_fields", {})}
       for name, c in EXECUTORCH_API["classes"].items()}

# --------------------------------------------------------------------------------------------
# syntax


def _parse(source: bytes, language):
    return tree_sitter.Parser(language).parse(source)


def syntax_errors(source: bytes, language, path: str) -> list[str]:
    """``path:line:col: ...`` for every ERROR or MISSING node (empty when the file parses)."""
    errors: list[str] = []

    def walk(node):
        if node.is_missing:
            errors.append(f"{path}:{node.start_point[0] + 1}:{node.start_point[1] + 1}: missing {node.type!r}")
        elif node.type == "ERROR":
            near = node.text.decode("utf-8", "replace").strip().splitlines()
            errors.append(f"{path}:{node.start_point[0] + 1}:{node.start_point[1] + 1}: syntax error near "
                          f"{(near[0] if near else '')[:60]!r}")
        for child in node.children:
            if child.has_error or child.is_missing:
                walk(child)

    root = _parse(source, language).root_node
    if root.has_error:
        walk(root)
    return errors


def _sources(suffix: str) -> list[Path]:
    return sorted(p for p in DEMO.rglob(f"*{suffix}") if not {"build", ".gradle"} & set(p.relative_to(DEMO).parts))


def test_every_java_and_kts_file_parses():
    java, kts = _sources(".java"), _sources(".kts")
    assert {p.name for p in java} >= {"MainActivity.java", "ExecuTorchChunkDecoder.java", "AudioTrackSink.java",
                                      "DecodeLoop.java", "PlayerSession.java"}
    assert {str(p.relative_to(DEMO)) for p in kts} >= {"settings.gradle.kts", "build.gradle.kts",
                                                       "app/build.gradle.kts", "tqcstream/build.gradle.kts"}
    errors = [e for p in java for e in syntax_errors(p.read_bytes(), JAVA, str(p.relative_to(ROOT)))]
    errors += [e for p in kts for e in syntax_errors(p.read_bytes(), KOTLIN, str(p.relative_to(ROOT)))]
    assert not errors, "\n".join(errors)


def test_the_parse_check_fails_on_broken_sources():
    broken_java = b"class Broken {\n    void ok() { }\n    void bad( { int x = ; }\n}\n"
    errors = syntax_errors(broken_java, JAVA, "Broken.java")
    assert errors and all(e.startswith("Broken.java:3:") for e in errors), errors
    missing = syntax_errors(b"class A {\n  int f() { return 1 }\n}\n", JAVA, "A.java")
    assert any(e.startswith("A.java:2:") and "missing" in e for e in missing), missing
    broken_kts = b'plugins {\n    id("com.android.application")\n}\nandroid {\n    compileSdk = \n}}\n'
    errors = syntax_errors(broken_kts, KOTLIN, "build.gradle.kts")
    assert errors and all(e.startswith("build.gradle.kts:") for e in errors), errors
    assert syntax_errors((DEMO / "settings.gradle.kts").read_bytes(), KOTLIN, "settings.gradle.kts") == []


# --------------------------------------------------------------------------------------------
# a small Java type resolver: enough to know the receiver and argument types of API calls

PRIMITIVE_WIDENING = {"byte": 0, "short": 1, "char": 1, "int": 2, "long": 3, "float": 4, "double": 5}
CALLABLES = {"method_declaration", "constructor_declaration"}
TYPE_DECLS = {"class_declaration", "interface_declaration", "enum_declaration", "record_declaration"}


def _norm_type(text: str) -> str:
    text = re.sub(r"<.*>", "", text)  # generics do not matter here
    text = re.sub(r"\s+", "", text)
    return text.rsplit(".", 1)[-1] if "[" not in text else text.rsplit(".", 1)[-1]


def _nodes(node, types: set[str]):
    stack = [node]
    while stack:
        n = stack.pop()
        if n.type in types:
            yield n
        stack.extend(reversed(n.children))


def _string_value(node) -> str:
    return json.loads(node.text.decode())  # Java string literals used here are JSON-compatible


def _declared(node) -> list[tuple[str, str]]:
    """(name, type) pairs a declaration node introduces."""
    t = node.child_by_field_name("type")
    if node.type in ("local_variable_declaration", "field_declaration"):
        base = _norm_type(t.text.decode())
        return [(d.child_by_field_name("name").text.decode(),
                 base + ("[]" * d.text.decode().split("=")[0].count("[")))
                for d in node.children if d.type == "variable_declarator"]
    if node.type in ("formal_parameter", "catch_formal_parameter", "enhanced_for_statement"):
        name = node.child_by_field_name("name")
        if t is None and node.type == "catch_formal_parameter":
            t = next(c for c in node.children if c.type == "catch_type")
        return [(name.text.decode(), _norm_type(t.text.decode()))] if name is not None and t is not None else []
    if node.type == "spread_parameter":
        ty = next(c for c in node.children if c.is_named and c.type != "variable_declarator")
        decl = next(c for c in node.children if c.type == "variable_declarator")
        return [(decl.child_by_field_name("name").text.decode(), _norm_type(ty.text.decode()) + "[]")]
    return []


DECLS = {"local_variable_declaration", "formal_parameter", "catch_formal_parameter", "enhanced_for_statement",
         "spread_parameter"}


class JavaTypes:
    """Declared types of one file's names, and the return/field types of the project's classes."""

    def __init__(self, root, project: "ProjectTypes"):
        self.project = project
        self.imports: dict[str, str] = {}
        self.api_wildcard = False
        for imp in _nodes(root, {"import_declaration"}):
            text = imp.text.decode().removeprefix("import").strip().rstrip(";").strip()
            if text.startswith("static "):
                continue
            if text == API_PACKAGE + ".*":
                self.api_wildcard = True
            self.imports[text.rsplit(".", 1)[-1]] = text
        self.fields: dict[str, str] = {}
        for f in _nodes(root, {"field_declaration"}):
            for name, ty in _declared(f):
                self.fields[name] = ty if self.fields.get(name, ty) == ty else "?"
        self.locals: dict[int, dict[str, str]] = {}
        for c in _nodes(root, CALLABLES | {"lambda_expression"}):
            table: dict[str, str] = {}
            for d in _nodes(c, DECLS):
                for name, ty in _declared(d):
                    table[name] = ty if table.get(name, ty) == ty else "?"
            self.locals[c.id] = table

    def api_class(self, name: str) -> str | None:
        if name in API and (self.api_wildcard or self.imports.get(name) == f"{API_PACKAGE}.{name}"):
            return name
        return None

    def lookup(self, node, name: str) -> str | None:
        n = node.parent
        while n is not None:
            if n.id in self.locals and name in self.locals[n.id]:
                return self.locals[n.id][name]
            n = n.parent
        return self.fields.get(name)

    def type_of(self, node) -> str | None:
        """A Java type name, ('class', Name) as 'class:Name' for a class reference, or None."""
        k = node.type
        if k == "identifier":
            name = node.text.decode()
            declared = self.lookup(node, name)
            if declared is not None:
                return None if declared == "?" else declared
            if self.api_class(name):
                return f"class:{name}"
            return f"class:{name}" if name[:1].isupper() else None
        if k == "parenthesized_expression":
            return self.type_of(node.named_children[0])
        if k == "cast_expression":
            return _norm_type(node.child_by_field_name("type").text.decode())
        if k == "string_literal":
            return "String"
        if k == "decimal_integer_literal":
            return "long" if node.text.decode().lower().endswith("l") else "int"
        if k == "decimal_floating_point_literal":
            return "float" if node.text.decode().lower().endswith("f") else "double"
        if k in ("true", "false"):
            return "boolean"
        if k == "null_literal":
            return "null"
        if k == "this":
            return "this"
        if k == "object_creation_expression":
            return _norm_type(node.child_by_field_name("type").text.decode())
        if k == "array_creation_expression":
            dims = sum(c.type in ("dimensions_expr",) for c in node.children)
            dims += sum(c.text.decode().count("[") for c in node.children if c.type == "dimensions")
            return _norm_type(node.child_by_field_name("type").text.decode()) + "[]" * dims
        if k == "array_access":
            t = self.type_of(node.child_by_field_name("array"))
            return t[:-2] if t and t.endswith("[]") else None
        if k == "field_access":
            obj, field = node.child_by_field_name("object"), node.child_by_field_name("field").text.decode()
            t = self.type_of(obj)
            if t == "this":
                return self.fields.get(field)
            if t and t.endswith("[]") and field == "length":
                return "int"
            if t and t.startswith("class:"):
                cls = t[6:]
                if cls in API and self.api_class(cls):
                    return API[cls]["static_fields"].get(field)
                return self.project.field(cls, field)
            if t and t in API:
                return API[t]["instance_fields"].get(field)
            return self.project.field(t, field) if t else None
        if k == "method_invocation":
            obj = node.child_by_field_name("object")
            name = node.child_by_field_name("name").text.decode()
            if obj is None:
                return None
            t = self.type_of(obj)
            api = self.api_target(t)
            if api:
                cls, static = api
                overloads = API[cls]["static" if static else "instance"].get(name, [])
                rets = {ret for _, ret in overloads}
                return rets.pop() if len(rets) == 1 else None
            if t:
                return self.project.returns(t[6:] if t.startswith("class:") else t, name)
        return None

    def api_target(self, t: str | None) -> tuple[str, bool] | None:
        """(API class, static?) when a receiver of type ``t`` is an ExecuTorch class or instance."""
        if not t:
            return None
        if t.startswith("class:"):
            return (t[6:], True) if self.api_class(t[6:]) else None
        return (t, False) if t in API and self.api_class(t) else None


class ProjectTypes:
    """Method return types and field types of the project's own classes (by simple name)."""

    def __init__(self, files: list[Path]):
        self.methods: dict[str, dict[str, set[str]]] = {}
        self.fields: dict[str, dict[str, str]] = {}
        for f in files:
            root = _parse(f.read_bytes(), JAVA).root_node
            for decl in _nodes(root, TYPE_DECLS):
                cls = decl.child_by_field_name("name").text.decode()
                body = decl.child_by_field_name("body")
                for member in body.children if body is not None else []:
                    if member.type == "method_declaration":
                        ret = _norm_type(member.child_by_field_name("type").text.decode())
                        self.methods.setdefault(cls, {}).setdefault(
                            member.child_by_field_name("name").text.decode(), set()).add(ret)
                    elif member.type == "field_declaration":
                        for name, ty in _declared(member):
                            self.fields.setdefault(cls, {})[name] = ty

    def returns(self, cls: str, name: str) -> str | None:
        rets = self.methods.get(cls, {}).get(name, set())
        return next(iter(rets)) if len(rets) == 1 else None

    def field(self, cls: str, name: str) -> str | None:
        return self.fields.get(cls, {}).get(name)


def _assignable(arg: str | None, param: str) -> bool:
    if arg is None or param in ("Object", "java.lang.Object"):
        return True
    if arg == param:
        return True
    if arg == "null":
        return param not in PRIMITIVE_WIDENING and param != "boolean"
    if arg in PRIMITIVE_WIDENING and param in PRIMITIVE_WIDENING:
        return PRIMITIVE_WIDENING[arg] <= PRIMITIVE_WIDENING[param] and not (arg == "char" and param == "short")
    if arg.startswith("class:"):
        return False
    return False


def _matches(params: list[str], args: list[str | None]) -> bool:
    if params and params[-1].endswith("..."):
        fixed, elem = params[:-1], params[-1][:-3]
        if len(args) < len(fixed):
            return False
        if not all(_assignable(a, p) for a, p in zip(args, fixed)):
            return False
        rest = args[len(fixed):]
        if len(rest) == 1 and (rest[0] is None or _assignable(rest[0], elem + "[]")):
            return True
        return all(_assignable(a, elem) for a in rest)
    return len(params) == len(args) and all(_assignable(a, p) for a, p in zip(args, params))


def executorch_api_problems(source: bytes, path: str, project: ProjectTypes) -> tuple[list[str], list[str]]:
    """(problems, checked calls) for every use of org.pytorch.executorch in one Java file."""
    root = _parse(source, JAVA).root_node
    types = JavaTypes(root, project)
    problems: list[str] = []
    checked: list[str] = []
    where = lambda n: f"{path}:{n.start_point[0] + 1}"  # noqa: E731
    for name, full in types.imports.items():
        if full.startswith(API_PACKAGE + ".") and name not in API:
            problems.append(f"{path}: imports {full}, which is not in the verified API list")
    uses_api = types.api_wildcard or any(v.startswith(API_PACKAGE + ".") for v in types.imports.values())
    if not uses_api:
        return problems, checked
    api_names = {n for c in API.values() for kind in ("static", "instance") for n in c[kind]}
    generic = {"close", "toString", "equals", "hashCode", "values", "valueOf", "name", "ordinal", "getName"}
    for call in _nodes(root, {"method_invocation"}):
        name = call.child_by_field_name("name").text.decode()
        obj = call.child_by_field_name("object")
        if obj is None:
            continue
        recv = types.type_of(obj)
        target = types.api_target(recv)
        if target is None:
            if recv is None and name in api_names - generic:
                problems.append(f"{where(call)}: cannot tell the type of '{obj.text.decode()}' in "
                                f"'{call.text.decode()[:60]}' (declare it with its ExecuTorch type)")
            continue
        cls, static = target
        args = [types.type_of(a) for a in call.child_by_field_name("arguments").named_children]
        table = API[cls]["static" if static else "instance"]
        shown = f"{cls}.{name}({', '.join(a or '?' for a in args)})"
        if name not in table:
            other = API[cls]["instance" if static else "static"]
            why = (f"{name} is an {'instance' if static else 'static'} method" if name in other
                   else f"no method {name} in {API_PACKAGE}.{cls}")
            problems.append(f"{where(call)}: {shown}: {why}")
            continue
        if not any(_matches(params, args) for params, _ in table[name]):
            known = "; ".join(f"{name}({', '.join(p)})" for p, _ in table[name])
            problems.append(f"{where(call)}: {shown} matches no overload ({known})")
            continue
        checked.append(f"{cls}.{name}")
    for access in _nodes(root, {"field_access"}):
        t = types.type_of(access.child_by_field_name("object"))
        target = types.api_target(t)
        field = access.child_by_field_name("field").text.decode()
        if target and target[1] and field not in API[target[0]]["static_fields"]:
            problems.append(f"{where(access)}: no static field {target[0]}.{field}")
        elif target and target[1]:
            checked.append(f"{target[0]}.{field}")
    for new in _nodes(root, {"object_creation_expression"}):
        ty = _norm_type(new.child_by_field_name("type").text.decode())
        if types.api_class(ty):
            problems.append(f"{where(new)}: new {ty}(...): its constructor is not public (use its factory)")
    for ref in _nodes(root, {"method_reference"}):
        parts = [c for c in ref.named_children]
        if len(parts) == 2 and types.api_class(parts[0].text.decode()):
            cls, name = parts[0].text.decode(), parts[1].text.decode()
            if name not in API[cls]["static"] and name not in API[cls]["instance"]:
                problems.append(f"{where(ref)}: {cls}::{name}: no such method")
    return problems, checked


def _main_sources() -> list[Path]:
    return sorted(CORE_MAIN.rglob("*.java")) + sorted(APP_JAVA.rglob("*.java"))


@pytest.fixture(scope="module")
def project_types() -> ProjectTypes:
    return ProjectTypes(_main_sources())


def test_the_app_calls_executorch_only_as_its_sources_define(project_types):
    problems, checked = [], []
    for f in sorted(APP_JAVA.rglob("*.java")):
        p, c = executorch_api_problems(f.read_bytes(), str(f.relative_to(ROOT)), project_types)
        problems += p
        checked += c
    assert not problems, "\n".join(problems)
    # the resolver really saw the calls the decoder makes (not a vacuous pass)
    assert set(checked) >= {"Module.load", "Module.LOAD_MODE_FILE", "Module.getMethods", "Module.loadMethod",
                            "Module.execute", "Module.destroy", "Tensor.allocateIntBuffer",
                            "Tensor.allocateLongBuffer", "Tensor.allocateFloatBuffer", "Tensor.fromBlob",
                            "EValue.from", "EValue.isTensor", "EValue.toTensor", "Tensor.shape", "Tensor.numel",
                            "Tensor.getDataAsFloatArray"}, sorted(set(checked))


@pytest.mark.parametrize("mutation, expected", [
    (("getDataAsFloatArray()", "getDataAsFloatArrays()"), "no method getDataAsFloatArrays in"),
    (("module.execute(ExportContract.METHOD, inputs)", "module.execute(inputs)"), "matches no overload"),
    (("Tensor.fromBlob(stateIn[k], layout.inputShape(1 + k))", "Tensor.fromBlob(stateIn[k], layout.inputSize(1 + k))"),
     "matches no overload"),
    (("Module.LOAD_MODE_FILE", "Module.LOAD_MODE_WHOLE_FILE"), "no static field Module.LOAD_MODE_WHOLE_FILE"),
    (("module.destroy()", "Module.destroy()"), "destroy is an instance method"),
    (("import org.pytorch.executorch.Tensor;", "import org.pytorch.executorch.Tensor;\n"
      "import org.pytorch.executorch.Program;"), "not in the verified API list"),
])
def test_a_misspelled_executorch_call_fails_the_check(project_types, mutation, expected):
    source = (APP_JAVA / "org/tqcodec/player/ExecuTorchChunkDecoder.java").read_text()
    old, new = mutation
    assert old in source, f"the mutation no longer applies: {old!r}"
    problems, _ = executorch_api_problems(source.replace(old, new, 1).encode(), "Mutated.java", project_types)
    assert any(expected in p and p.startswith("Mutated.java") for p in problems), problems


# --------------------------------------------------------------------------------------------
# javac: the JVM core, and the app's Android-free sources against stubs made from EXECUTORCH_API

def _stub_source(name: str, spec: dict) -> str:
    kind = spec["kind"]
    head = {"class": "public class", "abstract class": "public abstract class", "final class": "public final class",
            "enum": "public enum"}[kind]
    ext = f" extends {spec['extends']}" if "extends" in spec else ""
    ext += f" implements {spec['implements']}" if "implements" in spec else ""
    lines = [f"package {API_PACKAGE};", "import java.nio.*;",
             f"/** Compile-only stub generated from tests/test_android_demo.py EXECUTORCH_API. */",
             f"{head} {name}{ext} {{"]
    if kind == "enum":
        lines.append("    " + ", ".join(spec["constants"]) + ";")
    else:
        lines.append(f"    {name}() {{ }}")
    for field, ty in spec.get("static_fields", {}).items():
        lines.append(f"    public static final {ty} {field} = 0;")
    for field, ty in spec.get("instance_fields", {}).items():
        lines.append(f"    public final {ty} {field} = 0;")
    for static, key in ((True, "static"), (False, "instance")):
        for sig in spec.get(key, []):
            m = SIGNATURE.match(sig)
            params = [p.strip() for p in m["params"].split(",") if p.strip()]
            decl = ", ".join(f"{p} a{i}" for i, p in enumerate(params))
            mods = "public static" if static else "public"
            lines.append(f"    {mods} {m['ret']} {m['name']}({decl}) {{ throw new UnsupportedOperationException(); }}")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _javac(args: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(["javac", "-nowarn", "-Xlint:-options", "-proc:none", "-encoding", "UTF-8", *args],
                          capture_output=True, text=True, timeout=120)


# org.json: Android's platform JSON parser, which the core uses (Debian: libandroid-json-java)
ORG_JSON_JAR = Path("/usr/share/java/com.android.json.jar")


@pytest.fixture(scope="module")
def core_classes(tmp_path_factory) -> str:
    """The core compiled, as a class path (with org.json)."""
    if shutil.which("javac") is None or shutil.which("java") is None:
        pytest.skip("no JDK (javac/java) on this machine")
    if not ORG_JSON_JAR.is_file():
        pytest.skip(f"no org.json at {ORG_JSON_JAR} (apt-get install libandroid-json-java)")
    out = tmp_path_factory.mktemp("tqcstream-classes")
    r = _javac(["--release", "8", "-cp", str(ORG_JSON_JAR), "-d", str(out),
                *map(str, sorted(CORE_MAIN.rglob("*.java")))])
    assert r.returncode == 0, r.stderr
    return f"{out}:{ORG_JSON_JAR}"


def _android_free_app_sources() -> list[Path]:
    return [f for f in sorted(APP_JAVA.rglob("*.java"))
            if not re.search(r"^import\s+android\.", f.read_text(), re.MULTILINE)]


def _typecheck_app(core: str, work: Path, sources: list[Path]) -> subprocess.CompletedProcess:
    stubs = work / "stubs"
    (stubs / API_PACKAGE.replace(".", "/")).mkdir(parents=True, exist_ok=True)
    for name, spec in EXECUTORCH_API["classes"].items():
        (stubs / API_PACKAGE.replace(".", "/") / f"{name}.java").write_text(_stub_source(name, spec))
    return _javac(["--release", "17", "-cp", str(core), "-d", str(work / "classes"),
                   *map(str, sorted(stubs.rglob("*.java"))), *map(str, sources)])


def test_the_apps_executorch_code_type_checks_against_the_verified_api(core_classes, tmp_path):
    sources = _android_free_app_sources()
    assert APP_JAVA / "org/tqcodec/player/ExecuTorchChunkDecoder.java" in sources
    r = _typecheck_app(core_classes, tmp_path, sources)
    assert r.returncode == 0, r.stderr


def test_javac_catches_a_misspelled_api_call(core_classes, tmp_path):
    src = (APP_JAVA / "org/tqcodec/player/ExecuTorchChunkDecoder.java").read_text()
    bad = tmp_path / "src/org/tqcodec/player/ExecuTorchChunkDecoder.java"
    bad.parent.mkdir(parents=True)
    bad.write_text(src.replace("module.loadMethod(", "module.loadMethods(", 1))
    r = _typecheck_app(core_classes, tmp_path, [bad])
    assert r.returncode != 0 and "loadMethods" in r.stderr, r.stderr


# --------------------------------------------------------------------------------------------
# the names the Java code hard-codes vs what mobile_export writes

K_TINY = 4
CONTRACT_FILE = CORE_MAIN / "org/tqcodec/stream/player/ExportContract.java"
MANIFEST_FILE = CORE_MAIN / "org/tqcodec/stream/player/Manifest.java"
KEY = re.compile(r"^[a-z][a-z0-9_]*$")


def java_constants(source: bytes) -> dict[str, str]:
    """``static final String NAME = "..."`` fields of a class."""
    out = {}
    for f in _nodes(_parse(source, JAVA).root_node, {"field_declaration"}):
        mods = f.children[0].text.decode() if f.children and f.children[0].type == "modifiers" else ""
        if "static" in mods and "final" in mods and f.child_by_field_name("type").text.decode() == "String":
            for d in f.children:
                value = d.child_by_field_name("value") if d.type == "variable_declarator" else None
                if value is not None and value.type == "string_literal":
                    out[d.child_by_field_name("name").text.decode()] = _string_value(value)
    return out


def manifest_keys_read(source: bytes) -> tuple[set[str], set[str]]:
    """(top-level keys, tensor keys) the Java manifest reader asks for by literal name."""
    top, tensor = set(), set()
    for call in _nodes(_parse(source, JAVA).root_node, {"method_invocation"}):
        name = call.child_by_field_name("name").text.decode()
        obj = call.child_by_field_name("object")
        args = call.child_by_field_name("arguments").named_children
        if name in ("get", "positive", "specs") and len(args) >= 2 and (
                obj is None or obj.text.decode() == "Json"):
            holder, key = args[0].text.decode(), args[1]
        elif name in ("get", "containsKey") and obj is not None and obj.text.decode() in ("m", "raw") and args:
            holder, key = obj.text.decode(), args[0]
        else:
            continue
        if key.type == "string_literal" and KEY.match(_string_value(key)):
            (tensor if holder == "t" else top).add(_string_value(key))
    return top, tensor


def exporter_facts() -> dict:
    """What mobile_export's ExecuTorch backend itself says, never copied: the ``format`` its
    Backend declares (what build_manifest writes), the method its runner loads (read from
    runner.py's syntax tree: nothing of it is run), and the manifest file name the pipeline gives
    an artifact."""
    from mobile_export.backends.executorch import BACKEND
    from mobile_export.pipeline import manifest_path_for

    runner = ast.parse((ROOT / "mobile_export/backends/executorch/runner.py").read_text())
    names = {t.id: node.value.value for node in runner.body if isinstance(node, ast.Assign)
             and isinstance(node.value, ast.Constant) for t in node.targets if isinstance(t, ast.Name)}
    methods = set()
    for node in ast.walk(runner):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "load_method":
            methods |= {a.value if isinstance(a, ast.Constant) else names.get(a.id)
                        for a in node.args if isinstance(a, (ast.Constant, ast.Name))}
    return {"backends": {BACKEND.format}, "methods": methods,
            "suffixes": {manifest_path_for(Path(f"tiny-int8-k{K_TINY}{BACKEND.suffix}")).name}}


def _exporter_manifest(tmp_path_factory, channels: int) -> dict:
    """A manifest from the exporter's own code path: tiny model → prune → StreamingDecoder (C =
    ``channels``) → build_manifest, with a stand-in artifact file (no export: that takes minutes)."""
    import torch

    from mobile_export.manifest import build_manifest, write_manifest
    from tqcodec.configs import get_config
    from tqcodec.prune import prune
    from tqcodec.model import TQCodec

    torch.manual_seed(0)
    decoder = prune(TQCodec(get_config("tiny")).eval(), {}).streaming(K_TINY, channels)
    backend = exporter_facts()["backends"]
    assert len(backend) == 1, backend
    out = tmp_path_factory.mktemp("manifest")
    artifact = out / f"tiny-int8-k{K_TINY}.pte"
    artifact.write_bytes(b"stand-in for a .pte: the manifest hashes it")
    manifest = build_manifest(backend=backend.pop(), artifact=artifact, precision="int8", decoder=decoder,
                              source_sha256=hashlib.sha256(b"tiny").hexdigest(), gmacs_per_s=0.0,
                              verification={}, trained=False)
    path = out / f"tiny-int8-k{K_TINY}.manifest.json"
    write_manifest(path, manifest)
    return {"manifest": manifest, "path": path, "artifact": artifact,
            "state_names": [s.name for s in decoder.state_specs()]}


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The exporter's manifest of a mono artifact (C = 1)."""
    return _exporter_manifest(tmp_path_factory, 1)


@pytest.fixture(scope="module")
def reference_stereo(tmp_path_factory):
    """The exporter's manifest of a stereo artifact (C = 2: every shape starts with 2)."""
    return _exporter_manifest(tmp_path_factory, 2)


def contract_problems(constants: dict[str, str], keys: tuple[set[str], set[str]], exporter: dict,
                      manifest: dict, state_names: list[str]) -> list[str]:
    """Every disagreement between the Java names and the exporter's."""
    p = []
    c = lambda name: constants.get(name, f"<no {name} in ExportContract.java>")  # noqa: E731
    top, tensor = keys
    top = top | {c("KEY_ARTIFACT"), c("KEY_ARTIFACT_SHA256")}
    p += [f"Java reads manifest key {k!r}; the exporter writes no such key" for k in sorted(top - manifest.keys())]
    for group in ("inputs", "outputs", "state"):
        for spec in manifest[group]:
            p += [f"Java reads tensor key {k!r}; {group} entries have {sorted(spec)}" for k in sorted(tensor - spec.keys())]
    if manifest["inputs"][0]["name"] != c("CODES"):
        p.append(f"CODES = {c('CODES')!r}, the exporter's inputs[0] is {manifest['inputs'][0]['name']!r}")
    if manifest["outputs"][0]["name"] != c("AUDIO"):
        p.append(f"AUDIO = {c('AUDIO')!r}, the exporter's outputs[0] is {manifest['outputs'][0]['name']!r}")
    if [s["name"] for s in manifest["state"]] != state_names:
        p.append(f"manifest state {[s['name'] for s in manifest['state']]} is not StreamingDecoder.state_specs()")
    for s, o in zip(manifest["state"], manifest["outputs"][1:]):
        if o["name"] != c("NEXT_PREFIX") + s["name"]:
            p.append(f"NEXT_PREFIX = {c('NEXT_PREFIX')!r}: Java expects {c('NEXT_PREFIX') + s['name']!r}, "
                     f"the exporter writes {o['name']!r}")
    if manifest["inputs"][0]["dtype"] not in (c("INT32"), c("INT64")):
        p.append(f"codes dtype {manifest['inputs'][0]['dtype']!r} is neither INT32 nor INT64 of ExportContract")
    for group in ("outputs", "state"):
        p += [f"{group} {t['name']} has dtype {t['dtype']!r}, Java's FLOAT32 is {c('FLOAT32')!r}"
              for t in manifest[group] if t["dtype"] != c("FLOAT32")]
    if manifest["channel_layout"] != c("CHANNEL_LAYOUT_PLANAR"):
        p.append(f"CHANNEL_LAYOUT_PLANAR = {c('CHANNEL_LAYOUT_PLANAR')!r}, the exporter writes "
                 f"{manifest['channel_layout']!r}")
    if manifest["state_init"] != c("STATE_INIT_ZEROS"):
        p.append(f"STATE_INIT_ZEROS = {c('STATE_INIT_ZEROS')!r}, the exporter writes {manifest['state_init']!r}")
    if exporter["methods"] != {c("METHOD")}:
        p.append(f"METHOD = {c('METHOD')!r}, mobile_export runs {sorted(exporter['methods'])}")
    if exporter["backends"] != {c("FORMAT_EXECUTORCH")} or manifest["format"] != c("FORMAT_EXECUTORCH"):
        p.append(f"FORMAT_EXECUTORCH = {c('FORMAT_EXECUTORCH')!r}, the exporter writes {sorted(exporter['backends'])}")
    if not any(s.endswith(c("MANIFEST_SUFFIX")) for s in exporter["suffixes"]):
        p.append(f"MANIFEST_SUFFIX = {c('MANIFEST_SUFFIX')!r}, the exporter names manifests {sorted(exporter['suffixes'])}")
    return p


def _java_facts(contract: bytes | None = None, manifest_reader: bytes | None = None):
    constants = java_constants(contract if contract is not None else CONTRACT_FILE.read_bytes())
    keys = manifest_keys_read(manifest_reader if manifest_reader is not None else MANIFEST_FILE.read_bytes())
    return constants, keys


def test_java_names_match_what_the_exporter_writes(reference):
    constants, keys = _java_facts()
    assert {"METHOD", "CODES", "AUDIO", "NEXT_PREFIX", "INT32", "FLOAT32", "FORMAT_EXECUTORCH",
            "MANIFEST_SUFFIX", "STATE_INIT_ZEROS", "CHANNEL_LAYOUT_PLANAR"} <= constants.keys()
    top, tensor = keys
    assert {"sample_rate", "hop", "chunk_frames", "channels", "channel_layout", "inputs", "outputs", "state",
            "checkpoint_sha256"} <= top
    assert tensor == {"name", "shape", "dtype"}
    m = reference["manifest"]
    assert contract_problems(constants, keys, exporter_facts(), m, reference["state_names"]) == []
    assert m["artifact"] == reference["artifact"].name


@pytest.mark.parametrize("file, old, new, expected", [
    ("contract", '"next_"', '"next"', "NEXT_PREFIX = 'next'"),
    ("contract", '"forward"', '"run"', "METHOD = 'run'"),
    ("contract", '"codes"', '"tokens"', "CODES = 'tokens'"),
    ("contract", '"executorch-xnnpack"', '"executorch"', "FORMAT_EXECUTORCH = 'executorch'"),
    ("contract", '"float32"', '"float"', "Java's FLOAT32 is 'float'"),
    ("contract", '".manifest.json"', '".json.manifest"', "MANIFEST_SUFFIX"),
    ("contract", '"planar"', '"interleaved"', "CHANNEL_LAYOUT_PLANAR = 'interleaved'"),
    ("reader", '"channel_layout"', '"layout"', "manifest key 'layout'"),
    ("reader", '"chunk_frames"', '"chunk_frame"', "manifest key 'chunk_frame'"),
    ("reader", '"dtype"', '"type"', "tensor key 'type'"),
])
def test_the_name_check_fails_on_a_mutated_copy(reference, file, old, new, expected):
    path = CONTRACT_FILE if file == "contract" else MANIFEST_FILE
    text = path.read_text()
    assert old in text, f"the mutation no longer applies: {old!r} in {path.name}"
    mutated = text.replace(old, new).encode()
    constants, keys = _java_facts(**({"contract": mutated} if file == "contract" else {"manifest_reader": mutated}))
    problems = contract_problems(constants, keys, exporter_facts(), reference["manifest"], reference["state_names"])
    assert any(expected in p for p in problems), problems


CHECKER = """
import org.tqcodec.stream.player.*;
public class ReadManifest {
    public static void main(String[] args) throws Exception {
        Manifest m = Manifest.read(new java.io.File(args[0]));
        CallLayout l = CallLayout.of(m);
        StringBuilder s = new StringBuilder("{\\"codes\\": \\"" + l.codesType().manifestName + "\\", \\"in\\": [");
        for (int i = 0; i < l.inputCount(); i++) {
            s.append(i > 0 ? ", " : "").append("[\\"").append(l.inputName(i)).append("\\", ")
             .append(java.util.Arrays.toString(l.inputShape(i))).append("]");
        }
        s.append("], \\"out\\": [");
        for (int i = 0; i < l.outputCount(); i++) {
            s.append(i > 0 ? ", " : "").append("[\\"").append(l.outputName(i)).append("\\", ")
             .append(java.util.Arrays.toString(l.outputShape(i))).append("]");
        }
        s.append("], \\"channels\\": ").append(l.channels()).append(", \\"artifact\\": \\"").append(m.artifact()).append("\\", \\"sha\\": \\"")
         .append(m.artifactSha256()).append("\\", \\"fingerprint\\": \\"");
        for (byte b : m.fingerprint()) s.append(String.format("%02x", b & 0xff));
        ArtifactFiles.verify(new java.io.File(args[1]), m); // throws if the digests differ
        s.append("\\", \\"digest\\": \\"").append(ArtifactFiles.artifactSha256(new java.io.File(args[1]), m.artifact()))
         .append("\\", \\"samples\\": ").append(l.samplesPerChunk()).append("}");
        System.out.println(s);
    }
}
"""


@pytest.mark.parametrize("which", ["reference", "reference_stereo"], ids=["mono", "stereo"])
def test_the_java_reader_accepts_the_exporters_manifest(core_classes, which, request, tmp_path):
    """Mono and stereo manifests from the exporter's code path read back with every shape."""
    from mobile_export.manifest import file_sha256

    reference = request.getfixturevalue(which)
    src = tmp_path / "ReadManifest.java"
    src.write_text(CHECKER)
    r = _javac(["--release", "8", "-cp", str(core_classes), "-d", str(tmp_path), str(src)])
    assert r.returncode == 0, r.stderr
    r = subprocess.run(["java", "-cp", f"{core_classes}:{tmp_path}", "ReadManifest", str(reference["path"]),
                        str(reference["artifact"])], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout)
    m = reference["manifest"]
    assert got["codes"] == m["inputs"][0]["dtype"]
    assert got["in"] == [[t["name"], t["shape"]] for t in m["inputs"]]
    assert got["out"] == [[t["name"], t["shape"]] for t in m["outputs"]]
    assert got["artifact"] == m["artifact"] and got["sha"] == m["artifact_sha256"]
    # the app checks a pushed or packaged .pte with the exporter's own digest (name + bytes)
    assert got["digest"] == m["artifact_sha256"] == file_sha256(reference["artifact"])
    assert got["fingerprint"] == m["checkpoint_sha256"][:32]
    assert got["samples"] == m["samples_per_chunk"] == K_TINY * m["hop"]  # per channel
    assert got["channels"] == m["channels"] == (2 if which == "reference_stereo" else 1)
    assert all(t["shape"][0] == m["channels"] for t in m["inputs"] + m["outputs"] + m["state"])


# --------------------------------------------------------------------------------------------
# the Gradle build

AGP_MIN_GRADLE = {"8.9": (8, 11, 1), "8.10": (8, 11, 1), "8.11": (8, 13, 0)}  # AGP release notes


def kotlin_calls(source: bytes, callee: str) -> list[tuple[int, list[str]]]:
    """(line, string arguments) of every call ``callee(...)``; nested calls' strings included."""
    out = []
    for call in _nodes(_parse(source, KOTLIN).root_node, {"call_expression"}):
        head = call.children[0]
        if head.type == "identifier" and head.text.decode() == callee:
            strings = [s.text.decode() for s in _nodes(call, {"string_content"})]
            out.append((call.start_point[0] + 1, strings))
    return out


def kotlin_assignments(source: bytes) -> dict[str, str]:
    out = {}
    for a in _nodes(_parse(source, KOTLIN).root_node, {"assignment"}):
        left, right = a.child_by_field_name("left"), a.child_by_field_name("right")
        if left is not None and right is not None:
            out[left.text.decode()] = right.text.decode()
    return out


# ExecuTorch's AAR has native code for these only; a 32-bit ABI in the APK would install an app
# whose decoder cannot link.
EXECUTORCH_ABIS = {"arm64-v8a", "x86_64"}


def gradle_problems(settings: bytes, app: bytes, root_build: bytes, wrapper: str, readme: str,
                    pyproject: str, decoder_java: str) -> list[str]:
    p = []
    filters = re.search(r"abiFilters\s*\+=\s*listOf\(([^)]*)\)", app.decode())
    abis = set(re.findall(r'"([\w-]+)"', filters[1])) if filters else set()
    if not abis or not abis <= EXECUTORCH_ABIS:
        p.append(f"app/build.gradle.kts abiFilters {sorted(abis)}: expected a subset of {sorted(EXECUTORCH_ABIS)}")
    shipped = re.search(r"SHIPPED_ABIS\s*=\s*\{([^}]*)\}", decoder_java)
    if not shipped or set(re.findall(r'"([\w-]+)"', shipped[1])) != abis:
        p.append(f"ExecuTorchChunkDecoder.SHIPPED_ABIS differs from the abiFilters {sorted(abis)}")
    included = {s for _, strings in kotlin_calls(settings, "include") for s in strings}
    p += [f"settings.gradle.kts does not include {m}" for m in (":app", ":tqcstream") if m not in included]
    coords = [s for _, strings in kotlin_calls(app, "implementation") for s in strings
              if s.startswith("org.pytorch:executorch-android:")]
    if len(coords) != 1:
        p.append(f"app/build.gradle.kts: expected one org.pytorch:executorch-android dependency, found {coords}")
    gradle_version = coords[0].rsplit(":", 1)[1] if coords else None
    named = set(re.findall(r"org\.pytorch:executorch-android:(\d+\.\d+\.\d+)", readme))
    if named != {gradle_version}:
        p.append(f"README names executorch-android {sorted(named)}, app/build.gradle.kts has {gradle_version}")
    pin = re.search(r'"executorch==([\d.]+)"', pyproject)
    if not pin or pin.group(1) != gradle_version:
        p.append(f"the exporter is executorch=={pin.group(1) if pin else '?'} (pyproject.toml); the app's runtime "
                 f"is {gradle_version}: ExecuTorch promises no forward compatibility")
    project_deps = {s for _, strings in kotlin_calls(app, "project") for s in strings}
    if ":tqcstream" not in project_deps:
        p.append("app/build.gradle.kts does not depend on project(\":tqcstream\")")
    assigned = kotlin_assignments(app)
    if assigned.get("namespace") != '"org.tqcodec.player"':
        p.append(f"namespace is {assigned.get('namespace')}")
    if assigned.get("compileSdk") != "35":
        p.append(f"compileSdk is {assigned.get('compileSdk')}, expected 35")
    if not assigned.get("minSdk", "0").isdigit() or int(assigned["minSdk"]) < 26:
        p.append(f"minSdk is {assigned.get('minSdk')}, expected 26 or more")
    for key in ("sourceCompatibility", "targetCompatibility"):
        if assigned.get(key) != "JavaVersion.VERSION_17":
            p.append(f"{key} is {assigned.get(key)}, expected JavaVersion.VERSION_17")
    agp = re.search(r'id\("com\.android\.application"\)\s+version\s+"(\d+)\.(\d+)\.(\d+)"', root_build.decode())
    gradle = re.search(r"gradle-(\d+)\.(\d+)(?:\.(\d+))?-(?:bin|all)\.zip", wrapper)
    if not agp or not gradle:
        p.append("root build.gradle.kts must name the AGP version and the wrapper a Gradle distribution")
    else:
        need = AGP_MIN_GRADLE.get(f"{agp[1]}.{agp[2]}")
        have = (int(gradle[1]), int(gradle[2]), int(gradle[3] or 0))
        if need is None:
            p.append(f"AGP {agp[1]}.{agp[2]}: add its minimum Gradle version to AGP_MIN_GRADLE")
        elif have < need:
            p.append(f"AGP {agp[1]}.{agp[2]} needs Gradle {'.'.join(map(str, need))}, the wrapper has "
                     f"{'.'.join(map(str, have))}")
    return p


def _gradle_inputs() -> dict:
    return {"settings": (DEMO / "settings.gradle.kts").read_bytes(),
            "app": (DEMO / "app/build.gradle.kts").read_bytes(),
            "root_build": (DEMO / "build.gradle.kts").read_bytes(),
            "wrapper": (DEMO / "gradle/wrapper/gradle-wrapper.properties").read_text(),
            "readme": (DEMO / "README.md").read_text(),
            "pyproject": (ROOT / "pyproject.toml").read_text(),
            "decoder_java": (APP_JAVA / "org/tqcodec/player/ExecuTorchChunkDecoder.java").read_text()}


def test_the_gradle_build_has_both_modules_and_the_runtime_the_readme_names():
    inputs = _gradle_inputs()
    assert gradle_problems(**inputs) == []
    tomllib.loads(inputs["pyproject"])  # the pin is read from a valid pyproject
    for module in ("app", "tqcstream"):
        assert (DEMO / module / "build.gradle.kts").is_file()


@pytest.mark.parametrize("key, old, new, expected", [
    ("settings", b'include(":app")', b"", "does not include :app"),
    ("app", b"executorch-android:1.5.1", b"executorch-android:1.4.1", "README names executorch-android"),
    ("readme", "executorch-android:1.5.1", "executorch-android:1.5.0", "README names executorch-android"),
    ("pyproject", '"executorch==1.5.1"', '"executorch==1.6.0"', "no forward compatibility"),
    ("app", b"minSdk = 26", b"minSdk = 24", "minSdk is 24"),
    ("wrapper", "gradle-8.11.1-bin.zip", "gradle-8.10.2-bin.zip", "needs Gradle 8.11.1"),
    ("app", b'listOf("arm64-v8a", "x86_64")', b'listOf("arm64-v8a", "armeabi-v7a", "x86_64")', "abiFilters"),
    ("app", b"abiFilters +=", b"abiFilterz +=", "abiFilters []"),
    ("decoder_java", '{"arm64-v8a", "x86_64"}', '{"arm64-v8a"}', "SHIPPED_ABIS differs"),
])
def test_the_gradle_check_fails_on_a_mutated_copy(key, old, new, expected):
    inputs = _gradle_inputs()
    assert old in inputs[key], f"the mutation no longer applies: {old!r}"
    inputs[key] = inputs[key].replace(old, new)
    problems = gradle_problems(**inputs)
    assert any(expected in p for p in problems), problems


# --------------------------------------------------------------------------------------------
# resources: aapt is not here, so check by hand that what the code and the manifest name exists

ANDROID_NS = "{http://schemas.android.com/apk/res/android}"


def resource_problems(java: dict[str, str], res: Path, manifest_xml: str, namespace: str) -> list[str]:
    import xml.etree.ElementTree as ET

    p = []
    layouts = {f.stem for f in (res / "layout").glob("*.xml")}
    ids = {v.split("/", 1)[1] for f in (res / "layout").glob("*.xml") for e in ET.parse(f).iter()
           for v in [e.get(f"{ANDROID_NS}id")] if v and v.startswith("@+id/")}
    strings = {e.get("name") for f in (res / "values").glob("*.xml") for e in ET.parse(f).iter("string")}
    known = {"id": ids, "layout": layouts, "string": strings}
    for path, text in java.items():
        for n, line in enumerate(text.splitlines(), 1):
            for kind, name in re.findall(r"(?<![\w.])R\.(id|layout|string)\.(\w+)", line):
                if name not in known[kind]:
                    p.append(f"{path}:{n}: R.{kind}.{name} is not defined under res/")
    xml_texts = {str(f): f.read_text() for f in res.rglob("*.xml")} | {"AndroidManifest.xml": manifest_xml}
    for path, text in xml_texts.items():
        p += [f"{path}: @string/{s} is not in res/values" for s in re.findall(r"@string/(\w+)", text)
              if s not in strings]
    root = ET.fromstring(manifest_xml)
    perms = {e.get(f"{ANDROID_NS}name") for e in root.iter("uses-permission")}
    if "android.permission.INTERNET" not in perms:
        p.append("AndroidManifest.xml lacks android.permission.INTERNET (HTTP streams)")
    for component in [*root.iter("activity"), *root.iter("service")]:
        name = component.get(f"{ANDROID_NS}name", "")
        full = namespace + name if name.startswith(".") else name
        if f"{full.rsplit('.', 1)[-1]}.java" not in {Path(k).name for k in java}:
            p.append(f"AndroidManifest.xml: {component.tag} {name} has no source")
    # background playback: a mediaPlayback foreground service needs these on Android 14+, and
    # its notification needs POST_NOTIFICATIONS on 13+
    for perm in ("FOREGROUND_SERVICE", "FOREGROUND_SERVICE_MEDIA_PLAYBACK", "POST_NOTIFICATIONS"):
        if f"android.permission.{perm}" not in perms:
            p.append(f"AndroidManifest.xml lacks android.permission.{perm} (background playback)")
    services = {e.get(f"{ANDROID_NS}name"): e.get(f"{ANDROID_NS}foregroundServiceType") for e in root.iter("service")}
    if services.get(".PlaybackService") != "mediaPlayback":
        p.append("AndroidManifest.xml: .PlaybackService must be a foregroundServiceType=\"mediaPlayback\" service")
    return p


def _resource_inputs() -> dict:
    main = DEMO / "app/src/main"
    return {"java": {str(f.relative_to(ROOT)): f.read_text() for f in sorted(APP_JAVA.rglob("*.java"))},
            "res": main / "res", "manifest_xml": (main / "AndroidManifest.xml").read_text(),
            "namespace": "org.tqcodec.player"}


def test_every_resource_the_app_names_exists():
    assert resource_problems(**_resource_inputs()) == []


def test_the_resource_check_fails_on_a_missing_id():
    inputs = _resource_inputs()
    key = next(k for k in inputs["java"] if k.endswith("MainActivity.java"))
    assert "R.id.stop" in inputs["java"][key]
    inputs["java"][key] = inputs["java"][key].replace("R.id.stop", "R.id.halt")
    inputs["manifest_xml"] = inputs["manifest_xml"].replace("android.permission.INTERNET", "android.permission.X")
    problems = resource_problems(**inputs)
    assert any("R.id.halt is not defined" in p for p in problems), problems
    assert any("INTERNET" in p for p in problems), problems


def test_the_manifest_check_fails_without_the_playback_service_or_its_permissions():
    inputs = _resource_inputs()
    xml = inputs["manifest_xml"]
    for old, new, expected in [('foregroundServiceType="mediaPlayback"', 'foregroundServiceType="dataSync"',
                                "mediaPlayback"),
                               ("FOREGROUND_SERVICE_MEDIA_PLAYBACK", "WAKE_LOCK", "FOREGROUND_SERVICE_MEDIA_PLAYBACK"),
                               ("POST_NOTIFICATIONS", "VIBRATE", "POST_NOTIFICATIONS"),
                               (".PlaybackService", ".Player2Service", "has no source")]:
        assert old in xml, old
        problems = resource_problems(**{**inputs, "manifest_xml": xml.replace(old, new)})
        assert any(expected in p for p in problems), (old, problems)
