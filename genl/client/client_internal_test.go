package client

import (
	"encoding/binary"
	"testing"
)

// FuzzParseDatagram: the client's datagram parser never panics and never
// returns a message that runs past the datagram.
func FuzzParseDatagram(f *testing.F) {
	ack := make([]byte, 36)
	binary.NativeEndian.PutUint32(ack, 36)
	binary.NativeEndian.PutUint16(ack[4:], 2)
	f.Add(ack)
	f.Add(append(append([]byte(nil), ack...), ack[:20]...))
	f.Fuzz(func(t *testing.T, dg []byte) {
		ms, err := parseDatagram(dg)
		if err != nil {
			return
		}
		total := 0
		for _, m := range ms {
			if int(m.Header.Length) != 16+len(m.Data) {
				t.Fatalf("message length %d with %d data bytes", m.Header.Length, len(m.Data))
			}
			total += (int(m.Header.Length) + 3) &^ 3
		}
		if total != len(dg) {
			t.Fatalf("messages cover %d of %d bytes", total, len(dg))
		}
	})
}
