package peer

// Feature flags agreed in P_CONNECTION_FEATURES (drbd_protocol.h
// DRBD_FF_*), the bits of Negotiated.AgreedFeatures.
const (
	FFTrim       uint32 = 1 // DRBD_FF_TRIM
	FFThinResync uint32 = 2 // DRBD_FF_THIN_RESYNC
	FFWSame      uint32 = 4 // DRBD_FF_WSAME; drbd_uuid_compare rule 41 also takes it as "peer new enough"
	FFWZeroes    uint32 = 8 // DRBD_FF_WZEROES
)
