// Command coldstart measures the cold start of every Lambda function of the
// project without AWS. It builds each function with the real build flags (for
// the host, to run it, and for linux/arm64, to report the deployed size), runs
// the bootstrap against a local implementation of the Lambda Runtime API and
// reports, per function, the median Init Duration (process start to the first
// GET /invocation/next), the first (cold) invoke latency and a warm invoke
// latency.
//
// Usage, from the repository:
//
//	go run ./scripts/coldstart [-functions a,b] [-event file.json] [-runs 5] [-env KEY=VALUE]... [-json]
//
// The numbers come from this machine, not from a Lambda sandbox: use them to
// compare functions and to catch regressions, not as absolute cold start times.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"
)

const defaultEvent = "events/apigw-get-me.json"

// errUsage reports a command line the flag package has already complained about.
var errUsage = errors.New("usage")

func main() {
	err := run()
	switch {
	case errors.Is(err, errUsage):
		os.Exit(2)
	case err != nil:
		fmt.Fprintln(os.Stderr, "coldstart:", err)
		os.Exit(1)
	}
}

// config holds the parsed flags.
type config struct {
	functions []string
	pkgdir    string
	event     string
	runs      int
	env       []string
	json      bool
	timeout   time.Duration
	verbose   bool
}

func run() error {
	cfg, err := parseFlags(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	fns, root, err := resolveFunctions(ctx, cfg)
	if err != nil {
		return err
	}
	event, eventName, err := loadEvent(cfg.event, root)
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "coldstart-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	opt := runOptions{event: event, env: cfg.env, timeout: cfg.timeout}
	if cfg.verbose {
		opt.logs = os.Stderr
	}
	rep := &report{Host: runtime.GOOS + "/" + runtime.GOARCH, Event: eventName, Runs: cfg.runs,
		MemoryMB: memoryMB, TimeoutMS: cfg.timeout.Milliseconds()}
	// The anchor, a bare aws-lambda-go function built the same way, cold
	// starts before each run of each function, so every function's init is
	// compared with the anchor's measured alongside it, under the same load.
	var anchor *artifacts
	var anchorFn function
	if root != "" {
		anchorFn = function{Name: anchorName, Dir: root, Pkg: "./scripts/coldstart/bare"}
		fmt.Fprintf(os.Stderr, "%s: building\n", anchorFn.Name)
		if anchor, err = buildFunction(ctx, anchorFn, filepath.Join(tmp, "bare")); err != nil {
			return fmt.Errorf("anchor: %w", err)
		}
	}
	var anchorSamples []sample
	failed := 0
	for _, fn := range fns {
		fmt.Fprintf(os.Stderr, "%s: building\n", fn.Name)
		a, err := buildFunction(ctx, fn, filepath.Join(tmp, fn.Name))
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			fr := summarize(fn, nil, nil)
			fr.BuildError = err.Error()
			rep.Functions = append(rep.Functions, fr)
			failed++
			continue
		}
		var samples, anchors []sample
		for i := range cfg.runs {
			fmt.Fprintf(os.Stderr, "%s: cold start %d/%d\n", fn.Name, i+1, cfg.runs)
			if anchor != nil {
				anchors = append(anchors, coldStart(ctx, anchorFn.Name, anchor.Bootstrap, opt))
			}
			samples = append(samples, coldStart(ctx, fn.Name, a.Bootstrap, opt))
			if ctx.Err() != nil {
				return ctx.Err()
			}
		}
		fr := summarize(fn, a, samples)
		fr.InitRatio = initRatio(samples, anchors)
		if fr.failed() {
			failed++
		}
		rep.Functions = append(rep.Functions, fr)
		anchorSamples = append(anchorSamples, anchors...)
	}
	if anchor != nil {
		ar := summarize(anchorFn, anchor, anchorSamples)
		if ar.failed() {
			failed++
		}
		rep.Anchor = &ar
	}

	if cfg.json {
		err = writeJSON(os.Stdout, rep)
	} else {
		err = writeTable(os.Stdout, rep)
	}
	if err != nil {
		return err
	}
	if failed > 0 {
		return fmt.Errorf("%d functions reported errors", failed)
	}
	return nil
}

