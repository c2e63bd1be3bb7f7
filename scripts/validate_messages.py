#!/usr/bin/env python3
"""Validate ModelPull JSON-RPC transcripts against schema/v1.

Usage:
  python3 scripts/validate_messages.py [options] PATH [PATH ...]

PATH is a .jsonl file, a directory (every *.jsonl directly in it, sorted) or "-" for stdin.
Each non-blank line is either
  {"dir": "in" | "out", "msg": <message>}   in = client -> server, out = server -> client
  {"dir": "in" | "out", "raw": "<text>"}    bytes as sent, not (necessarily) JSON
or a plain JSON-RPC message (direction inferred: responses and downloads/progress are "out",
everything else "in"; see --plain-dir). Other wrapper keys (e.g. "ts", "note") are ignored;
"invalid": true marks a client line that is invalid on purpose (checked only with --strict-in).

Rules:
  * "out" lines are always checked: envelope, known server->client notification with its params
    schema, responses matched by id to the earlier request in the same file to pick the result
    schema, error codes looked up in errors.json with their data schema (application codes
    1000-1099: ErrorData with data.kind fixed by the code).
  * "in" lines that are not valid requests/notifications (unparseable, not an object, bad
    envelope, params failing the method's schema) are skipped and counted, never failures; the
    server's answer to them must then be an error response. Valid ones are schema-checked.
  * --semantics adds protocol-rule checks: progress belongs to an open models/download request,
    downloadedBytes/percent never decrease, exactly one terminal event before the response, the
    result/error agrees with the terminal event, every valid request is answered.

Prints "N messages validated, M skipped" per file and in total; exits 1 on any failure (each
reported as FILE:LINE: message, with the JSON path of the instance and the schema path), 2 on
usage errors.

The module is also imported by scripts/check_schemas.py (Contract, TranscriptChecker).
"""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

try:
    from jsonschema import Draft202012Validator, FormatChecker
    from jsonschema.exceptions import best_match
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012
except ImportError:  # pragma: no cover
    sys.stderr.write("error: needs the `jsonschema` package (pip install jsonschema)\n")
    sys.exit(2)

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SCHEMA_DIR = REPO_ROOT / "schema" / "v1"
BASE_URI = "https://modelpull.dev/schema/v1/"
MESSAGES = "messages.schema.json"
APP_MIN, APP_MAX = 1000, 1099
TERMINAL = {"complete", "error", "cancelled"}
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def method_stem(method: str) -> str:
    """File-name stem of a method: '/' -> '.', and '$/cancelRequest' -> 'cancelRequest'."""
    if method == "$/cancelRequest":
        return "cancelRequest"
    return method.replace("/", ".")


# ----------------------------------------------------------------------------------------------
# Strict JSON
# ----------------------------------------------------------------------------------------------
class JSONProblem(ValueError):
    pass


def _reject_constant(name: str) -> Any:
    raise JSONProblem(f"{name} is not valid JSON")


def _pairs(pairs: list[tuple[str, Any]]) -> dict:
    out: dict = {}
    for k, v in pairs:
        if k in out:
            raise JSONProblem(f"duplicate key {k!r}")
        out[k] = v
    return out


def strict_loads(text: str) -> Any:
    """json.loads that rejects NaN/Infinity and duplicate keys."""
    try:
        return json.loads(text, parse_constant=_reject_constant, object_pairs_hook=_pairs)
    except JSONProblem:
        raise
    except ValueError as e:
        raise JSONProblem(str(e)) from None


# ----------------------------------------------------------------------------------------------
# The contract: schema files, registry, method table
# ----------------------------------------------------------------------------------------------
@dataclass
class MethodInfo:
    name: str
    kind: str  # "request" | "notification"
    direction: str  # "clientToServer" | "serverToClient"
    params_ref: str | None
    result_ref: str | None
    params_required: bool


class ContractError(Exception):
    pass


