// quicpeer: our own small interop client built on the gomoqt library (Dec 2025, v0.9.0).
//
// gomoqt's own interop client cannot dial moqt:// (raw QUIC, ALPN "moq-00"): it passes a nil
// tls.Config, and quic-go refuses that. This program runs the same exchange as the interop
// client (receive /interop/server, read one frame, then publish /interop/client with one
// frame "HELLO") but builds a TLS config with the right ALPN, and it exits non-zero on any
// failure and after a hard deadline, so a CI row can be judged by its exit code.
//
// It also accepts https:// URLs (WebTransport), where the ALPN is left to webtransport-go.
// Trust: the system roots, so point SSL_CERT_FILE at the test CA.
package main

import (
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"net/url"
	"os"
	"time"

	"github.com/okdaichi/gomoqt/moqt"
)

func fail(step string, err error) {
	fmt.Printf("FAIL %s: %v\n", step, err)
	os.Exit(1)
}

func main() {
	addr := flag.String("addr", "", "server URL: moqt://host:port/ or https://host:port/")
	deadline := flag.Duration("deadline", 20*time.Second, "give up (exit 2) after this long")
	flag.Parse()
	if *addr == "" {
		fmt.Fprintln(os.Stderr, "usage: quicpeer -addr moqt://localhost:PORT/")
		os.Exit(2)
	}

	// gomoqt's Subscribe and AcceptAnnounce have no timeout of their own.
	time.AfterFunc(*deadline, func() {
		fmt.Printf("FAIL deadline: no result after %s\n", *deadline)
		os.Exit(2)
	})

	u, err := url.Parse(*addr)
	if err != nil {
		fail("parse url", err)
	}
	client := &moqt.Client{Config: &moqt.Config{SetupTimeout: 10 * time.Second}}
	if u.Scheme == "moqt" {
		client.TLSConfig = &tls.Config{NextProtos: []string{moqt.NextProtoMOQ}}
	}

	mux := moqt.NewTrackMux()
	ctx := context.Background()

	sess, err := client.Dial(ctx, *addr, mux)
	if err != nil {
		fail("dial", err)
	}
	fmt.Printf("connected: %s\n", u.Scheme)

	anns, err := sess.AcceptAnnounce("/")
	if err != nil {
		fail("announce request", err)
	}
	annCtx, cancelAnn := context.WithTimeout(sess.Context(), 5*time.Second)
	defer cancelAnn()
	ann, err := anns.ReceiveAnnouncement(annCtx)
	if err != nil {
		fail("receive announcement", err)
	}
	fmt.Printf("Discovered broadcast: %s\n", ann.BroadcastPath())

	track, err := sess.Subscribe(ann.BroadcastPath(), "", nil)
	if err != nil {
		fail("subscribe", err)
	}
	grpCtx, cancelGrp := context.WithTimeout(sess.Context(), 5*time.Second)
	defer cancelGrp()
	group, err := track.AcceptGroup(grpCtx)
	if err != nil {
		fail("accept group", err)
	}
	frame := moqt.NewFrame(1024)
	if err := group.ReadFrame(frame); err != nil {
		fail("read frame", err)
	}
	fmt.Printf("received (payload: %s)\n", frame.Body())
	if string(frame.Body()) != "HELLO" {
		fail("payload", fmt.Errorf("want HELLO, got %q", frame.Body()))
	}

	served := make(chan error, 1)
	mux.PublishFunc(ctx, "/interop/client", func(tw *moqt.TrackWriter) {
		g, err := tw.OpenGroup()
		if err != nil {
			served <- err
			return
		}
		defer g.Close()
		f := moqt.NewFrame(16)
		_, _ = f.Write([]byte("HELLO"))
		served <- g.WriteFrame(f)
	})
	select {
	case err := <-served:
		if err != nil {
			fail("serve /interop/client", err)
		}
	case <-time.After(5 * time.Second):
		fail("serve /interop/client", fmt.Errorf("peer did not subscribe within 5s"))
	}
	fmt.Println("served /interop/client: frame HELLO written")

	// Give the peer a moment to read the frame and close the session itself.
	select {
	case <-sess.Context().Done():
	case <-time.After(2 * time.Second):
	}
	_ = track.Close()
	_ = sess.CloseWithError(moqt.NoError, "done")
	fmt.Println("PASS")
}
