// Our harness (not part of gomoqt): encode/decode benchmarks for gomoqt v0.9.0's message codecs, with the same field
// values as bench/codec.ts. bench/codec.ts copies this file into a writable copy of the module's
// moqt/internal/message/ directory and runs `go test -run '^$' -bench . -benchmem ./moqt/internal/message/`.
package message

import (
	"bytes"
	"testing"
)

func BenchmarkMsg(b *testing.B) {
	params := map[uint64][]byte{1: []byte("/live/room-1")}
	type codec struct {
		name   string
		encode func(*bytes.Buffer) error
		decode func(*bytes.Reader) error
	}
	cs := []codec{
		{"SESSION_CLIENT",
			func(w *bytes.Buffer) error {
				return SessionClientMessage{SupportedVersions: []uint64{0xfeedbabe, 0xff000001}, Parameters: params}.Encode(w)
			},
			func(r *bytes.Reader) error { var m SessionClientMessage; return m.Decode(r) }},
		{"SESSION_SERVER",
			func(w *bytes.Buffer) error {
				return SessionServerMessage{SelectedVersion: 0xfeedbabe, Parameters: params}.Encode(w)
			},
			func(r *bytes.Reader) error { var m SessionServerMessage; return m.Decode(r) }},
		{"SESSION_UPDATE",
			func(w *bytes.Buffer) error { return SessionUpdateMessage{Bitrate: 2_500_000}.Encode(w) },
			func(r *bytes.Reader) error { var m SessionUpdateMessage; return m.Decode(r) }},
		{"ANNOUNCE_PLEASE",
			func(w *bytes.Buffer) error { return AnnouncePleaseMessage{TrackPrefix: "/live/"}.Encode(w) },
			func(r *bytes.Reader) error { var m AnnouncePleaseMessage; return m.Decode(r) }},
		{"ANNOUNCE_INIT",
			func(w *bytes.Buffer) error {
				return AnnounceInitMessage{Suffixes: []string{"room-1", "room-2", "room-3/cam"}}.Encode(w)
			},
			func(r *bytes.Reader) error { var m AnnounceInitMessage; return m.Decode(r) }},
		{"ANNOUNCE",
			func(w *bytes.Buffer) error {
				return AnnounceMessage{AnnounceStatus: 1, TrackSuffix: "room-1"}.Encode(w)
			},
			func(r *bytes.Reader) error { var m AnnounceMessage; return m.Decode(r) }},
		{"SUBSCRIBE",
			func(w *bytes.Buffer) error {
				return SubscribeMessage{SubscribeID: 42, BroadcastPath: "/live/room-1", TrackName: "video", TrackPriority: 3}.Encode(w)
			},
			func(r *bytes.Reader) error { var m SubscribeMessage; return m.Decode(r) }},
		{"SUBSCRIBE_OK",
			func(w *bytes.Buffer) error { return SubscribeOkMessage{}.Encode(w) },
			func(r *bytes.Reader) error { var m SubscribeOkMessage; return m.Decode(r) }},
		{"SUBSCRIBE_UPDATE",
			func(w *bytes.Buffer) error { return SubscribeUpdateMessage{TrackPriority: 7}.Encode(w) },
			func(r *bytes.Reader) error { var m SubscribeUpdateMessage; return m.Decode(r) }},
		{"GROUP",
			func(w *bytes.Buffer) error { return GroupMessage{SubscribeID: 42, GroupSequence: 123_456}.Encode(w) },
			func(r *bytes.Reader) error { var m GroupMessage; return m.Decode(r) }},
	}
	for _, c := range cs {
		c := c
		b.Run(c.name+"/encode", func(b *testing.B) {
			var buf bytes.Buffer
			buf.Grow(256)
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				buf.Reset()
				if err := c.encode(&buf); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(c.name+"/decode", func(b *testing.B) {
			var buf bytes.Buffer
			if err := c.encode(&buf); err != nil {
				b.Fatal(err)
			}
			wire := buf.Bytes()
			r := bytes.NewReader(wire)
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				r.Reset(wire)
				if err := c.decode(r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// The allocation floor: one 2-byte slice that escapes to the heap, the Go side of the "new 2-byte buffer" row
// (every Encode above makes exactly one such slice).
var floorSink []byte

func BenchmarkFloor(b *testing.B) {
	b.Run("alloc2", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			floorSink = make([]byte, 2)
		}
	})
}
