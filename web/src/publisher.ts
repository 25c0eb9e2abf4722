/** Publisher: camera (getUserMedia) or a synthetic test pattern, drawn to a canvas, encoded with WebCodecs and
 *  published as one MoQ broadcast with one track ("video"). One GOP per group: a keyframe every `gop` frames opens
 *  a new group, and its first frame carries the decoder config (container.ts).
 *
 *  Every subscriber (usually one: the relay) gets its own group writers; a new subscriber asks for a keyframe, so it
 *  starts within a frame instead of waiting for the next GOP. A subscriber whose group write fails (the relay expired
 *  a slow group, say) skips to the next group.
 *  @module */
import type * as Moqt from "../../src/browser.js";
import { encodeFrame, nowUs, toBase64, type DecoderConfigJson } from "./container.js";

export interface PublisherOptions {
  path: string;
  width?: number;
  height?: number;
  fps?: number;
  /** Frames per group (keyframe interval). Default: fps (one second). */
  gop?: number;
  bitrate?: number;
  /** Use the synthetic pattern even when a camera is available. */
  pattern?: boolean;
  /** Only try codecs whose string starts with this ("vp8", "avc1", "vp09"). Default: every one, in order. */
  codec?: string;
  /** Canvas to draw the outgoing picture on (a preview). */
  preview?: HTMLCanvasElement;
}

export interface PublisherStats {
  source: "camera" | "pattern" | "";
  codec: string;
  framesEncoded: number;
  keyframes: number;
  groups: number;
  bytesOut: number;
  subscribers: number;
  errors: string[];
}

/** Codecs tried in order. H.264 Annex B needs no out-of-band description; VP8 and VP9 never do. */
const CODECS: { codec: string; extra?: Partial<VideoEncoderConfig> }[] = [
  { codec: "avc1.42E01F", extra: { avc: { format: "annexb" } } as Partial<VideoEncoderConfig> },
  { codec: "vp8" },
  { codec: "vp09.00.10.08" },
];

interface Sub {
  tw: Moqt.TrackWriter;
  group: Moqt.GroupWriter | undefined;
  /** Writes are chained per subscriber so frames keep their order without blocking the encoder. */
  chain: Promise<void>;
  done: () => void;
}

export class Publisher {
  readonly stats: PublisherStats = {
    source: "",
    codec: "",
    framesEncoded: 0,
    keyframes: 0,
    groups: 0,
    bytesOut: 0,
    subscribers: 0,
    errors: [],
  };
  readonly #opts: Required<Omit<PublisherOptions, "preview">> & { preview?: HTMLCanvasElement };
  readonly #ctrl = new AbortController();
  #subs = new Set<Sub>();
  #encoder: VideoEncoder | undefined;
  #config: DecoderConfigJson | undefined;
  #seq = -1;
  #frameNo = 0;
  #wantKey = true;
  #timer: ReturnType<typeof setInterval> | undefined;
  #stream: MediaStream | undefined;
  #video: HTMLVideoElement | undefined;
  #canvas: HTMLCanvasElement;
  #ctx: CanvasRenderingContext2D;

