package netctl_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lambdaplane/lambdaplane/internal/netctl"
)

// syncBuffer is a log sink that Run's goroutine and the test share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// An invalid prefix makes every Apply fail before it touches the kernel,
// which shows the retry loop and the way Run stops without root.
func TestRunRetriesFailedApply(t *testing.T) {
	e := newEnv(t)
	e.vpc("10.0.0.0/16")
	var logs syncBuffer
	c := netctl.New("not-a-prefix", e.svc, slog.New(slog.NewTextHandler(&logs, nil)))
	if err := c.Sync(ctx); err == nil {
		t.Fatal("Sync with an invalid prefix succeeded")
	}
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	eventually(t, "three attempts logged", func() bool {
		return strings.Count(logs.String(), "applying the network failed") >= 3
	})
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Run did not stop on Close")
	}
	if !strings.Contains(logs.String(), "in=200ms") {
		t.Fatalf("retries do not back off:\n%s", logs.String())
	}
}

func TestRunStopsWithContext(t *testing.T) {
	e := newEnv(t)
	c := netctl.New("not-a-prefix", e.svc, nil)
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- c.Run(runCtx) }()
	time.Sleep(20 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Run did not stop when its context ended")
	}
}