class Contract:
    """Loads schema/v1: every JSON document (except examples/) keyed by $id and relative path."""

    def __init__(self, schema_dir: Path | str = DEFAULT_SCHEMA_DIR):
        self.dir = Path(schema_dir).resolve()
        if not (self.dir / MESSAGES).is_file():
            raise ContractError(f"{self.dir} does not look like a schema directory (no {MESSAGES})")
        self.docs: dict[str, Any] = {}  # relative path -> parsed document
        resources = []
        for path in sorted(self.dir.rglob("*.json")):
            rel = path.relative_to(self.dir).as_posix()
            if rel.startswith("examples/"):
                continue
            try:
                doc = strict_loads(path.read_text(encoding="utf-8"))
            except (JSONProblem, UnicodeDecodeError) as e:
                raise ContractError(f"{rel}: not valid JSON: {e}") from None
            self.docs[rel] = doc
            resource = Resource.from_contents(doc, default_specification=DRAFT202012)
            uri = doc.get("$id") if isinstance(doc, dict) and isinstance(doc.get("$id"), str) else BASE_URI + rel
            resources.append((uri, resource))
            if uri != BASE_URI + rel:
                resources.append((BASE_URI + rel, resource))
            resources.append((rel, resource))
        self.registry = Registry().with_resources(resources).crawl()
        self._validators: dict[str, Draft202012Validator] = {}
        self._load_tables()

    # -- tables ------------------------------------------------------------------------------
    def _load_tables(self) -> None:
        openrpc = self.docs.get("openrpc.json")
        errors = self.docs.get("errors.json")
        if not isinstance(openrpc, dict) or not isinstance(errors, dict):
            raise ContractError("openrpc.json and errors.json must exist and be objects")
        self.methods: dict[str, MethodInfo] = {}
        for m in openrpc.get("methods", []):
            try:
                name = m["name"]
                params_ref = m.get("x-params-schema", {}).get("$ref")
                result = m.get("result")
                result_ref = result["schema"]["$ref"] if result else None
                required = any(p.get("required") for p in m.get("params", []))
            except (KeyError, TypeError, AttributeError) as e:
                raise ContractError(f"openrpc.json: malformed method entry {m!r:.80}: {e}") from None
            self.methods[name] = MethodInfo(
                name, "request" if result is not None else "notification",
                m.get("x-direction", "clientToServer"), params_ref, result_ref, required)
        for n in openrpc.get("x-notifications", []):
            try:
                name = n["name"]
                self.methods[name] = MethodInfo(
                    name, "notification", n["direction"], n.get("x-params-schema", {}).get("$ref"), None,
                    any(p.get("required") for p in n.get("params", [])))
            except (KeyError, TypeError, AttributeError) as e:
                raise ContractError(f"openrpc.json: malformed x-notifications entry: {e}") from None
        self.errors: dict[int, dict] = {}
        for e in errors.get("errors", []):
            if isinstance(e, dict) and isinstance(e.get("code"), int):
                self.errors[e["code"]] = e

    def requests(self) -> dict[str, MethodInfo]:
        return {k: v for k, v in self.methods.items() if v.kind == "request"}

    def client_notifications(self) -> dict[str, MethodInfo]:
        return {k: v for k, v in self.methods.items() if v.kind == "notification" and v.direction == "clientToServer"}

    def server_notifications(self) -> dict[str, MethodInfo]:
        return {k: v for k, v in self.methods.items() if v.kind == "notification" and v.direction == "serverToClient"}

    # -- validation --------------------------------------------------------------------------
    def validator(self, ref: str) -> Draft202012Validator:
        """A validator for a reference relative to schema/v1 (e.g. 'messages.schema.json#/$defs/Request')."""
        uri = ref if "://" in ref else BASE_URI + ref
        v = self._validators.get(uri)
        if v is None:
            v = Draft202012Validator({"$ref": uri}, registry=self.registry, format_checker=FormatChecker())
            self._validators[uri] = v
        return v

    def check(self, ref: str, instance: Any, prefix: str = "$", max_errors: int = 5) -> list[str]:
        """Validate; return human-readable problems (empty when valid), at most max_errors of them."""
        try:
            errs = list(self.validator(ref).iter_errors(instance))
        except Exception as e:  # unresolvable $ref or a broken schema: report, do not crash
            return [f"cannot validate against {ref}: {type(e).__name__}: {str(e)[:200]}"]
        if not errs:
            return []
        # Descend into oneOf/anyOf to the most relevant leaf; list errors in instance order.
        errs = sorted((best_match([e]) if e.context else e for e in errs), key=lambda e: [str(p) for p in e.absolute_path])
        shown = errs[:max(1, max_errors)]
        out = [format_error(e, ref, prefix) for e in shown]
        if len(errs) > len(shown):
            out[-1] += f" (+{len(errs) - len(shown)} more)"
        return out


