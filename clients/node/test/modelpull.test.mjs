// Tests of the installed `modelpull` npm package against loopback servers (clients/testing).
// scripts/test_packages.sh copies this file into a fresh folder where the tgz is installed and
// runs `node --test` there, with the Swift toolchain off PATH, so `import "modelpull"` is the
// package as a user gets it. MODELPULL_TEST_SERVERS names clients/testing/fake_servers.py.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync, execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { setTimeout as sleep } from "node:timers/promises";

import { downloadModel, ModelPull, ModelPullError, DownloadStatus, findBinary, bundledBinary, version } from "modelpull";

const work = mkdtempSync(join(tmpdir(), "modelpull-nodetest-"));
let servers;
let info;

before(async () => {
  const script = process.env.MODELPULL_TEST_SERVERS;
  assert.ok(script, "set MODELPULL_TEST_SERVERS to clients/testing/fake_servers.py");
  servers = spawn("python3", [script, "--root", join(work, "www")], { stdio: ["pipe", "pipe", "inherit"] });
  const lines = createInterface({ input: servers.stdout });
  info = JSON.parse(await new Promise((resolve) => lines.once("line", resolve)));
});

after(() => {
  servers.stdin.end();
  servers.kill();
});

const setRate = async (rate) => (await fetch(`${info.static}/_control?rate=${rate}`)).text();
const bytesSent = async () => (await (await fetch(`${info.static}/_stats`)).json()).bytesSent;
const fresh = () => mkdtempSync(join(work, "d-"));
const sha256 = (path) => createHash("sha256").update(readFileSync(path)).digest("hex");

/** Our child processes (zombies too), except the test servers. */
function children() {
  const found = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === servers.pid) continue;
    let stat;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, "utf8");
    } catch {
      continue;
    }
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (Number(fields[1]) === process.pid) found.push(`${entry} ${fields[0]}`);
  }
  return found;
}

async function collect(iterable) {
  const events = [];
  for await (const p of iterable) events.push(p);
  return events;
}

/** Bytes and percent never decrease; exactly one terminal event, the last. */
function checkStream(events) {
  assert.ok(events.length > 0);
  const terminal = events.filter((e) => ["complete", "error", "cancelled"].includes(e.status));
  assert.equal(terminal.length, 1, events.map((e) => e.status).join(","));
  assert.equal(events.at(-1), terminal[0]);
  let bytes = -1;
  let percent = -1;
  for (const e of events) {
    if (e.downloadedBytes !== undefined) {
      assert.ok(e.downloadedBytes >= bytes, `bytes went back: ${bytes} -> ${e.downloadedBytes}`);
      bytes = e.downloadedBytes;
    }
    if (e.percent !== undefined) {
      assert.ok(e.percent >= percent);
      percent = e.percent;
    }
  }
  return events.at(-1);
}

async function assertStoppedThenResumes(dir, f) {
  assert.deepEqual(children(), []);
  await sleep(1000); // server threads notice the closed sockets
  const before = await bytesSent();
  await sleep(1000);
  assert.equal(await bytesSent(), before, "still transferring after the cancel");
  assert.ok(existsSync(join(dir, ".modelpull", "big.bin.partial")));
  await setRate(0);
  const last = checkStream(await collect(downloadModel("url", f.url, { sha256: f.sha256, localDir: dir })));
  assert.equal(last.status, "complete", last.message);
  assert.ok(last.bytesReused > 0, "the partial file was not resumed");
  assert.ok(last.bytesDownloaded < f.size);
  assert.equal(sha256(last.path), f.sha256);
}

describe("installation", () => {
  test("the bundled binary runs without the toolchain", () => {
    assert.equal(process.env.MODELPULL, undefined);
    const binary = findBinary();
    assert.equal(binary, bundledBinary());
    assert.ok(binary.startsWith(resolve("node_modules", "modelpull")), binary);
    const out = execFileSync(binary, ["--version"], { encoding: "utf8" });
    assert.ok(out.startsWith(`modelpull ${version} `), `${out} vs ${version}`);
    const manifest = JSON.parse(readFileSync(resolve("node_modules", "modelpull", "package.json"), "utf8"));
    assert.equal(manifest.version, version);
    assert.ok(!(process.env.PATH ?? "").includes("/opt/swift"));
    const libs = execFileSync("ldd", [binary], { encoding: "utf8" });
    for (const bad of ["not found", "libswift", "libFoundation", "libdispatch", "/opt/swift"]) assert.ok(!libs.includes(bad), libs);
    assert.equal(DownloadStatus.COMPLETE, "complete");
  });
});

