package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"udrbd/genl"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// ctxKey is enum cfg_ctx_key: what the first arguments name.
type ctxKey int

const (
	ctxMinor                 ctxKey = 1
	ctxResource              ctxKey = 2
	ctxAll                   ctxKey = 4
	ctxConnection            ctxKey = 8
	ctxResourceAndConnection ctxKey = 16
)

// drbdArg is a positional argument after the object (struct drbd_argument).
type drbdArg struct {
	name string
	conv func(e *nlEncoder, m *genl.Message, arg string) int
}

// command is one entry of drbdsetup-84's command table.
type command struct {
	name           string
	ctx            ctxKey
	cmd            genl.Cmd
	tla            genl.TLA // payload set; 0 = none
	run            func(cm *command, hits []optHit, args []string) int
	args           []drbdArg
	fields         []field
	options        []longOpt
	show           showFunc
	missingOK      bool
	warnOnMissing  bool
	continuousPoll bool
	waitTimeouts   bool
	setDefaults    bool
	lockless       bool
	initialState   bool // uses DRBD_ADM_GET_INITIAL_STATE (events2)
}

var (
	waitOptions = []longOpt{
		{"wfc-timeout", requiredArgument, 't'},
		{"degr-wfc-timeout", requiredArgument, 'd'},
		{"outdated-wfc-timeout", requiredArgument, 'o'},
		{"wait-after-sb", optionalArgument, 'w'},
	}
	eventsOptions = []longOpt{
		{"timestamps", noArgument, 'T'},
		{"statistics", noArgument, 's'},
		{"now", noArgument, 'n'},
	}
	showOptions   = []longOpt{{"show-defaults", noArgument, 'D'}}
	statusOptions = []longOpt{
		{"verbose", noArgument, 'v'},
		{"statistics", noArgument, 's'},
		{"color", optionalArgument, 'c'},
		// udrbd extension: DRBD 9's JSON schema (drbdsetup-84 has none).
		{"json", noArgument, 'j'},
	}
)

var commands []*command

