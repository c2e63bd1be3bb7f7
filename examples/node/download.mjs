#!/usr/bin/env node
// Download a model through ModelPull from Node, printing progress as it comes.
//
//   node examples/node/download.mjs url https://example.com/model.gguf --sha256 <hex>
//   node examples/node/download.mjs huggingface org/name --include '*.json'
//
// Copy this file into your project: built-in modules only, plus a `modelpull` binary (set
// MODELPULL to its path, or have it on PATH). Ctrl-C cancels cleanly; the next run resumes.
import { spawn } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";

class ModelPullClient {
  constructor(binary) {
    this.child = spawn(binary, [], { stdio: ["pipe", "pipe", "inherit"] });
    this.nextId = 1;
    this.pending = new Map();
    this.progressHandlers = new Map();
    const lines = createInterface({ input: this.child.stdout, crlfDelay: Infinity });
    lines.on("line", (line) => this.#receive(JSON.parse(line)));
    const failAll = (error) => {
      for (const { reject } of this.pending.values()) reject(error);
      this.pending.clear();
    };
    // A binary that cannot start (removed, not executable) is an "error" event, not an exception.
    this.child.on("error", (error) => failAll(new Error(`cannot start ${binary}: ${error.message}`)));
    this.child.on("exit", () => failAll(new Error("modelpull exited")));
  }

  #receive(message) {
    if ("id" in message && ("result" in message || "error" in message)) {
      const waiter = this.pending.get(message.id);
      this.pending.delete(message.id);
      this.progressHandlers.delete(message.id);
      if (!waiter) return;
      if (message.error) waiter.reject(new ModelPullError(message.error));
      else waiter.resolve(message.result);
    } else if (message.method === "downloads/progress") {
      this.progressHandlers.get(message.params.requestId)?.(message.params);
    }
  }

  request(method, params, onProgress) {
    const id = this.nextId++;
    if (onProgress) this.progressHandlers.set(id, onProgress);
    const message = { jsonrpc: "2.0", id, method, ...(params === undefined ? {} : { params }) };
    this.child.stdin.write(JSON.stringify(message) + "\n");
    return new Promise((resolve, reject) => this.pending.set(id, { resolve, reject }));
  }

  close() {
    this.child.stdin.end();
    return new Promise((resolve) => this.child.on("close", resolve));
  }
}

class ModelPullError extends Error {
  constructor(error) {
    super(`${error.data?.kind ?? error.code}: ${error.message}`);
    this.code = error.code;
    this.kind = error.data?.kind;
    this.retryable = error.data?.retryable ?? false;
  }
}

function printProgress(event) {
  const parts = [`[${event.status}]`];
  if (event.percent !== undefined) parts.push(`${event.percent.toFixed(1).padStart(5)}%`);
  if (event.totalBytes !== undefined) parts.push(`${event.downloadedBytes}/${event.totalBytes} bytes`);
  if (event.bytesPerSecond) parts.push(`${(event.bytesPerSecond / 1e6).toFixed(1)} MB/s`);
  if (event.etaSeconds !== undefined) parts.push(`ETA ${Math.round(event.etaSeconds)}s`);
  parts.push(event.message);
  console.log(parts.join(" "));
}

const { values: options, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    revision: { type: "string" },
    include: { type: "string", multiple: true },
    sha256: { type: "string" },
    "local-dir": { type: "string" },
    "base-url": { type: "string" },
  },
});
if (positionals.length !== 2) {
  console.error("usage: download.mjs <provider> <model> [--sha256 HEX] [--local-dir DIR] ...");
  process.exit(2);
}

// The binary: MODELPULL, else `modelpull` on PATH; said plainly when neither is there.
function findBinary() {
  const candidates = process.env.MODELPULL
    ? [process.env.MODELPULL]
    : (process.env.PATH ?? "").split(delimiter).filter(Boolean).map((dir) => join(dir, "modelpull"));
  return candidates.find((path) => {
    try {
      accessSync(path, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}
const binary = findBinary();
if (!binary) {
  console.error(process.env.MODELPULL
    ? `MODELPULL is ${process.env.MODELPULL}, which is not an executable file; point it at the modelpull binary`
    : "set MODELPULL to the modelpull binary, or put it on PATH");
  process.exit(1);
}

const client = new ModelPullClient(binary);
let hello;
try {
  hello = await client.request("hello", { protocolVersions: ["1.0"], client: { name: "download.mjs" } });
} catch (error) {
  console.error(error.message);
  process.exit(1);
}
console.log(`connected to ${hello.server.name} ${hello.server.version} (protocol ${hello.protocolVersion})`);

const params = { provider: positionals[0], model: positionals[1] };
if (options.revision) params.revision = options.revision;
if (options.include) params.include = options.include;
if (options.sha256) params.sha256 = options.sha256;
if (options["local-dir"]) params.localDir = options["local-dir"];
if (options["base-url"]) params.baseUrl = options["base-url"];

const downloadIds = new Set();
let interrupted = false;
process.on("SIGINT", () => {
  interrupted = true;
  for (const downloadId of downloadIds) client.request("downloads/cancel", { downloadId }).catch(() => {});
});

let status = 0;
try {
  const result = await client.request("models/download", params, (event) => {
    downloadIds.add(event.downloadId);
    printProgress(event);
  });
  console.log(`done: ${result.path} (${result.files.length} files, ` +
    `${result.bytesDownloaded} bytes downloaded, ${result.bytesReused} reused)`);
} catch (error) {
  console.error(`failed: ${error.message}`);
  // 130 after Ctrl-C, as shells and `modelpull pull` report an interrupt.
  status = interrupted && error.kind === "cancelled" ? 130 : 1;
}
await client.close();
process.exit(status);
