/** Prometheus text exposition (format 0.0.4) for the relay's counters and gauges.
 *  @module */

export interface Sample {
  labels?: Record<string, string>;
  value: number;
}

export interface Metric {
  name: string;
  help: string;
  type: "counter" | "gauge";
  samples: Sample[];
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

function escapeHelp(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

function fmt(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  return String(v);
}

/** Render metrics in the Prometheus text format. */
export function renderMetrics(metrics: Metric[]): string {
  const out: string[] = [];
  for (const m of metrics) {
    out.push(`# HELP ${m.name} ${escapeHelp(m.help)}`);
    out.push(`# TYPE ${m.name} ${m.type}`);
    for (const s of m.samples) {
      const labels = s.labels
        ? Object.entries(s.labels)
            .map(([k, v]) => `${k}="${escapeLabel(v)}"`)
            .join(",")
        : "";
      out.push(`${m.name}${labels ? `{${labels}}` : ""} ${fmt(s.value)}`);
    }
  }
  return out.join("\n") + "\n";
}

/** Event-loop delay of this process: a 10 ms interval timer notes how late each tick fires. `read()` gives the
 *  99th percentile and the largest delay (seconds) since the previous read, then starts over. (A hand-rolled
 *  sampler rather than perf_hooks' monitorEventLoopDelay, whose reset drops the delay straddling the read.) */
export class LoopDelay {
  static readonly INTERVAL_MS = 10;
  /** Samples kept between reads (at 100/s, 80 s worth); later ones only count towards the maximum. */
  static readonly MAX_SAMPLES = 8192;
  #timer: ReturnType<typeof setInterval> | undefined;
  #samples: number[] = [];
  #max = 0;

  start(): void {
    if (this.#timer) return;
    let last = performance.now();
    this.#timer = setInterval(() => {
      const now = performance.now();
      const d = Math.max(0, now - last - LoopDelay.INTERVAL_MS);
      last = now;
      if (d > this.#max) this.#max = d;
      if (this.#samples.length < LoopDelay.MAX_SAMPLES) this.#samples.push(d);
    }, LoopDelay.INTERVAL_MS);
    this.#timer.unref?.();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** { p99, max } in seconds since the previous read (0 without samples); then reset. */
  read(): { p99: number; max: number } {
    const s = this.#samples.sort((a, b) => a - b);
    const p99 = s.length > 0 ? s[Math.min(s.length - 1, Math.floor(s.length * 0.99))]! : 0;
    const out = { p99: round6(p99 / 1000), max: round6(this.#max / 1000) };
    this.#samples = [];
    this.#max = 0;
    return out;
  }
}

function round6(x: number): number {
  return Number(x.toFixed(6));
}
