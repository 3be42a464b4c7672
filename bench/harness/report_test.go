package harness

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

// mbSample returns a sample that moved 1e6 bytes at mbps MB/s using cpu.
func mbSample(mbps float64, cpu time.Duration) Sample {
	return Sample{Bytes: 1e6, Elapsed: time.Duration(float64(time.Second) / mbps), CPU: cpu}
}

// reportFixture returns two sections of hand-made results: a throughput
// section with a skipped and a failed peer, and an ops/s section.
func reportFixture() []SectionResult {
	ms := time.Millisecond
	copyGroup := GroupResult{
		Setting:  "7 MB",
		Baseline: "io.Copy",
		Rows: []Result{
			{Peer: "io.Copy", Samples: []Sample{mbSample(100, 10*ms), mbSample(200, 10*ms), mbSample(400, 10*ms)}},
			// Run by run: 300/100, 500/200, 600/400 = 3, 2.5, 1.5; median 2.5.
			{Peer: "kpipe.Copy", Samples: []Sample{mbSample(300, 5*ms), mbSample(500, 5*ms), mbSample(600, 5*ms)}},
			{Peer: "kp_splice_copy", Skip: "kp_splice_copy not built"},
			{Peer: "broken | peer", Err: errors.New("splice: broken pipe\nsecond line")},
		},
	}
	bigGroup := GroupResult{
		Setting:  "70 MB",
		Baseline: "io.Copy",
		Rows: []Result{
			{Peer: "io.Copy", Samples: []Sample{mbSample(1500, 0), mbSample(1500, 0), mbSample(1500, 0)}},
			{Peer: "kpipe.Copy", Samples: []Sample{mbSample(3000, 0), mbSample(3000, 0), mbSample(3000, 0)}},
		},
	}
	echo := GroupResult{
		Setting:  "64 B",
		Baseline: "net",
		Rows: []Result{
			{Peer: "net", Samples: []Sample{{Ops: 1000, Elapsed: time.Second}}},
			{Peer: "kpipe", Samples: []Sample{{Ops: 4000, Elapsed: time.Second}}},
		},
	}
	// A second echo group whose baseline differs from the first's.
	echoKB := GroupResult{
		Setting:  "1 kB",
		Baseline: "kpipe",
		Rows: []Result{
			{Peer: "kpipe", Samples: []Sample{{Ops: 2000, Elapsed: time.Second}}},
			{Peer: "net", Samples: []Sample{{Ops: 1000, Elapsed: time.Second}}},
		},
	}
	return []SectionResult{
		{Name: "File copy", About: "Copies a file.", Metrics: []Metric{Throughput, CPUPerGiB}, Groups: []GroupResult{copyGroup, bigGroup}},
		{Name: "Round trips", About: "Echoes.", Metrics: []Metric{OpsPerSec}, Groups: []GroupResult{echo, echoKB}},
	}
}

func testSysInfo() SysInfo {
	return SysInfo{CPUModel: "Test CPU <x&y>", CPUs: 2, MemBytes: 8 << 30, Kernel: "6.1.0-test", OS: "Debian", Go: "go1.26.8",
		Liburing: "2.3", Zlib: "1.2.13", Backend: "poll", IOUring: true, Date: time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)}
}

