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

// Tagged returns the attribute the way the kernel's hand-written puts (cfg
// context, cfg reply, state info) carry a set: no NLA_F_NESTED, field types
// tagged with the mandatory bit.
func Tagged(s Set) Attr { return Attr{Type: uint16(s.TLA()), Set: s, Tagged: true} }

// Request returns the attribute the way drbd-utils puts a set into a
// request: NLA_F_NESTED (which the genl core's strict validation demands of
// every top-level attribute) and field types tagged with the mandatory bit.
func Request(s Set) Attr {
	return Attr{Type: uint16(s.TLA()) | NestedFlag, Set: s, Tagged: true}
}

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

// Add appends sets in Request form (as drbd-utils builds requests).
func (m *Message) Add(sets ...Set) {
	for _, s := range sets {
		m.Attrs = append(m.Attrs, Request(s))
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

// AsKernel returns s the way the kernel puts that set into its replies,
// dumps and notifications: drbd_cfg_reply, drbd_cfg_context and state_info
// by hand-written puts (no NLA_F_NESTED, mandatory-tagged field types), every
// other set by its generated *_to_skb (NLA_F_NESTED, bare field numbers; the
// kernel emits all fields, so pass sets with every field present, or with
// sensitive ones stripped for unprivileged receivers).
func AsKernel(s Set) Attr {
	switch s.TLA() {
	case TLACfgReply, TLACfgContext, TLAStateInfo:
		return Tagged(s)
	}
	return Kernel(s)
}

// NewReply starts the reply to a request the way drbd_adm_prepare does: same
// cmd and minor, version 1, ret_code NO_ERROR, and the request's cfg context
// copied back (with the mandatory bits cleared, as the kernel's parser
// leaves them) if the request had a valid one.
func NewReply(req *Message) *Message {
	r := &Message{Cmd: req.Cmd, Version: FamilyVersion, Minor: req.Minor, Flags: uint32(NoError)}
	if a := req.Find(TLACfgContext); a != nil && a.Err == nil {
		r.Attrs = append(r.Attrs, ClearMandatory(*a))
	}
	return r
}

// AddInfo appends a cfg reply with info text, as drbd_msg_put_info does
// (nothing for an empty text). drbdsetup prints each under "additional info
// from kernel:".
func (m *Message) AddInfo(text string) {
	if text == "" {
		return
	}
	m.Attrs = append(m.Attrs, Tagged(&CfgReply{InfoText: text, Present: 1 << CfgReplyInfoText}))
}

// FailSet turns a set that failed to parse into the kernel's answer: ret_code
// ERR_MANDATORY_TAG and the from_attrs_err_to_txt() text as info (what every
// drbd_adm_* handler does when <set>_from_attrs fails).
func (m *Message) FailSet(err *SetError) {
	m.SetRetCode(ErrMandatoryTag)
	m.AddInfo(err.Text())
}

// ValidateRequest applies the genl core's strict top-level validation
// (NL_VALIDATE_STRICT: drbd's ops set no GENL_DONT_VALIDATE_* flags, for
// doit and dump alike) to a message (without nlmsghdr) of the drbd family,
// with the family policy (every DRBD_NLA_* is NLA_NESTED, 14 is unset,
// maxattr 24). The errno is what the kernel NACKs with: EINVAL for a
// message shorter than its headers, an attribute of type 0, above 24 or 14,
// a set without NLA_F_NESTED, or bytes left over; ERANGE for a set of 1 to 3
// bytes. It looks at the sets' contents no further; drbd's own parsers do
// that (see Attr.Err).
func ValidateRequest(b []byte) error {
	if len(b) < GenlHeaderLen+HeaderLen {
		return ErrShort
	}
	b = b[GenlHeaderLen+HeaderLen:]
	for len(b) >= 4 {
		l := int(binary.NativeEndian.Uint16(b))
		if l < 4 || l > len(b) {
			break
		}
		typ := binary.NativeEndian.Uint16(b[2:])
		t := TLA(typ & TypeMask)
		switch {
		case t == 0 || t > MaxAttr || SpecOf(t) == nil:
			return fmt.Errorf("drbd genl: top-level attribute %d: %w", t, syscall.EINVAL)
		case typ&NestedFlag == 0:
			return fmt.Errorf("drbd genl: top-level attribute %d: NLA_F_NESTED is missing: %w", t, syscall.EINVAL)
		case l > 4 && l < 8:
			return fmt.Errorf("drbd genl: top-level attribute %d: %w", t, syscall.ERANGE)
		}
		b = b[min(nlaAlign(l), len(b)):]
	}
	if len(b) > 0 {
		return fmt.Errorf("drbd genl: %d bytes left over: %w", len(b), syscall.EINVAL)
	}
	return nil
}

// CheckMandatoryInPlace does to a request (without nlmsghdr) what
// drbd_nla_check_mandatory does to the kernel's copy when it parses set t:
// it clears the mandatory bit of the set's nested attributes, in order, up
// to and including the first unknown mandatory one. The kernel echoes the
// request in a NACK from that buffer, so a NACK for a bad cfg context
// carries the cleared bits.
func CheckMandatoryInPlace(msg []byte, t TLA) {
	sp := SpecOf(t)
	if sp == nil || len(msg) < GenlHeaderLen+HeaderLen {
		return
	}
	// the kernel works on the last attribute of type t
	var nest []byte
	b := msg[GenlHeaderLen+HeaderLen:]
	for len(b) >= 4 {
		l := int(binary.NativeEndian.Uint16(b))
		if l < 4 || l > len(b) {
			break
		}
		if TLA(binary.NativeEndian.Uint16(b[2:])&TypeMask) == t {
			nest = b[4:l]
		}
		b = b[min(nlaAlign(l), len(b)):]
	}
	maxNr := sp.MaxNr()
	for n := splitAttrs(nest); len(nest) >= 4 && n > 0; {
		l := int(binary.NativeEndian.Uint16(nest))
		typ := binary.NativeEndian.Uint16(nest[2:])
		if typ&MandatoryFlag != 0 {
			binary.NativeEndian.PutUint16(nest[2:], typ&^MandatoryFlag)
			if typ&TypeMask > maxNr {
				return
			}
		}
		step := min(nlaAlign(l), len(nest))
		nest, n = nest[step:], n-step
	}
}
