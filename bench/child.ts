/** Child processes of the benchmarks: every role (raw server, MoQ publisher, relay, subscriber workers, the gomoqt
 *  publisher) is a separate process that prints one JSON line on stdout when it is ready, then reads JSON lines on
 *  stdin and answers with JSON lines on stdout; closing its stdin ends it. Shared by bench/throughput.ts,
 *  bench/raw_transport.ts, bench/fanout.ts and bench/soak.ts.
 *  @module */
import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";

export interface Child<T> {
  child: ChildProcess;
  /** The first stdout line, parsed. */
  info: T;
  /** The following stdout lines. */
  lines: AsyncIterableIterator<string>;
}

/** Spawn `bin args…` and wait for its first stdout line (JSON). stderr is inherited. */
export async function spawnBin<T>(bin: string, args: string[]): Promise<Child<T>> {
  const child = spawn(bin, args, { stdio: ["pipe", "pipe", "inherit"] });
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const first = await lines.next();
  if (first.done) throw new Error(`${bin} ${args.join(" ")}: exited before its first line`);
  return { child, info: JSON.parse(first.value) as T, lines };
}

/** Spawn `node [nodeArgs…] --import tsx FILE args…` (a TypeScript bench file) and wait for its first stdout line. */
export function spawnChild<T>(file: string, args: string[], nodeArgs: string[] = []): Promise<Child<T>> {
  return spawnBin<T>(process.execPath, [...nodeArgs, "--import", "tsx", file, ...args]);
}

/** Send one JSON line and return the child's next stdout line, parsed. */
export async function request<R>(c: Pick<Child<unknown>, "child" | "lines">, msg: object): Promise<R> {
  c.child.stdin!.write(JSON.stringify(msg) + "\n");
  const r = await c.lines.next();
  if (r.done) throw new Error("child exited");
  return JSON.parse(r.value) as R;
}

/** Close the child's stdin (its signal to exit) and wait for it to exit; SIGTERM after `graceMs`. */
export async function stopChild(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const done = new Promise((r) => child.once("exit", r));
  child.stdin?.end();
  const t = setTimeout(() => child.kill("SIGTERM"), graceMs);
  await done;
  clearTimeout(t);
}

/** In a child: answer every stdin line with `{"cpuUs": …}` (this process's user+system CPU so far, µs), and run
 *  `onEnd` when stdin closes. Pairs with `childCpuUs`. */
export function serveCpu(onEnd: () => void): void {
  createInterface({ input: process.stdin })
    .on("line", () => {
      const c = process.cpuUsage();
      process.stdout.write(JSON.stringify({ cpuUs: c.user + c.system }) + "\n");
    })
    .on("close", onEnd);
}

/** A child's CPU so far (µs), from a child that runs `serveCpu`. */
export async function childCpuUs(c: Pick<Child<unknown>, "child" | "lines">): Promise<number> {
  return (await request<{ cpuUs: number }>(c, { cpu: true })).cpuUs;
}
