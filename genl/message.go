package genl

import (
	"encoding/binary"
	"errors"
	"fmt"
	"syscall"

	"github.com/mdlayher/netlink"
)

// Attr is one top-level attribute of a message.
type Attr struct {
	// Type is the on-wire nla_type, flag bits included (NestedFlag when the
	// sender used nla_nest_start with the flag, as the kernel's *_to_skb does).
	Type uint16
	// Set is the decoded contents; nil when Type names no set of the family
	// or the contents failed validation (then Err says why).
	Set Set
	// Err is the *SetError the kernel's parser would report for the contents.
	Err error
	// Raw is the contents as received. It is what gets encoded when Set is nil.
	Raw []byte
	// Layout is the order and type bits of the nested attributes as received;
	// nil means canonical order (see Tagged).
	Layout []Wire
	// Tagged makes canonical encoding put the mandatory bit on flagged field
	// types (T_<field>), as drbd-utils and the kernel's hand-written puts do;
	// the kernel's generated *_to_skb leaves it off.
	Tagged bool
}

// TLA is the attribute number without flag bits.
func (a *Attr) TLA() TLA { return TLA(a.Type & TypeMask) }

// Tagged returns the attribute the way requests from drbd-utils and the
// kernel's hand-written puts (cfg context, cfg reply, state info) carry a
// set: no NLA_F_NESTED, field types tagged with the mandatory bit.
func Tagged(s Set) Attr { return Attr{Type: uint16(s.TLA()), Set: s, Tagged: true} }

// Kernel returns the attribute the way the kernel's generated <set>_to_skb
// puts a set: NLA_F_NESTED on the nest, bare field numbers. The kernel emits
// every field; callers pass sets with all fields present (see AllFields).
func Kernel(s Set) Attr { return Attr{Type: uint16(s.TLA()) | NestedFlag, Set: s} }

// Message is a drbd genl message: genlmsghdr, drbd_genlmsghdr and
// top-level attributes, everything after the nlmsghdr.
type Message struct {
	Cmd      Cmd
	Version  uint8  // genlmsghdr.version, FamilyVersion
	Reserved uint16 // genlmsghdr.reserved, kept for byte-exact round trips
	Minor    uint32 // drbd_genlmsghdr.minor
	// Flags is drbd_genlmsghdr.flags in requests and ret_code in replies.
	Flags uint32
	Attrs []Attr
}

// RetCode is the reply's ret_code: an enum drbd_ret_code (NO_ERROR 101, ERR_*)
// or an enum drbd_state_rv (SS_*, -22..4), depending on the command.
func (m *Message) RetCode() int32 { return int32(m.Flags) }

// SetRetCode stores a ret_code in the header.
func (m *Message) SetRetCode(rc int32) { m.Flags = uint32(rc) }

// Add appends sets in Tagged form.
func (m *Message) Add(sets ...Set) {
	for _, s := range sets {
		m.Attrs = append(m.Attrs, Tagged(s))
	}
}

// Find returns the last top-level attribute with number t (the one the
// kernel's nla_parse keeps), or nil.
func (m *Message) Find(t TLA) *Attr {
	for i := len(m.Attrs) - 1; i >= 0; i-- {
		if m.Attrs[i].TLA() == t {
			return &m.Attrs[i]
		}
	}
	return nil
}

// Get returns the decoded set of type T from m: the zero T (nil) if the
// message does not carry it, or the set's *SetError if it failed validation.
func Get[T Set](m *Message) (T, error) {
	var zero T
	a := m.Find(zero.TLA())
	if a == nil {
		return zero, nil
	}
	if a.Err != nil {
		return zero, a.Err
	}
	s, ok := a.Set.(T)
	if !ok {
		return zero, nil
	}
	return s, nil
}

// Infos returns the info_text of every cfg reply in the message, in order.
func (m *Message) Infos() []string {
	var out []string
	for i := range m.Attrs {
		if r, ok := m.Attrs[i].Set.(*CfgReply); ok && r.Present.Has(CfgReplyInfoText) {
			out = append(out, r.InfoText)
		}
	}
	return out
}

// ErrShort is a message too short for genlmsghdr and drbd_genlmsghdr; the
// kernel answers it with EINVAL.
var ErrShort = fmt.Errorf("drbd genl: message shorter than its headers: %w", syscall.EINVAL)

