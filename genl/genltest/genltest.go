// Package genltest runs a real genl/server on a unix socket in a test's
// temporary directory and connects a genl/client to it, so packages above
// (the daemon, the CLI) can test against the real transport in a few lines.
package genltest

import (
	"context"
	"path/filepath"
	"testing"

	"udrbd/genl"
	"udrbd/genl/client"
	"udrbd/genl/server"
)

// Handler adapts two functions to server.Handler. A nil DoFunc replies
// NO_ERROR with the request's context (genl.NewReply); a nil DumpFunc dumps
// nothing.
type Handler struct {
	DoFunc   func(ctx context.Context, r *server.Request) (*genl.Message, error)
	DumpFunc func(ctx context.Context, r *server.Request, emit func(*genl.Message) error) error
}

// Do implements server.Handler.
func (h Handler) Do(ctx context.Context, r *server.Request) (*genl.Message, error) {
	if h.DoFunc == nil {
		return genl.NewReply(r.Msg), nil
	}
	return h.DoFunc(ctx, r)
}

// Dump implements server.Handler.
func (h Handler) Dump(ctx context.Context, r *server.Request, emit func(*genl.Message) error) error {
	if h.DumpFunc == nil {
		return nil
	}
	return h.DumpFunc(ctx, r, emit)
}

// Start listens on a socket in t.TempDir() (cfg.Path is set if empty; every
// caller counts as admin unless cfg.Authorize is set), serves h, and returns
// the server and a client connected to it. Both are closed when the test ends.
func Start(t testing.TB, h server.Handler, cfg server.Config) (*server.Server, *client.Client) {
	t.Helper()
	if cfg.Path == "" {
		cfg.Path = filepath.Join(t.TempDir(), "control.sock")
	}
	if cfg.Authorize == nil {
		cfg.Authorize = func(server.Creds) bool { return true }
	}
	s, err := server.Listen(cfg, h)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve() }()
	c, err := client.Dial(s.Path())
	if err != nil {
		s.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.Close()
		if err := s.Close(); err != nil {
			t.Errorf("genltest: close: %v", err)
		}
		if err := <-done; err != nil {
			t.Errorf("genltest: serve: %v", err)
		}
	})
	return s, c
}
