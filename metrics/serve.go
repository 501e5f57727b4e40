package metrics

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// DefaultPort is the port drbd-reactor's exporter listens on by default
// (":9942", registered for it with the Prometheus project).
const DefaultPort = 9942

// Server serves /metrics over HTTP.
type Server struct {
	ln  net.Listener
	srv *http.Server
}

// Registry returns a registry with c and the Go runtime and process
// collectors.
func Registry(c prometheus.Collector) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(c, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// Listen binds addr (host:port, as for net.Listen "tcp"; ":9942" is every
// address on drbd-reactor's port) and serves the registry's metrics at
// /metrics until Close.
func Listen(addr string, reg *prometheus.Registry) (*Server, error) {
	if addr == "" {
		return nil, errors.New("metrics: no listen address")
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return nil, fmt.Errorf("metrics: listen address %q: %v (want HOST:PORT, e.g. :%d)", addr, err, DefaultPort)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics: listen on %q: %w", addr, err)
	}
	mux := http.NewServeMux()
	// The text format only: drbd-reactor's names (counters without _total
	// among them) stay as they are, OpenMetrics would rename them.
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, "<html><body><a href=\"/metrics\">udrbd metrics</a></body></html>\n")
	})
	s := &Server{ln: ln, srv: &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

// Addr is the address the server listens on.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Close stops the server.
func (s *Server) Close() error { return s.srv.Close() }

// DrbdadmVersion asks `drbdadm --version` for the drbd-utils version
// (DRBDADM_VERSION_CODE, as drbd-reactor reads it); "" if drbdadm is
// missing or says nothing usable.
func DrbdadmVersion(ctx context.Context) string {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "drbdadm", "--version").Output()
	if err != nil && len(out) == 0 {
		return ""
	}
	return parseVersionCode(out, "DRBDADM_VERSION_CODE")
}

// parseVersionCode finds KEY=0xMMmmpp in out and returns "M.m.p".
func parseVersionCode(out []byte, key string) string {
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		v, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), key+"=0x")
		if !ok {
			continue
		}
		n, err := strconv.ParseUint(v, 16, 32)
		if err != nil {
			return ""
		}
		return fmt.Sprintf("%d.%d.%d", n>>16&0xff, n>>8&0xff, n&0xff)
	}
	return ""
}
