// A userspace network impairment proxy for UDP on loopback (the kernel here has no sch_netem, so `tc netem` is not
// available): a bottleneck rate with a bounded queue for server → client packets, random loss and reordering, an
// extra delay, and a blackhole that drops everything for a while. Settings can change while it runs.
import { createSocket, type RemoteInfo, type Socket } from "node:dgram";

export interface Impairment {
  /** Bottleneck rate for server → client packets, bytes per second (undefined: no bottleneck). */
  rateBytesPerSec?: number;
  /** Packets whose queueing delay at the bottleneck would exceed this are dropped. Default 60 ms. */
  maxQueueMs?: number;
  /** Extra one-way delay, both directions. Default 5 ms with a bottleneck, else 0. */
  delayMs?: number;
  /** Probability of dropping a packet, both directions. */
  loss?: number;
  /** Probability of holding a packet back by `reorderMs` so later ones overtake it. */
  reorder?: number;
  reorderMs?: number;
}

export interface UdpProxyOptions extends Impairment {
  /** Upstream (server) port on 127.0.0.1. */
  targetPort: number;
  /** Seed for the loss/reorder decisions (deterministic runs). */
  seed?: number;
}

export class UdpProxy {
  readonly #front: Socket; // faces the client
  readonly #back: Socket; // faces the server
  readonly #targetPort: number;
  #client: RemoteInfo | undefined;
  #imp: Impairment;
  #nextDeparture = 0;
  #blackholeUntil = 0;
  #rand: () => number;
  #timers = new Set<ReturnType<typeof setTimeout>>();
  dropped = 0;
  forwarded = 0;

  private constructor(front: Socket, back: Socket, opts: UdpProxyOptions) {
    this.#front = front;
    this.#back = back;
    this.#targetPort = opts.targetPort;
    this.#imp = { ...opts };
    let s = (opts.seed ?? 1) >>> 0 || 1;
    this.#rand = () => {
      // xorshift32: reproducible decisions for a given seed
      s ^= s << 13;
      s >>>= 0;
      s ^= s >>> 17;
      s ^= s << 5;
      s >>>= 0;
      return s / 0x100000000;
    };
    front.on("message", (msg, rinfo) => {
      this.#client = rinfo;
      this.#forward(msg, false);
    });
    back.on("message", (msg) => this.#forward(msg, true));
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
    this.#imp.rateBytesPerSec = bytesPerSec;
  }

  /** Change any impairment setting. */
  set(imp: Impairment): void {
    this.#imp = { ...this.#imp, ...imp };
  }

  /** Drop every packet, both directions, for `ms`. */
  blackhole(ms: number): void {
    this.#blackholeUntil = performance.now() + ms;
  }

  #forward(msg: Buffer, toClient: boolean): void {
    const now = performance.now();
    const imp = this.#imp;
    if (now < this.#blackholeUntil || (imp.loss && this.#rand() < imp.loss)) {
      this.dropped++;
      return;
    }
    let at = now;
    if (toClient && imp.rateBytesPerSec) {
      const start = Math.max(now, this.#nextDeparture);
      if (start - now > (imp.maxQueueMs ?? 60)) {
        this.dropped++;
        return;
      }
      this.#nextDeparture = start + (msg.length / imp.rateBytesPerSec) * 1000;
      at = this.#nextDeparture;
    }
    at += imp.delayMs ?? (imp.rateBytesPerSec ? 5 : 0);
    if (imp.reorder && this.#rand() < imp.reorder) at += imp.reorderMs ?? 20;
    const send = () => {
      this.forwarded++;
      if (toClient) {
        const c = this.#client;
        if (c) this.#front.send(msg, c.port, c.address);
      } else this.#back.send(msg, this.#targetPort, "127.0.0.1");
    };
    if (at - now < 0.5) {
      send();
      return;
    }
    const t = setTimeout(() => {
      this.#timers.delete(t);
      send();
    }, at - now);
    this.#timers.add(t);
  }

  close(): void {
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    this.#front.close();
    this.#back.close();
  }
}
