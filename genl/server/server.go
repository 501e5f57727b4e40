package server

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/mdlayher/netlink"

	"udrbd/genl"
)

// Request is one drbd request as the handler sees it.
type Request struct {
	// Header is the request's nlmsghdr (sequence, flags, the sender's nlmsg_pid).
	Header netlink.Header
	// PortID is the caller's port id, the nlmsg_pid of every reply.
	PortID uint32
	// Msg is the decoded genl message. Problems inside a set are in
	// Msg.Attrs[i].Err; handlers answer them as the kernel does (see genl.Get).
	Msg *genl.Message
	// Creds are the caller's credentials (SO_PEERCRED).
	Creds Creds
	// Admin tells whether the caller passed the admin check. Non-admin
	// callers only reach open commands (status and dumps); handlers must
	// strip sensitive fields for them (genl.StripSensitive).
	Admin bool
}

// Handler is what the daemon implements. It must be safe for concurrent use:
// requests on different connections are dispatched concurrently; requests on
// one connection are dispatched one after another, in order.
type Handler interface {
	// Do handles a request without NLM_F_DUMP. The returned reply gets the
	// request's cmd, version 1 and the reply framing; a nil reply sends
	// nothing but the ACK (if asked for). An error that is (or wraps) a
	// syscall.Errno NACKs the request with that errno, as a kernel handler
	// returning -errno does; any other error NACKs with EINVAL.
	Do(ctx context.Context, r *Request) (*genl.Message, error)
	// Dump handles a request with NLM_F_DUMP: it calls emit once per reply
	// message, in order. An error ends the dump with NLMSG_DONE carrying
	// its errno.
	Dump(ctx context.Context, r *Request, emit func(*genl.Message) error) error
}

// Config configures a Server. The zero value listens on genl.DefaultSocket,
// mode 0600, root only.
type Config struct {
	// Path of the socket (default genl.DefaultSocket). Its directory is
	// created (0755) if missing; a stale socket there is replaced.
	Path string
	// Mode of the socket file (default 0600). Callers other than root need
	// a mode that lets them connect (e.g. 0660 with Group, or 0666).
	Mode os.FileMode
	// Group, if not negative, becomes the socket file's group. Zero is root.
	Group int
	// AdminGroups are the gids whose members may run state-changing commands.
	AdminGroups []uint32
	// Authorize, if set, replaces the default check (root, or a member of
	// an admin group). It is the seam for tests.
	Authorize func(Creds) bool
	// MaxDatagram bounds the size of each reply datagram a dump is packed
	// into (default 16384, minimum 256).
	MaxDatagram int
	// QueueLen is how many datagrams may wait to be written to one
	// connection (default 256). Multicast messages that find the queue full
	// are dropped for that connection, as the kernel drops them on a full
	// receive buffer; the gap shows in the sequence numbers.
	QueueLen int
}

// Server serves the drbd family on a unix SOCK_SEQPACKET socket.
type Server struct {
	cfg Config
	h   Handler
	ln  *net.UnixListener

	ctx    context.Context // canceled by Close; parent of every handler call
	cancel context.CancelFunc
	wg     sync.WaitGroup // connection goroutines

	mu     sync.Mutex // guards conns, ports and closed
	conns  map[*conn]struct{}
	ports  map[uint32]bool
	closed bool
	nextID uint32 // last port id handed out from the kernel-like negative range

	dropped atomic.Uint64 // multicast datagrams dropped on full queues
}

// Listen creates the socket and returns a Server ready to Serve.
func Listen(cfg Config, h Handler) (*Server, error) {
	if cfg.Path == "" {
		cfg.Path = genl.DefaultSocket
	}
	if cfg.Mode == 0 {
		cfg.Mode = 0o600
	}
	if cfg.MaxDatagram == 0 {
		cfg.MaxDatagram = 16384
	}
	cfg.MaxDatagram = max(cfg.MaxDatagram, 256)
	if cfg.QueueLen == 0 {
		cfg.QueueLen = 256
	}
	ln, err := listenAt(cfg.Path, cfg.Mode, cfg.Group)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Server{cfg: cfg, h: h, ln: ln, ctx: ctx, cancel: cancel,
		conns: map[*conn]struct{}{}, ports: map[uint32]bool{}}, nil
}

