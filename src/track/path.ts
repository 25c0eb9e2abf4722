/** Broadcast paths and track prefixes: validity rules and suffix arithmetic.
 *
 *  Pure. A BroadcastPath starts with "/"; a TrackPrefix is "/" or starts and ends with "/". Spec: gomoqt.md §1.6, §2.1.
 *  @module */

export type BroadcastPath = string;
export type TrackName = string;
export type TrackPrefix = string;

export function isValidPath(p: string): boolean {
  return p.length > 0 && p.startsWith("/");
}

export function isValidPrefix(p: string): boolean {
  return p === "/" || (p.length > 1 && p.startsWith("/") && p.endsWith("/"));
}

/** The prefixes a path is announced under: "/", "/a/", "/a/b/" for "/a/b/c". */
export function ancestorPrefixes(path: BroadcastPath): TrackPrefix[] {
  const out: TrackPrefix[] = ["/"];
  let i = path.indexOf("/", 1);
  while (i > 0) {
    out.push(path.slice(0, i + 1));
    i = path.indexOf("/", i + 1);
  }
  return out;
}
