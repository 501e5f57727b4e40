package peer

// Level is the printk level of a logged line, or LevelHelper for a
// user-mode helper call (drbd_khelper) at that point.
type Level int

const (
	LevelInfo   Level = iota // drbd_info
	LevelWarn                // drbd_warn
	LevelErr                 // drbd_err
	LevelAlert               // drbd_alert
	LevelHelper              // drbd_khelper: run the helper named by Text
)

var levelNames = [...]string{"info", "warn", "err", "alert", "helper"}

func (l Level) String() string {
	if l >= 0 && int(l) < len(levelNames) {
		return levelNames[l]
	}
	return "Level(?)"
}

// Line is one kernel log line (without the device prefix and the trailing
// newline; a few kernel messages span two lines or lack the newline, and
// Text keeps that), or one helper call.
type Line struct {
	Level Level
	Text  string
}