func init() {
	cfg := genericConfigCmd
	get := genericGetCmd
	commands = []*command{
		{name: "primary", ctx: ctxMinor, cmd: genl.CmdPrimary, tla: genl.TLASetRoleParms, run: cfg, fields: ctxPrimary},
		{name: "secondary", ctx: ctxMinor, cmd: genl.CmdSecondary, run: cfg},
		{name: "attach", ctx: ctxMinor, cmd: genl.CmdAttach, tla: genl.TLADiskConf, run: cfg, fields: ctxAttach,
			args: []drbdArg{{"lower_dev", convBlockDev(1)}, {"meta_data_dev", convBlockDev(2)}, {"meta_data_index", convMDIdx}}},
		{name: "disk-options", ctx: ctxMinor, cmd: genl.CmdChgDiskOpts, tla: genl.TLADiskConf, run: cfg, setDefaults: true, fields: ctxDiskOptions},
		{name: "detach", ctx: ctxMinor, cmd: genl.CmdDetach, tla: genl.TLADetachParms, run: cfg, fields: ctxDetach},
		{name: "connect", ctx: ctxResourceAndConnection, cmd: genl.CmdConnect, tla: genl.TLANetConf, run: cfg, fields: ctxConnect},
		{name: "net-options", ctx: ctxConnection, cmd: genl.CmdChgNetOpts, tla: genl.TLANetConf, run: cfg, setDefaults: true, fields: ctxNetOptions},
		{name: "disconnect", ctx: ctxConnection, cmd: genl.CmdDisconnect, tla: genl.TLADisconnectParms, run: cfg, fields: ctxDisconnect},
		{name: "resize", ctx: ctxMinor, cmd: genl.CmdResize, tla: genl.TLAResizeParms, run: cfg, fields: ctxResize},
		{name: "resource-options", ctx: ctxResource, cmd: genl.CmdResourceOpts, tla: genl.TLAResourceOpts, run: cfg, setDefaults: true, fields: ctxResourceOptions},
		{name: "new-current-uuid", ctx: ctxMinor, cmd: genl.CmdNewCUUID, tla: genl.TLANewCUUIDParms, run: cfg, fields: ctxNewCurrentUUID},
		{name: "invalidate", ctx: ctxMinor, cmd: genl.CmdInvalidate, run: cfg},
		{name: "invalidate-remote", ctx: ctxMinor, cmd: genl.CmdInvalPeer, run: cfg},
		{name: "pause-sync", ctx: ctxMinor, cmd: genl.CmdPauseSync, run: cfg},
		{name: "resume-sync", ctx: ctxMinor, cmd: genl.CmdResumeSync, run: cfg},
		{name: "suspend-io", ctx: ctxMinor, cmd: genl.CmdSuspendIO, run: cfg},
		{name: "resume-io", ctx: ctxMinor, cmd: genl.CmdResumeIO, run: cfg},
		{name: "outdate", ctx: ctxMinor, cmd: genl.CmdOutdate, run: cfg},
		{name: "verify", ctx: ctxMinor, cmd: genl.CmdStartOV, tla: genl.TLAStartOVParms, run: cfg, fields: ctxVerify},
		{name: "down", ctx: ctxResource, cmd: genl.CmdDown, run: downCmd, missingOK: true, warnOnMissing: true},
		{name: "state", ctx: ctxMinor, cmd: genl.CmdGetStatus, run: get, show: roleShow},
		{name: "role", ctx: ctxMinor, cmd: genl.CmdGetStatus, run: get, show: roleShow, lockless: true},
		{name: "sh-status", ctx: ctxMinor | ctxResource | ctxAll, cmd: genl.CmdGetStatus, run: get, show: shStatusShow, missingOK: true, lockless: true},
		{name: "cstate", ctx: ctxMinor, cmd: genl.CmdGetStatus, run: get, show: cstateShow, lockless: true},
		{name: "dstate", ctx: ctxMinor, cmd: genl.CmdGetStatus, run: get, show: dstateShow, lockless: true},
		{name: "show-gi", ctx: ctxMinor, cmd: genl.CmdGetStatus, run: get, show: uuidsShow, lockless: true},
		{name: "get-gi", ctx: ctxMinor, cmd: genl.CmdGetStatus, run: get, show: uuidsShow, lockless: true},
		{name: "show", ctx: ctxMinor | ctxResource | ctxAll, cmd: genl.CmdGetStatus, run: get, show: showShow, options: showOptions, lockless: true},
		{name: "status", ctx: ctxResource | ctxAll, run: statusCmd, options: statusOptions, lockless: true},
		{name: "check-resize", ctx: ctxMinor, cmd: genl.CmdGetStatus, run: get, show: checkResizeShow, lockless: true},
		{name: "events", ctx: ctxMinor | ctxResource | ctxAll, cmd: genl.CmdGetStatus, run: get, show: eventsShow, missingOK: true, continuousPoll: true, lockless: true},
		{name: "events2", ctx: ctxResource | ctxAll, cmd: genl.CmdGetInitialState, run: get, show: events2Show, options: eventsOptions, missingOK: true, continuousPoll: true, lockless: true, initialState: true},
		{name: "wait-connect", ctx: ctxMinor, cmd: genl.CmdGetStatus, run: get, show: waitConnectedShow, options: waitOptions, continuousPoll: true, waitTimeouts: true, lockless: true},
		{name: "wait-sync", ctx: ctxMinor, cmd: genl.CmdGetStatus, run: get, show: waitSyncedShow, options: waitOptions, continuousPoll: true, waitTimeouts: true, lockless: true},
		{name: "new-resource", ctx: ctxResource, cmd: genl.CmdNewResource, tla: genl.TLAResourceOpts, run: cfg, fields: ctxResourceOptions},
		{name: "new-minor", cmd: genl.CmdNewMinor, tla: genl.TLACfgContext, run: cfg,
			args: []drbdArg{{"resource", convResourceName}, {"minor", convMinor}, {"volume", convVolume}}},
		{name: "del-minor", ctx: ctxMinor, cmd: genl.CmdDelMinor, run: delMinorCmd},
		{name: "del-resource", ctx: ctxResource, cmd: genl.CmdDelResource, run: delResourceCmd},
	}
}

func findCmd(name string) *command {
	for _, c := range commands {
		if c.name == name {
			return c
		}
	}
	return nil
}

