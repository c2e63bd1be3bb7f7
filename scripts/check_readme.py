#!/usr/bin/env python3
"""Runs the README's commands as a new user would, against loopback stand-ins for the Hub and a
file server, and fails on the first one that does not succeed. Standard library only.

    scripts/check_readme.py [--binary PATH] [--readme README.md]

Also checks that every relative link in README.md, ARCHITECTURE.md and docs/ resolves, and that
every test they cite by name exists.

What runs: every fenced block whose info string is exactly `sh` (each line a command, in one
working folder, in order), `python` (as a script) and `js` (as an ES module, with the `modelpull`
package resolvable). `https://example.com/` becomes the local file server and the Hub is the fake
one (HF_ENDPOINT), which serves every repository the README names. Blocks marked `sh packages`
are run by scripts/test_packages.sh against the built artifacts, and `sh dev` by .ci/run itself.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "clients", "testing"))
import fake_servers  # noqa: E402  (the loopback stand-ins for a file server and the Hub)


def blocks(readme: str) -> list[tuple[str, str]]:
    """(info string, body) of each fenced block, in order."""
    return [(m.group(1).strip(), m.group(2)) for m in re.finditer(r"^```([^\n]*)\n(.*?)^```", readme, re.S | re.M)]


def shell_commands(body: str) -> list[str]:
    commands, pending = [], ""
    for line in body.splitlines():
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        command = (pending + line).strip()
        pending = ""
        if command and not command.startswith("#"):
            commands.append(command)
    return commands


def documents() -> list[str]:
    """README.md, ARCHITECTURE.md and the pages in docs/, relative to the repository."""
    return ["README.md", "ARCHITECTURE.md"] + [os.path.join("docs", name) for name in sorted(os.listdir(os.path.join(REPO, "docs")))]


def broken_links() -> list[str]:
    """Relative links in README.md, ARCHITECTURE.md and docs/ that point at nothing."""
    broken = []
    for page in documents():
        text = open(os.path.join(REPO, page), encoding="utf-8").read()
        for match in re.finditer(r"\]\(([^)#\s]+)(#[^)]*)?\)", text):
            link = match.group(1)
            if re.match(r"[a-z]+:", link):
                continue
            if not os.path.exists(os.path.normpath(os.path.join(REPO, os.path.dirname(page), link))):
                broken.append(f"{page}: {link}")
    return broken


def missing_tests() -> list[str]:
    """Test names the documents cite (`testSomething`) that no test file defines."""
    cited = set()
    for page in documents():
        cited |= set(re.findall(r"\b(test[A-Z][A-Za-z0-9_]*)\b", open(os.path.join(REPO, page), encoding="utf-8").read()))
    defined = set()
    for folder, _, files in os.walk(os.path.join(REPO, "Tests")):
        for name in files:
            if name.endswith(".swift"):
                defined |= set(re.findall(r"func (test[A-Za-z0-9_]+)", open(os.path.join(folder, name), encoding="utf-8").read()))
    return sorted(cited - defined)


def write_random(path: str, size: int) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(os.urandom(size))


def run_blocks(readme: str, binary: str, root: str, info: dict) -> int:
    """Runs the README's blocks in `root` against the servers in `info`; returns how many ran."""
    work = os.path.join(root, "work")
    node_home = os.path.join(root, "node")
    os.makedirs(work)
    os.makedirs(os.path.join(node_home, "node_modules"))
    os.symlink(os.path.join(REPO, "clients", "node"), os.path.join(node_home, "node_modules", "modelpull"))
    env = {key: value for key, value in os.environ.items() if not key.startswith(("HF_", "HUGGING"))}
    env.update({
        "PATH": os.path.dirname(binary) + os.pathsep + env.get("PATH", ""),
        "MODELPULL": binary,
        "HF_ENDPOINT": info["hub"],
        "HF_HOME": os.path.join(root, "hf-home"),
        "XDG_CACHE_HOME": os.path.join(root, "cache"),
        "PYTHONPATH": os.path.join(REPO, "clients", "python"),
    })

    def run(label: str, command: list[str], cwd: str) -> None:
        print(f"$ {label}", flush=True)
        done = subprocess.run(command, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=120)
        if done.returncode != 0:
            print(done.stdout)
            raise SystemExit(f"check_readme: `{label}` exited {done.returncode}")

    ran = 0
    for info_string, body in blocks(readme):
        if info_string == "sh":
            for command in shell_commands(body):
                local = command.replace("https://example.com/", info["static"] + "/files/")
                run(command, ["bash", "-c", local], work)
                ran += 1
        elif info_string == "python":
            script = os.path.join(root, "snippet.py")
            with open(script, "w") as f:
                f.write(body)
            run("python3 <README snippet>", [sys.executable, script], work)
            ran += 1
        elif info_string == "js":
            if shutil.which("node") is None:
                raise SystemExit("check_readme: node is needed for the README's Node snippet")
            script = os.path.join(node_home, "snippet.mjs")
            with open(script, "w") as f:
                f.write(body)
            run("node <README snippet>", ["node", script], node_home)
            ran += 1
    return ran


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--binary", default=os.path.join(REPO, ".build", "debug", "modelpull"))
    parser.add_argument("--readme", default=os.path.join(REPO, "README.md"))
    args = parser.parse_args()
    readme = open(args.readme, encoding="utf-8").read()
    if broken := broken_links():
        sys.exit("check_readme: broken links:\n  " + "\n  ".join(broken))
    if missing := missing_tests():
        sys.exit("check_readme: the documents cite tests that do not exist:\n  " + "\n  ".join(missing))
    binary = os.path.abspath(args.binary)
    if not os.access(binary, os.X_OK):
        sys.exit(f"check_readme: no modelpull binary at {binary}; build first (swift build)")

    root = tempfile.mkdtemp(prefix="readme-check-")
    try:
        # What the README downloads, before the servers scan their folders.
        for repo in sorted(set(re.findall(r"(?:huggingface|mlx) ([A-Za-z0-9._-]+/[A-Za-z0-9._-]+)", readme))
                           | set(re.findall(r'"huggingface", "([A-Za-z0-9._-]+/[A-Za-z0-9._-]+)"', readme))):
            folder = os.path.join(root, "hub", repo)
            os.makedirs(folder, exist_ok=True)
            with open(os.path.join(folder, "config.json"), "w") as f:
                f.write('{"model_type": "tiny"}\n')
            write_random(os.path.join(folder, "model.safetensors"), 3_000_000)
        for name in set(re.findall(r"https://example\.com/([A-Za-z0-9._-]+)", readme)):
            write_random(os.path.join(root, "files", name), 2_000_000)

        with fake_servers.Running(root) as info:
            ran = run_blocks(readme, binary, root, info)
        if ran == 0:
            raise SystemExit("check_readme: the README has no runnable block; did the fences change?")
        print(f"check_readme: {ran} README commands and snippets ran and succeeded")
        return 0
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
