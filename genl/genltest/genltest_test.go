package genltest_test

import (
	"context"
	"errors"
	"syscall"
	"testing"

	"udrbd/genl"
	"udrbd/genl/genltest"
	"udrbd/genl/server"
)

func TestStart(t *testing.T) {
	h := genltest.Handler{
		DumpFunc: func(_ context.Context, r *server.Request, emit func(*genl.Message) error) error {
			for i := range 3 {
				if err := emit(&genl.Message{Minor: uint32(i)}); err != nil {
					return err
				}
			}
			return nil
		},
	}
	_, c := genltest.Start(t, h, server.Config{})
	req := &genl.Message{Cmd: genl.CmdNewResource, Minor: genl.MinorNone}
	req.Add(&genl.CfgContext{CtxResourceName: "r9", Present: 1 << genl.CfgContextCtxResourceName})
	reply, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if cc, err := genl.Get[*genl.CfgContext](reply); err != nil || cc.CtxResourceName != "r9" || reply.RetCode() != genl.NoError {
		t.Fatalf("default reply %+v %v", cc, err)
	}
	var n int
	if err := c.Dump(&genl.Message{Cmd: genl.CmdGetDevices}, func(*genl.Message) error { n++; return nil }); err != nil || n != 3 {
		t.Fatalf("dump: %d messages, %v", n, err)
	}

	_, c2 := genltest.Start(t, genltest.Handler{}, server.Config{Authorize: func(server.Creds) bool { return false }})
	if _, err := c2.Do(req); !errors.Is(err, syscall.EPERM) {
		t.Fatalf("non-admin: %v", err)
	}
}