// Global state, as drbdsetup-84 keeps it.
var (
	progname    string // basename(argv[0])
	cmdname     string // argv[0] after its last '/'
	objname     string
	minor       = ^uint32(0)
	context     ctxKey
	optLocal    string
	optPeer     string
	transport   string
	drbdConn    *conn
	exitHooks   []func()
	testExit    func(int) // set by tests
	showDefault bool
)

// exit flushes stdout and ends the process (or the test's run).
func exit(code int) {
	for _, h := range exitHooks {
		h()
	}
	stdout.Flush()
	if testExit != nil {
		testExit(code)
		panic(exitPanic(code))
	}
	os.Exit(code)
}

type exitPanic int

func fail(err error) {
	fmt.Fprintln(stderr, err)
	exit(20)
}

// makeLongOptions is make_longoptions: the command's fields first (val 0,
// index = field index), its own options, the historic aliases, then
// --set-defaults.
func makeLongOptions(cm *command) []longOpt {
	var out []longOpt
	primaryForce, connectTentative := -1, -1
	for i, f := range cm.fields {
		ha := requiredArgument
		if f.optional() {
			ha = optionalArgument
		}
		out = append(out, longOpt{f.name, ha, 0})
		if cm.name == "primary" && f.name == "force" {
			primaryForce = i
		}
		if cm.name == "connect" && f.name == "tentative" {
			connectTentative = i
		}
	}
	out = append(out, cm.options...)
	if primaryForce >= 0 {
		o := out[primaryForce]
		out = append(out, longOpt{"overwrite-data-of-peer", o.hasArg, 1000 + primaryForce})
	}
	if connectTentative >= 0 {
		o := out[connectTentative]
		out = append(out, longOpt{"dry-run", o.hasArg, 1000 + connectTentative})
	}
	if cm.setDefaults {
		out = append(out, longOpt{"set-defaults", noArgument, '('})
	}
	return out
}

func main() {
	code := run(os.Args)
	exit(code)
}