  constructor(
    private readonly moqt: typeof Moqt,
    private readonly session: Moqt.Session,
    opts: PublisherOptions,
  ) {
    const fps = opts.fps ?? 30;
    this.#opts = {
      width: 640,
      height: 360,
      bitrate: 1_000_000,
      pattern: false,
      codec: "",
      ...opts,
      fps,
      gop: opts.gop ?? fps,
    };
    this.#canvas = opts.preview ?? document.createElement("canvas");
    this.#canvas.width = this.#opts.width;
    this.#canvas.height = this.#opts.height;
    this.#ctx = this.#canvas.getContext("2d")!;
  }

  get path(): string {
    return this.#opts.path;
  }

  async start(): Promise<void> {
    await this.#openSource();
    await this.#openEncoder();
    this.session.mux.publishFunc(this.#ctrl.signal, this.#opts.path, (tw) => this.#serve(tw));
    this.#timer = setInterval(() => this.#tick(), 1000 / this.#opts.fps);
  }

  stop(): void {
    this.#ctrl.abort();
    clearInterval(this.#timer);
    for (const s of this.#subs) s.done();
    this.#stream?.getTracks().forEach((t) => t.stop());
    if (this.#encoder && this.#encoder.state !== "closed") this.#encoder.close();
  }

  async #openSource(): Promise<void> {
    if (!this.#opts.pattern && navigator.mediaDevices?.getUserMedia) {
      try {
        this.#stream = await navigator.mediaDevices.getUserMedia({
          video: { width: this.#opts.width, height: this.#opts.height },
          audio: false,
        });
        const v = document.createElement("video");
        v.muted = true;
        v.playsInline = true;
        v.srcObject = this.#stream;
        await v.play();
        this.#video = v;
        this.stats.source = "camera";
        return;
      } catch (e) {
        this.stats.errors.push(`camera: ${String(e)}`);
      }
    }
    this.stats.source = "pattern";
  }

  async #openEncoder(): Promise<void> {
    const base: VideoEncoderConfig = {
      codec: "",
      width: this.#opts.width,
      height: this.#opts.height,
      bitrate: this.#opts.bitrate,
      framerate: this.#opts.fps,
      latencyMode: "realtime",
    };
    for (const c of CODECS) {
      if (!c.codec.startsWith(this.#opts.codec)) continue;
      const config = { ...base, ...c.extra, codec: c.codec } as VideoEncoderConfig;
      const support = await VideoEncoder.isConfigSupported(config).catch(() => undefined);
      if (!support?.supported) continue;
      this.#encoder = new VideoEncoder({
        output: (chunk, meta) => this.#onChunk(chunk, meta),
        error: (e) => this.stats.errors.push(`encoder: ${String(e)}`),
      });
      this.#encoder.configure(config);
      this.stats.codec = c.codec;
      this.#config = { codec: c.codec, codedWidth: this.#opts.width, codedHeight: this.#opts.height };
      return;
    }
    throw new Error(`no supported video encoder (tried ${CODECS.map((c) => c.codec).join(", ")})`);
  }

  /** Draw the next picture and encode it. */
  #tick(): void {
    const enc = this.#encoder;
    if (!enc || enc.state !== "configured") return;
    // Skip a frame rather than queue up when the encoder falls behind.
    if (enc.encodeQueueSize > 2) return;
    const { width: w, height: h } = this.#opts;
    const t = nowUs();
    const ctx = this.#ctx;
    if (this.#video) ctx.drawImage(this.#video, 0, 0, w, h);
    else drawPattern(ctx, w, h, this.#frameNo);
    drawClock(ctx, w, h, t, this.#opts.path);
    const frame = new VideoFrame(this.#canvas, { timestamp: t });
    const key = this.#wantKey || this.#frameNo % this.#opts.gop === 0;
    this.#wantKey = false;
    try {
      enc.encode(frame, { keyFrame: key });
    } finally {
      frame.close();
    }
    this.#frameNo++;
  }

  #onChunk(chunk: EncodedVideoChunk, meta?: EncodedVideoChunkMetadata): void {
    const dc = meta?.decoderConfig;
    if (dc) {
      this.#config = {
        codec: dc.codec,
        ...(dc.codedWidth ? { codedWidth: dc.codedWidth } : {}),
        ...(dc.codedHeight ? { codedHeight: dc.codedHeight } : {}),
        ...(dc.description ? { description: toBase64(bufferBytes(dc.description)) } : {}),
      };
    }
    const data = new Uint8Array(chunk.byteLength);
    chunk.copyTo(data);
    const key = chunk.type === "key";
    this.stats.framesEncoded++;
    const payload = encodeFrame({
      captureUs: chunk.timestamp,
      keyframe: key,
      ...(key ? { config: this.#config! } : {}),
      data,
    });
    if (key) {
      this.stats.keyframes++;
      this.#seq++;
      this.stats.groups++;
    }
    for (const s of this.#subs) this.#send(s, payload, key);
  }

  #send(s: Sub, payload: Uint8Array, key: boolean): void {
    const seq = this.#seq;
    s.chain = s.chain.then(async () => {
      if (s.tw.signal.aborted) return;
      try {
        if (key) {
          const old = s.group;
          s.group = undefined;
          if (old) void old.close().catch(() => {});
          s.group = await s.tw.openGroup(seq);
        }
        if (!s.group) return; // joined mid-GOP or the group failed: wait for the next keyframe
        await s.group.writeFrame(payload);
        this.stats.bytesOut += payload.length;
      } catch {
        s.group = undefined;
      }
    });
  }

  async #serve(tw: Moqt.TrackWriter): Promise<void> {
    if (tw.trackName !== "video") {
      await tw.closeWithError(this.moqt.SubscribeErrorCode.TrackNotFound);
      return;
    }
    const sub: Sub = { tw, group: undefined, chain: Promise.resolve(), done: () => {} };
    const ended = new Promise<void>((resolve) => {
      sub.done = resolve;
      tw.signal.addEventListener("abort", () => resolve(), { once: true });
    });
    this.#subs.add(sub);
    this.stats.subscribers = this.#subs.size;
    this.#wantKey = true; // start the newcomer with a fresh GOP
    void tw.writeInfo().catch(() => {});
    await ended;
    this.#subs.delete(sub);
    this.stats.subscribers = this.#subs.size;
    await sub.chain;
    await sub.group?.close().catch(() => {});
  }
}

function bufferBytes(b: AllowSharedBufferSource): Uint8Array {
  if (b instanceof ArrayBuffer) return new Uint8Array(b.slice(0));
  if (ArrayBuffer.isView(b)) return new Uint8Array(b.buffer, b.byteOffset, b.byteLength).slice();
  return new Uint8Array(b).slice();
}

/** Moving colour bars, a bouncing box and a frame counter: motion on every frame, so any frame differs. */
export function drawPattern(ctx: CanvasRenderingContext2D, w: number, h: number, n: number): void {
  const colors = ["#c0c0c0", "#c0c000", "#00c0c0", "#00c000", "#c000c0", "#c00000", "#0000c0"];
  const bw = w / colors.length;
  const shift = (n * 4) % w;
  for (let i = 0; i < colors.length; i++) {
    ctx.fillStyle = colors[i]!;
    const x = (i * bw + shift) % w;
    ctx.fillRect(x, 0, bw + 1, h * 0.7);
    if (x + bw > w) ctx.fillRect(x - w, 0, bw + 1, h * 0.7);
  }
  const g = ctx.createLinearGradient(0, 0, w, 0);
  g.addColorStop(0, "#000");
  g.addColorStop(1, "#fff");
  ctx.fillStyle = g;
  ctx.fillRect(0, h * 0.7, w, h * 0.3);
  const bx = Math.abs(((n * 7) % (2 * (w - 60))) - (w - 60));
  const by = Math.abs(((n * 5) % (2 * (h * 0.7 - 60))) - (h * 0.7 - 60));
  ctx.fillStyle = "#ff4000";
  ctx.fillRect(bx, by, 60, 60);
  ctx.font = "bold 28px monospace";
  ctx.fillStyle = "rgba(0,0,0,0.6)";
  ctx.fillRect(8, h * 0.7 + 10, ctx.measureText(`frame ${n}`).width + 16, 40);
  ctx.fillStyle = "#fff";
  ctx.fillText(`frame ${n}`, 16, h * 0.7 + 40);
}

function drawClock(ctx: CanvasRenderingContext2D, w: number, h: number, us: number, path: string): void {
  const d = new Date(us / 1000);
  const text = `${path}  ${d.toISOString().slice(11, 23)}`;
  ctx.font = "bold 20px monospace";
  const tw = ctx.measureText(text).width;
  ctx.fillStyle = "rgba(0,0,0,0.6)";
  ctx.fillRect(w - tw - 24, h - 36, tw + 16, 28);
  ctx.fillStyle = "#fff";
  ctx.fillText(text, w - tw - 16, h - 15);
}
