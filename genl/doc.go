// Package genl is the codec for the kernel's "drbd" generic-netlink family,
// API version 1 (DRBD 8.4), byte for byte.
//
// It mirrors, as facts, include/linux/drbd_genl.h (commands, top-level
// attribute sets and their nested fields), include/linux/drbd_genl_api.h
// (struct drbd_genlmsghdr, DRBD_GENL_F_SET_DEFAULTS, sib reasons),
// include/linux/genl_magic_struct.h (DRBD_GENLA_F_MANDATORY and the
// DRBD_F_* field flags, how each field type is put on the wire) and
// include/linux/drbd_limits.h (defaults). The family is described once, as
// data, in spec.go; the Go types in sets.go are generated from that table
// (see TestSetsUpToDate), and the encoder, decoder and tests are driven by it.
//
// # Wire format
//
// A message after the nlmsghdr is: a 4-byte genlmsghdr (cmd, version,
// reserved), the 8-byte drbd_genlmsghdr (minor, flags/ret_code, host byte
// order) and a sequence of top-level attributes, each a nest holding one
// attribute set. Two encoding styles occur on the wire and both are kept:
// requests built by drbd-utils and the kernel's hand-written puts (cfg
// context, cfg reply, state info) tag nested attribute types with
// DRBD_GENLA_F_MANDATORY (0x4000) and leave NLA_F_NESTED off; sets emitted
// by the kernel's generated *_to_skb functions use bare field numbers and
// set NLA_F_NESTED. Attr.Layout records the exact order and type bits seen
// on the wire so that a decoded message re-encodes to identical bytes.
//
// # Validation
//
// Decoding follows the kernel's legacy (liberal) netlink validation: an
// unknown attribute carrying the mandatory bit above the set's highest field
// number fails the set with EOPNOTSUPP (the kernel answers ERR_MANDATORY_TAG),
// unknown attributes without it are ignored, integers shorter than their type
// fail with ERANGE, strings without a NUL fail with EINVAL. Missing required
// fields (ENOMSG) and changed invariant fields (EEXIST) are checked by
// CheckSet, which handlers call the way the kernel calls *_from_attrs.
//
// The package knows nothing of DRBD states: return codes and state words are
// plain integers here.
package genl