// run is main() of drbdsetup-84; it returns the exit code.
func run(argv []string) int {
	argv = append([]string(nil), argv...)
	progname = filepath.Base(argv[0])
	if i := strings.LastIndexByte(argv[0], '/'); i >= 0 {
		cmdname = argv[0][i+1:]
	} else {
		cmdname = argv[0]
	}
	argv[0] = cmdname
	if len(argv) > 1 && strings.HasPrefix(argv[1], "--socket=") {
		socketFlag = strings.TrimPrefix(argv[1], "--socket=")
		argv = append(argv[:1], argv[2:]...)
	}
	if len(argv) > 1 && (argv[1] == "--version" || argv[1] == "-V") {
		printf("drbdsetup (udrbd) %s\nDRBD_API_VERSION=1\nDRBD_PROTOCOL=86-101\n", version)
		return 0
	}

	if len(argv) > 2 && (argv[2] == "--help" || argv[2] == "-h") {
		argv[1], argv[2] = argv[2], argv[1]
	}
	if len(argv) > 1 && (argv[1] == "help" || argv[1] == "xml-help" || argv[1] == "--help" || argv[1] == "-h") {
		if len(argv) > 2 {
			if cm := findCmd(argv[2]); cm != nil {
				if argv[1] == "xml-help" {
					printXMLUsage(cm)
				} else {
					printCommandUsage(cm, false)
				}
				return 0
			}
			return printUsageAndExit("unknown command")
		}
		return printUsageAndExit("")
	}
	if len(argv) >= 3 && findCmd(argv[1]) == nil && findCmd(argv[2]) != nil {
		argv[1], argv[2] = argv[2], argv[1]
	}
	if len(argv) < 2 {
		return printUsageAndExit("")
	}
	cm := findCmd(argv[1])
	if cm == nil {
		return printUsageAndExit("invalid command")
	}

	transport = chooseTransport()
	if transport == transportKernel {
		if _, err := os.Stat("/proc/drbd"); err != nil {
			fmt.Fprintf(stderr, "Could not stat /proc/drbd: %s\n", errnoText(err))
			fmt.Fprintf(stderr, "Make sure that the DRBD kernel module is installed and can be loaded!\n")
			return 20
		}
	}
	c, err := dial(transport)
	if err != nil {
		fmt.Fprintf(stderr, "Could not connect to 'drbd' generic netlink family\n")
		return 20
	}
	drbdConn = c
	if c.fam.Version != genl.FamilyVersion {
		fmt.Fprintf(stderr, "API mismatch!\n\tAPI version drbdsetup: %d kernel: %d\n\theader size drbdsetup: %d kernel: %d\n",
			genl.FamilyVersion, c.fam.Version, genl.HeaderLen, genl.HeaderLen)
		return 20
	}

	args := argv[1:] // args[0] is the command name, as getopt sees it
	opts := makeLongOptions(cm)
	hits, rest, ok := getoptLong(stderr, args[0], args[1:], "(", opts)
	if !ok {
		return printUsageAndExit("")
	}

	context = 0
	if cm.ctx&(ctxMinor|ctxResource|ctxAll|ctxResourceAndConnection) != 0 {
		if len(rest) == 0 && cm.ctx&(ctxResourceAndConnection|ctxConnection) == 0 && cm.ctx&ctxAll != 0 {
			context |= ctxAll
			objname = "all"
		} else {
			if len(rest) == 0 {
				fmt.Fprintf(stderr, "Missing first argument\n")
				printCommandUsage(cm, false)
				return 20
			}
			objname, rest = rest[0], rest[1:]
			if code := ensureSanityOfResName(objname); code != 0 {
				return code
			}
			if objname == "all" {
				if cm.ctx&ctxAll == 0 {
					return printUsageAndExit("command does not accept argument 'all'")
				}
				context = ctxAll
			} else if cm.ctx&ctxMinor != 0 {
				minor = minorOfDev(objname)
				if minor != ^uint32(0) {
					context = ctxMinor
				} else if cm.ctx&(ctxResource|ctxResourceAndConnection) == 0 {
					fmt.Fprintf(stderr, "Cannot determine minor device number of device '%s'\n", objname)
					return 20
				}
			}
			if context == 0 {
				context = ctxResource
			}
		}
	}
	if cm.ctx&(ctxConnection|ctxResourceAndConnection) != 0 {
		if len(rest) <= 1 {
			fmt.Fprintf(stderr, "Missing connection endpoint argument\n")
			printCommandUsage(cm, false)
			return 20
		}
		optLocal, optPeer, rest = rest[0], rest[1], rest[2:]
		context |= ctxConnection
	}
	if objname == "" {
		objname = "??"
	}
	if context&ctxMinor != 0 && !cm.lockless {
		if code := lockMinor(minor); code != 0 {
			return code
		}
	}
	return cm.run(cm, hits, rest)
}

func ensureSanityOfResName(s string) int {
	if s == "" {
		fmt.Fprintf(stderr, "Resource name is empty.\n")
		return 1
	}
	for i := 0; i < len(s); i++ {
		if s[i] < ' ' || s[i] == 0x7f {
			fmt.Fprintf(stderr, "Resource name is invalid - please don't use control characters.\n")
			return 1
		}
	}
	return 0
}

// printUsageAndExit prints the command overview to stdout; exit 20.
func printUsageAndExit(addinfo string) int {
	printf("\nUSAGE: %s command device arguments options\n\n"+
		"Device is usually /dev/drbdX or /dev/drbd/X.\n"+
		"\nCommands are:\n", cmdname)
	for _, cm := range commands {
		wrap.printf(4, "%-18s  ", cm.name)
	}
	printf("\n\nTo get more details about a command issue 'drbdsetup help cmd'.\n\n")
	if addinfo != "" {
		printf("\n%s\n", addinfo)
	}
	return 20
}