// MarshalBinary encodes the message (without nlmsghdr).
func (m *Message) MarshalBinary() ([]byte, error) {
	b := make([]byte, GenlHeaderLen+HeaderLen)
	b[0] = uint8(m.Cmd)
	b[1] = m.Version
	binary.NativeEndian.PutUint16(b[2:], m.Reserved)
	binary.NativeEndian.PutUint32(b[4:], m.Minor)
	binary.NativeEndian.PutUint32(b[8:], m.Flags)
	ae := netlink.NewAttributeEncoder()
	for i := range m.Attrs {
		a := &m.Attrs[i]
		data := a.Raw
		if a.Set != nil {
			if a.Set.TLA() != a.TLA() {
				return nil, fmt.Errorf("drbd genl: attribute type %d carries set %d", a.TLA(), a.Set.TLA())
			}
			var err error
			if data, err = encodeSet(a.Set, a.Layout, a.Tagged); err != nil {
				return nil, err
			}
		}
		ae.Bytes(a.Type, data)
	}
	ab, err := ae.Encode()
	if err != nil {
		return nil, err
	}
	return append(b, ab...), nil
}

// UnmarshalBinary decodes a message (without nlmsghdr) the way the genl core
// and drbd's parsers see it. It fails only where the kernel would NACK the
// whole request (short headers: EINVAL; a top-level attribute of a known set
// shorter than an attribute header: ERANGE); problems inside a set are
// reported in that Attr's Err.
func (m *Message) UnmarshalBinary(b []byte) error {
	if len(b) < GenlHeaderLen+HeaderLen {
		return ErrShort
	}
	*m = Message{
		Cmd:      Cmd(b[0]),
		Version:  b[1],
		Reserved: binary.NativeEndian.Uint16(b[2:]),
		Minor:    binary.NativeEndian.Uint32(b[4:]),
		Flags:    binary.NativeEndian.Uint32(b[8:]),
	}
	rest := b[GenlHeaderLen+HeaderLen:]
	ad, err := netlink.NewAttributeDecoder(rest[:splitAttrs(rest)])
	if err != nil {
		return fmt.Errorf("drbd genl: %w", syscall.EINVAL)
	}
	for ad.Next() {
		a := Attr{Type: ad.Type() | ad.TypeFlags(), Raw: ad.Bytes()}
		t := a.TLA()
		if sp := SpecOf(t); sp != nil {
			// policy NLA_NESTED: empty is fine, else at least a header
			if len(a.Raw) > 0 && len(a.Raw) < 4 {
				return fmt.Errorf("drbd genl: top-level attribute %d: %w", t, syscall.ERANGE)
			}
			a.Set, a.Layout, a.Err = decodeSet(t, a.Raw)
		}
		m.Attrs = append(m.Attrs, a)
	}
	if err := ad.Err(); err != nil {
		return fmt.Errorf("drbd genl: %w", syscall.EINVAL)
	}
	return nil
}

// ClearMandatory returns a copy of a with the mandatory bit cleared on every
// nested attribute, which is what drbd_nla_check_mandatory leaves in the
// request buffer once a set parsed. The kernel copies the request's cfg
// context into its reply after that, so replies carry the cleared form.
func ClearMandatory(a Attr) Attr {
	out := a
	if a.Raw != nil {
		raw := append([]byte(nil), a.Raw...)
		for n := 0; n+4 <= splitAttrs(raw); {
			l := int(binary.NativeEndian.Uint16(raw[n:]))
			t := binary.NativeEndian.Uint16(raw[n+2:])
			binary.NativeEndian.PutUint16(raw[n+2:], t&^MandatoryFlag)
			n += nlaAlign(l)
		}
		out.Raw = raw
	}
	if a.Layout != nil {
		out.Layout = make([]Wire, len(a.Layout))
		for i, w := range a.Layout {
			out.Layout[i] = Wire{Type: w.Type &^ MandatoryFlag, Data: w.Data}
		}
	} else if a.Set != nil && a.Tagged {
		out.Tagged = false
	}
	return out
}

// IsSetError tells whether err is a *SetError and returns it.
func IsSetError(err error) (*SetError, bool) {
	var se *SetError
	ok := errors.As(err, &se)
	return se, ok
}
