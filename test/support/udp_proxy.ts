// A UDP proxy on loopback that throttles one direction: a bottleneck link with a rate (bytes/s), a bounded queue
// (packets whose queueing delay would exceed `maxQueueMs` are dropped) and an extra one-way delay. The rate can be
// changed while running, to put a real bandwidth change under a QUIC connection.
import { createSocket, type RemoteInfo, type Socket } from "node:dgram";

export interface UdpProxyOptions {
  /** Upstream (server) port on 127.0.0.1. */
  targetPort: number;
  /** Bottleneck rate for server → client packets, bytes per second. */
  rateBytesPerSec: number;
  maxQueueMs?: number;
  delayMs?: number;
}

export class UdpProxy {
  readonly #front: Socket; // faces the client
  readonly #back: Socket; // faces the server
  #client: RemoteInfo | undefined;
  #rate: number;
  #nextDeparture = 0;
  readonly #maxQueueMs: number;
  readonly #delayMs: number;
  #timers = new Set<ReturnType<typeof setTimeout>>();
  dropped = 0;
  forwarded = 0;

  private constructor(front: Socket, back: Socket, opts: UdpProxyOptions) {
    this.#front = front;
    this.#back = back;
    this.#rate = opts.rateBytesPerSec;
    this.#maxQueueMs = opts.maxQueueMs ?? 60;
    this.#delayMs = opts.delayMs ?? 5;
    front.on("message", (msg, rinfo) => {
      this.#client = rinfo;
      back.send(msg, opts.targetPort, "127.0.0.1");
    });
    back.on("message", (msg) => this.#downstream(msg));
  }

  static async start(opts: UdpProxyOptions): Promise<UdpProxy> {
    const front = createSocket("udp4");
    const back = createSocket("udp4");
    await Promise.all([
      new Promise<void>((r) => front.bind(0, "127.0.0.1", r)),
      new Promise<void>((r) => back.bind(0, "127.0.0.1", r)),
    ]);
    return new UdpProxy(front, back, opts);
  }

  get port(): number {
    return this.#front.address().port;
  }

  setRate(bytesPerSec: number): void {
    this.#rate = bytesPerSec;
  }

  #downstream(msg: Buffer): void {
    const client = this.#client;
    if (!client) return;
    const now = performance.now();
    const start = Math.max(now, this.#nextDeparture);
    if (start - now > this.#maxQueueMs) {
      this.dropped++;
      return;
    }
    this.#nextDeparture = start + (msg.length / this.#rate) * 1000;
    const t = setTimeout(
      () => {
        this.#timers.delete(t);
        this.forwarded++;
        this.#front.send(msg, client.port, client.address);
      },
      this.#nextDeparture - now + this.#delayMs,
    );
    this.#timers.add(t);
  }

  close(): void {
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    this.#front.close();
    this.#back.close();
  }
}
