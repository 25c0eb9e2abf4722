/** `npm run bench` (full) and `npm run bench -- --quick` (< 2 minutes): codec, throughput, fan-out and memory,
 *  each figure measured in the same run as its baseline; markdown tables on stdout, then one JSON line summarising
 *  the key figures (the last line of the output).
 *
 *  Options: --quick; --only=codec,throughput,fanout,setup,soak; --no-go (skip every gomoqt row).
 *  @module */
import { execSync } from "node:child_process";
import { cpus } from "node:os";
import { codecTable, geomeanRatio, runCodec } from "./codec.js";
import { buildGomoqtPub, fanoutProbeTable, fanoutTable, runFanout, type FanoutRow } from "./fanout.js";
import { runSetup, setupTable } from "./setup.js";
import { runSoak, soakTable, type SoakResult } from "./soak.js";
import { runThroughput, throughputTable, type ThroughputRow } from "./throughput.js";

const quick = process.argv.includes("--quick");
const only = process.argv
  .find((a) => a.startsWith("--only="))
  ?.slice(7)
  .split(",");
const want = (k: string) => !only || only.includes(k);
const noGo = process.argv.includes("--no-go");
const log = (s: string) => console.error(`[${((performance.now() - T0) / 1000).toFixed(0)}s] ${s}`);
const T0 = performance.now();
const r3 = (v: number | undefined) =>
  v === undefined || Number.isNaN(v) ? null : Math.round(v * 1000) / 1000;

let commit = "?";
try {
  commit = execSync("git rev-parse --short HEAD", { encoding: "utf8" }).trim();
} catch {
  // not a git checkout
}
console.log(
  `# moqt bench (${quick ? "quick" : "full"}) — ${new Date().toISOString()}, commit ${commit}, ` +
    `${cpus().length} cores (${cpus()[0]?.model ?? "?"}), Node ${process.version}, load average ${execSync("cat /proc/loadavg", { encoding: "utf8" }).split(" ").slice(0, 3).join(" ")}\n`,
);
const summary: Record<string, unknown> = { mode: quick ? "quick" : "full", commit };

// 1) codec (first: the machine is quietest before we start processes)
if (want("codec")) {
  log("codec…");
  const { rows, go } = await runCodec(quick, !noGo);
  console.log("## Codec (ns/op)\n");
  if (go?.error) console.log(`gomoqt: not measured: ${go.error}\n`);
  else if (go) console.log(`gomoqt: ${go.goVersion}; \`${go.command}\`\n`);
  console.log(codecTable(rows) + "\n");
  const msg = rows.filter((r) => !r.name.startsWith("FRAME"));
  const gm = (xs: number[]) => Math.exp(xs.reduce((a, b) => a + Math.log(b), 0) / xs.length);
  summary.codecEncodeNs = r3(gm(msg.filter((r) => r.name.endsWith("encode")).map((r) => r.tsNs)));
  summary.codecDecodeNs = r3(gm(msg.filter((r) => r.name.endsWith("decode")).map((r) => r.tsNs)));
  summary.codecSubscribeEncodeNs = r3(rows.find((r) => r.name === "SUBSCRIBE encode")?.tsNs);
  summary.codecSubscribeDecodeNs = r3(rows.find((r) => r.name === "SUBSCRIBE decode")?.tsNs);
  summary.codecGomoqtOverMoqtEncode = r3(geomeanRatio(msg, (r) => r.name.endsWith("encode")));
  summary.codecGomoqtOverMoqtDecode = r3(geomeanRatio(msg, (r) => r.name.endsWith("decode")));
}

// 2) throughput
let tput: ThroughputRow[] = [];
if (want("throughput")) {
  log("throughput…");
  tput = await runThroughput({ quick, log });
  console.log("## Throughput: one MoQ track vs one raw stream\n");
  console.log(throughputTable(tput) + "\n");
  const ratios = tput.map((r) => r.ratio).sort((a, b) => a - b);
  summary.moqOverRaw = r3(ratios[ratios.length >> 1]);
  summary.moqOverRawMin = r3(ratios[0]);
  summary.moqOverRawBySize = Object.fromEntries(
    tput.map((r) => [`${r.transport}:${r.size / 1024}K`, r3(r.ratio)]),
  );
}

