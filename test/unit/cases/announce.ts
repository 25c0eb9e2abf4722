/** Announcements end to end over the transport under test (memory, raw QUIC, WebTransport): acceptAnnounce, INIT
 *  then ACTIVE/ENDED, prefixes, the Announcement object, AnnouncementReader close. */
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  AnnounceError,
  AnnounceErrorCode,
  Announcement,
  newAnnouncement,
  type AnnouncementReader,
} from "../../../src/index.js";
import { defer, rejection, type Harness } from "../helpers.js";

/** Register this suite's tests for transport `h`. */
export function register(h: Harness): void {
  const T = { timeout: 10_000 };
  const noop = async () => {};

  async function next(ar: AnnouncementReader): Promise<Announcement> {
    return ar.receiveAnnouncement();
  }

  test(
    "acceptAnnounce('/') gets the INIT contents, then ACTIVE later; ENDED ends the Announcement",
    T,
    async () => {
      const p = await h.pair();
      const first = new AbortController();
      p.serverMux.publishFunc(first.signal, "/a/one", noop);
      p.serverMux.publishFunc(undefined, "/b", noop);
      const ar = await p.client.acceptAnnounce("/");
      assert.equal(ar.prefix, "/");
      const initial = [await next(ar), await next(ar)];
      assert.deepEqual(initial.map((a) => a.broadcastPath).sort(), ["/a/one", "/b"]);
      const one = initial.find((a) => a.broadcastPath === "/a/one")!;

      const [later, endLater] = newAnnouncement(undefined, "/c/later");
      p.serverMux.announce(later, { serveTrack: noop });
      const a = await next(ar);
      assert.equal(a.broadcastPath, "/c/later");
      assert.equal(a.isActive(), true);

      let ran = 0;
      const stopNever = a.afterFunc(() => ran++);
      const stopped = a.afterFunc(() => assert.fail("stopped afterFunc ran"));
      assert.equal(stopped(), true); // unregistered before the end
      assert.equal(stopped(), false);
      endLater();
      await a.ended;
      assert.equal(a.isActive(), false);
      assert.equal(ran, 1);
      assert.equal(stopNever(), false); // already ran

      // afterFunc on an ended announcement runs asynchronously; its stop can still prevent it.
      const late = defer();
      a.afterFunc(() => late.resolve());
      await late.promise;
      const prevented = a.afterFunc(() => assert.fail("prevented afterFunc ran"));
      assert.equal(prevented(), true);

      // ENDED for an announcement that came in ANNOUNCE_INIT too.
      assert.equal(one.isActive(), true);
      first.abort();
      await one.ended;
      assert.equal(one.isActive(), false);
      await ar.close();
      await p.close();
    },
  );

  test("a prefix only sees paths below it; suffix arithmetic keeps the full path", T, async () => {
    const p = await h.pair();
    const ar = await p.client.acceptAnnounce("/a/");
    const arDeep = await p.client.acceptAnnounce("/a/b/");
    for (const path of ["/x", "/ab/c", "/a/b/c", "/a/d", "/a"])
      p.serverMux.publishFunc(undefined, path, noop);
    assert.equal((await next(ar)).broadcastPath, "/a/b/c");
    assert.equal((await next(ar)).broadcastPath, "/a/d");
    assert.equal((await next(arDeep)).broadcastPath, "/a/b/c");
    // Nothing else was delivered to either: a late publish under the prefix is the next one.
    p.serverMux.publishFunc(undefined, "/a/z", noop);
    assert.equal((await next(ar)).broadcastPath, "/a/z");
    p.serverMux.publishFunc(undefined, "/a/b/z", noop);
    assert.equal((await next(arDeep)).broadcastPath, "/a/b/z");
    await p.close();
  });

  test("invalid prefixes are rejected locally with AnnounceError 5 before anything is sent", T, async () => {
    const p = await h.pair();
    let opened = 0;
    // Count announce streams the server receives: none may arrive for invalid prefixes.
    const orig = p.serverMux.serveAnnouncements.bind(p.serverMux);
    p.serverMux.serveAnnouncements = (w) => {
      opened++;
      orig(w);
    };
    for (const bad of ["live", "/a", "", "a/", "/a/b"]) {
      const e = await rejection(p.client.acceptAnnounce(bad));
      assert.ok(e instanceof AnnounceError, `${bad}: ${String(e)}`);
      assert.equal(e.code, AnnounceErrorCode.InvalidPrefix);
      assert.equal(e.remote, false);
    }
    const ok = await p.client.acceptAnnounce("/");
    assert.equal(opened, 1);
    await ok.close();
    await p.close();
  });

  test(
    "iterating an AnnouncementReader; close() ends iteration and the announcements from it",
    T,
    async () => {
      const p = await h.pair();
      p.serverMux.publishFunc(undefined, "/s1", noop);
      const ar = await p.client.acceptAnnounce("/");
      const got: Announcement[] = [];
      const two = defer();
      const done = (async () => {
        for await (const a of ar) {
          got.push(a);
          if (got.length === 2) two.resolve();
        }
      })();
      p.serverMux.publishFunc(undefined, "/s2", noop);
      await two.promise;
      await ar.close();
      await done;
      assert.deepEqual(
        got.map((a) => a.broadcastPath),
        ["/s1", "/s2"],
      );
      assert.equal(
        got.every((a) => !a.isActive()),
        true,
      );
      assert.equal(ar.signal.aborted, true);
      await p.close();
    },
  );

  test("AnnouncementReader.closeWithError(c): the reader fails with AnnounceError c", T, async () => {
    const p = await h.pair();
    const ar = await p.client.acceptAnnounce("/");
    await ar.closeWithError(AnnounceErrorCode.Uninterested);
    const e = await rejection(ar.receiveAnnouncement());
    assert.ok(e instanceof AnnounceError);
    assert.equal(e.code, AnnounceErrorCode.Uninterested);
    await p.close();
  });

  test("receiveAnnouncement(signal) gives up with the signal's reason", T, async () => {
    const p = await h.pair();
    const ar = await p.client.acceptAnnounce("/");
    const ac = new AbortController();
    const pending = ar.receiveAnnouncement(ac.signal);
    ac.abort(new Error("enough"));
    await assert.rejects(pending, /enough/);
    p.serverMux.publishFunc(undefined, "/after", noop);
    assert.equal((await ar.receiveAnnouncement()).broadcastPath, "/after");
    await p.close();
  });

  test("newAnnouncement: signal, end function, invalid path", () => {
    const ac = new AbortController();
    const [a, end] = newAnnouncement(ac.signal, "/x");
    assert.ok(a instanceof Announcement);
    assert.equal(a.broadcastPath, "/x");
    assert.equal(a.isActive(), true);
    ac.abort();
    assert.equal(a.isActive(), false);
    end(); // idempotent
    const [b, endB] = newAnnouncement(undefined, "/y");
    endB();
    assert.equal(b.isActive(), false);
    assert.throws(() => newAnnouncement(undefined, "no-slash"), TypeError);
    const pre = new AbortController();
    pre.abort();
    assert.equal(newAnnouncement(pre.signal, "/z")[0].isActive(), false);
  });
}
