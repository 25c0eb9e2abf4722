/** Fuzz runner: `npm run fuzz [-- --quick | --budget SECONDS] [--seed N] [--only SUBSTRING]`.
 *
 *  Runs every target (decoders, ChunkBuffer, frame reader, session state machine in both roles) with fast-check for
 *  its share of the time budget, prints cases per target and, last, one JSON summary line. Exit code 1 on any
 *  failure; each failure prints the seed and path to replay it (`--seed N --path P --only TARGET`).
 *  @module */
import fc from "fast-check";
import { decoderTargets } from "./decoders.js";
import { outcomeStats, sessionTargets } from "./session.js";
import type { Target } from "./target.js";

interface Args {
  budgetS: number;
  seed: number;
  only: string | undefined;
  path: string | undefined;
  quick: boolean;
  stats: boolean;
}

function parseArgs(argv: string[]): Args {
  const a: Args = {
    budgetS: 600,
    seed: Date.now() % 2 ** 31,
    only: undefined,
    path: undefined,
    quick: false,
    stats: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i]!;
    const v = (): string => {
      const x = argv[++i];
      if (x === undefined) throw new Error(`${k} needs a value`);
      return x;
    };
    if (k === "--quick") {
      a.quick = true;
      a.budgetS = 100;
    } else if (k === "--budget") a.budgetS = Number(v());
    else if (k === "--seed") a.seed = Number(v());
    else if (k === "--only") a.only = v();
    else if (k === "--path") a.path = v();
    else if (k === "--stats") a.stats = true;
    else if (k === "--help" || k === "-h") {
      console.log(
        "usage: npm run fuzz -- [--quick] [--budget SECONDS] [--seed N] [--only TARGET] [--path P] [--stats]",
      );
      process.exit(0);
    } else throw new Error(`unknown argument ${k}`);
  }
  if (!(a.budgetS > 0)) throw new Error("--budget must be positive");
  return a;
}

interface Result {
  target: string;
  cases: number;
  failed: boolean;
  seed: number;
  path?: string;
  error?: string;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const all: Target[] = [...decoderTargets, ...sessionTargets];
  const targets = all.filter((t) => !args.only || t.name.includes(args.only));
  if (targets.length === 0) throw new Error(`no target matches ${args.only}`);
  const totalWeight = targets.reduce((n, t) => n + t.weight, 0);
  const started = Date.now();
  console.log(
    `fuzz: ${targets.length} targets, budget ${args.budgetS} s, seed ${args.seed}${args.quick ? " (quick)" : ""}`,
  );
  const results: Result[] = [];
  for (const t of targets) {
    const ms = Math.max(500, Math.floor((args.budgetS * 1000 * t.weight) / totalWeight));
    const t0 = Date.now();
    const params: fc.Parameters<unknown> = {
      seed: args.seed,
      numRuns: args.path ? 1 : 1_000_000_000,
      interruptAfterTimeLimit: ms,
      markInterruptAsFailure: false,
      ...(args.path ? { path: args.path } : {}),
    };
    const details = await fc.check(t.property() as fc.IAsyncProperty<unknown>, params);
    const r: Result = { target: t.name, cases: details.numRuns, failed: details.failed, seed: args.seed };
    if (details.failed) {
      r.path = details.counterexamplePath ?? undefined;
      const err = details.errorInstance;
      r.error = err instanceof Error ? (err.stack ?? err.message) : String(err);
    }
    results.push(r);
    const secs = ((Date.now() - t0) / 1000).toFixed(1);
    console.log(
      `${r.failed ? "FAIL" : "ok  "} ${t.name.padEnd(28)} ${String(r.cases).padStart(9)} cases  ${secs} s`,
    );
    if (r.failed) {
      console.log(`     replay: npm run fuzz -- --only '${t.name}' --seed ${args.seed} --path '${r.path}'`);
      console.log(`     counterexample: ${fc.stringify(details.counterexample)}`);
      console.log(`     ${r.error?.split("\n").slice(0, 12).join("\n     ")}`);
    }
  }
  if (args.stats)
    for (const [k, n] of [...outcomeStats].sort((x, y) => x[0].localeCompare(y[0])))
      console.log(`  ${k}: ${n}`);
  const summary = {
    seed: args.seed,
    budgetSeconds: args.budgetS,
    elapsedSeconds: Math.round((Date.now() - started) / 100) / 10,
    totalCases: results.reduce((n, r) => n + r.cases, 0),
    failures: results.filter((r) => r.failed).map((r) => ({ target: r.target, path: r.path })),
    targets: Object.fromEntries(results.map((r) => [r.target, r.cases])),
  };
  console.log(JSON.stringify(summary));
  process.exitCode = summary.failures.length ? 1 : 0;
}

main().then(
  () => {
    // Session targets may leave timers of closed sessions behind; do not wait for them.
    setTimeout(() => process.exit(), 100).unref();
  },
  (e: unknown) => {
    console.error(e);
    process.exit(2);
  },
);
