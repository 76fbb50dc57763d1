package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// mib is the unit of the reported sizes: Lambda's package limits are counted in
// units of 2^20 bytes.
const mib = 1 << 20

// report is the whole output of one harness run; it is also the -json document.
type report struct {
	Host      string           `json:"host"` // GOOS/GOARCH the functions ran on
	Event     string           `json:"event"`
	Runs      int              `json:"runs"`
	MemoryMB  int              `json:"memory_mb"`
	TimeoutMS int64            `json:"timeout_ms"`
	Functions []functionReport `json:"functions"`
	// Anchor is the bare aws-lambda-go function, over all its runs (one
	// before each run of each function).
	Anchor *functionReport `json:"anchor,omitempty"`
}

// anchorName names the bare aws-lambda-go function in the report.
const anchorName = "bare aws-lambda-go"

// functionReport is the summary of one function.
type functionReport struct {
	Name       string  `json:"name"`
	Package    string  `json:"package"`
	Arm64Bytes int64   `json:"arm64_bytes,omitempty"`
	Arm64MB    float64 `json:"arm64_mb,omitempty"`
	ZipBytes   int64   `json:"zip_bytes,omitempty"`
	ZipMB      float64 `json:"zip_mb,omitempty"`
	HostBytes  int64   `json:"host_bytes,omitempty"`
	Median     medians `json:"median_ms"`
	// InitRatio is the median init over the median init of the bare
	// aws-lambda-go function in the runs interleaved with this function's;
	// null without the anchor.
	InitRatio  *float64  `json:"init_ratio,omitempty"`
	OKRuns     int       `json:"ok_runs"`
	HTTPStatus []int     `json:"http_statuses,omitempty"`
	Errors     []string  `json:"errors,omitempty"`
	BuildError string    `json:"build_error,omitempty"`
	Output     string    `json:"output,omitempty"` // tail of the last failing run's output
	RunsDetail []runInfo `json:"runs"`
}

// medians are in milliseconds; null when no run reached the phase.
type medians struct {
	Init        *float64 `json:"init"`
	FirstInvoke *float64 `json:"first_invoke"`
	WarmInvoke  *float64 `json:"warm_invoke"`
}

// runInfo is one cold start, in milliseconds.
type runInfo struct {
	InitMS        *float64 `json:"init_ms"`
	FirstInvokeMS *float64 `json:"first_invoke_ms"`
	WarmInvokeMS  *float64 `json:"warm_invoke_ms"`
	Errors        []string `json:"errors,omitempty"`
}

// failed reports whether the function had a build error or any run error.
func (f *functionReport) failed() bool { return f.BuildError != "" || len(f.Errors) > 0 }

// summarize turns the samples of one function into its report.
func summarize(fn function, a *artifacts, samples []sample) functionReport {
	fr := functionReport{Name: fn.Name, Package: fn.Pkg, RunsDetail: []runInfo{}}
	if a != nil {
		fr.Arm64Bytes, fr.Arm64MB = a.Arm64Bytes, round(float64(a.Arm64Bytes)/mib, 2)
		fr.ZipBytes, fr.ZipMB = a.ZipBytes, round(float64(a.ZipBytes)/mib, 2)
		fr.HostBytes = a.HostBytes
	}
	var inits, firsts, warms []time.Duration
	errCount := map[string]int{}
	var errOrder []string
	for _, s := range samples {
		fr.RunsDetail = append(fr.RunsDetail, runInfo{
			InitMS: ms(s.Init), FirstInvokeMS: ms(s.First), WarmInvokeMS: ms(s.Warm), Errors: s.Errors,
		})
		inits = appendMeasured(inits, s.Init)
		firsts = appendMeasured(firsts, s.First)
		warms = appendMeasured(warms, s.Warm)
		for _, st := range []int{s.FirstStatus, s.WarmStatus} {
			if st != 0 && !slices.Contains(fr.HTTPStatus, st) {
				fr.HTTPStatus = append(fr.HTTPStatus, st)
			}
		}
		if len(s.Errors) == 0 {
			fr.OKRuns++
			continue
		}
		fr.Output = s.Output
		for _, e := range s.Errors {
			if errCount[e] == 0 {
				errOrder = append(errOrder, e)
			}
			errCount[e]++
		}
	}
	for _, e := range errOrder {
		fr.Errors = append(fr.Errors, fmt.Sprintf("%s (%d of %d runs)", e, errCount[e], len(samples)))
	}
	slices.Sort(fr.HTTPStatus)
	fr.Median = medians{Init: ms(median(inits)), FirstInvoke: ms(median(firsts)), WarmInvoke: ms(median(warms))}
	return fr
}

