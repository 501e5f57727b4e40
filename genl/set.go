package genl

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"reflect"
	"strconv"
	"syscall"

	"github.com/mdlayher/netlink"
)

// Set is the Go value of one attribute set (one GENL_struct), e.g. *DiskConf.
type Set interface {
	// TLA is the top-level attribute that carries the set.
	TLA() TLA
}

// Fields is a set of field numbers (bit nr set = field nr present).
type Fields uint64

// Has tells whether field nr is in f.
func (f Fields) Has(nr uint16) bool { return nr < 64 && f&(1<<nr) != 0 }

// Add puts the field numbers into f.
func (f *Fields) Add(nrs ...uint16) {
	for _, nr := range nrs {
		*f |= 1 << nr
	}
}

// Del removes field nr from f.
func (f *Fields) Del(nr uint16) { *f &^= 1 << nr }

// Len is the number of fields in f.
func (f Fields) Len() int { return bits.OnesCount64(uint64(f)) }

// binding ties a SetSpec to its generated Go type.
type binding struct {
	spec    *SetSpec
	typ     reflect.Type
	index   map[uint16]int // field nr -> struct field index
	present int            // index of the Present field
	order   []*FieldSpec   // canonical emission order (PutOrder, else declaration order)
}

var bindings = func() map[TLA]*binding {
	out := make(map[TLA]*binding, len(Sets))
	for i := range Sets {
		s := &Sets[i]
		v := newSet(s.TLA)
		if v == nil {
			panic("genl: no Go type for " + s.Name)
		}
		t := reflect.TypeOf(v).Elem()
		b := &binding{spec: s, typ: t, index: map[uint16]int{}, present: -1}
		for j := 0; j < t.NumField(); j++ {
			sf := t.Field(j)
			if sf.Name == "Present" {
				b.present = j
				continue
			}
			nr, err := strconv.Atoi(sf.Tag.Get("genl"))
			if err != nil {
				panic("genl: bad tag on " + t.Name() + "." + sf.Name)
			}
			b.index[uint16(nr)] = j
		}
		for _, nr := range s.PutOrder {
			b.order = append(b.order, s.Field(nr))
		}
		if len(b.order) != len(s.PutOrder) || s.PutOrder != nil && len(b.order) != len(s.Fields) {
			panic("genl: PutOrder of " + s.Name + " does not list every field once")
		}
		if b.order == nil {
			for j := range s.Fields {
				b.order = append(b.order, &s.Fields[j])
			}
		}
		out[s.TLA] = b
	}
	return out
}()

func bindingOf(s Set) *binding {
	b := bindings[s.TLA()]
	if b == nil || reflect.TypeOf(s).Elem() != b.typ {
		panic(fmt.Sprintf("genl: %T is not a drbd attribute set", s))
	}
	return b
}

// NewSet returns a new, empty Go value for the set carried by t, or nil if t
// names no set of the family.
func NewSet(t TLA) Set { return newSet(t) }

// AllFields returns every field number of the set s belongs to.
func AllFields(s Set) Fields {
	var f Fields
	for _, fs := range bindingOf(s).spec.Fields {
		f.Add(fs.Nr)
	}
	return f
}

// SetDefaults does what the kernel's set_<struct>_defaults() does: it assigns
// every field that has a default (strings with a default become empty) and
// marks them present. Fields without a default are left alone.
func SetDefaults(s Set) {
	b := bindingOf(s)
	v := reflect.ValueOf(s).Elem()
	pf := v.Field(b.present).Addr().Interface().(*Fields)
	for _, f := range b.spec.Fields {
		if !f.HasDefault {
			continue
		}
		fv := v.Field(b.index[f.Nr])
		switch f.Kind {
		case KindFlag:
			fv.SetBool(f.Default != 0)
		case KindU32, KindU64:
			fv.SetUint(uint64(f.Default))
		case KindS32:
			fv.SetInt(f.Default)
		case KindStr:
			fv.SetString("")
		case KindBin:
			fv.SetBytes(nil)
		}
		pf.Add(f.Nr)
	}
}

