package units

import "testing"

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		s    string
		unit byte
		want uint64
		err  Err
	}{
		{"10M", 'k', 10240, OK},
		{"10", 'k', 10, OK},
		{"1s", 'k', 1, OK}, // 512 bytes round up to 1 KiB
		{"3s", 'k', 2, OK},
		{"1G", 's', 2097152, OK},
		{"4k", 's', 8, OK},
		{"1K", 1, 1024, OK},
		{"-1", 1, ^uint64(0), OK},
		{"", 1, 0, ErrMissingNumber},
		{"abc", 1, 0, ErrInvalidNumber},
		{"1kk", 1, 0, ErrInvalidNumber},
		{"1X", 1, 0, ErrInvalidUnit},
		{"17179869184G", 1, 0, ErrOutOfRange},
	} {
		got, err := Parse(tc.s, tc.unit)
		if got != tc.want || err != tc.err {
			t.Errorf("Parse(%q, %q) = %d, %d; want %d, %d", tc.s, tc.unit, got, err, tc.want, tc.err)
		}
	}
}
