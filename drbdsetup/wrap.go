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

// wrapper is wrap_printf.c as drbd-utils 9.22 ships it (the drbdsetup-84
// of Debian 13): output broken at the terminal width (80 when stdout is no
// terminal); a fragment that does not fit starts a new line, where its
// leading blanks are replaced by the indent. A fragment starting with a
// newline that does not fit loses that newline to the wrap.
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
	n := len(fmt.Sprintf(format, args...))
	if p.col+n > p.columns {
		stdout.WriteByte('\n')
		format = strings.TrimPrefix(format, "\n")
		p.col = 0
	}
	if p.col == 0 {
		format = strings.TrimLeft(format, " ")
		p.col += indent
		stdout.WriteString(strings.Repeat(" ", indent))
	}
	s := fmt.Sprintf(format, args...)
	stdout.WriteString(s)
	p.col += len(s)
	if strings.HasSuffix(format, "\n") {
		p.col = 0
	}
}