// initRatio is the median init of samples over that of anchors, rounded
// to two places; nil when either has no init measured.
func initRatio(samples, anchors []sample) *float64 {
	var fn, bare []time.Duration
	for _, s := range samples {
		fn = appendMeasured(fn, s.Init)
	}
	for _, s := range anchors {
		bare = appendMeasured(bare, s.Init)
	}
	if len(fn) == 0 || len(bare) == 0 || median(bare) <= 0 {
		return nil
	}
	r := round(float64(median(fn))/float64(median(bare)), 2)
	return &r
}

func appendMeasured(ds []time.Duration, d time.Duration) []time.Duration {
	if d == notMeasured {
		return ds
	}
	return append(ds, d)
}

// median returns the middle value (the mean of the two middle ones for an even
// count), or notMeasured for no values.
func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return notMeasured
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// ms converts d to milliseconds rounded to the microsecond; nil when not measured.
func ms(d time.Duration) *float64 {
	if d == notMeasured {
		return nil
	}
	v := round(float64(d)/float64(time.Millisecond), 3)
	return &v
}

func round(v float64, places int) float64 {
	p := math.Pow(10, float64(places))
	return math.Round(v*p) / p
}

// writeJSON writes the report as indented JSON.
func writeJSON(w io.Writer, r *report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// writeTable writes the report as an aligned table followed by the errors.
func writeTable(w io.Writer, r *report) error {
	fmt.Fprintf(w, "cold starts on %s, %d runs each, event %s, medians in ms (Lambda itself runs arm64 with a CPU share set by memory: compare functions, not absolute numbers)\n\n",
		r.Host, r.Runs, r.Event)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "FUNCTION\tARM64 MB\tZIP MB\tINIT\tINIT ×BARE\tFIRST INVOKE\tWARM INVOKE\tOK RUNS\tHTTP")
	rows := r.Functions
	if r.Anchor != nil {
		rows = append([]functionReport{*r.Anchor}, rows...)
	}
	for _, f := range rows {
		if f.BuildError != "" {
			fmt.Fprintf(tw, "%s\t-\t-\t-\t-\t-\t-\tbuild failed\t-\n", f.Name)
			continue
		}
		ratio := "-"
		if f.InitRatio != nil {
			ratio = strconv.FormatFloat(*f.InitRatio, 'f', 2, 64) + "×"
		}
		fmt.Fprintf(tw, "%s\t%.2f\t%.2f\t%s\t%s\t%s\t%s\t%d/%d\t%s\n", f.Name, f.Arm64MB, f.ZipMB,
			fmtMS(f.Median.Init), ratio, fmtMS(f.Median.FirstInvoke), fmtMS(f.Median.WarmInvoke),
			f.OKRuns, len(f.RunsDetail), fmtStatuses(f.HTTPStatus))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, f := range rows {
		if !f.failed() {
			continue
		}
		fmt.Fprintf(w, "\n%s:\n", f.Name)
		if f.BuildError != "" {
			fmt.Fprintf(w, "  build error: %s\n", indent(f.BuildError, "    "))
		}
		for _, e := range f.Errors {
			fmt.Fprintf(w, "  %s\n", e)
		}
		if f.Output != "" {
			fmt.Fprintf(w, "  function output (last failing run):\n    %s\n", indent(lastLines(f.Output, 8), "    "))
		}
	}
	return nil
}

func fmtMS(v *float64) string {
	if v == nil {
		return "-"
	}
	return strconv.FormatFloat(*v, 'f', 2, 64)
}

func fmtStatuses(st []int) string {
	if len(st) == 0 {
		return "-"
	}
	s := make([]string, len(st))
	for i, v := range st {
		s[i] = strconv.Itoa(v)
	}
	return strings.Join(s, ",")
}

func indent(s, prefix string) string { return strings.ReplaceAll(s, "\n", "\n"+prefix) }

// lastLines returns the last n lines of s, each cut to 240 bytes.
func lastLines(s string, n int) string {
	const width = 240
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	for i, l := range lines {
		if len(l) > width {
			lines[i] = l[:width] + "..."
		}
	}
	return strings.Join(lines, "\n")
}
