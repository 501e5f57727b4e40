package metadata

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"slices"
)

// Transaction is one 4 KiB activity-log transaction block (struct
// al_transaction_on_disk), in host representation.
type Transaction struct {
	Magic              uint32
	TrNumber           uint32
	CRC32c             uint32 // as stored; Encode recomputes it
	Type               uint16 // ALTrUpdate or ALTrInitialized
	NUpdates           uint16
	ContextSize        uint16 // number of AL slots ("al-extents")
	ContextStartSlotNr uint16
	Reserved           [4]uint32
	UpdateSlotNr       [ALUpdatesPerTransaction]uint16
	UpdateExtentNr     [ALUpdatesPerTransaction]uint32
	Context            [ALContextPerTransaction]uint32
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// CRC32c is the kernel's crc32c(0, b, len(b)) (and drbd-utils' crc32c with
// seed 0): the reflected Castagnoli CRC with initial value 0 and no final
// inversion. Go's crc32 inverts on entry and exit, hence the two ^.
func CRC32c(b []byte) uint32 {
	return ^crc32.Update(^uint32(0), castagnoli, b)
}

// Put encodes t into b[:4096] with the crc32c computed over the block with
// the crc field zero, and stores that crc in t.CRC32c. It panics if
// len(b) < 4096.
func (t *Transaction) Put(b []byte) {
	b = b[:ALTransactionSize]
	be := binary.BigEndian
	be.PutUint32(b[offTrMagic:], t.Magic)
	be.PutUint32(b[offTrNumber:], t.TrNumber)
	be.PutUint32(b[offTrCRC32c:], 0)
	be.PutUint16(b[offTrType:], t.Type)
	be.PutUint16(b[offTrNUpdates:], t.NUpdates)
	be.PutUint16(b[offTrContextSize:], t.ContextSize)
	be.PutUint16(b[offTrContextStart:], t.ContextStartSlotNr)
	for i, v := range t.Reserved {
		be.PutUint32(b[offTrReserved+4*i:], v)
	}
	for i, v := range t.UpdateSlotNr {
		be.PutUint16(b[offTrUpdateSlotNr+2*i:], v)
	}
	for i, v := range t.UpdateExtentNr {
		be.PutUint32(b[offTrUpdateExtentNr+4*i:], v)
	}
	for i, v := range t.Context {
		be.PutUint32(b[offTrContext+4*i:], v)
	}
	t.CRC32c = CRC32c(b)
	be.PutUint32(b[offTrCRC32c:], t.CRC32c)
}

// MarshalBinary encodes t (see Put).
func (t *Transaction) MarshalBinary() ([]byte, error) {
	b := make([]byte, ALTransactionSize)
	t.Put(b)
	return b, nil
}

// DecodeTransaction decodes a 4 KiB block and reports whether it is valid:
// the AL magic is present and the stored crc32c matches the block's crc32c
// computed with the crc field zeroed (drbdmeta v84_al_disk_to_cpu).
func DecodeTransaction(b []byte) (t Transaction, valid bool, err error) {
	if len(b) < ALTransactionSize {
		return t, false, ErrShortBuffer
	}
	b = b[:ALTransactionSize]
	be := binary.BigEndian
	t.Magic = be.Uint32(b[offTrMagic:])
	t.TrNumber = be.Uint32(b[offTrNumber:])
	t.CRC32c = be.Uint32(b[offTrCRC32c:])
	t.Type = be.Uint16(b[offTrType:])
	t.NUpdates = be.Uint16(b[offTrNUpdates:])
	t.ContextSize = be.Uint16(b[offTrContextSize:])
	t.ContextStartSlotNr = be.Uint16(b[offTrContextStart:])
	for i := range t.Reserved {
		t.Reserved[i] = be.Uint32(b[offTrReserved+4*i:])
	}
	for i := range t.UpdateSlotNr {
		t.UpdateSlotNr[i] = be.Uint16(b[offTrUpdateSlotNr+2*i:])
	}
	for i := range t.UpdateExtentNr {
		t.UpdateExtentNr[i] = be.Uint32(b[offTrUpdateExtentNr+4*i:])
	}
	for i := range t.Context {
		t.Context[i] = be.Uint32(b[offTrContext+4*i:])
	}
	var crcBuf [4]byte
	copy(crcBuf[:], b[offTrCRC32c:])
	crc := crc32.Update(^uint32(0), castagnoli, b[:offTrCRC32c])
	crc = crc32.Update(crc, castagnoli, []byte{0, 0, 0, 0})
	crc = ^crc32.Update(crc, castagnoli, b[offTrCRC32c+4:])
	return t, t.Magic == MagicAL && t.CRC32c == crc, nil
}

// InitializedTransaction is the block drbdmeta create-md and apply-al write
// into every activity-log slot: AL magic, type AL_TR_INITIALIZED, all else
// zero, valid crc.
func InitializedTransaction() []byte {
	t := Transaction{Magic: MagicAL, Type: ALTrInitialized}
	b := make([]byte, ALTransactionSize)
	t.Put(b)
	return b
}

// TransactionBlock maps a transaction number to its 4 KiB block index within
// the activity-log area of alSize4k blocks striped as stripes x stripeSize4k
// (al_tr_number_to_on_disk_sector without the sector conversion).
func TransactionBlock(trNumber, stripes, stripeSize4k uint32) uint32 {
	t := trNumber % (stripes * stripeSize4k)
	return (t%stripes)*stripeSize4k + t/stripes
}

// TransactionSector is the absolute 512-byte sector of transaction trNumber
// on the meta-data device (al_tr_number_to_on_disk_sector).
func (l Layout) TransactionSector(trNumber uint32) uint64 {
	return l.ALOffset/SectorSize + 8*uint64(TransactionBlock(trNumber, l.ALStripes, l.ALStripeSize4k))
}

// InitializeAL writes an initialized transaction into every block of the
// activity log (drbdmeta initialize_al).
func InitializeAL(w io.WriterAt, l Layout) error {
	blk := InitializedTransaction()
	n := int(l.ALSizeBytes() / ALTransactionSize)
	buf := make([]byte, 0, n*ALTransactionSize)
	for range n {
		buf = append(buf, blk...)
	}
	if _, err := w.WriteAt(buf, int64(l.ALOffset)); err != nil {
		return fmt.Errorf("metadata: initialize activity log: %w", err)
	}
	return nil
}

// Replay errors (drbdmeta replay_al_84 returns -ENODATA and -EINVAL).
var (
	// ErrNoUsableAL: not a single valid transaction ("No usable activity log
	// found. Do you need to create-md?").
	ErrNoUsableAL = errors.New("No usable activity log found. Do you need to create-md?")
	// ErrNoValidUpdate: some transactions are valid, none is an update, and
	// more than the first one is corrupt ("No valid AL update transaction found.").
	ErrNoValidUpdate = errors.New("No valid AL update transaction found.")
)

// Replay is the result of reading an activity log.
type Replay struct {
	Valid   int // valid transactions (update or initialized)
	Updates int // valid update transactions
	// Corrupt is the number of invalid blocks; drbdmeta reports it as
	// "%u corrupt AL transactions found".
	Corrupt int
	// Hot maps AL slot number to extent number: the active set as of the
	// newest valid update transaction. Only slots < ALExtentsMax appear.
	Hot map[uint32]uint32
	// Warnings are drbdmeta's messages about out-of-range slot numbers.
	Warnings []string
}

// ReplayAL reconstructs the active set from the activity-log area al
// (stripes x stripeSize4k blocks of 4 KiB) exactly as drbdmeta replay_al_84
// does: transactions are visited in transaction-number order from the oldest
// to the newest valid update, applying each one's context window and then its
// updates. With no valid update transaction it returns a zero Hot map and nil
// if the log is cleanly initialized, else ErrNoUsableAL or ErrNoValidUpdate.
func ReplayAL(al []byte, stripes, stripeSize4k uint32) (Replay, error) {
	mx := stripes * stripeSize4k
	if uint64(len(al)) < uint64(mx)*ALTransactionSize {
		return Replay{}, ErrShortBuffer
	}
	trs := make([]Transaction, mx)
	valid := make([]bool, mx)
	r := Replay{Hot: map[uint32]uint32{}}
	type cursor struct {
		i  uint32
		tr uint32
	}
	var oldest, newest cursor
	for b := range mx {
		o := TransactionBlock(b, stripes, stripeSize4k)
		t, ok, _ := DecodeTransaction(al[uint64(o)*ALTransactionSize:])
		trs[b], valid[b] = t, ok
		if !ok {
			continue
		}
		r.Valid++
		if t.Type == ALTrInitialized {
			continue
		}
		r.Updates++
		if r.Updates == 1 {
			oldest = cursor{b, t.TrNumber}
			newest = oldest
			continue
		}
		if int32(t.TrNumber-oldest.tr) < 0 {
			oldest = cursor{b, t.TrNumber}
		}
		if int32(t.TrNumber-newest.tr) > 0 {
			newest = cursor{b, t.TrNumber}
		}
	}
	r.Corrupt = int(mx) - r.Valid
	if r.Valid == 0 {
		return r, ErrNoUsableAL
	}
	if r.Updates == 0 {
		if r.Valid == int(mx) || (!valid[0] && r.Valid == int(mx)-1) {
			return r, nil
		}
		return r, ErrNoValidUpdate
	}
	end := newest.i
	if end < oldest.i {
		end += mx
	}
	for b := oldest.i; b <= end; b++ {
		idx := b % mx
		t := &trs[idx]
		if !valid[idx] || t.Type == ALTrInitialized {
			continue
		}
		for i, ext := range t.Context {
			slot := uint32(t.ContextStartSlotNr) + uint32(i)
			if ext == LCFree && slot >= uint32(t.ContextSize) {
				continue
			}
			if slot >= ALExtentsMax {
				r.Warnings = append(r.Warnings, fmt.Sprintf("slot number out of range: tr:%d slot:%d", idx, slot))
				continue
			}
			r.Hot[slot] = ext
		}
		for i := range t.UpdateSlotNr {
			slot := uint32(t.UpdateSlotNr[i])
			if i >= int(t.NUpdates) && slot == 0xffff {
				continue
			}
			if slot >= ALExtentsMax {
				r.Warnings = append(r.Warnings, fmt.Sprintf("update slot number out of range: tr:%d slot:%d", idx, slot))
				continue
			}
			r.Hot[slot] = t.UpdateExtentNr[i]
		}
	}
	return r, nil
}

// HotExtents returns the extent numbers of the active set that are in use
// (not LC_FREE), sorted ascending with duplicates kept, as drbdmeta's apply_al
// processes them.
func (r Replay) HotExtents() []uint32 {
	var out []uint32
	for _, e := range r.Hot {
		if e != LCFree {
			out = append(out, e)
		}
	}
	slices.Sort(out)
	return out
}

// SlotUpdate is one change of the active set: AL slot Slot now holds
// extent Extent (LCFree to empty it).
type SlotUpdate struct {
	Slot   uint16
	Extent uint32
}

// UpdateTransaction builds the update transaction the kernel's
// __al_write_transaction writes: transaction number tr, up to 64 updates
// (unused update entries are slot 0xffff, extent LC_FREE), and a context
// window of up to 919 slots of the active set slots (already including the
// updates) starting at slot cycle. It returns the transaction and the
// context start for the next one (cycle+919, back to 0 past the end).
// Encode it with Put, which adds the crc32c, and write it at
// Layout.TransactionSector(tr).
func UpdateTransaction(tr uint32, slots []uint32, updates []SlotUpdate, cycle int) (Transaction, int, error) {
	if len(updates) > ALUpdatesPerTransaction {
		return Transaction{}, cycle, fmt.Errorf("metadata: %d updates in one AL transaction (max %d)", len(updates), ALUpdatesPerTransaction)
	}
	if len(slots) > ALExtentsMax || cycle < 0 || (cycle >= len(slots) && len(slots) > 0) {
		return Transaction{}, cycle, fmt.Errorf("metadata: bad AL context: %d slots, cycle %d", len(slots), cycle)
	}
	t := Transaction{
		Magic: MagicAL, TrNumber: tr, Type: ALTrUpdate,
		NUpdates:           uint16(len(updates)),
		ContextSize:        uint16(len(slots)),
		ContextStartSlotNr: uint16(cycle),
	}
	for i := range t.UpdateSlotNr {
		t.UpdateSlotNr[i], t.UpdateExtentNr[i] = 0xffff, LCFree
	}
	for i, u := range updates {
		t.UpdateSlotNr[i], t.UpdateExtentNr[i] = u.Slot, u.Extent
	}
	for i := range t.Context {
		t.Context[i] = LCFree
		if cycle+i < len(slots) {
			t.Context[i] = slots[cycle+i]
		}
	}
	next := cycle + ALContextPerTransaction
	if next >= len(slots) {
		next = 0
	}
	return t, next, nil
}