// parseFlags parses the command line; -pkgdir is a hidden flag that measures the
// main package in any directory (with its own go.mod if need be) instead.
func parseFlags(args []string, stderr io.Writer) (*config, error) {
	cfg := &config{}
	fs := flag.NewFlagSet("coldstart", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var functions string
	fs.StringVar(&functions, "functions", "", "comma-separated function names under functions/ (default: every directory there with a main.go)")
	fs.StringVar(&cfg.event, "event", "", "JSON event file sent on each invoke (default: "+defaultEvent+" if it exists, else {})")
	fs.IntVar(&cfg.runs, "runs", 5, "cold starts per function")
	fs.Var((*envFlag)(&cfg.env), "env", "extra KEY=VALUE for the function's environment (repeatable)")
	fs.BoolVar(&cfg.json, "json", false, "write the report as JSON")
	fs.DurationVar(&cfg.timeout, "timeout", 30*time.Second, "function timeout: the invocation deadline and how long to wait for a response")
	fs.BoolVar(&cfg.verbose, "v", false, "copy the functions' stdout and stderr to stderr")
	fs.StringVar(&cfg.pkgdir, "pkgdir", "", "measure the main package in this directory instead")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: go run ./scripts/coldstart [flags]\n\nMeasures each Lambda function's cold start against a local Runtime API.\n\n")
		shown := flag.NewFlagSet("coldstart", flag.ContinueOnError)
		shown.SetOutput(stderr)
		fs.VisitAll(func(f *flag.Flag) {
			if f.Name != "pkgdir" {
				shown.Var(f.Value, f.Name, f.Usage)
				shown.Lookup(f.Name).DefValue = f.DefValue
			}
		})
		shown.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, err
		}
		return nil, fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if cfg.runs < 1 {
		return nil, fmt.Errorf("-runs must be at least 1")
	}
	if cfg.timeout <= 0 {
		return nil, fmt.Errorf("-timeout must be positive")
	}
	for _, name := range strings.Split(functions, ",") {
		if name = strings.TrimSpace(name); name != "" {
			cfg.functions = append(cfg.functions, strings.TrimPrefix(name, "functions/"))
		}
	}
	if cfg.pkgdir != "" && len(cfg.functions) > 0 {
		return nil, fmt.Errorf("-pkgdir and -functions cannot be combined")
	}
	return cfg, nil
}

// envFlag collects repeated KEY=VALUE flags.
type envFlag []string

func (e *envFlag) String() string { return strings.Join(*e, " ") }

func (e *envFlag) Set(v string) error {
	if k, _, ok := strings.Cut(v, "="); !ok || k == "" {
		return fmt.Errorf("want KEY=VALUE, got %q", v)
	}
	*e = append(*e, v)
	return nil
}

// resolveFunctions returns the functions to measure and the module root (empty
// with -pkgdir).
func resolveFunctions(ctx context.Context, cfg *config) ([]function, string, error) {
	if cfg.pkgdir != "" {
		dir, err := filepath.Abs(cfg.pkgdir)
		if err != nil {
			return nil, "", err
		}
		return []function{{Name: filepath.Base(dir), Dir: dir, Pkg: "."}}, "", nil
	}
	root, err := moduleRoot(ctx)
	if err != nil {
		return nil, "", err
	}
	names := cfg.functions
	if len(names) == 0 {
		if names, err = discoverFunctions(root); err != nil {
			return nil, "", err
		}
		if len(names) == 0 {
			return nil, "", fmt.Errorf("no functions/<name>/main.go under %s", root)
		}
	}
	fns := make([]function, 0, len(names))
	for _, name := range names {
		if _, err := os.Stat(filepath.Join(root, "functions", name, "main.go")); err != nil {
			return nil, "", fmt.Errorf("function %q: no functions/%s/main.go", name, name)
		}
		fns = append(fns, function{Name: name, Dir: root, Pkg: "./functions/" + name})
	}
	return fns, root, nil
}

// loadEvent reads the event file (relative to the working directory), or the
// default event under root, or falls back to {}. It returns the event and a
// name for the report.
func loadEvent(path, root string) ([]byte, string, error) {
	if path == "" {
		def := filepath.Join(root, defaultEvent)
		if _, err := os.Stat(def); root == "" || err != nil {
			return []byte("{}"), "{}", nil
		}
		path = def
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, "", fmt.Errorf("read event: %w", err)
	}
	if !json.Valid(b) {
		return nil, "", fmt.Errorf("event %s is not valid JSON", path)
	}
	name := path
	if root != "" {
		if rel, err := filepath.Rel(root, path); err == nil && !strings.HasPrefix(rel, "..") {
			name = rel
		}
	}
	return b, name, nil
}