// listenAt binds the socket under a temporary name in the target directory,
// sets mode and group there, and renames it into place, so that the socket
// is never reachable with looser permissions.
func listenAt(path string, mode os.FileMode, group int) (*net.UnixListener, error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	if c, err := net.Dial("unixpacket", path); err == nil {
		c.Close()
		return nil, fmt.Errorf("control socket %s: %w", path, syscall.EADDRINUSE)
	}
	tmpDir, err := os.MkdirTemp(dir, ".control-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmpDir)
	tmp := filepath.Join(tmpDir, "sock")
	ln, err := net.ListenUnix("unixpacket", &net.UnixAddr{Name: tmp, Net: "unixpacket"})
	if err != nil {
		return nil, err
	}
	ln.SetUnlinkOnClose(false)
	fail := func(err error) (*net.UnixListener, error) {
		ln.Close()
		return nil, err
	}
	if err := os.Chmod(tmp, mode); err != nil {
		return fail(err)
	}
	if group >= 0 && group != os.Getgid() {
		if err := os.Chown(tmp, -1, group); err != nil {
			return fail(err)
		}
	}
	if err := os.Rename(tmp, path); err != nil {
		return fail(err)
	}
	return ln, nil
}

// Path is the socket's path.
func (s *Server) Path() string { return s.cfg.Path }

// Dropped counts multicast datagrams dropped because a subscriber's queue was full.
func (s *Server) Dropped() uint64 { return s.dropped.Load() }

// Serve accepts connections until Close. It returns nil after Close.
func (s *Server) Serve() error {
	for {
		uc, err := s.ln.AcceptUnix()
		if err != nil {
			s.mu.Lock()
			closed := s.closed
			s.mu.Unlock()
			if closed {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return err
		}
		c, err := s.newConn(uc)
		if err != nil {
			uc.Close()
			continue
		}
		s.wg.Add(2)
		go c.writeLoop()
		go c.readLoop()
	}
}

// Close stops accepting, closes every connection, cancels running handler
// calls' contexts and waits for the connection goroutines. It removes the
// socket file. Close is idempotent.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	conns := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	s.cancel()
	err := s.ln.Close()
	for _, c := range conns {
		c.close()
	}
	s.wg.Wait()
	if rerr := os.Remove(s.cfg.Path); rerr != nil && !os.IsNotExist(rerr) && err == nil {
		err = rerr
	}
	return err
}

// Multicast sends m to every connection that joined the "events" group, as
// genlmsg_multicast does: nlmsg type = the family id, flags 0, the given
// sequence number (the kernel keeps one counter for DRBD_EVENT and one for
// the events2 notifications, each starting at 2, so its first message has
// seq 3), nlmsg_pid 0. Receivers with a full queue miss the message.
func (s *Server) Multicast(seq uint32, m *genl.Message) error {
	payload, err := m.MarshalBinary()
	if err != nil {
		return err
	}
	dg := appendMessage(nil, netlink.Header{Type: genl.FamilyID, Sequence: seq}, payload)
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		if c.events.Load() && !c.offer(dg) {
			s.dropped.Add(1)
		}
	}
	return nil
}

// allocPort hands out port ids the way netlink autobind does: the caller's
// tgid if free, else a fresh id from the negative range below -4096.
func (s *Server) allocPort(pid int32) uint32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := uint32(pid)
	if pid <= 0 || s.ports[id] {
		if s.nextID == 0 {
			s.nextID = uint32(0xffffffff - 4096 + 1) // -4096
		}
		for {
			s.nextID--
			if s.nextID < 0x80000000 {
				s.nextID = uint32(0xffffffff - 4096)
			}
			if !s.ports[s.nextID] {
				break
			}
		}
		id = s.nextID
	}
	s.ports[id] = true
	return id
}

// errnoOf maps a handler error to the errno of the NACK.
func errnoOf(err error) syscall.Errno {
	var en syscall.Errno
	if errors.As(err, &en) && en != 0 {
		return en
	}
	return syscall.EINVAL
}

func putErrno(b []byte, e syscall.Errno) []byte {
	return binary.NativeEndian.AppendUint32(b, uint32(-int32(e)))
}
