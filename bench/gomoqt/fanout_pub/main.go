// fanout_pub: the fan-out benchmark's publisher on the gomoqt library (v0.9.0), our program (not part of gomoqt).
//
// A gomoqt Server on 127.0.0.1:PORT (raw QUIC "moq-00" and WebTransport on one port, self-signed certificate) that
// publishes /bench/fanout track "video": 30 fps, 10 KB frames, one group per second, the same payload as
// bench/fanout.ts (float64 send time in ms of CLOCK_MONOTONIC, big-endian, then a uint32 frame counter). Every
// subscription gets its own TrackWriter (gomoqt calls the handler per subscription); a central ticker hands each
// frame to every subscriber's goroutine.
//
// Control on stdin/stdout, as bench/fanout.ts's children: first stdout line {"port":P}; stdin lines {"t0":..,"t1":..}
// (window, ms of CLOCK_MONOTONIC) and {"report":true} -> {"sent":N,"cores":C,"rss":B,"subs":S}.
package main

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"math/big"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/okdaichi/gomoqt/moqt"
	"github.com/okdaichi/gomoqt/quic"
	"golang.org/x/sys/unix"
)

const (
	fps        = 30
	frameBytes = 10 * 1024
)

func nowMs() float64 {
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	return float64(ts.Sec)*1e3 + float64(ts.Nsec)/1e6
}

func selfSigned() tls.Certificate {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "localhost"},
		DNSNames:     []string{"localhost"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(10 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		panic(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

type frameMsg struct {
	k    int
	data []byte
}

var (
	mu   sync.Mutex
	subs = map[chan frameMsg]struct{}{}
)

func main() {
	port := flag.Int("port", 0, "UDP port on 127.0.0.1")
	flag.Parse()

	mux := moqt.NewTrackMux()
	mux.PublishFunc(context.Background(), "/bench/fanout", func(tw *moqt.TrackWriter) {
		ch := make(chan frameMsg, 256)
		mu.Lock()
		subs[ch] = struct{}{}
		mu.Unlock()
		defer func() {
			mu.Lock()
			delete(subs, ch)
			mu.Unlock()
		}()
		var gw *moqt.GroupWriter
		frame := moqt.NewFrame(frameBytes)
		for {
			select {
			case <-tw.Context().Done():
				return
			case m := <-ch:
				if gw == nil || m.k%fps == 0 {
					if gw != nil {
						_ = gw.Close()
					}
					g, err := tw.OpenGroup()
					if err != nil {
						return
					}
					gw = g
				}
				frame.Reset()
				_, _ = frame.Write(m.data)
				if err := gw.WriteFrame(frame); err != nil {
					gw = nil
				}
			}
		}
	})
	moqt.HandleFunc("/", func(w moqt.SetupResponseWriter, r *moqt.SetupRequest) {
		_, _ = moqt.Accept(w, r, mux)
	})
	server := moqt.Server{
		Addr: fmt.Sprintf("127.0.0.1:%d", *port),
		TLSConfig: &tls.Config{
			NextProtos:   []string{"h3", "moq-00"},
			Certificates: []tls.Certificate{selfSigned()},
		},
		QUICConfig: &quic.Config{EnableDatagrams: true},
	}
	go func() {
		if err := server.ListenAndServe(); err != nil && err != moqt.ErrServerClosed {
			fmt.Fprintln(os.Stderr, "listen:", err)
			os.Exit(1)
		}
	}()
	time.Sleep(300 * time.Millisecond)
	fmt.Printf("{\"port\":%d}\n", *port)

	var t0, t1 atomic.Uint64
	t0.Store(math.Float64bits(math.Inf(1)))
	t1.Store(math.Float64bits(math.Inf(1)))
	var sent atomic.Int64
	go func() { // the 30 fps ticker
		start := time.Now()
		for k := 0; ; k++ {
			time.Sleep(time.Until(start.Add(time.Duration(k) * time.Second / fps)))
			data := make([]byte, frameBytes)
			ts := nowMs()
			binary.BigEndian.PutUint64(data[0:8], math.Float64bits(ts))
			binary.BigEndian.PutUint32(data[8:12], uint32(k))
			if ts >= math.Float64frombits(t0.Load()) && ts < math.Float64frombits(t1.Load()) {
				sent.Add(1)
			}
			mu.Lock()
			for ch := range subs {
				select {
				case ch <- frameMsg{k, data}:
				default: // this subscriber is 256 frames behind: drop (counts as lost)
				}
			}
			mu.Unlock()
		}
	}()

	cpu := func() float64 {
		var ru syscall.Rusage
		_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e6
	}
	var c0, c1 float64
	var rss int64
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		var m struct {
			T0     *float64 `json:"t0"`
			T1     *float64 `json:"t1"`
			Report bool     `json:"report"`
		}
		if json.Unmarshal(sc.Bytes(), &m) != nil {
			continue
		}
		if m.T0 != nil && m.T1 != nil {
			a, b := *m.T0, *m.T1
			t0.Store(math.Float64bits(a))
			t1.Store(math.Float64bits(b))
			go func() {
				time.Sleep(time.Duration((a - nowMs()) * float64(time.Millisecond)))
				c0 = cpu()
				time.Sleep(time.Duration((b - nowMs()) * float64(time.Millisecond)))
				c1 = cpu()
				var ru syscall.Rusage
				_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
				rss = ru.Maxrss * 1024
			}()
		}
		if m.Report {
			mu.Lock()
			n := len(subs)
			mu.Unlock()
			a, b := math.Float64frombits(t0.Load()), math.Float64frombits(t1.Load())
			fmt.Printf("{\"sent\":%d,\"cores\":%f,\"rss\":%d,\"subs\":%d}\n", sent.Load(), (c1-c0)/(b-a), rss, n)
		}
	}
	_ = server.Close()
}