// Overlay copies every field present in src into dst and marks it present
// there: the kernel's way of applying a request on top of the current (or
// default) settings.
func Overlay(dst, src Set) {
	b := bindingOf(src)
	if bindingOf(dst) != b {
		panic("genl: Overlay of different sets")
	}
	sv, dv := reflect.ValueOf(src).Elem(), reflect.ValueOf(dst).Elem()
	sp := sv.Field(b.present).Interface().(Fields)
	dp := dv.Field(b.present).Addr().Interface().(*Fields)
	for _, f := range b.spec.Fields {
		if sp.Has(f.Nr) {
			dv.Field(b.index[f.Nr]).Set(sv.Field(b.index[f.Nr]))
			dp.Add(f.Nr)
		}
	}
}

// StripSensitive removes DRBD_F_SENSITIVE fields (shared_secret) from s, as
// the kernel's *_to_unpriv_skb does for callers without admin rights.
func StripSensitive(s Set) {
	b := bindingOf(s)
	v := reflect.ValueOf(s).Elem()
	pf := v.Field(b.present).Addr().Interface().(*Fields)
	for _, f := range b.spec.Fields {
		if f.Flags&FSensitive != 0 {
			pf.Del(f.Nr)
			v.Field(b.index[f.Nr]).SetZero()
		}
	}
}

// WithoutSensitive returns s itself when it carries no DRBD_F_SENSITIVE field,
// else a copy of s with those fields removed; s is never changed, so a
// handler may hand out its own stored configuration.
func WithoutSensitive(s Set) Set {
	b := bindingOf(s)
	v := reflect.ValueOf(s).Elem()
	present := v.Field(b.present).Interface().(Fields)
	for _, f := range b.spec.Fields {
		if f.Flags&FSensitive != 0 && present.Has(f.Nr) {
			c := reflect.New(b.typ)
			c.Elem().Set(v)
			cs := c.Interface().(Set)
			StripSensitive(cs)
			return cs
		}
	}
	return s
}

// SetError is a set that the kernel's *_from_attrs would refuse. Errno is
// what the kernel function returns; the handler answers ERR_MANDATORY_TAG
// with Text() as info text, except for the cfg context, which the kernel
// NACKs with Errno.
type SetError struct {
	TLA   TLA
	Field string // C name of the offending field, "" if not one field
	Nr    uint16 // attribute number (without flags) of the offending attribute
	Errno syscall.Errno
}

func (e *SetError) Error() string {
	s := fmt.Sprintf("drbd genl: set %d", e.TLA)
	if sp := SpecOf(e.TLA); sp != nil {
		s = "drbd genl: " + sp.Name
	}
	if e.Field != "" {
		s += "." + e.Field
	} else if e.Nr != 0 {
		s += fmt.Sprintf(" attribute %d", e.Nr)
	}
	return s + ": " + e.Text() + " (" + e.Errno.Error() + ")"
}

// Unwrap returns the errno, so errors.Is(err, syscall.EOPNOTSUPP) works.
func (e *SetError) Unwrap() error { return e.Errno }

// Text is the kernel's from_attrs_err_to_txt() for the errno.
func (e *SetError) Text() string {
	switch e.Errno {
	case syscall.ENOMSG:
		return "required attribute missing"
	case syscall.EOPNOTSUPP:
		return "unknown mandatory attribute"
	case syscall.EEXIST:
		return "can not change invariant setting"
	}
	return "invalid attribute value"
}