def format_error(e, ref: str, prefix: str = "$") -> str:
    inst_path = prefix + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in e.absolute_path)
    schema_path = "/".join(str(p) for p in e.absolute_schema_path)
    msg = e.message if len(e.message) <= 300 else e.message[:297] + "..."
    return f"{msg} at {inst_path} (schema {ref} #/{schema_path})"


# ----------------------------------------------------------------------------------------------
# Transcript checking
# ----------------------------------------------------------------------------------------------
@dataclass
class Entry:
    line: int
    dir: str | None  # "in" | "out" | None (infer)
    msg: Any = None
    raw: str | None = None
    has_msg: bool = True
    invalid_marked: bool = False


@dataclass
class Pending:
    method: str | None
    state: str  # ok | invalid-params | invalid-envelope | unknown-method | notification-method
    line: int
    progress: list = field(default_factory=list)  # (line, params)


@dataclass
class Result:
    source: str
    validated: int = 0
    skipped: int = 0
    failures: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def id_key(value: Any):
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        return ("s", value)
    if isinstance(value, int) and INT64_MIN <= value <= INT64_MAX:
        return ("i", value)
    if isinstance(value, float) and value.is_integer():
        return ("i", int(value))
    return None


def show_id(value: Any) -> str:
    return json.dumps(value)


