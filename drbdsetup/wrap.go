package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// stdout is buffered like C stdio on a pipe; exit flushes it.
var stdout = bufio.NewWriterSize(os.Stdout, 64<<10)

// stderr is unbuffered, as in C.
var stderr io.Writer = os.Stderr

func printf(format string, args ...any) { fmt.Fprintf(stdout, format, args...) }

// wrapper is wrap_printf.c: output broken at the terminal width (80 when
// stdout is no terminal), with a new line's leading blanks replaced by an
// indent. Its column bookkeeping is off by one after a wrap (col starts at
// -1, not at the indent); that is kept, it decides where lines break.
type wrapper struct {
	columns, col int
}

var wrap wrapper

func (p *wrapper) printf(indent int, format string, args ...any) {
	if p.columns == 0 {
		ws, err := unix.IoctlGetWinsize(1, unix.TIOCGWINSZ)
		if err == nil {
			p.columns = int(ws.Col)
		}
		if p.columns <= 0 {
			p.columns = 80
		}
	}
	for strings.HasPrefix(format, "\n") {
		stdout.WriteByte('\n')
		p.col = 0
		format = format[1:]
	}
	if format == "" {
		return
	}
	n := len(fmt.Sprintf(format, args...))
	if p.col > 0 && p.col+n > p.columns {
		stdout.WriteByte('\n')
		p.col = 0
	}
	if p.col == 0 {
		format = strings.TrimLeft(format, " ")
		stdout.WriteString(strings.Repeat(" ", indent))
		p.col = -1
	}
	s := fmt.Sprintf(format, args...)
	stdout.WriteString(s)
	p.col += len(s)
	if strings.HasSuffix(format, "\n") {
		p.col = 0
	}
}
