/** BitrateMonitor: samples the connection's bandwidth estimate and sends SESSION_UPDATE when it moves.
 *
 *  Every `intervalMs` it reads `transport.stats().bandwidthBps`; it sends SESSION_UPDATE when the value differs from
 *  the last one sent by more than `threshold` (relative), at most once per `minIntervalMs`. gomoqt Dec 2025 only
 *  receives SESSION_UPDATE (gomoqt.md §1.5, §4.5); this is the sending side it lacks. Stops with the session.
 *  @module */
import type { Session } from "./session.js";

export interface BitrateMonitorOptions {
  /** Sampling period, ms. Default 500. */
  intervalMs?: number;
  /** Relative change that triggers an update (0.2 = 20 %). Default 0.2. */
  threshold?: number;
  /** Minimum time between two updates, ms. Default 1000. */
  minIntervalMs?: number;
}

export class BitrateMonitor {
  #session: Session;
  #threshold: number;
  #minIntervalMs: number;
  #timer: ReturnType<typeof setInterval> | undefined;
  #lastSent: number | undefined;
  #lastSentAt = 0;
  #estimate: number | undefined;
  #sending = false;

  constructor(session: Session, opts: BitrateMonitorOptions = {}) {
    this.#session = session;
    this.#threshold = opts.threshold ?? 0.2;
    this.#minIntervalMs = opts.minIntervalMs ?? 1000;
    const interval = opts.intervalMs ?? 500;
    if (!session.transport.stats || session.signal.aborted) return;
    this.#timer = setInterval(() => this.#tick(), interval);
    // Never keep a process alive just to sample statistics.
    (this.#timer as { unref?: () => void }).unref?.();
    session.signal.addEventListener("abort", () => this.stop(), { once: true });
  }

  /** The latest local bandwidth estimate, bits per second. */
  get estimate(): number | undefined {
    return this.#estimate;
  }

  /** The last bitrate sent in SESSION_UPDATE. */
  get lastSent(): number | undefined {
    return this.#lastSent;
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #tick(): void {
    const bw = this.#session.transport.stats?.()?.bandwidthBps;
    if (bw === undefined || !Number.isFinite(bw) || bw <= 0) return;
    this.#estimate = bw;
    const now = Date.now();
    if (this.#sending || now - this.#lastSentAt < this.#minIntervalMs) return;
    const last = this.#lastSent;
    if (last !== undefined && Math.abs(bw - last) <= this.#threshold * last) return;
    this.#sending = true;
    this.#lastSentAt = now;
    this.#session.updateBitrate(bw).then(
      () => {
        this.#lastSent = Math.round(bw);
        this.#sending = false;
      },
      () => this.stop(),
    );
  }
}
