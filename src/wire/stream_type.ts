/** Stream-type bytes: the single raw byte (not length-prefixed) that opens every stream.
 *
 *  Pure constants. Bidi and uni ids live in separate namespaces. Spec: gomoqt.md §1.3.
 *  @module */

export const BiStreamType = { Session: 0x00, Announce: 0x01, Subscribe: 0x02 } as const;
export type BiStreamType = (typeof BiStreamType)[keyof typeof BiStreamType];

export const UniStreamType = { Group: 0x00 } as const;
export type UniStreamType = (typeof UniStreamType)[keyof typeof UniStreamType];
