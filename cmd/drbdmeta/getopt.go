package main

import (
	"fmt"
	"strings"
)

// A small GNU getopt_long: options may appear anywhere (non-options are
// permuted to the end, in order), "--" ends option parsing, long options may
// be abbreviated to a unique prefix and take "=val" or the next argument,
// short options may be clustered. Error texts are glibc's.

type optSpec struct {
	long   string
	short  byte // 0: long only
	hasArg bool
}

type optHit struct {
	spec *optSpec
	arg  string
}

// getoptLong parses args (args[0] is the program name). It returns the
// options found, the non-option arguments, and a non-empty error message
// (already in glibc's words, prefixed with prog) on the first bad option.
func getoptLong(prog string, args []string, specs []optSpec) (hits []optHit, rest []string, errMsg string) {
	for i := 1; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			rest = append(rest, args[i+1:]...)
			return hits, rest, ""
		case strings.HasPrefix(a, "--"):
			name, val, hasVal := strings.Cut(a[2:], "=")
			var match *optSpec
			exact := false
			var ambiguous []string
			for k := range specs {
				s := &specs[k]
				if s.long == name {
					match, exact = s, true
					break
				}
				if strings.HasPrefix(s.long, name) {
					if match != nil {
						ambiguous = append(ambiguous, "'--"+s.long+"'")
					} else {
						match = s
					}
				}
			}
			if !exact && len(ambiguous) > 0 {
				return hits, rest, fmt.Sprintf("%s: option '%s' is ambiguous; possibilities: '--%s' %s", prog, a, match.long, strings.Join(ambiguous, " "))
			}
			if match == nil {
				return hits, rest, fmt.Sprintf("%s: unrecognized option '%s'", prog, a)
			}
			switch {
			case match.hasArg && hasVal:
				hits = append(hits, optHit{match, val})
			case match.hasArg:
				if i+1 >= len(args) {
					return hits, rest, fmt.Sprintf("%s: option '--%s' requires an argument", prog, match.long)
				}
				i++
				hits = append(hits, optHit{match, args[i]})
			case hasVal:
				return hits, rest, fmt.Sprintf("%s: option '--%s' doesn't allow an argument", prog, match.long)
			default:
				hits = append(hits, optHit{match, ""})
			}
		case len(a) > 1 && a[0] == '-':
			for j := 1; j < len(a); j++ {
				c := a[j]
				var match *optSpec
				for k := range specs {
					if specs[k].short == c {
						match = &specs[k]
						break
					}
				}
				if match == nil {
					return hits, rest, fmt.Sprintf("%s: invalid option -- '%c'", prog, c)
				}
				if !match.hasArg {
					hits = append(hits, optHit{match, ""})
					continue
				}
				if j+1 < len(a) {
					hits = append(hits, optHit{match, a[j+1:]})
				} else if i+1 < len(args) {
					i++
					hits = append(hits, optHit{match, args[i]})
				} else {
					return hits, rest, fmt.Sprintf("%s: option requires an argument -- '%c'", prog, c)
				}
				break
			}
		default:
			rest = append(rest, a)
		}
	}
	return hits, rest, ""
}