// 3) fan-out
if (want("fanout")) {
  const gobin = noGo ? { error: "--no-go" } : await buildGomoqtPub();
  type Step = [FanoutRow["mode"], number, ("moq-00" | "h3")?];
  const plan: Step[] = quick
    ? [
        ["relay", 1],
        ["relay", 10],
        ["relay", 100],
        ["relay", 100, "h3"],
        ["direct", 100],
        ["gomoqt", 100],
      ]
    : [
        ...(["relay", "direct", "gomoqt"] as const).flatMap((m) =>
          [1, 10, 100, 500].map((n): Step => [m, n]),
        ),
        ["relay", 100, "h3"],
        ["relay", 500, "h3"],
      ];
  const rows: FanoutRow[] = [];
  for (const [mode, subs, transport = "moq-00"] of plan) {
    if (mode === "gomoqt" && !gobin.bin) {
      rows.push({ mode, subs, transport, error: gobin.error } as FanoutRow);
      continue;
    }
    try {
      rows.push(
        await runFanout({
          mode,
          subs,
          transport,
          warmS: quick ? 1.5 : 3,
          windowS: quick ? 4 : 15,
          ...(gobin.bin ? { gomoqtBin: gobin.bin } : {}),
          log,
        }),
      );
    } catch (e) {
      rows.push({ mode, subs, transport, error: e instanceof Error ? e.message : String(e) } as FanoutRow);
    }
  }
  console.log(
    "## Fan-out: 1 publisher → N subscribers, 30 fps × 10 KB, 1 group/s (raw QUIC unless marked h3; subscribers " +
      "in before the media starts)\n",
  );
  console.log(fanoutTable(rows) + "\n");
  console.log("### Where the tail comes from\n");
  console.log(fanoutProbeTable(rows) + "\n");
  const at = (m: string, n: number, t = "moq-00") =>
    rows.find((r) => r.mode === m && r.subs === n && r.transport === t && !r.error);
  const top = quick ? 100 : 500;
  const r100 = at("relay", 100);
  summary.fanoutLoss = r3(r100 ? 1 - r100.delivered : undefined);
  summary.fanoutP50Ms = r3(r100?.p50);
  summary.fanoutP99Ms = r3(r100?.p99);
  summary.fanoutMaxMs = r3(r100?.max);
  summary.relayCoresAt100 = r3(r100?.cpu.relay);
  summary.relayEgressMbpsPerCore = r3(r100?.egressPerCoreMbps);
  summary.fanoutP99FirstFrameMs = r3(r100?.p99First);
  summary.fanoutP99OtherFramesMs = r3(r100?.p99Rest);
  summary.relayGcMaxMs = r3(r100?.sender?.gcMaxMs);
  summary.relayLoopDelayMaxMs = r3(r100?.sender?.loopMaxMs);
  const h3 = at("relay", 100, "h3");
  summary.fanoutH3Loss = r3(h3 ? 1 - h3.delivered : undefined);
  summary.fanoutH3P99Ms = r3(h3?.p99);
  if (!quick) {
    const r500 = at("relay", 500);
    summary.fanout500Connected = r500?.connected ?? null;
    summary.fanout500Loss = r3(r500 ? 1 - r500.delivered : undefined);
    summary.fanout500P99Ms = r3(r500?.p99);
  }
  for (const n of [100, top]) {
    const d = at("direct", n);
    const g = at("gomoqt", n);
    summary[`direct${n}P99Ms`] = r3(d?.p99);
    summary[`gomoqt${n}P99Ms`] = r3(g?.p99);
    summary[`gomoqt${n}Loss`] = r3(g ? 1 - g.delivered : undefined);
    // >1: gomoqt costs more CPU than our direct Server for the same load
    summary[`gomoqtOverDirectCpu${n}`] = r3(d && g ? g.cpu.pub / d.cpu.pub : undefined);
    summary[`gomoqtOverDirectP99${n}`] = r3(d && g ? g.p99 / d.p99 : undefined);
  }
}

// 3b) session setup rate (a Server child, dials from here)
if (want("setup")) {
  log("session setup…");
  const r = await runSetup({ quick, log });
  console.log("## Session setup rate\n\n" + setupTable(r) + "\n");
  for (const x of r.runs) {
    const k = `setup${x.transport === "raw QUIC" ? "Raw" : "Wt"}${x.concurrency === 1 ? "Seq" : "Conc"}`;
    summary[`${k}PerSec`] = r3(x.perSec);
    summary[`${k}P99Ms`] = r3(x.p99Ms);
  }
}

// 4) memory
if (want("soak")) {
  log("soak…");
  const s: SoakResult = await runSoak({ seconds: quick ? 20 : 600, log });
  console.log("## Memory: relay soak with subscriber churn\n");
  console.log(soakTable(s) + "\n");
  summary.soakSeconds = s.seconds;
  summary.relayRssStartMB = r3(s.rssStartMB);
  summary.relayRssEndMB = r3(s.rssEndMB);
  summary.relayRssSlopeMBmin = r3(s.rssSlopeMBmin);
  summary.relayHeapSlopeMBmin = r3(s.heapSlopeMBmin);
  summary.heapPerIdleSubKB = r3(s.heapPerIdleSubKB);
}

summary.seconds = Math.round((performance.now() - T0) / 1000);
log("done");
console.log(JSON.stringify(summary));
process.exit(0);