// markdown returns the report WriteMarkdown writes of results, failing the
// test on an error.
func markdown(t *testing.T, cfg Config, runs int, results []SectionResult) string {
	t.Helper()
	var b bytes.Buffer
	if err := WriteMarkdown(&b, testSysInfo(), cfg, runs, results); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// chart returns the chart WriteSVG draws of results, failing the test on an
// error.
func chart(t *testing.T, results []SectionResult) string {
	t.Helper()
	var b bytes.Buffer
	if err := WriteSVG(&b, testSysInfo(), results); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// checkContains fails the test for every string of wants that text, which
// what names, lacks.
func checkContains(t *testing.T, what, text string, wants ...string) {
	t.Helper()
	for _, want := range wants {
		if !strings.Contains(text, want) {
			t.Errorf("%s lacks %q", what, want)
		}
	}
}

func TestWriteMarkdown(t *testing.T) {
	md := markdown(t, Config{Quick: true}, 3, reportFixture())
	checkContains(t, "markdown", md,
		"# kpipe benchmarks",
		"6.1.0-test", "go1.26.8", "liburing: 2.3", "zlib: 1.2.13", "poll", "Runs per figure: 3", "quick: yes",
		"## File copy\n\nCopies a file.\n",
		"| Setting | Peer | MB/s | CPU s/GiB | × vs io.Copy | Runs |",
		"| 7 MB | io.Copy | 200 (100–400) |",
		"| 1.00× | 3 |",
		"| | kpipe.Copy | 500 (300–600) |",
		"2.50× (1.50–3.00)",
		"| 70 MB | io.Copy | 1,500 |",
		"| 2.00× | 3 |",
		"skipped: kp_splice_copy not built",
		`| | broken \| peer | failed: splice: broken pipe |`,
		"## Round trips",
		"| Setting | Peer | ops/s | × vs baseline | Runs |",
		"| 64 B | net (baseline) | 1,000 | 1.00× | 1 |",
		"| 1 kB | kpipe (baseline) | 2,000 | 1.00× | 1 |",
		"| | net | 1,000 | 0.50× | 1 |",
		"| | kpipe | 4,000 | 4.00× | 1 |",
		"Figures are medians of 3 runs",
	)
	if strings.Contains(md, "second line") {
		t.Error("markdown shows the error's second line")
	}
	if n := strings.Count(md, "ratios are computed run by run"); n != 2 {
		t.Errorf("%d run-by-run notes, want one per table (2)", n)
	}
	if t.Failed() {
		t.Log(md)
	}
}

func TestWriteMarkdownCPUColumn(t *testing.T) {
	md := markdown(t, Config{}, 3, reportFixture())
	// io.Copy at 7 MB: 10 ms per 1e6 bytes is 10.737 s/GiB on every run.
	if !strings.Contains(md, "| 200 (100–400) | 10.7 | 1.00× |") {
		t.Errorf("CPU column wrong:\n%s", md)
	}
	if !strings.Contains(md, "quick: no") {
		t.Error("header does not say the run was not quick")
	}
}

func TestFormatSummary(t *testing.T) {
	for _, c := range []struct {
		s    Summary
		want string
	}{
		{Summary{Median: 1234.4, Min: 1000.2, Max: 2000.9, N: 5}, "1,234 (1,000–2,001)"},
		{Summary{Median: 12.345, Min: 11, Max: 13, N: 5}, "12.3 (11.0–13.0)"},
		{Summary{Median: 0.01234, Min: 0.01, Max: 0.02, N: 5}, "0.0123 (0.0100–0.0200)"},
		{Summary{Median: 3, Min: 3, Max: 3, N: 5}, "3.00"},
		{Summary{}, "—"},
	} {
		if got := formatSummary(c.s); got != c.want {
			t.Errorf("formatSummary(%+v) = %q, want %q", c.s, got, c.want)
		}
	}
}

func TestWriteSVG(t *testing.T) {
	svg := chart(t, reportFixture())

	bars, texts := 0, []string{}
	fills := map[string]string{} // bar tooltip peer -> fill
	var lastBarFill string
	walkSVG(t, svg, func(el xml.StartElement) {
		if el.Name.Local == "script" {
			t.Error("chart has a script")
		}
		if el.Name.Local == "rect" && attr(el, "class") == "bar" {
			bars++
			lastBarFill = attr(el, "fill")
		}
	}, func(s string, inText bool) {
		if inText {
			texts = append(texts, s)
		} else if lastBarFill != "" && strings.Contains(s, ":") {
			// The bar's <title>: "peer, setting: ...".
			peer, _, _ := strings.Cut(s, ",")
			if f, ok := fills[peer]; ok && f != lastBarFill {
				t.Errorf("peer %s drawn in %s and %s", peer, f, lastBarFill)
			}
			fills[peer] = lastBarFill
			lastBarFill = ""
		}
	})
	// Only "File copy" is a throughput section: 2 bars at 7 MB (the skipped
	// and failed peers have none) and 2 at 70 MB, in its MB/s panel and
	// again in its CPU s/GiB panel.
	if bars != 8 {
		t.Errorf("%d bars, want 8", bars)
	}
	all := strings.Join(texts, "\n")
	checkContains(t, "chart text", all, "io.Copy", "kpipe.Copy", "kp_splice_copy", "broken | peer", "File copy (MB/s)",
		"File copy (CPU s/GiB)", "6.1.0-test", "go1.26.8", "Test CPU <x&y>", "500", "1,500", "3,000")
	if strings.Contains(all, "Round trips") {
		t.Error("chart has a panel for a section that is not throughput")
	}
	if len(fills) != 2 || fills["io.Copy"] == fills["kpipe.Copy"] {
		t.Errorf("bar colours by peer: %v, want two distinct", fills)
	}
	if t.Failed() {
		t.Log(svg)
	}
}

func TestWriteSVGEmpty(t *testing.T) {
	svg := chart(t, nil)
	var doc struct {
		XMLName xml.Name
	}
	if err := xml.Unmarshal([]byte(svg), &doc); err != nil || doc.XMLName.Local != "svg" {
		t.Fatalf("empty chart: %v, root %q\n%s", err, doc.XMLName.Local, svg)
	}
}

func attr(el xml.StartElement, name string) string {
	for _, a := range el.Attr {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

func TestPeerColoursDistinct(t *testing.T) {
	seen := map[string]int{}
	for i := 0; i < 40; i++ {
		c := peerColour(i)
		if len(c) != 7 || c[0] != '#' {
			t.Fatalf("peerColour(%d) = %q, not #rrggbb", i, c)
		}
		if j, dup := seen[c]; dup {
			t.Errorf("peers %d and %d share colour %s", j, i, c)
		}
		seen[c] = i
	}
}

// walkSVG decodes the chart svg, failing the test when it is not
// well-formed XML, and calls start for every element and chars for every
// run of character data, saying whether it is inside a <text>.
func walkSVG(t *testing.T, svg string, start func(xml.StartElement), chars func(s string, inText bool)) {
	t.Helper()
	dec := xml.NewDecoder(strings.NewReader(svg))
	inText := 0
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatalf("chart is not well-formed XML: %v\n%s", err, svg)
		}
		switch el := tok.(type) {
		case xml.StartElement:
			if el.Name.Local == "text" {
				inText++
			}
			start(el)
		case xml.EndElement:
			if el.Name.Local == "text" {
				inText--
			}
		case xml.CharData:
			chars(string(el), inText > 0)
		}
	}
}