// printCommandUsage is print_command_usage(cm, FULL).
func printCommandUsage(cm *command, _ bool) {
	wrap.printf(0, "USAGE:\n")
	wrap.printf(1, "%s %s", progname, cm.name)
	if cm.ctx != 0 {
		ctx := cm.ctx
		if ctx&ctxResourceAndConnection != 0 {
			ctx = ctxResource | ctxConnection
		}
		if ctx&(ctxResource|ctxMinor|ctxAll) != 0 {
			first := true
			wrap.printf(4, " {")
			for _, p := range []struct {
				k ctxKey
				s string
			}{{ctxResource, "resource"}, {ctxMinor, "minor"}, {ctxAll, "all"}} {
				if ctx&p.k != 0 {
					s := "|" + p.s
					if first {
						s = p.s
					}
					wrap.printf(4, "%s", s)
					first = false
				}
			}
			wrap.printf(4, "}")
		}
		if ctx&ctxConnection != 0 {
			wrap.printf(4, " [{af}:]{local_addr}[:{port}]")
			wrap.printf(4, " [{af}:]{remote_addr}[:{port}]")
		}
	}
	for _, a := range cm.args {
		wrap.printf(4, " {%s}", a.name)
	}
	for _, o := range cm.options {
		if o.val == 'j' {
			continue // udrbd's --json is not in drbdsetup-84's usage
		}
		ha := "=..."
		if o.hasArg == noArgument {
			ha = ""
		}
		wrap.printf(4, " [--%s%s]", o.name, ha)
	}
	if cm.setDefaults {
		wrap.printf(4, " [--set-defaults]")
	}
	for i := range cm.fields {
		wrap.printf(4, " %s", cm.fields[i].usage())
	}
	wrap.printf(4, "\n")
}

// printXMLUsage is print_command_usage(cm, XML).
func printXMLUsage(cm *command) {
	printf("<command name=\"%s\">\n", cm.name)
	ctx := cm.ctx
	if ctx&ctxResourceAndConnection != 0 {
		ctx = ctxResource | ctxConnection
	}
	if sel := ctx & (ctxResource | ctxMinor | ctxAll); sel != 0 {
		more := sel&(sel-1) != 0
		ind := "\t"
		if more {
			ind = "\t\t"
			printf("\t<group>\n")
		}
		if ctx&ctxResource != 0 {
			printf("%s<argument>resource</argument>\n", ind)
		}
		if ctx&ctxMinor != 0 {
			printf("%s<argument>minor</argument>\n", ind)
		}
		if ctx&ctxAll != 0 {
			printf("%s<argument>all</argument>\n", ind)
		}
		if more {
			printf("\t</group>\n")
		}
	}
	if ctx&ctxConnection != 0 {
		printf("\t<argument>local_addr</argument>\n\t<argument>remote_addr</argument>\n")
	}
	for _, a := range cm.args {
		printf("\t<argument>%s</argument>\n", a.name)
	}
	for _, o := range cm.options {
		if o.val == 'j' {
			continue
		}
		t := "string"
		if o.hasArg == noArgument {
			t = "flag"
		}
		printf("\t<option name=\"%s\" type=\"%s\">\n\t</option>\n", o.name, t)
	}
	if cm.setDefaults {
		printf("\t<option name=\"set-defaults\" type=\"flag\">\n\t</option>\n")
	}
	for _, f := range cm.fields {
		switch f.kind {
		case kEnum, kEnumNoCase:
			printf("\t<option name=\"%s\" type=\"handler\">\n", f.name)
			for _, s := range f.enum {
				if s != "" {
					printf("\t\t<handler>%s</handler>\n", s)
				}
			}
			printf("\t</option>\n")
		case kNumeric:
			printf("\t<option name=\"%s\" type=\"numeric\">\n\t\t<min>%d</min>\n\t\t<max>%d</max>\n\t\t<default>%d</default>\n\t\t<unit_prefix>%c</unit_prefix>\n",
				f.name, f.min, f.max, f.def, f.scale)
			if f.unit != "" {
				printf("\t\t<unit>%s</unit>\n", f.unit)
			}
			printf("\t</option>\n")
		case kBoolean, kFlag:
			d := "no"
			if f.def != 0 {
				d = "yes"
			}
			printf("\t<option name=\"%s\" type=\"boolean\">\n\t\t<default>%s</default>\n\t</option>\n", f.name, d)
		case kString:
			printf("\t<option name=\"%s\" type=\"string\">\n\t</option>\n", f.name)
		case kAddress:
			printf("\t<option name=\"%s\" type=\"address\">\n\t</option>\n", f.name)
		}
	}
	printf("</command>\n")
}
