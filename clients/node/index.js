// ModelPull for Node: download models from Hugging Face, MLX repos, Ollama or any URL through
// the `modelpull` binary bundled in this package. ESM, built-in modules only.
//
//   import { downloadModel } from "modelpull";
//   for await (const p of downloadModel("huggingface", "org/name", { token })) console.log(p.status, p.percent);
import { spawn } from "node:child_process";
import { accessSync, chmodSync, constants, statSync } from "node:fs";
import { delimiter, dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

/** The package version; stamped by scripts/package.sh from ServerConfiguration.serverVersion. */
export const version = "0+source";

export const DownloadStatus = Object.freeze({
  QUEUED: "queued",
  STARTING: "starting",
  DOWNLOADING: "downloading",
  VERIFYING: "verifying",
  COMPLETE: "complete",
  ERROR: "error",
  CANCELLED: "cancelled",
});
const TERMINAL = new Set(["complete", "error", "cancelled"]);
const CLIENT_KINDS = { [-32700]: "parse_error", [-32600]: "invalid_request", [-32601]: "method_not_found", [-32602]: "invalid_params", [-32603]: "internal" };
// Options that configure this client, never sent to the server.
const CLIENT_OPTIONS = new Set(["signal", "binary", "env", "onProgress", "stderr"]);

const here = dirname(fileURLToPath(import.meta.url));

function isExecutable(path) {
  try {
    if (!statSync(path).isFile()) return false;
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The binary shipped in this package (`bin/modelpull`), or undefined. */
export function bundledBinary() {
  const path = join(here, "bin", "modelpull");
  try {
    if (!statSync(path).isFile()) return undefined;
  } catch {
    return undefined;
  }
  if (!isExecutable(path)) {
    try {
      chmodSync(path, 0o755); // an unpacker that dropped the executable bit
    } catch {
      return undefined;
    }
  }
  return path;
}

/** Where `modelpull` is: `binary`, else $MODELPULL, else the bundled binary, else PATH. */
export function findBinary(binary) {
  if (binary) return binary;
  if (process.env.MODELPULL) return process.env.MODELPULL;
  const bundled = bundledBinary();
  if (bundled) return bundled;
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (dir && isExecutable(join(dir, "modelpull"))) return join(dir, "modelpull");
  }
  throw new ModelPullError("no modelpull binary: install the platform package (it carries one), set MODELPULL to the binary's path, or put `modelpull` on PATH", { kind: "process" });
}

/** A failed request: `kind` (not_found, network, cancelled, …, or process / invalid_params), `retryable`, `code`, `data`. */
export class ModelPullError extends Error {
  constructor(message, { kind, retryable = false, code, data } = {}) {
    super(message);
    this.name = "ModelPullError";
    this.kind = kind ?? "internal";
    this.retryable = retryable;
    this.code = code;
    this.data = data ?? {};
  }

  static fromWire(error) {
    const data = error && typeof error.data === "object" && error.data !== null ? error.data : {};
    return new ModelPullError(String(error?.message ?? "modelpull error"), {
      kind: data.kind ?? CLIENT_KINDS[error?.code] ?? "internal",
      retryable: Boolean(data.retryable),
      code: error?.code,
      data,
    });
  }

  /** The terminal progress event for this error, keeping the last byte counts. */
  toProgress(last) {
    return {
      status: this.kind === "cancelled" ? "cancelled" : "error",
      message: this.message,
      ...(last?.percent !== undefined && { percent: last.percent }),
      ...(last?.downloadedBytes !== undefined && { downloadedBytes: last.downloadedBytes }),
      ...(last?.totalBytes !== undefined && { totalBytes: last.totalBytes }),
      ...((this.data.downloadId ?? last?.downloadId) !== undefined && { downloadId: this.data.downloadId ?? last?.downloadId }),
      errorKind: this.kind,
      retryable: this.retryable,
      ...(this.code !== undefined && { errorCode: this.code }),
      error: this.data,
    };
  }
}

function progressFromWire(params) {
  const { requestId, error, ...fields } = params;
  const progress = { ...fields };
  if (error && typeof error === "object") {
    progress.error = error;
    progress.errorKind = error.kind;
    progress.retryable = error.retryable;
  }
  return progress;
}

function completed(result, terminal, last) {
  const base = terminal ?? last ?? {};
  const progress = {
    status: "complete",
    message: terminal?.message || result.message || "Download complete",
    percent: 100,
    ...(base.downloadedBytes !== undefined && { downloadedBytes: base.downloadedBytes }),
    ...(base.totalBytes !== undefined && { totalBytes: base.totalBytes }),
    ...(base.filesDone !== undefined && { filesDone: base.filesDone }),
    ...(base.filesTotal !== undefined && { filesTotal: base.filesTotal }),
    downloadId: result.downloadId ?? base.downloadId,
    path: result.path,
    files: result.files,
    revision: result.revision,
    bytesDownloaded: result.bytesDownloaded,
    bytesReused: result.bytesReused,
  };
  if (progress.totalBytes === undefined && Array.isArray(result.files)) {
    progress.totalBytes = progress.downloadedBytes = result.files.reduce((sum, f) => sum + (f.size ?? 0), 0);
  }
  return progress;
}

function failed(error, terminal, last) {
  const progress = error.toProgress(terminal ?? last);
  if (terminal?.message) progress.message = terminal.message;
  return progress;
}

/** The models/download params: options minus the client's own, undefined left out. */
function wireParams(provider, model, options = {}) {
  const params = { provider, model };
  for (const [key, value] of Object.entries(options)) {
    if (value === undefined || value === null || CLIENT_OPTIONS.has(key)) continue;
    params[key] = (key === "include" || key === "exclude") && typeof value === "string" ? [value] : value;
  }
  return params;
}

function abortedProgress() {
  return new ModelPullError("The download was cancelled before it started.", { kind: "cancelled", retryable: true }).toProgress();
}

/**
 * One long-lived `modelpull` process serving many calls. Methods that return a value reject
 * with ModelPullError; `stream()` yields failures as a final `error` event instead.
 */
export class ModelPull {
  #binary;
  #args;
  #env;
  #stderr;
  #closeTimeout;
  #child;
  #exited;
  #exitError;
  #starting;
  #closing;
  #nextId = 1;
  #routes = new Map();
  #refed = true;

  constructor({ binary, args = [], env, stderr = "inherit", closeTimeout = 5000 } = {}) {
    this.#binary = binary;
    this.#args = args;
    this.#env = env;
    this.#stderr = stderr;
    this.#closeTimeout = closeTimeout;
    /** The hello result: protocolVersion, server {name, version}, capabilities. */
    this.serverInfo = undefined;
  }

  get pid() {
    return this.#child?.pid;
  }

  /** Starts the process and greets it (`hello`). */
  start() {
    this.#starting ??= this.#start();
    return this.#starting;
  }

  async #start() {
    if (this.#closing) throw new ModelPullError("this ModelPull is closed", { kind: "process" });
    const binary = findBinary(this.#binary);
    const child = spawn(binary, this.#args, { stdio: ["pipe", "pipe", this.#stderr], env: this.#env ?? process.env });
    this.#child = child;
    this.#exited = new Promise((resolve) => child.once("close", resolve));
    const spawned = new Promise((resolve, reject) => {
      child.once("spawn", resolve);
      child.once("error", reject);
    });
    child.on("error", () => {}); // reported through the exit path below
    child.stdin.on("error", () => {}); // EPIPE when the process is gone: the exit path reports it
    const lines = createInterface({ input: child.stdout, crlfDelay: Infinity });
    lines.on("line", (line) => this.#receive(line));
    child.once("close", (code, signal) => {
      this.#exitError = new ModelPullError(`the modelpull process exited (${signal ?? `status ${code}`})`, { kind: "process", retryable: true });
      const routes = [...this.#routes.values()];
      this.#routes.clear();
      this.#updateRef();
      for (const route of routes) route("exit", this.#exitError);
    });
    try {
      await spawned;
    } catch (error) {
      this.#exited = Promise.resolve(); // never ran: nothing to wait for
      throw new ModelPullError(`cannot start modelpull (${binary}): ${error.message}`, { kind: "process" });
    }
    this.serverInfo = await this.request("hello", { protocolVersions: ["1.0"], client: { name: "modelpull-node", version } });
    return this;
  }

  // An idle ModelPull does not keep node alive (like a timer.unref()): node may exit, which
  // closes the pipe, and modelpull exits on stdin EOF. Calls in flight keep it alive.
  #addRoute(id, route) {
    this.#routes.set(id, route);
    this.#updateRef();
  }

  #dropRoute(id) {
    this.#routes.delete(id);
    this.#updateRef();
  }

  #updateRef() {
    const child = this.#child;
    const busy = this.#routes.size > 0;
    if (!child || busy === this.#refed) return;
    this.#refed = busy;
    for (const handle of [child, child.stdin, child.stdout]) {
      if (busy) handle?.ref?.();
      else handle?.unref?.();
    }
  }

  #receive(line) {
    let message;
    try {
      message = JSON.parse(line);
    } catch {
      return;
    }
    if (message === null || typeof message !== "object") return;
    if (message.method === "downloads/progress") {
      this.#routes.get(message.params?.requestId)?.("progress", message.params);
    } else if ("id" in message && ("result" in message || "error" in message)) {
      const route = this.#routes.get(message.id);
      this.#dropRoute(message.id);
      route?.("reply", message);
    }
  }

  #send(message) {
    if (this.#exitError) throw this.#exitError;
    if (!this.#child || this.#closing) throw new ModelPullError("modelpull is not running", { kind: "process" });
    this.#child.stdin.write(JSON.stringify(message) + "\n");
  }

  /** Any JSON-RPC request; resolves with its result, rejects with ModelPullError. */
  async request(method, params) {
    if (method !== "hello") await this.start();
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#addRoute(id, (kind, payload) => {
        if (kind === "exit") reject(payload);
        else if (payload.error) reject(ModelPullError.fromWire(payload.error));
        else resolve(payload.result);
      });
      try {
        this.#send({ jsonrpc: "2.0", id, method, ...(params === undefined ? {} : { params }) });
      } catch (error) {
        this.#dropRoute(id);
        reject(error);
      }
    });
  }

  /**
   * Downloads and yields progress objects, ending with exactly one `complete`, `error` or
   * `cancelled` event (failures are yielded, not thrown). `options.signal` cancels; leaving the
   * loop early cancels too.
   */
  async *stream(provider, model, options = {}) {
    const { signal } = options;
    if (signal?.aborted) {
      yield abortedProgress();
      return;
    }
    try {
      await this.start();
    } catch (error) {
      yield (error instanceof ModelPullError ? error : new ModelPullError(String(error), { kind: "process" })).toProgress();
      return;
    }
    const id = this.#nextId++;
    const queue = [];
    let wake;
    this.#addRoute(id, (kind, payload) => {
      queue.push([kind, payload]);
      wake?.();
    });
    const onAbort = () => this.#notify("$/cancelRequest", { id });
    signal?.addEventListener("abort", onAbort, { once: true });
    let finished = false;
    let last;
    let terminal;
    try {
      try {
        this.#send({ jsonrpc: "2.0", id, method: "models/download", params: wireParams(provider, model, options) });
      } catch (error) {
        finished = true;
        yield error.toProgress();
        return;
      }
      for (;;) {
        while (queue.length === 0) await new Promise((resolve) => (wake = resolve));
        const [kind, payload] = queue.shift();
        if (kind === "progress") {
          const progress = progressFromWire(payload);
          if (TERMINAL.has(progress.status)) terminal = progress;
          else {
            last = progress;
            yield progress;
          }
          continue;
        }
        finished = true;
        if (kind === "exit") yield payload.toProgress(last);
        else if (payload.error) yield failed(ModelPullError.fromWire(payload.error), terminal, last);
        else yield completed(payload.result ?? {}, terminal, last);
        return;
      }
    } finally {
      signal?.removeEventListener("abort", onAbort);
      this.#dropRoute(id);
      if (!finished) this.#notify("$/cancelRequest", { id });
    }
  }

  /** Downloads; resolves with the `complete` event (path, files, …), rejects with ModelPullError. */
  async download(provider, model, options = {}) {
    const { onProgress } = options;
    let final;
    for await (const progress of this.stream(provider, model, options)) {
      if (TERMINAL.has(progress.status)) {
        final = progress;
        break;
      }
      await onProgress?.(progress);
    }
    if (!final) throw new ModelPullError("the download ended without a result", { kind: "process" });
    if (final.status !== "complete") {
      throw new ModelPullError(final.message, { kind: final.errorKind, retryable: Boolean(final.retryable), code: final.errorCode, data: final.error });
    }
    return final;
  }

  #notify(method, params) {
    try {
      this.#send({ jsonrpc: "2.0", method, params });
    } catch {
      // the process is gone or closing: nothing left to cancel
    }
  }

  /** Stops a download for every request sharing it (`downloads/cancel`). */
  cancel(downloadId) {
    return this.request("downloads/cancel", { downloadId });
  }

  /** Downloads running or queued in this process. */
  async downloads() {
    return (await this.request("downloads/list")).downloads;
  }

  /** Models present locally: [{provider, model, path, sizeBytes, complete, …}]. */
  async listModels(provider, { cacheDir, baseUrl } = {}) {
    const params = {};
    if (provider !== undefined) params.provider = provider;
    if (cacheDir !== undefined) params.cacheDir = cacheDir;
    if (baseUrl !== undefined) params.baseUrl = baseUrl;
    return (await this.request("models/list", params)).models;
  }

  /** Deletes a local model: {provider, model, deleted, freedBytes?, message?}. */
  deleteModel(provider, model, { cacheDir, baseUrl } = {}) {
    const params = { provider, model };
    if (cacheDir !== undefined) params.cacheDir = cacheDir;
    if (baseUrl !== undefined) params.baseUrl = baseUrl;
    return this.request("models/delete", params);
  }

  /** Each provider with `available` and, when it cannot serve, the `reason`. */
  async providers() {
    return (await this.request("providers/list")).providers;
  }

  /**
   * Ends stdin (the server cancels what runs, keeping partial files, and exits), waits up to
   * `closeTimeout` ms, then SIGTERM, then SIGKILL. Resolves once the process is gone.
   */
  async close() {
    this.#closing = true;
    const child = this.#child;
    if (!child) return;
    if (!child.stdin.destroyed) child.stdin.end();
    // Keep node alive until the process is gone, so close() always reaps it.
    this.#refed = true;
    for (const handle of [child, child.stdout]) handle?.ref?.();
    const timeout = (ms) => new Promise((resolve) => setTimeout(resolve, ms, "timeout").unref());
    if ((await Promise.race([this.#exited, timeout(this.#closeTimeout)])) === "timeout") {
      child.kill("SIGTERM");
      if ((await Promise.race([this.#exited, timeout(2000)])) === "timeout") child.kill("SIGKILL");
      await this.#exited;
    }
  }

  async [Symbol.asyncDispose]() {
    await this.close();
  }
}

/**
 * Downloads a model and yields progress objects (camelCase fields: status, message, percent,
 * downloadedBytes, totalBytes, bytesPerSecond, etaSeconds, file, filesDone, filesTotal, and on
 * the last event errorKind/retryable or path/files). The last event is `complete`, `error` or
 * `cancelled`: failures are yielded, never thrown. `options.signal` (an AbortSignal) cancels,
 * and so does leaving the loop; partial files stay and the next call resumes them. Each call
 * runs its own `modelpull` process and reaps it before the iteration ends.
 */
export async function* downloadModel(provider, model, options = {}) {
  const client = new ModelPull({ binary: options.binary, env: options.env, stderr: options.stderr });
  try {
    yield* client.stream(provider, model, options);
  } finally {
    await client.close();
  }
}

export default downloadModel;
