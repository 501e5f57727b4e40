package metadata

// Magic numbers (include/linux/drbd.h).
const (
	MagicDRBD        uint32 = 0x83740267    // DRBD_MAGIC
	MagicMD07        uint32 = MagicDRBD + 3 // DRBD_MD_MAGIC_07
	MagicMD08        uint32 = MagicDRBD + 4 // DRBD_MD_MAGIC_08: clean 8.x meta-data, 0x8374026B
	MagicMD84Unclean uint32 = MagicDRBD + 5 // DRBD_MD_MAGIC_84_UNCLEAN: written by 8.4 while attached, 0x8374026C
	MagicMD09        uint32 = MagicDRBD + 6 // DRBD_MD_MAGIC_09 (DRBD 9)
	MagicAL          uint32 = 0x69cb65a2    // DRBD_AL_MAGIC ("actlog==" base64-decoded)
)

// Meta-data index values (include/linux/drbd.h DRBD_MD_INDEX_*). An index >= 0
// selects the old fixed-size (128 MiB per index) external layout.
const (
	IndexInternal = -1 // DRBD_MD_INDEX_INTERNAL ("internal"; flexible-size since 8.0)
	IndexFlexExt  = -2 // DRBD_MD_INDEX_FLEX_EXT ("flex-external")
	IndexFlexInt  = -3 // DRBD_MD_INDEX_FLEX_INT ("flex-internal")
)

// UUID slots of the superblock (enum drbd_uuid_index).
const (
	UICurrent      = 0
	UIBitmap       = 1
	UIHistoryStart = 2
	UIHistoryEnd   = 3
	UISize         = 4
)

// UUIDJustCreated is the current UUID of freshly created meta-data.
const UUIDJustCreated uint64 = 4

// Sizes and geometry (drbd_int.h).
const (
	SectorSize      = 512
	SuperblockSize  = 4096      // sizeof(struct meta_data_on_disk)
	MD4kSect        = 8         // MD_4kB_SECT
	MD32kSect       = 64        // MD_32kB_SECT
	MD128MBSect     = 128 << 11 // MD_128MB_SECT: fixed-size indexed meta-data area
	BMBlockShift    = 12        // BM_BLOCK_SHIFT: one bitmap bit per 4 KiB
	BMBlockSize     = 1 << BMBlockShift
	BMExtShift      = 24 // BM_EXT_SHIFT: one bitmap sector covers 16 MiB
	ALExtentShift   = 22 // AL_EXTENT_SHIFT: 4 MiB activity-log extents
	ALExtentSize    = 1 << ALExtentShift
	BMBytesPerALExt = 1 << (ALExtentShift - BMBlockShift - 3) // 128 bitmap bytes per AL extent
	// MaxSectorsFlex is DRBD_MAX_SECTORS_FLEX on 64-bit: 1 PiB.
	MaxSectorsFlex uint64 = 1 << 51
)

// Activity-log transaction layout (drbd_int.h, drbd_actlog.c).
const (
	ALTransactionSize       = 4096
	ALUpdatesPerTransaction = 64     // AL_UPDATES_PER_TRANSACTION
	ALContextPerTransaction = 919    // AL_CONTEXT_PER_TRANSACTION = (4096-36-6*64)/4
	ALTrUpdate              = 0      // AL_TR_UPDATE
	ALTrInitialized         = 0xffff // AL_TR_INITIALIZED
	// ALExtentsMax is DRBD_AL_EXTENTS_MAX (drbd_limits.h).
	ALExtentsMax = 65534
	// LCFree marks an unused activity-log slot (LC_FREE, -1U).
	LCFree uint32 = 0xffffffff
)

// Activity-log striping defaults and limits (drbdmeta, drbd_main.c
// check_activity_log_stripe_size).
const (
	DefaultALStripes      = 1
	DefaultALStripeSize4k = 8 // 32 KiB
	MinALSize4k           = MD32kSect / 8
	MaxALSize4k           = 16 * 1024 * 1024 / 4
	// DefaultALNrExtents is the "al-extents" value drbdmeta create-md
	// stores (an arbitrary 257; the kernel overwrites it on attach).
	DefaultALNrExtents = 257
)

// Byte offsets of struct meta_data_on_disk fields (all big-endian).
const (
	offLaSizeSect       = 0
	offUUID             = 8 // [4]u64
	offDeviceUUID       = 40
	offReservedU64      = 48
	offFlags            = 56
	offMagic            = 60
	offMdSizeSect       = 64
	offALOffset         = 68
	offALNrExtents      = 72
	offBMOffset         = 76
	offBMBytesPerBit    = 80
	offLaPeerMaxBioSize = 84
	offALStripes        = 88
	offALStripeSize4k   = 92
	superblockUsed      = 96 // 7*8 + 10*4; the rest up to 4096 is reserved, zero
)

// Byte offsets of struct al_transaction_on_disk fields (all big-endian).
const (
	offTrMagic          = 0
	offTrNumber         = 4
	offTrCRC32c         = 8
	offTrType           = 12
	offTrNUpdates       = 14
	offTrContextSize    = 16
	offTrContextStart   = 18
	offTrReserved       = 20                                              // [4]u32
	offTrUpdateSlotNr   = 36                                              // [64]u16
	offTrUpdateExtentNr = offTrUpdateSlotNr + 2*ALUpdatesPerTransaction   // 164, [64]u32
	offTrContext        = offTrUpdateExtentNr + 4*ALUpdatesPerTransaction // 420, [919]u32
	trEnd               = offTrContext + 4*ALContextPerTransaction        // 4096
)
