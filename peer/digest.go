package peer

import (
	"bytes"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/binary"
	"hash"
	"hash/crc32"
)

// crc32cHash is the kernel's "crc32c" shash: CRC-32C, seed ~0, final
// complement, the digest stored little-endian (hash/crc32's Sum is
// big-endian).
type crc32cHash struct{ crc uint32 }

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func (h *crc32cHash) Write(p []byte) (int, error) {
	h.crc = crc32.Update(h.crc, castagnoli, p)
	return len(p), nil
}
func (h *crc32cHash) Sum(b []byte) []byte { return binary.LittleEndian.AppendUint32(b, h.crc) }
func (h *crc32cHash) Reset()              { h.crc = 0 }
func (h *crc32cHash) Size() int           { return 4 }
func (h *crc32cHash) BlockSize() int      { return 1 }

// digestNew returns the hash for a kernel crypto digest name as used by
// data-integrity-alg, verify-alg and csums-alg, or nil if unsupported.
func digestNew(alg string) func() hash.Hash {
	switch alg {
	case "crc32c":
		return func() hash.Hash { return &crc32cHash{} }
	case "md5":
		return md5.New
	case "sha1":
		return sha1.New
	case "sha256":
		return sha256.New
	case "sha512":
		return sha512.New
	}
	return nil
}

func digestOf(newHash func() hash.Hash, data []byte) []byte {
	h := newHash()
	h.Write(data)
	return h.Sum(nil)
}

// integrityDigest is the digest this node puts before the data of P_DATA
// and the replies (drbd_csum_bio with the integrity tfm), nil without one.
func (s *session) integrityDigest(data []byte) []byte {
	if s.conf.IntegrityAlg == "" {
		return nil
	}
	return digestOf(digestNew(s.conf.IntegrityAlg), data)
}

// peerDigestSize is the size of the peer's data-integrity digest.
func (s *session) peerDigestSize() int {
	if !s.haveProto || s.peerProto.IntegrityAlg == "" {
		return 0
	}
	if n := digestNew(s.peerProto.IntegrityAlg); n != nil {
		return n().Size()
	}
	return 0
}

func (s *session) checkDigest(dig, data []byte) bool {
	return bytes.Equal(dig, digestOf(digestNew(s.peerProto.IntegrityAlg), data))
}

// csum is the csums-alg digest of a block (nil without csums-alg).
func (pd *PeerDevice) csum(s *session, data []byte) []byte {
	n := digestNew(s.conf.CsumsAlg)
	if n == nil {
		return nil
	}
	return digestOf(n, data)
}

// vsum is the verify-alg digest of a block (nil without verify-alg).
func (pd *PeerDevice) vsum(s *session, data []byte) []byte {
	n := digestNew(s.conf.VerifyAlg)
	if n == nil {
		return nil
	}
	return digestOf(n, data)
}
