package failover

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"
)

func TestOSSystemRun(t *testing.T) {
	var s OSSystem
	out, err := s.Run(context.Background(), "sh", "-c", "echo out; echo err >&2; exit 0")
	if err != nil || string(out) != "out\nerr\n" {
		t.Fatalf("Run = %q, %v", out, err)
	}
	if out, err := s.Run(context.Background(), "sh", "-c", "echo refused; exit 11"); err == nil || !strings.Contains(string(out), "refused") {
		t.Fatalf("a failing command: %q, %v", out, err)
	}
	if _, err := s.Run(context.Background()); err == nil {
		t.Fatal("no program ran")
	}
	// a timeout kills the shell and what it started
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = s.Run(ctx, "sh", "-c", "sleep 30 & sleep 30; wait")
	if err == nil || time.Since(start) > 5*time.Second {
		t.Fatalf("timed-out command: err %v after %s", err, time.Since(start))
	}
	if !strings.Contains(err.Error(), "deadline") {
		t.Errorf("a timeout does not say so: %v", err)
	}
}

func TestOSSystemStream(t *testing.T) {
	var s OSSystem
	ctx, cancel := context.WithCancel(context.Background())
	out, wait, err := s.Stream(ctx, "sh", "-c", "echo 'exists -'; exec sleep 30")
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 9)
	if _, err := io.ReadFull(out, buf); err != nil || string(buf) != "exists -\n" {
		t.Fatalf("read %q, %v", buf, err)
	}
	cancel()
	done := make(chan error, 1)
	go func() { done <- wait() }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the stream did not end with its context")
	}
	if _, _, err := s.Stream(context.Background(), "/nonexistent/drbdsetup"); err == nil {
		t.Fatal("a missing program started")
	}
}