// CheckSet applies the remaining checks of <struct>_from_attrs: with
// forChange (the *_from_attrs_for_change variant used by disk-options and
// net-options) a present invariant field fails with EEXIST; otherwise, or for
// non-invariant fields, a missing required field fails with ENOMSG.
func CheckSet(s Set, forChange bool) error {
	b := bindingOf(s)
	p := reflect.ValueOf(s).Elem().Field(b.present).Interface().(Fields)
	for _, f := range b.spec.Fields {
		inv := forChange && f.Flags&FInvariant != 0
		switch {
		case p.Has(f.Nr) && inv:
			return &SetError{TLA: b.spec.TLA, Field: f.Name, Nr: f.Nr, Errno: syscall.EEXIST}
		case !p.Has(f.Nr) && !inv && f.Flags&FRequired != 0:
			return &SetError{TLA: b.spec.TLA, Field: f.Name, Nr: f.Nr, Errno: syscall.ENOMSG}
		}
	}
	return nil
}

// Wire is one nested attribute as it was on the wire: its type with flag
// bits, and its payload when the attribute is not one of the set's fields
// (unknown numbers and type-0 padding are kept verbatim this way).
type Wire struct {
	Type uint16
	Data []byte
}

// splitAttrs walks b the way the kernel's nla_for_each_attr/nla_ok does and
// returns the length of the well-formed prefix; the rest is left over.
func splitAttrs(b []byte) int {
	n := 0
	for len(b)-n >= 4 {
		l := int(binary.NativeEndian.Uint16(b[n:]))
		if l < 4 || l > len(b)-n {
			break
		}
		n += min(nlaAlign(l), len(b)-n)
	}
	return n
}

func nlaAlign(n int) int { return (n + 3) &^ 3 }

// decodeSet parses the contents of top-level attribute t into its Go value,
// with the kernel's legacy validation, and records the wire layout.
func decodeSet(t TLA, b []byte) (Set, []Wire, error) {
	bd := bindings[t]
	s := newSet(t)
	v := reflect.ValueOf(s).Elem()
	pf := v.Field(bd.present).Addr().Interface().(*Fields)
	maxNr := bd.spec.MaxNr()

	var wires []Wire
	ad, err := netlink.NewAttributeDecoder(b[:splitAttrs(b)])
	if err != nil {
		return nil, nil, &SetError{TLA: t, Errno: syscall.EINVAL}
	}
	ad.ByteOrder = binary.NativeEndian
	type raw struct {
		typ  uint16
		data []byte
	}
	var attrs []raw
	for ad.Next() {
		attrs = append(attrs, raw{ad.Type() | ad.TypeFlags(), ad.Bytes()})
	}
	if err := ad.Err(); err != nil {
		return nil, nil, &SetError{TLA: t, Errno: syscall.EINVAL}
	}
	// drbd_nla_check_mandatory: an unknown attribute with the mandatory bit
	// fails the whole set before anything else is looked at.
	for _, a := range attrs {
		if a.typ&MandatoryFlag != 0 && a.typ&TypeMask > maxNr {
			return nil, nil, &SetError{TLA: t, Nr: a.typ & TypeMask, Errno: syscall.EOPNOTSUPP}
		}
	}
	for _, a := range attrs {
		nr := a.typ & TypeMask
		f := bd.spec.Field(nr)
		if f == nil || nr > maxNr {
			wires = append(wires, Wire{Type: a.typ, Data: a.data})
			continue
		}
		if err := validate(f, a.data); err != nil {
			return nil, nil, &SetError{TLA: t, Field: f.Name, Nr: nr, Errno: err.(syscall.Errno)}
		}
		setField(v.Field(bd.index[nr]), f, a.data)
		pf.Add(nr)
		wires = append(wires, Wire{Type: a.typ})
	}
	return s, wires, nil
}

// validate is validate_nla() in liberal mode for the field's policy entry.
func validate(f *FieldSpec, d []byte) error {
	switch f.Kind {
	case KindFlag, KindU32, KindS32, KindU64:
		if len(d) < f.Kind.Size() {
			return syscall.ERANGE
		}
	case KindStr:
		// policy .len = maxlen - 1; maxlen 0 wraps to 0xffff (no limit in practice)
		plen := f.MaxLen - 1
		if f.MaxLen == 0 {
			plen = 0xffff
		}
		minlen := min(len(d), plen+1)
		if minlen == 0 || indexNUL(d[:minlen]) < 0 {
			return syscall.EINVAL
		}
		l := len(d)
		if d[l-1] == 0 {
			l--
		}
		if l > plen {
			return syscall.ERANGE
		}
	case KindBin:
		if f.MaxLen > 0 && len(d) > f.MaxLen {
			return syscall.ERANGE
		}
	}
	return nil
}

