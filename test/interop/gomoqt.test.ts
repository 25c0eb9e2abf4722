// Interop with gomoqt v0.9.0: runs interop/gomoqt/run.sh (builds gomoqt's interop peers from the Go module, makes
// certificates, runs every row of the matrix) and asserts each row passed, by the exact lines the peers print.
import { describe, it, before } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";

interface Row {
  status: string;
  name: string;
  line: string;
}

let rows: Row[] = [];
let output = "";
let exitCode: number | null = null;

const EXPECTED = [
  "gomoqt-client -> gomoqt-server https",
  "quicpeer -> gomoqt-server moqt",
  "quicpeer -> gomoqt-server https",
  "moqt-client -> gomoqt-server https",
  "moqt-client -> gomoqt-server moqt",
  "gomoqt-client -> moqt-server https",
  "quicpeer -> moqt-server moqt",
];

describe("gomoqt interop matrix", { timeout: 900_000 }, () => {
  before(async () => {
    await new Promise<void>((resolve) => {
      const p = spawn("bash", ["interop/gomoqt/run.sh"], {
        env: { ...process.env, INTEROP_REQUIRE_MOQT: "1" },
        stdio: ["ignore", "pipe", "pipe"],
      });
      p.stdout.on("data", (d: Buffer) => (output += d.toString()));
      p.stderr.on("data", (d: Buffer) => (output += d.toString()));
      p.on("close", (code) => {
        exitCode = code;
        resolve();
      });
    });
    const summary = output.slice(output.lastIndexOf("==== gomoqt interop summary"));
    rows = summary
      .split("\n")
      .map((l) => /^(PASS|FAIL|NOT RUN)\s+(.+?)\s+\(/.exec(l))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => ({ status: m[1]!, name: m[2]!, line: m[0] }));
  });

  for (const name of EXPECTED) {
    it(name, () => {
      const row = rows.find((r) => r.name === name);
      assert.ok(row, `row "${name}" missing from the matrix output:\n${output.slice(-4000)}`);
      assert.equal(row.status, "PASS", `${row.line}\n${output.slice(-4000)}`);
    });
  }

  it("the runner exits 0", () => {
    assert.equal(exitCode, 0, output.slice(-2000));
  });
});