class TranscriptChecker:
    def __init__(self, contract: Contract, source: str, *, semantics: bool = False, strict_in: bool = False,
                 max_errors: int = 5, plain_dir: str = "auto", unit: str = "line"):
        self.c = contract
        self.unit = unit
        self.semantics = semantics
        self.strict_in = strict_in
        self.max_errors = max_errors
        self.plain_dir = plain_dir
        self.r = Result(source)
        self.pending: dict[Any, list[Pending]] = {}
        self.answered: dict[Any, int] = {}
        self.progress_by_req: dict[Any, dict] = {}

    # -- helpers -----------------------------------------------------------------------------
    def at(self, line: int) -> str:
        return f"messages[{line}]" if self.unit == "messages" else f"line {line}"

    def where(self, line: int) -> str:
        return f"{self.r.source} messages[{line}]" if self.unit == "messages" else f"{self.r.source}:{line}"

    def fail(self, line: int, text: str) -> None:
        self.r.failures.append(f"{self.where(line)}: {text}")

    def warn(self, line: int, text: str) -> None:
        self.r.warnings.append(f"{self.where(line)}: warning: {text}")

    def fail_all(self, line: int, context: str, problems: list[str]) -> None:
        for p in problems:
            self.fail(line, f"{context}: {p}")

    def agree(self, entry: Entry, msg: Any, valid: bool) -> None:
        """The schema's ClientMessage must reach the same verdict as this script."""
        ok = not self.c.check(f"{MESSAGES}#/$defs/ClientMessage", msg, max_errors=1)
        if ok != valid:
            self.fail(entry.line, f"messages.schema.json#/$defs/ClientMessage {'accepts' if ok else 'rejects'} this "
                                  f"client message but the method schemas {'accept' if valid else 'reject'} it")

    def skip(self, entry: Entry, why: str) -> None:
        self.r.skipped += 1
        if self.strict_in and not entry.invalid_marked:
            self.fail(entry.line, f"client message is not valid ({why}) but is not marked \"invalid\": true")

    def accept_in(self, entry: Entry) -> None:
        self.r.validated += 1
        if self.strict_in and entry.invalid_marked:
            self.fail(entry.line, "client message is marked \"invalid\": true but validates")

    # -- entry parsing -----------------------------------------------------------------------
    def parse_line(self, line_no: int, text: str) -> Entry | None:
        text = text.rstrip("\r\n")
        if not text.strip():
            return None
        try:
            obj = strict_loads(text)
        except JSONProblem as e:
            if self.plain_dir == "in":
                return Entry(line_no, "in", raw=text, has_msg=False)
            self.fail(line_no, f"line is not valid JSON ({e}); wrap deliberately broken client input as "
                               "{\"dir\":\"in\",\"raw\":\"...\"}")
            return None
        return self.entry_from_obj(line_no, obj)

    def entry_from_obj(self, line_no: int, obj: Any) -> Entry | None:
        if isinstance(obj, dict) and obj.get("dir") in ("in", "out") and ("msg" in obj or "raw" in obj):
            if "msg" in obj and "raw" in obj:
                self.fail(line_no, "transcript line has both \"msg\" and \"raw\"")
                return None
            if "raw" in obj and not isinstance(obj["raw"], str):
                self.fail(line_no, "\"raw\" must be a string")
                return None
            return Entry(line_no, obj["dir"], obj.get("msg"), obj.get("raw"), "msg" in obj, obj.get("invalid") is True)
        if isinstance(obj, dict) and "dir" in obj and obj.get("dir") not in ("in", "out"):
            self.fail(line_no, f"transcript line has \"dir\": {obj.get('dir')!r}; expected \"in\" or \"out\"")
            return None
        return Entry(line_no, None, obj)

    def infer_dir(self, msg: Any) -> str:
        if self.plain_dir in ("in", "out"):
            return self.plain_dir
        if isinstance(msg, dict):
            if "method" in msg:
                return "out" if msg.get("method") in self.c.server_notifications() and "id" not in msg else "in"
            if "result" in msg or "error" in msg:
                return "out"
        return "in"

    # -- main loop ---------------------------------------------------------------------------
    def run_lines(self, lines: Iterable[str]) -> Result:
        for i, text in enumerate(lines, 1):
            entry = self.parse_line(i, text)
            if entry is not None:
                self.process(entry)
        return self.finish()

    def run_entries(self, entries: list[Any], first_line: int = 1) -> Result:
        for i, obj in enumerate(entries, first_line):
            entry = self.entry_from_obj(i, obj)
            if entry is not None:
                self.process(entry)
        return self.finish()

    def process(self, entry: Entry) -> None:
        direction = entry.dir or self.infer_dir(entry.msg)
        if direction == "in":
            self.process_in(entry)
        else:
            self.process_out(entry)

    # -- client -> server --------------------------------------------------------------------
    def process_in(self, entry: Entry) -> None:
        msg = entry.msg
        if not entry.has_msg:
            try:
                msg = strict_loads(entry.raw)
            except JSONProblem:
                self.skip(entry, "unparseable")
                return
        if not isinstance(msg, dict):
            self.skip(entry, "batch" if isinstance(msg, list) else "not an object")
            return
        is_request = "id" in msg
        envelope = "Request" if is_request else "Notification"
        problems = self.c.check(f"{MESSAGES}#/$defs/{envelope}", msg)
        if problems:
            key = id_key(msg.get("id")) if is_request else None
            if key is not None:
                self.add_pending(key, Pending(msg.get("method") if isinstance(msg.get("method"), str) else None,
                                              "invalid-envelope", entry.line))
            self.agree(entry, msg, False)
            self.skip(entry, f"invalid {envelope.lower()} envelope: {problems[0]}")
            return
        method = msg["method"]
        info = self.c.methods.get(method)
        if is_request:
            key = id_key(msg["id"])
            if info is None or info.direction != "clientToServer":
                self.add_pending(key, Pending(method, "unknown-method", entry.line))
                self.accept_in(entry)
                return
            if info.kind != "request":
                self.add_pending(key, Pending(method, "notification-method", entry.line))
                self.accept_in(entry)
                return
            problems = self.c.check(f"{MESSAGES}#/$defs/request.{method_stem(method)}", msg)
            self.agree(entry, msg, not problems)
            if problems:
                self.add_pending(key, Pending(method, "invalid-params", entry.line))
                self.skip(entry, f"{method} params: {problems[0]}")
                return
            self.add_pending(key, Pending(method, "ok", entry.line))
            self.accept_in(entry)
            return
        # notification
        if info is None or info.direction != "clientToServer":
            self.accept_in(entry)  # unknown notifications are valid envelopes; the server ignores them
            return
        ref = (f"{MESSAGES}#/$defs/notification.{method_stem(method)}" if info.kind == "notification"
               else None)
        if ref is None:  # a request method sent as a notification: check its params only
            problems = self.c.check(info.params_ref, msg.get("params", {}), "$.params") if info.params_ref else []
        else:
            problems = self.c.check(ref, msg)
        if ref is not None:
            self.agree(entry, msg, not problems)
        if problems:
            self.skip(entry, f"{method} params: {problems[0]}")
            return
        self.accept_in(entry)

    def add_pending(self, key, p: Pending) -> None:
        if key is None:
            return
        queue = self.pending.setdefault(key, [])
        if queue and self.semantics:
            self.fail(p.line, f"request id {show_id(key[1])} reused while the request at {self.at(queue[-1].line)} "
                              "is still unanswered")
        queue.append(p)

    # -- server -> client --------------------------------------------------------------------
    def process_out(self, entry: Entry) -> None:
        self.r.validated += 1
        msg = entry.msg
        line = entry.line
        before = len(self.r.failures)
        if not entry.has_msg:
            try:
                msg = strict_loads(entry.raw)
            except JSONProblem as e:
                self.fail(line, f"server output is not valid JSON: {e}")
                return
            if "\n" in entry.raw.rstrip("\r\n"):
                self.fail(line, "server output contains an embedded newline (NDJSON forbids it)")
        if not isinstance(msg, dict):
            self.fail(line, f"server message must be a JSON object, got {type(msg).__name__}")
            return
        if "method" in msg:
            self.out_notification(line, msg)
        else:
            self.out_response(line, msg)
        # Cross-check: the full message schema must agree with the script's own verdict.
        if len(self.r.failures) == before:
            problems = self.c.check(f"{MESSAGES}#/$defs/ServerMessage", msg, max_errors=1)
            if problems:
                self.fail_all(line, "messages.schema.json#/$defs/ServerMessage rejects this message", problems)

    def out_notification(self, line: int, msg: dict) -> None:
        method = msg.get("method")
        if "id" in msg:
            self.fail(line, f"server sent a request ({show_id(method)}); v1 has no server-to-client requests")
            return
        info = self.c.server_notifications().get(method) if isinstance(method, str) else None
        if info is None:
            problems = self.c.check(f"{MESSAGES}#/$defs/Notification", msg)
            self.fail_all(line, "invalid notification envelope", problems)
            self.fail(line, f"unknown server-to-client notification method {show_id(method)}")
            return
        problems = self.c.check(f"{MESSAGES}#/$defs/notification.{method_stem(method)}", msg, max_errors=self.max_errors)
        if problems:
            self.fail_all(line, method, problems)
            return
        if method == "downloads/progress" and self.semantics:
            self.progress_semantics(line, msg["params"])

    def out_response(self, line: int, msg: dict) -> None:
        has_result, has_error = "result" in msg, "error" in msg
        if has_result and has_error:
            self.fail(line, "response has both result and error")
            return
        if not has_result and not has_error:
            self.fail(line, "message has no method, result or error")
            return
        envelope = "SuccessResponse" if has_result else "ErrorResponse"
        problems = self.c.check(f"{MESSAGES}#/$defs/{envelope}", msg, max_errors=self.max_errors)
        if problems:
            self.fail_all(line, "invalid response envelope", problems)
            return
        if has_error:
            self.check_error_object(line, msg)
        rid = msg["id"]
        if rid is None:
            if has_error and msg["error"]["code"] not in (-32700, -32600):
                self.fail(line, f"id null is only allowed for -32700/-32600, not {msg['error']['code']}")
            return
        key = id_key(rid)
        queue = self.pending.get(key)
        if not queue:
            prev = self.answered.get(key)
            if prev is not None:
                self.fail(line, f"second response for id {show_id(rid)} (already answered at {self.at(prev)})")
            else:
                self.fail(line, f"response id {show_id(rid)} matches no earlier request awaiting a response")
            return
        p = queue.pop(0)
        if not queue:
            del self.pending[key]
        self.answered[key] = line
        if p.state == "ok":
            if has_result:
                info = self.c.methods[p.method]
                problems = self.c.check(info.result_ref, msg["result"], "$.result", max_errors=self.max_errors)
                self.fail_all(line, f"{p.method} result (request at {self.at(p.line)})", problems)
            if not self.r.failures or not self.r.failures[-1].startswith(self.where(line) + ":"):
                ref = f"{MESSAGES}#/$defs/response.{method_stem(p.method)}"
                if self.c.check(ref, msg, max_errors=1):
                    self.fail(line, f"{ref} rejects this response but the result/error schemas accept it")
            if self.semantics and p.method == "models/download":
                self.download_response_semantics(line, key, p, msg)
            return
        expected = {
            "invalid-params": "an error (the request failed its params schema",
            "invalid-envelope": "an error (the request is not a valid JSON-RPC request",
            "unknown-method": "-32601 (the method is unknown",
            "notification-method": "an error (the method is a notification",
        }[p.state]
        if has_result:
            self.fail(line, f"expected {expected}, {self.at(p.line)}) but got a result")
        elif p.state == "unknown-method" and msg["error"]["code"] != -32601:
            self.fail(line, f"expected {expected}, {self.at(p.line)}) but got {msg['error']['code']}")

    def check_error_object(self, line: int, msg: dict) -> None:
        err = msg["error"]
        code = err["code"]
        entry = self.c.errors.get(code)
        if entry is None:
            where = "application range 1000-1099" if APP_MIN <= code <= APP_MAX else "errors.json"
            self.fail(line, f"error code {code} is not defined in errors.json ({where})")
            return
        data_ref = entry["data"]["$ref"]
        if entry["category"] == "application":
            if "data" not in err:
                self.fail(line, f"application error {code} must carry data {{kind, retryable, ...}}")
                return
            problems = self.c.check(data_ref, err["data"], "$.error.data", max_errors=self.max_errors)
            self.fail_all(line, f"error {code} data", problems)
            if isinstance(err["data"], dict) and err["data"].get("kind") not in (None, entry["kind"]):
                self.fail(line, f"error {code} must have data.kind {entry['kind']!r}, got {err['data'].get('kind')!r}")
        elif "data" in err:
            problems = self.c.check(data_ref, err["data"], "$.error.data", max_errors=self.max_errors)
            self.fail_all(line, f"error {code} data", problems)

    # -- semantics ---------------------------------------------------------------------------
    def progress_semantics(self, line: int, params: dict) -> None:
        key = id_key(params["requestId"])
        queue = self.pending.get(key)
        if not queue or queue[0].method != "models/download" or queue[0].state != "ok":
            self.fail(line, f"downloads/progress for requestId {show_id(params['requestId'])}, which is not an "
                            "open models/download request")
            return
        p = queue[0]
        if p.progress:
            last_line, last = p.progress[-1]
            if last["status"] in TERMINAL:
                self.fail(line, f"progress after the terminal {last['status']!r} event at {self.at(last_line)}")
            if params["downloadId"] != last["downloadId"]:
                self.fail(line, f"downloadId changed from {last['downloadId']!r} ({self.at(last_line)}) to {params['downloadId']!r}")
            if params["downloadedBytes"] < last["downloadedBytes"]:
                self.fail(line, f"downloadedBytes went back from {last['downloadedBytes']} ({self.at(last_line)}) to {params['downloadedBytes']}")
            last_pct = next((pp["percent"] for _, pp in reversed(p.progress) if "percent" in pp), None)
            if "percent" in params and last_pct is not None and params["percent"] < last_pct:
                self.fail(line, f"percent went back from {last_pct} to {params['percent']}")
        p.progress.append((line, params))

    def download_response_semantics(self, line: int, key, p: Pending, msg: dict) -> None:
        terminals = [(ln, pp) for ln, pp in p.progress if pp["status"] in TERMINAL]
        if "result" in msg:
            if not terminals:
                self.fail(line, f"models/download result without a terminal \"complete\" progress event (request at {self.at(p.line)})")
                return
            t_line, t = terminals[-1]
            if t["status"] != "complete":
                self.fail(line, f"models/download result but the terminal event at {self.at(t_line)} is {t['status']!r}")
            if isinstance(msg["result"], dict) and msg["result"].get("downloadId") != t["downloadId"]:
                self.fail(line, f"result downloadId {msg['result'].get('downloadId')!r} differs from the progress downloadId {t['downloadId']!r}")
            return
        data = msg["error"].get("data") if isinstance(msg["error"].get("data"), dict) else {}
        if not p.progress:
            if "downloadId" in data and data.get("status") is not None:
                self.fail(line, "error names a download job but no valid progress event was sent for this request")
            return
        if not terminals:
            self.fail(line, f"error response without a terminal error/cancelled progress event (request at {self.at(p.line)})")
            return
        t_line, t = terminals[-1]
        if t["status"] == "complete":
            self.fail(line, f"error response but the terminal event at {self.at(t_line)} was \"complete\"")
        if data.get("status") not in (None, t["status"]):
            self.fail(line, f"error data.status {data.get('status')!r} differs from the terminal event {t['status']!r} ({self.at(t_line)})")
        if data.get("downloadId") not in (None, t["downloadId"]):
            self.fail(line, f"error data.downloadId {data.get('downloadId')!r} differs from the progress downloadId {t['downloadId']!r}")
        if "error" in t and t["error"].get("kind") != data.get("kind"):
            self.fail(line, f"error data.kind {data.get('kind')!r} differs from the terminal event's error.kind {t['error'].get('kind')!r}")

    def finish(self) -> Result:
        for key, queue in self.pending.items():
            for p in queue:
                if p.state == "invalid-envelope":
                    continue  # the server may not be able to echo such an id
                text = f"request id {show_id(key[1])} ({p.method}) got no response"
                if self.semantics:
                    self.fail(p.line, text)
                else:
                    self.warn(p.line, text)
        return self.r