describe("downloadModel", () => {
  test("url with checksum", async () => {
    const f = info.files["model.bin"];
    const dir = fresh();
    const events = await collect(downloadModel("url", f.url, { sha256: f.sha256, localDir: dir }));
    const last = checkStream(events);
    assert.equal(events[0].status, "starting");
    assert.equal(last.status, "complete", last.message);
    assert.equal(last.percent, 100);
    assert.equal(last.totalBytes, f.size);
    assert.equal(last.path, join(dir, "model.bin"));
    assert.deepEqual(last.files, [{ path: "model.bin", size: f.size, sha256: f.sha256 }]);
    assert.equal(sha256(last.path), f.sha256);
    assert.deepEqual(children(), []);
  });

  test("a Hugging Face repo with progress", async () => {
    await setRate(2_000_000);
    try {
      const dir = fresh();
      const events = await collect(downloadModel("huggingface", info.repo, { baseUrl: info.hub, cacheDir: dir }));
      const last = checkStream(events);
      assert.equal(last.status, "complete", last.message);
      const moving = new Set(events.filter((e) => e.status === "downloading" && e.downloadedBytes > 0).map((e) => e.downloadedBytes));
      assert.ok(moving.size >= 2, `no byte progress: ${[...moving]}`);
      assert.equal(last.totalBytes, info.repoBytes);
      assert.equal(last.filesTotal, info.repoFiles);
      assert.ok(last.path.startsWith(join(dir, "models--acme--tiny", "snapshots")));
      assert.deepEqual(last.files.map((f) => f.path).sort(), ["config.json", "model.safetensors", "tokenizer/tokenizer.json"]);
    } finally {
      await setRate(0);
    }
  });

  test("not_found arrives as an error event", async () => {
    const events = await collect(downloadModel("huggingface", "acme/missing", { baseUrl: info.hub, cacheDir: fresh() }));
    const last = checkStream(events);
    assert.equal(last.status, "error");
    assert.equal(last.errorKind, "not_found");
    assert.equal(last.retryable, false);
    assert.equal(last.errorCode, 1003);
  });

  test("an AbortSignal cancels; the next call resumes", async () => {
    const f = info.files["big.bin"];
    const dir = fresh();
    await setRate(300_000);
    const controller = new AbortController();
    const events = [];
    for await (const p of downloadModel("url", f.url, { sha256: f.sha256, localDir: dir, signal: controller.signal })) {
      events.push(p);
      if (p.downloadedBytes >= 2_000_000) controller.abort();
    }
    const last = checkStream(events);
    assert.equal(last.status, "cancelled");
    assert.equal(last.errorKind, "cancelled");
    await assertStoppedThenResumes(dir, f);
  });

  test("leaving the loop cancels; the next call resumes", async () => {
    const f = info.files["big.bin"];
    const dir = fresh();
    await setRate(300_000);
    for await (const p of downloadModel("url", f.url, { sha256: f.sha256, localDir: dir })) {
      assert.ok(!["complete", "error", "cancelled"].includes(p.status));
      if (p.downloadedBytes >= 2_000_000) break;
    }
    await assertStoppedThenResumes(dir, f);
  });

  test("an already aborted signal starts nothing", async () => {
    const events = await collect(downloadModel("url", info.files["model.bin"].url, { localDir: fresh(), signal: AbortSignal.abort() }));
    assert.deepEqual(events.map((e) => e.status), ["cancelled"]);
  });
});

describe("no process outlives node", () => {
  // "return" leaves the loop and the ModelPull unclosed: an idle ModelPull does not keep node
  // alive, so node exits by itself, and the modelpull process goes with it.
  for (const ending of ["process.exit(3)", "return"]) {
    test(`node ends (${ending}) with a ModelPull open`, async () => {
      const f = info.files["big.bin"];
      await setRate(300_000);
      try {
        const script = `
          import { ModelPull } from "modelpull";
          const mp = new ModelPull();
          await mp.start();
          console.log(mp.pid);
          async function main() {
            for await (const p of mp.stream("url", ${JSON.stringify(f.url)}, { localDir: ${JSON.stringify(fresh())} })) {
              if (p.downloadedBytes > 0) { ${ending}; }
            }
          }
          await main();
        `;
        const run = spawnSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8", timeout: 30_000 });
        assert.equal(run.error, undefined, "node did not exit by itself");
        const pid = Number(run.stdout.trim().split("\n")[0]);
        assert.ok(pid > 0, run.stdout + run.stderr);
        for (let i = 0; i < 100 && existsSync(`/proc/${pid}`); i++) await sleep(100);
        assert.ok(!existsSync(`/proc/${pid}`), `modelpull ${pid} outlived node`);
      } finally {
        await setRate(0);
      }
    });
  }
});

describe("ModelPull", () => {
  test("many calls on one process", async () => {
    const mp = new ModelPull();
    try {
      await mp.start();
      const pid = mp.pid;
      assert.equal(mp.serverInfo.server.version, version);
      assert.deepEqual((await mp.providers()).map((p) => p.name).sort(), ["huggingface", "mlx", "ollama", "url"]);
      const dir = fresh();
      const seen = [];
      const done = await mp.download("huggingface", info.repo, { baseUrl: info.hub, cacheDir: dir, onProgress: (p) => seen.push(p) });
      assert.equal(done.status, "complete");
      assert.ok(seen.length > 0);
      const models = await mp.listModels("huggingface", { cacheDir: dir });
      assert.deepEqual(models.map((m) => [m.model, m.complete, m.sizeBytes]), [["acme/tiny", true, info.repoBytes]]);
      const deleted = await mp.deleteModel("huggingface", info.repo, { cacheDir: dir });
      assert.equal(deleted.deleted, true);
      assert.deepEqual(await mp.listModels("huggingface", { cacheDir: dir }), []);
      await assert.rejects(mp.download("huggingface", "acme/missing", { baseUrl: info.hub, cacheDir: dir }), (error) => {
        assert.ok(error instanceof ModelPullError);
        assert.equal(error.kind, "not_found");
        assert.equal(error.code, 1003);
        assert.equal(error.retryable, false);
        assert.equal(error.data.kind, "not_found");
        return true;
      });
      await assert.rejects(mp.cancel("dl-nope"), { kind: "not_found" });
      assert.equal(mp.pid, pid);
    } finally {
      await mp.close();
    }
    assert.deepEqual(children(), []);
  });
});
