package main

import (
	"encoding/binary"
	"fmt"
	"io"
	"math/bits"
)

// writeBitmapDump prints the on-disk bitmap bm in drbdmeta's dump-md text
// (fprintf_bm for one peer): 64-bit words as 0x<high32><low32>, eight 32-bit
// words per line with a "# at <n>kB" line every 64 words, and runs of at
// least 16 equal 32-bit words as "<n> times 0x...;". It returns the number
// of set bits, as drbdmeta counts them.
func writeBitmapDump(w io.Writer, bm []byte) (bitsSet uint64) {
	const wpl = 8
	n := len(bm) / 4
	word := func(i int) uint32 { return binary.LittleEndian.Uint32(bm[4*i:]) }
	fmt.Fprint(w, "{")
	var cw, lw uint32
	count := 0
	i := 0
	for i < n {
	next:
		if count == 0 {
			cw = word(i)
		}
		if i%wpl == 0 {
			if count == 0 {
				if i&63 == 0 {
					fmt.Fprintf(w, "\n   # at %dkB\n   ", 128*uint64(i))
				} else {
					fmt.Fprint(w, "\n   ")
				}
			}
			j := i
			for j < n && word(j) == cw {
				j++
			}
			if tmp := (j - i) / wpl * wpl; tmp > wpl {
				count += tmp
				i += tmp
			}
			if count != 0 {
				fmt.Fprintf(w, " %d times 0x%08X%08X;", count/2, cw, cw)
				bitsSet += uint64(count) * uint64(bits.OnesCount32(cw))
				count = 0
				if i >= n {
					break
				}
				goto next
			}
		}
		if i&1 == 0 {
			lw = word(i)
		} else {
			fmt.Fprintf(w, " 0x%08X%08X;", word(i), lw)
		}
		bitsSet += uint64(bits.OnesCount32(word(i)))
		i++
	}
	fmt.Fprint(w, "\n}\n")
	return bitsSet
}
