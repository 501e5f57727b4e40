package proto

import (
	"errors"
	"fmt"
)

// ErrProtocol matches every *ProtocolError: bytes on the wire that the kernel
// would refuse (it answers them by going to C_PROTOCOL_ERROR or dropping the
// connection).
var ErrProtocol = errors.New("protocol error")

// ProtocolError describes a malformed header or payload. Msg follows the
// kernel's log message for the same fault where there is one.
type ProtocolError struct {
	Msg string
}

func (e *ProtocolError) Error() string { return "drbd protocol error: " + e.Msg }

// Is reports whether target is ErrProtocol.
func (e *ProtocolError) Is(target error) bool { return target == ErrProtocol }

func protoErr(format string, args ...any) error {
	return &ProtocolError{Msg: fmt.Sprintf(format, args...)}
}
