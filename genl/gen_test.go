package genl

import (
	"bytes"
	"fmt"
	"go/format"
	"strings"
)

// goFieldName turns a C field name into the Go field name sets.go uses.
func goFieldName(c string) string {
	special := map[string]string{
		"uuid": "UUID", "uuids": "UUIDs", "io": "IO", "ov": "OV", "md": "MD",
		"oos": "OOS", "tcp": "TCP", "rle": "RLE", "asbp": "ASBP", "sb": "SB",
		"hmac": "HMAC", "cpu": "CPU", "bm": "BM", "ap": "AP", "rr": "RR",
		"al": "AL", "rs": "RS", "ed": "ED", "nh": "NH", "0p": "0P", "1p": "1P",
		"2p": "2P", "ctx": "Ctx", "sib": "SIB", "id": "ID",
	}
	var b strings.Builder
	for _, part := range strings.Split(c, "_") {
		if s, ok := special[part]; ok {
			b.WriteString(s)
			continue
		}
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	return b.String()
}

func goKind(k Kind) string {
	switch k {
	case KindFlag:
		return "bool"
	case KindU32:
		return "uint32"
	case KindS32:
		return "int32"
	case KindU64:
		return "uint64"
	case KindStr:
		return "string"
	case KindBin:
		return "[]byte"
	}
	panic("unknown kind")
}

func flagNames(f FieldFlag) string {
	var s []string
	for _, x := range []struct {
		f FieldFlag
		n string
	}{{FMandatory, "mandatory"}, {FRequired, "required"}, {FInvariant, "invariant"}, {FSensitive, "sensitive"}} {
		if f&x.f != 0 {
			s = append(s, x.n)
		}
	}
	return strings.Join(s, ", ")
}

// renderSets produces the source of sets.go from the Sets table.
func renderSets() ([]byte, error) {
	var b bytes.Buffer
	b.WriteString("// Code generated from the Sets table in spec.go by TestSetsUpToDate (go test -run TestSetsUpToDate -update); DO NOT EDIT.\n\n")
	b.WriteString("package genl\n\n")
	for _, s := range Sets {
		fmt.Fprintf(&b, "// %s is struct %s, the contents of top-level attribute %d.\n", s.GoName, s.Name, s.TLA)
		b.WriteString("// Present tells which fields were on the wire (or are to be put there).\n")
		fmt.Fprintf(&b, "type %s struct {\n", s.GoName)
		for _, f := range s.Fields {
			comment := fmt.Sprintf("%s, nr %d", f.Name, f.Nr)
			if fl := flagNames(f.Flags); fl != "" {
				comment += ", " + fl
			}
			if f.HasDefault && f.Kind != KindStr {
				comment += fmt.Sprintf(", default %d", f.Default)
			}
			if f.MaxLen > 0 {
				comment += fmt.Sprintf(", max %d bytes", f.MaxLen)
			}
			fmt.Fprintf(&b, "\t%s %s `genl:\"%d\"` // %s\n", goFieldName(f.Name), goKind(f.Kind), f.Nr, comment)
		}
		b.WriteString("\tPresent Fields\n}\n\n")
		fmt.Fprintf(&b, "// TLA returns %d, the top-level attribute of %s.\n", s.TLA, s.Name)
		fmt.Fprintf(&b, "func (*%s) TLA() TLA { return %d }\n\n", s.GoName, s.TLA)
		fmt.Fprintf(&b, "// Field numbers of %s.\nconst (\n", s.Name)
		for _, f := range s.Fields {
			fmt.Fprintf(&b, "\t%s%s uint16 = %d\n", s.GoName, goFieldName(f.Name), f.Nr)
		}
		b.WriteString(")\n\n")
	}
	b.WriteString("// newSet returns a new, empty value of the Go type for t, or nil.\nfunc newSet(t TLA) Set {\n\tswitch t {\n")
	for _, s := range Sets {
		fmt.Fprintf(&b, "\tcase %d:\n\t\treturn new(%s)\n", s.TLA, s.GoName)
	}
	b.WriteString("\t}\n\treturn nil\n}\n")
	return format.Source(b.Bytes())
}