func indexNUL(b []byte) int {
	for i, c := range b {
		if c == 0 {
			return i
		}
	}
	return -1
}

func setField(fv reflect.Value, f *FieldSpec, d []byte) {
	switch f.Kind {
	case KindFlag:
		fv.SetBool(d[0] != 0)
	case KindU32:
		fv.SetUint(uint64(binary.NativeEndian.Uint32(d)))
	case KindS32:
		fv.SetInt(int64(int32(binary.NativeEndian.Uint32(d))))
	case KindU64:
		fv.SetUint(binary.NativeEndian.Uint64(d))
	case KindStr:
		if i := indexNUL(d); i >= 0 {
			d = d[:i]
		}
		fv.SetString(string(d))
	case KindBin:
		fv.SetBytes(append([]byte(nil), d...))
	}
}

// errValue reports a value that cannot be put on the wire.
var errValue = errors.New("drbd genl: value too long for its field")

// putField appends field f of v to ae with attribute type typ.
func putField(ae *netlink.AttributeEncoder, typ uint16, f *FieldSpec, fv reflect.Value) error {
	switch f.Kind {
	case KindFlag:
		var u uint8
		if fv.Bool() {
			u = 1
		}
		ae.Uint8(typ, u)
	case KindU32:
		ae.Uint32(typ, uint32(fv.Uint()))
	case KindS32:
		ae.Uint32(typ, uint32(int32(fv.Int())))
	case KindU64:
		ae.Uint64(typ, fv.Uint())
	case KindStr:
		s := fv.String()
		if f.MaxLen > 0 && len(s)+1 > f.MaxLen || indexNUL([]byte(s)) >= 0 {
			return fmt.Errorf("%w: %s (%d bytes)", errValue, f.Name, len(s))
		}
		ae.String(typ, s)
	case KindBin:
		b := fv.Bytes()
		if f.MaxLen > 0 && len(b) > f.MaxLen {
			return fmt.Errorf("%w: %s (%d bytes)", errValue, f.Name, len(b))
		}
		ae.Bytes(typ, b)
	}
	return nil
}

// encodeSet produces the nested contents of s. With a layout, attributes go
// out in the recorded order with the recorded type bits (fields no longer
// present are skipped, present fields the layout lacks follow in table
// order); without one, present fields go out in table order, tagged with the
// mandatory bit when tagged is set.
func encodeSet(s Set, layout []Wire, tagged bool) ([]byte, error) {
	b := bindingOf(s)
	v := reflect.ValueOf(s).Elem()
	p := v.Field(b.present).Interface().(Fields)
	ae := netlink.NewAttributeEncoder()
	ae.ByteOrder = binary.NativeEndian
	var done Fields
	for _, w := range layout {
		nr := w.Type & TypeMask
		f := b.spec.Field(nr)
		if w.Data != nil || f == nil {
			ae.Bytes(w.Type, w.Data)
			continue
		}
		if !p.Has(nr) {
			continue
		}
		if err := putField(ae, w.Type, f, v.Field(b.index[nr])); err != nil {
			return nil, err
		}
		done.Add(nr)
	}
	for _, f := range b.order {
		if !p.Has(f.Nr) || done.Has(f.Nr) {
			continue
		}
		typ := f.Nr
		if tagged {
			typ = f.WireType()
		}
		if err := putField(ae, typ, f, v.Field(b.index[f.Nr])); err != nil {
			return nil, err
		}
	}
	return ae.Encode()
}

func reflectPresent(s Set, b *binding) Fields {
	return reflect.ValueOf(s).Elem().Field(b.present).Interface().(Fields)
}
