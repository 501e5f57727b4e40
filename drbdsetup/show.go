package main

import (
	"encoding/binary"
	"strings"

	"udrbd/drbd"
	"udrbd/genl"
)

// show output state (show_scmd's statics).
var (
	showIndent    int
	showLastRes   string
	showCallCount int
)

func printI(format string, args ...any) {
	printf("%s", strings.Repeat(" ", 4*showIndent))
	printf(format, args...)
}

// nestedFields splits a set's raw payload into field number -> payload
// (the last occurrence wins, as with nla_parse).
func nestedFields(raw []byte) map[uint16][]byte {
	out := map[uint16][]byte{}
	for len(raw) >= 4 {
		l := int(binary.NativeEndian.Uint16(raw))
		t := binary.NativeEndian.Uint16(raw[2:]) & genl.TypeMask &^ genl.MandatoryFlag
		if l < 4 || l > len(raw) {
			break
		}
		out[t] = raw[4:l]
		al := (l + 3) &^ 3
		if al > len(raw) {
			break
		}
		raw = raw[al:]
	}
	return out
}

// printOptions is print_options: the fields of a command's context present
// in the reply's set, defaults hidden unless --show-defaults.
func printOptions(m *genl.Message, tla genl.TLA, fields []field, section string) {
	a := m.Find(tla)
	if a == nil {
		return
	}
	sp := genl.SpecOf(tla)
	vals := nestedFields(a.Raw)
	opened := false
	for i := range fields {
		f := &fields[i]
		raw, ok := vals[f.nr]
		if !ok {
			continue
		}
		if !opened {
			opened = true
			printI("%s {\n", section)
			showIndent++
		}
		kind := genl.KindBin
		if fs := sp.Field(f.nr); fs != nil {
			kind = fs.Kind
		}
		s, isDefault := f.show(raw, kind)
		if isDefault && !showDefault {
			continue
		}
		if f.needsQuoting() {
			s = doubleQuote(s)
		}
		printI("%-16s\t%s;", f.name, s)
		if f.unit != "" || isDefault {
			printf(" # ")
			if f.unit != "" {
				printf("%s", f.unit)
			}
			if f.unit != "" && isDefault {
				printf(", ")
			}
			if isDefault {
				printf("default")
			}
		}
		printf("\n")
	}
	if opened {
		showIndent--
		printI("}\n")
	}
}

// showShow is show_scmd.
func showShow(cm *command, r *reply) int {
	if r == nil {
		if showCallCount > 0 {
			showIndent--
			printI("}\n")
			showIndent--
			printI("}\n")
		}
		stdout.Flush()
		return 0
	}
	showCallCount++
	m := r.msg
	c := ctxOf(m)
	if c.resource != showLastRes {
		if showLastRes != "" {
			showIndent--
			printI("}\n")
			showIndent--
			printI("}\n\n")
		}
		showLastRes = c.resource
		printI("resource %s {\n", c.resource)
		showIndent++
		printOptions(m, genl.TLAResourceOpts, ctxResourceOptions, "options")
		printOptions(m, genl.TLANetConf, ctxNetOptions, "net")
		if len(c.peerAddr) > 0 {
			printI("_remote_host {\n")
			showIndent++
			printI("address\t\t\t%s;\n", formatAddress(c.peerAddr))
			showIndent--
			printI("}\n")
		}
		printI("_this_host {\n")
		showIndent++
		if len(c.myAddr) > 0 {
			printI("address\t\t\t%s;\n", formatAddress(c.myAddr))
		}
	}
	if c.volume != ^uint32(0) {
		printI("volume %d {\n", int32(c.volume))
		showIndent++
		printI("device\t\t\tminor %d;\n", int32(m.Minor))
		if a := m.Find(genl.TLADiskConf); a != nil {
			v := nestedFields(a.Raw)
			dev := cString(v[genl.DiskConfBackingDev])
			if dev != "" {
				printI("disk\t\t\t\"%s\";\n", dev)
				printI("meta-disk\t\t\t")
				idx := int32(rawUint(v[genl.DiskConfMetaDevIdx], genl.KindS32))
				meta := cString(v[genl.DiskConfMetaDev])
				switch idx {
				case drbd.MDIndexInternal, drbd.MDIndexFlexInt:
					printf("internal;\n")
				case drbd.MDIndexFlexExt:
					printf("%s;\n", doubleQuote(meta))
				default:
					printf("%s [ %d ];\n", doubleQuote(meta), idx)
				}
			}
		}
		printOptions(m, genl.TLADiskConf, ctxAttach, "disk")
		showIndent--
		printI("}\n")
	}
	return 0
}