# ----------------------------------------------------------------------------------------------
# CLI
# ----------------------------------------------------------------------------------------------
def collect(paths: list[str]) -> list[tuple[str, Any]]:
    out = []
    for p in paths:
        if p == "-":
            out.append(("<stdin>", None))
            continue
        path = Path(p)
        if path.is_dir():
            files = sorted(path.glob("*.jsonl"))
            if not files:
                raise FileNotFoundError(f"{p}: no *.jsonl files")
            out.extend((str(f), f) for f in files)
        elif path.is_file():
            out.append((str(path), path))
        else:
            raise FileNotFoundError(f"{p}: no such file or directory")
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description="Validate ModelPull JSON-RPC transcripts (JSONL) against schema/v1.",
        epilog="Exit status: 0 valid, 1 validation failures, 2 usage or contract errors.")
    ap.add_argument("paths", nargs="+", metavar="PATH", help="transcript .jsonl file, directory of *.jsonl, or - for stdin")
    ap.add_argument("--schema-dir", default=str(DEFAULT_SCHEMA_DIR), help="schema directory (default: %(default)s)")
    ap.add_argument("--semantics", action="store_true", help="also check protocol rules (progress ordering, terminal events, every request answered)")
    ap.add_argument("--strict-in", action="store_true", help="client lines must be valid unless marked \"invalid\": true (and marked ones must be invalid)")
    ap.add_argument("--plain-dir", choices=["auto", "in", "out"], default="auto", help="direction of plain (unwrapped) lines (default: auto)")
    ap.add_argument("--max-errors", type=int, default=5, metavar="N", help="schema errors reported per message (default: %(default)s)")
    ap.add_argument("-q", "--quiet", action="store_true", help="print only failures and the total summary")
    args = ap.parse_args(argv)

    try:
        contract = Contract(args.schema_dir)
        sources = collect(args.paths)
    except (ContractError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2

    total_v = total_s = total_f = 0
    for name, path in sources:
        checker = TranscriptChecker(contract, name, semantics=args.semantics, strict_in=args.strict_in,
                                    max_errors=args.max_errors, plain_dir=args.plain_dir)
        if path is None:
            result = checker.run_lines(sys.stdin)
        else:
            with open(path, encoding="utf-8", errors="surrogateescape", newline="") as f:
                result = checker.run_lines(f)
        for w in result.warnings:
            print(w, file=sys.stderr)
        for fmsg in result.failures:
            print(fmsg)
        if len(sources) > 1 and not args.quiet:
            status = "ok" if not result.failures else f"{len(result.failures)} failure(s)"
            print(f"{name}: {result.validated} messages validated, {result.skipped} skipped: {status}")
        total_v += result.validated
        total_s += result.skipped
        total_f += len(result.failures)
    print(f"{total_v} messages validated, {total_s} skipped")
    if total_f:
        print(f"FAILED: {total_f} problem(s)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
