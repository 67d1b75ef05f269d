package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/wsstream/wsstream"
)

// tokenEnv is the environment variable that holds the shared secret when
// -token-file is not given.
const tokenEnv = "WSSTREAM_TOKEN"

// command is a subcommand's flag set and its manual page.
type command struct {
	fs     *flag.FlagSet
	stdout io.Writer
	// manual is the page printed by -h, with %s where the FLAGS section
	// (generated from fs, so that every flag and its default is listed)
	// goes.
	manual string
}

// newCommand returns a subcommand whose -h prints manual to stdout and
// whose command line errors are printed to stderr.
func newCommand(name, manual string, stdout, stderr io.Writer) *command {
	fs := flag.NewFlagSet("wsstream "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	c := &command{fs: fs, stdout: stdout, manual: manual}
	fs.Usage = func() {} // parse prints what fits the error
	return c
}

// help prints the manual page.
func (c *command) help() {
	var b strings.Builder
	c.fs.VisitAll(func(f *flag.Flag) {
		kind, usage := flag.UnquoteUsage(f)
		fmt.Fprintf(&b, "    -%s", f.Name)
		if kind != "" {
			fmt.Fprintf(&b, " %s", kind)
		}
		fmt.Fprintf(&b, "\n        %s\n", strings.ReplaceAll(usage, "\n", "\n        "))
		def := f.DefValue
		switch {
		case kind == "" && def == "false":
			def = "off"
		case def == "":
			def = "none"
		}
		fmt.Fprintf(&b, "        Default: %s.\n", def)
	})
	fmt.Fprintf(c.stdout, c.manual, strings.TrimSuffix(b.String(), "\n"))
}

// parse parses args, requiring the flags in required to be non-empty and
// allowing no positional arguments. -h prints the manual and returns
// flag.ErrHelp; other errors wrap errUsage.
func (c *command) parse(args []string, required ...string) error {
	if err := c.fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			c.help()
			return err
		}
		return c.usageError("%v", err)
	}
	if c.fs.NArg() > 0 {
		return c.usageError("unexpected arguments %q", c.fs.Args())
	}
	for _, name := range required {
		if c.fs.Lookup(name).Value.String() == "" {
			return c.usageError("-%s is required", name)
		}
	}
	return nil
}

// usageError returns an error wrapping errUsage and points at -h.
func (c *command) usageError(format string, args ...any) error {
	fmt.Fprintf(c.fs.Output(), "usage: see %q\n", c.fs.Name()+" -h")
	return fmt.Errorf("%w: %s", errUsage, fmt.Sprintf(format, args...))
}

// isSet reports whether the flag name was given on the command line.
func (c *command) isSet(name string) bool {
	set := false
	c.fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// commonFlags are the flags of both server and client.
type commonFlags struct {
	tokenFile         string
	keepaliveInterval time.Duration
	keepaliveTimeout  time.Duration
	drainTimeout      time.Duration
	dialTimeout       time.Duration
	logLevel          slog.Level
}

func (f *commonFlags) register(fs *flag.FlagSet, dialWhat string) {
	fs.StringVar(&f.tokenFile, "token-file", "", "read the shared secret from `FILE` (surrounding white space is\nignored); without it the environment variable "+tokenEnv+" is used.\nKeep secrets off the command line: other users can read it in ps.")
	fs.DurationVar(&f.keepaliveInterval, "keepalive-interval", wsstream.DefaultKeepaliveInterval, "ping the peer after it has sent nothing for this `DURATION`;\nnegative disables keepalive")
	fs.DurationVar(&f.keepaliveTimeout, "keepalive-timeout", wsstream.DefaultKeepaliveTimeout, "drop a tunnel whose keepalive ping is not answered within `DURATION`")
	fs.DurationVar(&f.drainTimeout, "drain-timeout", 30*time.Second, "on SIGINT or SIGTERM, stop accepting and let open tunnels finish\nfor at most `DURATION`, then reset them")
	fs.DurationVar(&f.dialTimeout, "dial-timeout", 10*time.Second, "give up one attempt to connect to "+dialWhat+" after `DURATION`")
	fs.TextVar(&f.logLevel, "log-level", slog.LevelInfo, "log at `LEVEL` and above to stderr: DEBUG, INFO, WARN or ERROR")
}

// options returns the stream options the flags select.
func (f *commonFlags) options() wsstream.Options {
	// Both ends of the tunnel offer half-close, so that a shutdown(SHUT_WR)
	// crosses it (a peer without it falls back to closing).
	return wsstream.Options{KeepaliveInterval: f.keepaliveInterval, KeepaliveTimeout: f.keepaliveTimeout, HalfClose: true}
}

// token returns the shared secret from -token-file or $WSSTREAM_TOKEN, or
// "" when neither is set. A token file that is empty is an error.
func (f *commonFlags) token() (string, error) {
	if f.tokenFile == "" {
		return strings.TrimSpace(os.Getenv(tokenEnv)), nil
	}
	b, err := os.ReadFile(f.tokenFile)
	if err != nil {
		return "", fmt.Errorf("reading the token: %w", err)
	}
	tok := strings.TrimSpace(string(b))
	if tok == "" {
		return "", fmt.Errorf("the token file %s is empty", f.tokenFile)
	}
	return tok, nil
}

// logger returns a logger writing text records to w at the flags' level.
func (f *commonFlags) logger(w io.Writer, side string) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: f.logLevel})).With("side", side)
}
