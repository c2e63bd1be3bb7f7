#!/usr/bin/env python3
"""Check the ModelPull protocol contract in schema/v1.

Usage:
  python3 scripts/check_schemas.py [--schema-dir DIR] [--no-embed-check] [-v]

Checks, in order (every failure is printed as "FAIL <file>: <what>"; exit status 1 if any):
  1. every JSON file under schema/v1 parses (strict: no NaN, no duplicate keys);
  2. every *.schema.json declares "$schema" 2020-12 and "$id" = https://modelpull.dev/schema/v1/<path>,
     and passes Draft202012Validator.check_schema (the 2020-12 meta-schema);
  3. every "$ref" in every schema, in openrpc.json and in errors.json resolves (referencing Registry
     keyed by $id and by relative path), including JSON-pointer fragments;
  4. errors.json matches errors.schema.json and agrees with defs ErrorKind, the OpenRPC error
     components and messages.schema.json#/$defs/KnownErrorObject;
  5. openrpc.json has the OpenRPC 1.3/1.4 document shape, by-name params whose content descriptors
     match the params schema files, result refs, error refs, examples that validate, inline schemas in
     the draft-07/2020-12 common subset, and a messages.schema.json request./response./notification.
     definition for every method and notification (and none extra); every file in methods/ and
     notifications/ is referenced;
  6. every examples/**/*.json ({"description", "messages": [transcript entries]}) validates with
     scripts/validate_messages.py rules in strict mode (client lines must be valid unless marked
     "invalid": true; --semantics protocol rules on); every method and notification has an example;
  7. Sources/ModelPullRPC/Schema/EmbeddedSchema.swift is up to date (scripts/embed_schema.py --check),
     unless --no-embed-check.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, Iterator

sys.path.insert(0, str(Path(__file__).resolve().parent))

from jsonschema import Draft202012Validator  # noqa: E402
from jsonschema.exceptions import SchemaError  # noqa: E402
from referencing.exceptions import Unresolvable  # noqa: E402

import validate_messages as vm  # noqa: E402

D2020 = "https://json-schema.org/draft/2020-12/schema"

# Keywords whose values are data, not subschemas (do not look for $ref inside them).
DATA_KEYWORDS = {"const", "enum", "examples", "default"}
# Keywords that draft-07 and 2020-12 do not share (or interpret differently).
NOT_COMMON = {"$defs", "definitions", "prefixItems", "dependentRequired", "dependentSchemas", "dependencies",
              "unevaluatedProperties", "unevaluatedItems", "$anchor", "$dynamicRef", "$dynamicAnchor",
              "$recursiveRef", "$recursiveAnchor", "additionalItems", "$vocabulary", "contentSchema",
              "minContains", "maxContains"}

# The OpenRPC 1.3/1.4 document shape (after open-rpc/spec spec/1.4/schema.json), with JSON Schemas
# accepted as objects or booleans.
X = {"^x-": True}
REF_OBJ = {"type": "object", "required": ["$ref"], "properties": {"$ref": {"type": "string"}}, "additionalProperties": False}
CONTENT_DESCRIPTOR = {
    "type": "object", "required": ["name", "schema"], "additionalProperties": False, "patternProperties": X,
    "properties": {"name": {"type": "string", "minLength": 1}, "description": {"type": "string"},
                   "summary": {"type": "string"}, "schema": {"type": ["object", "boolean"]},
                   "required": {"type": "boolean"}, "deprecated": {"type": "boolean"}},
}
EXAMPLE = {
    "type": "object", "required": ["name", "value"], "patternProperties": X,
    "properties": {"name": {"type": "string", "minLength": 1}, "summary": {"type": "string"},
                   "description": {"type": "string"}, "value": True},
}
PAIRING = {
    "type": "object", "required": ["name", "params"],
    "properties": {"name": {"type": "string", "minLength": 1}, "description": {"type": "string"},
                   "params": {"type": "array", "items": {"oneOf": [EXAMPLE, REF_OBJ]}},
                   "result": {"oneOf": [EXAMPLE, REF_OBJ]}},
}
ERROR_OBJ = {
    "type": "object", "required": ["code", "message"], "additionalProperties": False,
    "properties": {"code": {"type": "integer"}, "message": {"type": "string"}, "data": True},
}
METHOD = {
    "type": "object", "required": ["name", "params"], "additionalProperties": False, "patternProperties": X,
    "properties": {
        "name": {"type": "string", "minLength": 1}, "description": {"type": "string"}, "summary": {"type": "string"},
        "servers": {"type": "array"}, "tags": {"type": "array"},
        "paramStructure": {"enum": ["by-position", "by-name", "either"]},
        "params": {"type": "array", "items": {"oneOf": [CONTENT_DESCRIPTOR, REF_OBJ]}},
        "result": {"oneOf": [CONTENT_DESCRIPTOR, REF_OBJ]},
        "errors": {"type": "array", "items": {"oneOf": [ERROR_OBJ, REF_OBJ]}},
        "links": {"type": "array"},
        "examples": {"type": "array", "items": {"oneOf": [PAIRING, REF_OBJ]}},
        "deprecated": {"type": "boolean"}, "externalDocs": {"type": "object"},
    },
}
OPENRPC_SHAPE = {
    "$schema": D2020,
    "type": "object", "required": ["openrpc", "info", "methods"], "additionalProperties": False, "patternProperties": X,
    "properties": {
        "openrpc": {"type": "string", "pattern": "^1\\.[34]\\.[0-9]+$"},
        "info": {"type": "object", "required": ["title", "version"], "additionalProperties": False, "patternProperties": X,
                 "properties": {"title": {"type": "string"}, "description": {"type": "string"},
                                "termsOfService": {"type": "string"}, "version": {"type": "string"},
                                "contact": {"type": "object"}, "license": {"type": "object"}}},
        "externalDocs": {"type": "object"}, "servers": {"type": "array"},
        "methods": {"type": "array", "items": {"oneOf": [METHOD, REF_OBJ]}},
        "components": {"type": "object", "additionalProperties": False, "properties": {
            "schemas": {"type": "object", "additionalProperties": {"type": ["object", "boolean"]}},
            "links": {"type": "object"}, "errors": {"type": "object", "additionalProperties": ERROR_OBJ},
            "examples": {"type": "object", "additionalProperties": EXAMPLE},
            "examplePairings": {"type": "object", "additionalProperties": PAIRING},
            "contentDescriptors": {"type": "object", "additionalProperties": CONTENT_DESCRIPTOR},
            "tags": {"type": "object"}}},
        "$schema": {"type": "string"},
    },
}
X_NOTIFICATION = {
    "$schema": D2020,
    "type": "object", "required": ["name", "direction", "params", "x-params-schema"], "additionalProperties": False,
    "patternProperties": X,
    "properties": {
        "name": {"type": "string", "minLength": 1}, "direction": {"enum": ["serverToClient", "clientToServer"]},
        "summary": {"type": "string"}, "description": {"type": "string"}, "paramStructure": {"const": "by-name"},
        "params": {"type": "array", "items": CONTENT_DESCRIPTOR},
        "examples": {"type": "array", "items": PAIRING},
    },
}


class Checker:
    def __init__(self, schema_dir: Path, verbose: bool):
        self.dir = schema_dir
        self.verbose = verbose
        self.failures: list[str] = []
        self.contract: vm.Contract | None = None

    def fail(self, where: str, what: str) -> None:
        self.failures.append(f"FAIL {where}: {what}")
        print(self.failures[-1])

    def ok(self, what: str) -> None:
        print(f"ok   {what}")

    def info(self, what: str) -> None:
        if self.verbose:
            print(f"     {what}")

    # ------------------------------------------------------------------------------------------
    def run(self, embed_check: bool) -> int:
        if not self.load():
            return self.summary()
        self.check_schema_files()
        self.check_refs()
        if self.failures:
            print("(stopping: the remaining checks need valid schemas with resolvable $refs)")
            return self.summary()
        self.check_errors_table()
        self.check_openrpc()
        self.check_examples()
        if embed_check:
            self.check_embedded()
        return self.summary()

    def summary(self) -> int:
        if self.failures:
            print(f"\n{len(self.failures)} problem(s) in {self.dir}")
            return 1
        print(f"\nschema contract OK ({self.dir})")
        return 0

    # 1 ----------------------------------------------------------------------------------------
    def load(self) -> bool:
        bad = False
        for path in sorted(self.dir.rglob("*.json")):
            try:
                vm.strict_loads(path.read_text(encoding="utf-8"))
            except (vm.JSONProblem, UnicodeDecodeError) as e:
                self.fail(self.rel(path), f"not valid JSON: {e}")
                bad = True
        if bad:
            return False
        try:
            self.contract = vm.Contract(self.dir)
        except vm.ContractError as e:
            self.fail(str(self.dir), str(e))
            return False
        self.docs = self.contract.docs
        self.ok(f"{len(list(self.dir.rglob('*.json')))} JSON files parse")
        return True

    def rel(self, path: Path) -> str:
        try:
            return path.relative_to(self.dir).as_posix()
        except ValueError:
            return str(path)

    # 2 ----------------------------------------------------------------------------------------
    def check_schema_files(self) -> None:
        n = 0
        for rel, doc in self.docs.items():
            if not rel.endswith(".schema.json"):
                continue
            n += 1
            if not isinstance(doc, dict):
                self.fail(rel, "a schema file must be an object")
                continue
            if doc.get("$schema") != D2020:
                self.fail(rel, f"\"$schema\" must be {D2020!r}, got {doc.get('$schema')!r}")
            if doc.get("$id") != vm.BASE_URI + rel:
                self.fail(rel, f"\"$id\" must be {vm.BASE_URI + rel!r}, got {doc.get('$id')!r}")
            for key in ("title", "description"):
                if not isinstance(doc.get(key), str):
                    self.fail(rel, f"missing {key!r}")
            try:
                Draft202012Validator.check_schema(doc)
            except SchemaError as e:
                path = "/".join(str(p) for p in e.absolute_path)
                self.fail(rel, f"not a valid 2020-12 schema: {e.message} at #/{path}")
        for sub, kind in (("methods", ("params", "result")), ("notifications", ("params",))):
            for path in sorted((self.dir / sub).glob("*")):
                parts = path.name.split(".")
                if not path.name.endswith(".schema.json") or parts[-3] not in kind:
                    self.fail(self.rel(path), f"file name must be <name>.{'|'.join(kind)}.schema.json")
        self.ok(f"{n} schema files pass the 2020-12 meta-schema with correct $schema/$id")

    # 3 ----------------------------------------------------------------------------------------
    def iter_refs(self, node: Any, base: str, pointer: str, schema_mode: bool) -> Iterator[tuple[str, str, str]]:
        """Yield (base_uri, ref, json_pointer) for every "$ref" string."""
        if isinstance(node, dict):
            if schema_mode and isinstance(node.get("$id"), str) and pointer:
                base = vm.BASE_URI + node["$id"] if "://" not in node["$id"] else node["$id"]
            ref = node.get("$ref")
            if isinstance(ref, str):
                yield base, ref, pointer
            for k, v in node.items():
                if k in DATA_KEYWORDS and (schema_mode or k == "examples"):
                    continue
                if k == "properties" and isinstance(v, dict):
                    for pk, pv in v.items():
                        yield from self.iter_refs(pv, base, f"{pointer}/properties/{pk}", schema_mode)
                    continue
                yield from self.iter_refs(v, base, f"{pointer}/{k}", schema_mode)
        elif isinstance(node, list):
            for i, v in enumerate(node):
                yield from self.iter_refs(v, base, f"{pointer}/{i}", schema_mode)

    def check_refs(self) -> None:
        n = 0
        registry = self.contract.registry
        for rel, doc in self.docs.items():
            base = doc.get("$id", vm.BASE_URI + rel) if isinstance(doc, dict) else vm.BASE_URI + rel
            for ref_base, ref, pointer in self.iter_refs(doc, base, "", rel.endswith(".schema.json")):
                n += 1
                if ref.startswith(("http://", "https://")) and not ref.startswith(vm.BASE_URI):
                    self.fail(rel, f"$ref {ref!r} at #{pointer} leaves the contract (use a relative $ref)")
                    continue
                if ref.startswith(vm.BASE_URI):
                    self.fail(rel, f"$ref {ref!r} at #{pointer} should be relative")
                try:
                    registry.resolver(base_uri=ref_base).lookup(ref)
                except Unresolvable as e:
                    self.fail(rel, f"$ref {ref!r} at #{pointer} does not resolve ({type(e).__name__})")
        self.ok(f"{n} $refs resolve")

    # 4 ----------------------------------------------------------------------------------------
    def check_errors_table(self) -> None:
        table = self.docs["errors.json"]
        for p in self.contract.check("errors.schema.json", table, max_errors=50):
            self.fail("errors.json", p)
        entries = table.get("errors", []) if isinstance(table, dict) else []
        codes = [e.get("code") for e in entries if isinstance(e, dict)]
        dupes = {c for c in codes if codes.count(c) > 1}
        if dupes:
            self.fail("errors.json", f"duplicate codes {sorted(dupes)}")
        defs = self.docs["defs.schema.json"]["$defs"]
        kinds = [e.get("kind") for e in entries if isinstance(e, dict) and e.get("category") == "application"]
        if sorted(kinds) != sorted(defs["ErrorKind"]["enum"]) or len(set(kinds)) != len(kinds):
            self.fail("errors.json", f"application kinds {kinds} must match defs ErrorKind {defs['ErrorKind']['enum']} one to one")
        for e in entries:
            if isinstance(e, dict) and e.get("category") == "application" and not (vm.APP_MIN <= e.get("code", 0) <= vm.APP_MAX):
                self.fail("errors.json", f"application code {e.get('code')} outside {vm.APP_MIN}-{vm.APP_MAX}")
            if isinstance(e, dict) and e.get("category") == "application" and e["data"]["$ref"] != "defs.schema.json#/$defs/ErrorData":
                self.fail("errors.json", f"application error {e.get('code')} must use defs ErrorData")
        known = self.docs["messages.schema.json"]["$defs"]["KnownErrorObject"]["oneOf"]
        known_codes = sorted(b["properties"]["code"]["const"] for b in known)
        if known_codes != sorted(codes):
            self.fail("messages.schema.json", f"KnownErrorObject codes {known_codes} differ from errors.json {sorted(codes)}")
        for b in known:
            code = b["properties"]["code"]["const"]
            e = self.contract.errors.get(code)
            if e and e["category"] == "application" and b["properties"]["data"]["properties"]["kind"]["const"] != e["kind"]:
                self.fail("messages.schema.json", f"KnownErrorObject {code} kind differs from errors.json")
        comp = self.docs["openrpc.json"].get("components", {}).get("errors", {})
        by_code = {v.get("code"): k for k, v in comp.items()}
        for e in entries:
            if isinstance(e, dict) and e.get("category") == "application" and e.get("code") not in by_code:
                self.fail("openrpc.json", f"components.errors lacks application error {e.get('code')} ({e.get('kind')})")
        self.ok(f"errors.json: {len(entries)} errors consistent with ErrorKind, KnownErrorObject and OpenRPC components")

    # 5 ----------------------------------------------------------------------------------------
    def check_openrpc(self) -> None:
        doc = self.docs["openrpc.json"]
        shape = Draft202012Validator(OPENRPC_SHAPE)
        for e in sorted(shape.iter_errors(doc), key=lambda e: list(e.path)):
            self.fail("openrpc.json", vm.format_error(e, "OpenRPC document shape"))
        info = doc.get("info", {})
        if info.get("title") != "ModelPull":
            self.fail("openrpc.json", "info.title must be \"ModelPull\"")
        messages_defs = self.docs["messages.schema.json"]["$defs"]
        resolver = self.contract.registry.resolver(base_uri=vm.BASE_URI + "openrpc.json")
        names = [m.get("name") for m in doc.get("methods", [])]
        if len(set(names)) != len(names):
            self.fail("openrpc.json", "method names must be unique")
        referenced: set[str] = set()
        expected_defs: set[str] = set()
        for m in doc.get("methods", []):
            name = m.get("name", "?")
            where = f"openrpc.json method {name}"
            stem = vm.method_stem(name)
            if m.get("paramStructure") != "by-name":
                self.fail(where, "paramStructure must be \"by-name\"")
            is_request = "result" in m
            folder = "methods" if is_request else "notifications"
            params_file = f"{folder}/{stem}.params.schema.json"
            self.check_params(where, m, params_file, resolver)
            referenced.add(params_file)
            if is_request:
                result_file = f"methods/{stem}.result.schema.json"
                if m["result"].get("schema") != {"$ref": result_file}:
                    self.fail(where, f"result.schema must be {{\"$ref\": \"{result_file}\"}}")
                referenced.add(result_file)
                expected_defs |= {f"request.{stem}", f"response.{stem}"}
                for i, err in enumerate(m.get("errors", [])):
                    try:
                        resolved = resolver.lookup(err["$ref"]).contents if "$ref" in err else err
                    except Unresolvable as e:
                        self.fail(where, f"errors[{i}] does not resolve: {e}")
                        continue
                    if resolved.get("code") not in self.contract.errors:
                        self.fail(where, f"errors[{i}] code {resolved.get('code')} is not in errors.json")
                self.check_pairings(where, m, stem)
            else:
                if m.get("x-direction") != "clientToServer":
                    self.fail(where, "a notification-only method must have \"x-direction\": \"clientToServer\"")
                expected_defs.add(f"notification.{stem}")
            self.check_common_subset(where, m)
        for n in doc.get("x-notifications", []):
            name = n.get("name", "?") if isinstance(n, dict) else "?"
            where = f"openrpc.json x-notifications {name}"
            for e in Draft202012Validator(X_NOTIFICATION).iter_errors(n):
                self.fail(where, vm.format_error(e, "x-notifications entry"))
            if not isinstance(n, dict) or "x-params-schema" not in n:
                continue
            stem = vm.method_stem(name)
            params_file = f"notifications/{stem}.params.schema.json"
            if n["x-params-schema"] != {"$ref": params_file}:
                self.fail(where, f"x-params-schema must be {{\"$ref\": \"{params_file}\"}}")
            referenced.add(params_file)
            expected_defs.add(f"notification.{stem}")
            for cd in n.get("params", []):
                try:
                    resolver.lookup(cd["schema"]["$ref"])
                except (Unresolvable, KeyError, TypeError) as e:
                    self.fail(where, f"param {cd.get('name')} schema does not resolve: {e}")
            for ex in n.get("examples", []):
                value = {p["name"]: p["value"] for p in ex.get("params", [])}
                for p in self.contract.check(params_file, value, "$.params"):
                    self.fail(where, f"example {ex.get('name')!r}: {p}")
            self.check_common_subset(where, n)
        if name_clash := set(names) & {n.get("name") for n in doc.get("x-notifications", []) if isinstance(n, dict)}:
            self.fail("openrpc.json", f"{sorted(name_clash)} listed both as methods and x-notifications")
        for key in ("schemas",):
            for cname, schema in doc.get("components", {}).get(key, {}).items():
                self.check_common_subset(f"openrpc.json components.{key}.{cname}", schema, top=True)
        actual_defs = {k for k in messages_defs if k.split(".")[0] in ("request", "response", "notification")}
        if actual_defs != expected_defs:
            self.fail("messages.schema.json", f"per-method $defs differ from openrpc.json: missing {sorted(expected_defs - actual_defs)}, extra {sorted(actual_defs - expected_defs)}")
        on_disk = {self.rel(p) for sub in ("methods", "notifications") for p in (self.dir / sub).glob("*.json")}
        if on_disk - referenced:
            self.fail("openrpc.json", f"schema files not referenced by any method or notification: {sorted(on_disk - referenced)}")
        self.ok(f"openrpc.json: {len(names)} methods, {len(doc.get('x-notifications', []))} x-notifications, params/results/errors/examples consistent")

    def check_params(self, where: str, m: dict, params_file: str, resolver) -> None:
        if m.get("x-params-schema") != {"$ref": params_file}:
            self.fail(where, f"x-params-schema must be {{\"$ref\": \"{params_file}\"}}")
        schema = self.docs.get(params_file)
        if not isinstance(schema, dict):
            self.fail(where, f"{params_file} is missing")
            return
        if schema.get("type") != "object" or schema.get("additionalProperties") is not False:
            self.fail(params_file, "params must be an object schema with additionalProperties: false")
        props = schema.get("properties", {})
        required = set(schema.get("required", []))
        seen_optional = False
        names = []
        for cd in m.get("params", []):
            if "$ref" in cd:
                try:
                    cd = resolver.lookup(cd["$ref"]).contents
                except Unresolvable as e:
                    self.fail(where, f"param reference does not resolve: {e}")
                    continue
            pname = cd.get("name")
            names.append(pname)
            if cd.get("required", False):
                if seen_optional:
                    self.fail(where, f"required param {pname!r} follows an optional one")
            else:
                seen_optional = True
            if pname not in props:
                self.fail(where, f"param {pname!r} is not a property of {params_file}")
            if bool(cd.get("required", False)) != (pname in required):
                self.fail(where, f"param {pname!r} required={cd.get('required', False)} but {params_file} says {pname in required}")
            ref = cd.get("schema", {}).get("$ref") if isinstance(cd.get("schema"), dict) else None
            if ref != f"{params_file}#/properties/{pname}":
                self.fail(where, f"param {pname!r} schema must be {{\"$ref\": \"{params_file}#/properties/{pname}\"}}")
        if len(set(names)) != len(names):
            self.fail(where, "duplicate param names")
        if set(names) != set(props):
            self.fail(where, f"params {sorted(names)} differ from {params_file} properties {sorted(props)}")

    def check_pairings(self, where: str, m: dict, stem: str) -> None:
        for ex in m.get("examples", []):
            if "$ref" in ex:
                continue
            value = {p["name"]: p["value"] for p in ex.get("params", []) if "name" in p}
            for p in self.contract.check(f"methods/{stem}.params.schema.json", value, "$.params"):
                self.fail(where, f"example {ex.get('name')!r} params: {p}")
            if "result" in ex and "value" in ex["result"]:
                for p in self.contract.check(f"methods/{stem}.result.schema.json", ex["result"]["value"], "$.result"):
                    self.fail(where, f"example {ex.get('name')!r} result: {p}")

    def check_common_subset(self, where: str, node: Any, top: bool = False) -> None:
        """Inline schemas inside openrpc.json must stay within the draft-07/2020-12 common subset."""
        def walk(s: Any, path: str) -> None:
            if isinstance(s, dict):
                for k, v in s.items():
                    if k in NOT_COMMON:
                        self.fail(where, f"keyword {k!r} at {path} is not in the draft-07/2020-12 common subset")
                    if k in DATA_KEYWORDS:
                        continue
                    if k == "items" and isinstance(v, list):
                        self.fail(where, f"array-form items at {path} differs between draft-07 and 2020-12")
                    walk(v, f"{path}/{k}")
            elif isinstance(s, list):
                for i, v in enumerate(s):
                    walk(v, f"{path}/{i}")
        if top:
            walk(node, "#")
            return
        for i, cd in enumerate(node.get("params", [])):
            walk(cd.get("schema"), f"params[{i}].schema")
        if isinstance(node.get("result"), dict):
            walk(node["result"].get("schema"), "result.schema")

    # 6 ----------------------------------------------------------------------------------------
    def check_examples(self) -> None:
        ex_dir = self.dir / "examples"
        files = sorted(ex_dir.rglob("*.json"))
        if not files:
            self.fail("examples", "no examples")
            return
        methods_seen: set[str] = set()
        ok_results: set[str] = set()
        codes_seen: set[int] = set()
        total_v = total_s = 0
        for path in files:
            rel = self.rel(path)
            doc = vm.strict_loads(path.read_text(encoding="utf-8"))
            if not (isinstance(doc, dict) and isinstance(doc.get("description"), str) and isinstance(doc.get("messages"), list)
                    and set(doc) <= {"description", "messages"}):
                self.fail(rel, "an example is {\"description\": string, \"messages\": [transcript entries]}")
                continue
            if len(path.relative_to(ex_dir).parts) != 2:
                self.fail(rel, "examples live at examples/<method-or-topic>/<case>.json")
            checker = vm.TranscriptChecker(self.contract, rel, semantics=True, strict_in=True, unit="messages")
            for i, entry in enumerate(doc["messages"]):
                if not (isinstance(entry, dict) and entry.get("dir") in ("in", "out")):
                    self.fail(rel, f"messages[{i}] must have \"dir\": \"in\" | \"out\"")
            result = checker.run_entries(doc["messages"], first_line=0)
            for f in result.failures:
                self.failures.append("FAIL " + f)
                print(self.failures[-1])
            total_v += result.validated
            total_s += result.skipped
            pending_methods: dict[Any, str] = {}
            for entry in doc["messages"]:
                msg = entry.get("msg") if isinstance(entry, dict) else None
                if not isinstance(msg, dict):
                    continue
                if isinstance(msg.get("method"), str):
                    methods_seen.add(msg["method"])
                    if "id" in msg:
                        pending_methods[vm.id_key(msg["id"])] = msg["method"]
                elif "result" in msg and vm.id_key(msg.get("id")) in pending_methods:
                    ok_results.add(pending_methods[vm.id_key(msg["id"])])
                elif isinstance(msg.get("error"), dict) and isinstance(msg["error"].get("code"), int):
                    codes_seen.add(msg["error"]["code"])
        all_methods = set(self.contract.methods)
        if missing := all_methods - methods_seen:
            self.fail("examples", f"no example uses {sorted(missing)}")
        if missing := set(self.contract.requests()) - ok_results:
            self.fail("examples", f"no success example for {sorted(missing)}")
        if missing := set(self.contract.errors) - codes_seen:
            self.info(f"error codes without an example: {sorted(missing)}")
        self.ok(f"{len(files)} example files: {total_v} messages validated, {total_s} deliberately invalid client messages skipped")

    # 7 ----------------------------------------------------------------------------------------
    def check_embedded(self) -> None:
        import embed_schema
        if self.dir != embed_schema.SCHEMA_DIR.resolve():
            self.info("embedded Swift check skipped (non-default schema dir)")
            return
        problem = embed_schema.check()
        if problem:
            self.fail(str(embed_schema.SWIFT_FILE.relative_to(vm.REPO_ROOT)), problem)
        else:
            self.ok("EmbeddedSchema.swift is up to date")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Check the ModelPull schema contract (schema/v1).",
                                 epilog="Exit status: 0 OK, 1 problems found.")
    ap.add_argument("--schema-dir", default=str(vm.DEFAULT_SCHEMA_DIR), help="schema directory (default: %(default)s)")
    ap.add_argument("--no-embed-check", action="store_true", help="do not check Sources/ModelPullRPC/Schema/EmbeddedSchema.swift")
    ap.add_argument("-v", "--verbose", action="store_true", help="also list error codes without an example")
    args = ap.parse_args(argv)
    schema_dir = Path(args.schema_dir).resolve()
    if not schema_dir.is_dir():
        print(f"error: {schema_dir} is not a directory", file=sys.stderr)
        return 1
    return Checker(schema_dir, args.verbose).run(embed_check=not args.no_embed_check)


if __name__ == "__main__":
    sys.exit(main())
