/** Watcher: subscribes to a broadcast's "video" track, decodes it with WebCodecs onto a canvas and keeps stats.
 *
 *  Groups are GOPs. The newest group wins: once a group with a higher sequence has arrived, a frame still arriving on
 *  an older group cancels that group (it could only be decoded late) and counts it as dropped, as do groups arriving
 *  out of date and gaps in the sequence. Latency = now − capture time (same-machine clocks), measured when a picture is drawn.
 *  @module */
import type * as Moqt from "../../src/browser.js";
import { decodeFrame, fromBase64, nowUs, type DecoderConfigJson } from "./container.js";

export interface WatcherStats {
  path: string;
  codec: string;
  framesReceived: number;
  framesDecoded: number;
  keyframes: number;
  groupsReceived: number;
  groupsDropped: number;
  bytesReceived: number;
  /** Last picture's latency, and a smoothed one, ms. */
  latencyMs: number;
  latencyAvgMs: number;
  /** Received bitrate over the last second, bits/s. */
  bitrate: number;
  width: number;
  height: number;
  errors: string[];
  ended: boolean;
}

export class Watcher {
  readonly stats: WatcherStats;
  #tr: Moqt.TrackReader | undefined;
  #decoder: VideoDecoder | undefined;
  #configured: string | undefined;
  #needKey = true;
  #current: Moqt.GroupReader | undefined;
  #lastSeq = -1;
  #ctx: CanvasRenderingContext2D;
  #bytesWindow: { t: number; n: number }[] = [];
  #stopped = false;

  constructor(
    private readonly moqt: typeof Moqt,
    private readonly session: Moqt.Session,
    readonly path: string,
    private readonly canvas: HTMLCanvasElement,
  ) {
    this.#ctx = canvas.getContext("2d")!;
    this.stats = {
      path,
      codec: "",
      framesReceived: 0,
      framesDecoded: 0,
      keyframes: 0,
      groupsReceived: 0,
      groupsDropped: 0,
      bytesReceived: 0,
      latencyMs: 0,
      latencyAvgMs: 0,
      bitrate: 0,
      width: 0,
      height: 0,
      errors: [],
      ended: false,
    };
  }

  async start(): Promise<void> {
    this.#tr = await this.session.subscribe(this.path, "video", { trackPriority: 128 });
    void this.#run(this.#tr);
  }

  stop(): void {
    this.#stopped = true;
    void this.#tr?.close();
    if (this.#decoder && this.#decoder.state !== "closed") this.#decoder.close();
  }

  async #run(tr: Moqt.TrackReader): Promise<void> {
    try {
      for (;;) {
        const g = await tr.acceptGroup();
        this.stats.groupsReceived++;
        const seq = Number(g.groupSequence);
        if (seq <= this.#lastSeq) {
          g.cancelRead(this.moqt.GroupErrorCode.ExpiredGroup);
          this.stats.groupsDropped++;
          continue;
        }
        if (this.#lastSeq >= 0 && seq > this.#lastSeq + 1)
          this.stats.groupsDropped += seq - this.#lastSeq - 1;
        this.#lastSeq = seq;
        this.#current = g;
        this.#needKey = true;
        void this.#readGroup(g);
      }
    } catch (e) {
      // A clean end of the track (TrackEndedError, `ended`) is not an error.
      if (!this.#stopped && !(e as { ended?: boolean }).ended) this.stats.errors.push(`track: ${String(e)}`);
    } finally {
      this.stats.ended = true;
    }
  }

  async #readGroup(g: Moqt.GroupReader): Promise<void> {
    try {
      for (;;) {
        const f = await g.readFrame();
        if (f === null) break;
        if (this.#current !== g) {
          // A newer GOP has started and this one still had frames: too late to decode them; give it up.
          g.cancelRead(this.moqt.GroupErrorCode.ExpiredGroup);
          this.stats.groupsDropped++;
          return;
        }
        this.#onFrame(f.body());
      }
    } catch (e) {
      if (this.#current === g && !(e instanceof this.moqt.GroupError))
        this.stats.errors.push(`group: ${String(e)}`);
    } finally {
      if (this.#current === g) this.#current = undefined;
    }
  }

  #onFrame(b: Uint8Array): void {
    this.stats.framesReceived++;
    this.stats.bytesReceived += b.length;
    this.#countBytes(b.length);
    let f;
    try {
      f = decodeFrame(b);
    } catch (e) {
      this.stats.errors.push(`container: ${String(e)}`);
      return;
    }
    if (f.keyframe) this.stats.keyframes++;
    if (this.#needKey) {
      if (!f.keyframe || !f.config) return; // wait for the head of a GOP
      this.#configure(f.config);
      this.#needKey = false;
    }
    const d = this.#decoder;
    if (!d || d.state !== "configured") return;
    try {
      d.decode(
        new EncodedVideoChunk({ type: f.keyframe ? "key" : "delta", timestamp: f.captureUs, data: f.data }),
      );
    } catch (e) {
      this.stats.errors.push(`decode: ${String(e)}`);
      this.#needKey = true;
    }
  }

  #configure(c: DecoderConfigJson): void {
    const key = JSON.stringify(c);
    if (this.#configured === key && this.#decoder?.state === "configured") return;
    if (!this.#decoder || this.#decoder.state === "closed") {
      this.#decoder = new VideoDecoder({
        output: (frame) => this.#draw(frame),
        error: (e) => {
          this.stats.errors.push(`decoder: ${String(e)}`);
          this.#configured = undefined;
          this.#needKey = true;
        },
      });
    }
    this.#decoder.configure({
      codec: c.codec,
      ...(c.codedWidth ? { codedWidth: c.codedWidth } : {}),
      ...(c.codedHeight ? { codedHeight: c.codedHeight } : {}),
      ...(c.description ? { description: fromBase64(c.description) } : {}),
      optimizeForLatency: true,
    });
    this.#configured = key;
    this.stats.codec = c.codec;
  }

  #draw(frame: VideoFrame): void {
    try {
      const w = frame.displayWidth;
      const h = frame.displayHeight;
      if (this.canvas.width !== w || this.canvas.height !== h) {
        this.canvas.width = w;
        this.canvas.height = h;
      }
      this.#ctx.drawImage(frame, 0, 0, w, h);
      this.stats.width = w;
      this.stats.height = h;
      this.stats.framesDecoded++;
      const lat = (nowUs() - frame.timestamp) / 1000;
      this.stats.latencyMs = lat;
      this.stats.latencyAvgMs =
        this.stats.framesDecoded === 1 ? lat : this.stats.latencyAvgMs * 0.9 + lat * 0.1;
    } finally {
      frame.close();
    }
  }

  #countBytes(n: number): void {
    const t = performance.now();
    this.#bytesWindow.push({ t, n });
    while (this.#bytesWindow.length && this.#bytesWindow[0]!.t < t - 1000) this.#bytesWindow.shift();
    this.stats.bitrate = this.#bytesWindow.reduce((a, x) => a + x.n, 0) * 8;
  }
}
