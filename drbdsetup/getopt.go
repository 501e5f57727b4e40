package main

import (
	"fmt"
	"io"
	"strings"
)

// Argument kinds of a long option (getopt.h).
const (
	noArgument       = 0
	requiredArgument = 1
	optionalArgument = 2
)

// longOpt is a struct option without the flag pointer (always NULL here).
type longOpt struct {
	name   string
	hasArg int
	val    int
}

// optHit is one option getopt_long returned.
type optHit struct {
	val   int    // the option's val (or short option character)
	index int    // index into the long options, -1 for a short option
	arg   string // optarg
	isArg bool   // optarg != NULL
}

// getoptLong emulates glibc's getopt_long in its default (permuting) mode on
// args (argv without argv[0]): it returns the options in order and the
// non-option arguments in order, or ok=false after printing glibc's
// diagnostic, prefixed with prog, to errw.
func getoptLong(errw io.Writer, prog string, args []string, shortopts string, opts []longOpt) (hits []optHit, rest []string, ok bool) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			rest = append(rest, args[i+1:]...)
			break
		}
		if len(a) < 2 || a[0] != '-' {
			rest = append(rest, a)
			continue
		}
		if strings.HasPrefix(a, "--") {
			body := a[2:]
			name, value, hasValue := strings.Cut(body, "=")
			found := -1
			for j, o := range opts {
				if o.name == name {
					found = j
					break
				}
			}
			if found < 0 {
				var ambig []int
				for j, o := range opts {
					if !strings.HasPrefix(o.name, name) {
						continue
					}
					if found < 0 {
						found = j
						continue
					}
					p := opts[found]
					if p.hasArg != o.hasArg || p.val != o.val {
						if ambig == nil {
							ambig = append(ambig, found)
						}
						ambig = append(ambig, j)
					}
				}
				if ambig != nil {
					fmt.Fprintf(errw, "%s: option '--%s' is ambiguous; possibilities:", prog, body)
					for _, j := range ambig {
						fmt.Fprintf(errw, " '--%s'", opts[j].name)
					}
					fmt.Fprintln(errw)
					return hits, rest, false
				}
			}
			if found < 0 {
				fmt.Fprintf(errw, "%s: unrecognized option '--%s'\n", prog, body)
				return hits, rest, false
			}
			o := opts[found]
			h := optHit{val: o.val, index: found}
			switch {
			case hasValue:
				if o.hasArg == noArgument {
					fmt.Fprintf(errw, "%s: option '--%s' doesn't allow an argument\n", prog, o.name)
					return hits, rest, false
				}
				h.arg, h.isArg = value, true
			case o.hasArg == requiredArgument:
				if i+1 >= len(args) {
					fmt.Fprintf(errw, "%s: option '--%s' requires an argument\n", prog, o.name)
					return hits, rest, false
				}
				i++
				h.arg, h.isArg = args[i], true
			}
			hits = append(hits, h)
			continue
		}
		// a cluster of short options
		for k := 1; k < len(a); k++ {
			c := a[k]
			pos := strings.IndexByte(shortopts, c)
			if pos < 0 || c == ':' {
				fmt.Fprintf(errw, "%s: invalid option -- '%c'\n", prog, c)
				return hits, rest, false
			}
			h := optHit{val: int(c), index: -1}
			colons := 0
			for p := pos + 1; p < len(shortopts) && shortopts[p] == ':' && colons < 2; p++ {
				colons++
			}
			if colons == 0 {
				hits = append(hits, h)
				continue
			}
			if k+1 < len(a) {
				h.arg, h.isArg = a[k+1:], true
			} else if colons == 1 {
				if i+1 >= len(args) {
					fmt.Fprintf(errw, "%s: option requires an argument -- '%c'\n", prog, c)
					return hits, rest, false
				}
				i++
				h.arg, h.isArg = args[i], true
			}
			hits = append(hits, h)
			break
		}
	}
	return hits, rest, true
}
