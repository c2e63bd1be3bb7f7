// Type declarations for the `modelpull` Node package (ESM).

export declare const version: string;

export type DownloadStatusValue =
  | "queued"
  | "starting"
  | "downloading"
  | "verifying"
  | "complete"
  | "error"
  | "cancelled";

export declare const DownloadStatus: Readonly<{
  QUEUED: "queued";
  STARTING: "starting";
  DOWNLOADING: "downloading";
  VERIFYING: "verifying";
  COMPLETE: "complete";
  ERROR: "error";
  CANCELLED: "cancelled";
}>;

export type Provider = "huggingface" | "mlx" | "ollama" | "url" | (string & {});

/** The error kinds of schema/v1, plus the client's own for protocol and process failures. */
export type ErrorKind =
  | "unsupported_provider" | "invalid_model" | "not_found" | "auth_required" | "access_denied"
  | "gated" | "rate_limited" | "network" | "upstream" | "integrity" | "disk_full" | "storage"
  | "provider_unavailable" | "cancelled" | "unsupported_protocol_version"
  | "invalid_params" | "invalid_request" | "method_not_found" | "parse_error" | "internal" | "process"
  | (string & {});

export interface DownloadedFile {
  /** Relative to the result's `path`, forward slashes. */
  path: string;
  size: number;
  sha256?: string;
}

/** One progress event. Bytes and percent never decrease; the last event is terminal. */
export interface DownloadProgress {
  status: DownloadStatusValue;
  message: string;
  percent?: number;
  downloadedBytes?: number;
  totalBytes?: number;
  bytesPerSecond?: number;
  etaSeconds?: number;
  file?: string;
  filesDone?: number;
  filesTotal?: number;
  downloadId?: string;
  /** On `error`/`cancelled`. */
  errorKind?: ErrorKind;
  retryable?: boolean;
  errorCode?: number;
  /** The error's `data` (kind, retryable, details, retryAfterSeconds, …). */
  error?: Record<string, unknown>;
  /** On `complete`: the local path (snapshot folder or file) and its files. */
  path?: string;
  files?: DownloadedFile[];
  revision?: string | null;
  bytesDownloaded?: number;
  bytesReused?: number;
}

/** The models/download params (camelCase, as on the wire) plus the client's options. */
export interface DownloadOptions {
  token?: string;
  baseUrl?: string;
  revision?: string;
  include?: string | string[];
  exclude?: string | string[];
  cacheDir?: string;
  localDir?: string;
  sha256?: string;
  fileName?: string;
  connections?: number;
  stallSeconds?: number;
  insecure?: boolean;
  /** Cancels the download; the iteration ends with a `cancelled` event. */
  signal?: AbortSignal;
  /** The binary to run (default: $MODELPULL, the bundled binary, then PATH). */
  binary?: string;
  env?: Record<string, string | undefined>;
  /** What to do with the process's stderr (logs): "inherit" (default), "ignore", "pipe". */
  stderr?: "inherit" | "ignore" | "pipe";
  /** Any further models/download param. */
  [param: string]: unknown;
}

export interface ModelPullOptions {
  binary?: string;
  args?: string[];
  env?: Record<string, string | undefined>;
  stderr?: "inherit" | "ignore" | "pipe";
  /** Milliseconds close() waits after ending stdin before SIGTERM. Default 5000. */
  closeTimeout?: number;
}

export interface LocalModel {
  provider: string;
  model: string;
  path?: string;
  sizeBytes: number;
  complete: boolean;
  revisions?: { revision?: string; commit: string; files: number; sizeBytes: number }[];
  digest?: string;
  modifiedAt?: string;
  details?: Record<string, unknown>;
}

export interface ProviderInfo {
  name: string;
  available: boolean;
  description: string;
  reason?: string;
  version?: string;
  baseUrl?: string;
}

export declare class ModelPullError extends Error {
  constructor(message: string, init?: { kind?: ErrorKind; retryable?: boolean; code?: number; data?: Record<string, unknown> });
  readonly kind: ErrorKind;
  readonly retryable: boolean;
  readonly code?: number;
  readonly data: Record<string, unknown>;
  toProgress(last?: DownloadProgress): DownloadProgress;
}

export declare class ModelPull {
  constructor(options?: ModelPullOptions);
  readonly pid: number | undefined;
  serverInfo: { protocolVersion: string; server: { name: string; version: string }; capabilities: Record<string, unknown> } | undefined;
  start(): Promise<this>;
  request<T = unknown>(method: string, params?: Record<string, unknown>): Promise<T>;
  stream(provider: Provider, model: string, options?: DownloadOptions): AsyncGenerator<DownloadProgress, void, undefined>;
  download(
    provider: Provider,
    model: string,
    options?: DownloadOptions & { onProgress?: (progress: DownloadProgress) => unknown },
  ): Promise<DownloadProgress>;
  cancel(downloadId: string): Promise<{ downloadId: string; cancelled: boolean; status: DownloadStatusValue }>;
  downloads(): Promise<Record<string, unknown>[]>;
  listModels(provider?: Provider, options?: { cacheDir?: string; baseUrl?: string }): Promise<LocalModel[]>;
  deleteModel(
    provider: Provider,
    model: string,
    options?: { cacheDir?: string; baseUrl?: string },
  ): Promise<{ provider: string; model: string; deleted: boolean; freedBytes?: number; message?: string }>;
  providers(): Promise<ProviderInfo[]>;
  /** Ends stdin (running downloads are cancelled, partial files kept), then waits for exit. Also `[Symbol.asyncDispose]` where the runtime has it. */
  close(): Promise<void>;
}

export declare function downloadModel(
  provider: Provider,
  model: string,
  options?: DownloadOptions,
): AsyncGenerator<DownloadProgress, void, undefined>;

export declare function findBinary(binary?: string): string;
export declare function bundledBinary(): string | undefined;

export default downloadModel;
