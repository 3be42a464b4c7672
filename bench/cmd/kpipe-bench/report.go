package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"

	"github.com/kpipe/kpipe/bench/harness"
)

// The files the command writes in its -out directory.
const (
	reportFile = "report.md"
	chartFile  = "chart.svg"
)

// writeReport writes the Markdown report to dir/report.md and to standard
// output, and the chart to dir/chart.svg, creating dir; it names the files
// written on standard error.
func writeReport(dir string, info harness.SysInfo, cfg harness.Config, runs int, results []harness.SectionResult) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("report directory: %w", err)
	}
	var md, svg bytes.Buffer
	if err := harness.WriteMarkdown(&md, info, cfg, runs, results); err != nil {
		return err
	}
	if err := harness.WriteSVG(&svg, info, results); err != nil {
		return err
	}
	mdPath, svgPath := filepath.Join(dir, reportFile), filepath.Join(dir, chartFile)
	if err := os.WriteFile(mdPath, md.Bytes(), 0o644); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	if err := os.WriteFile(svgPath, svg.Bytes(), 0o644); err != nil {
		return fmt.Errorf("write chart: %w", err)
	}
	if _, err := os.Stdout.Write(md.Bytes()); err != nil {
		return fmt.Errorf("write report to standard output: %w", err)
	}
	fmt.Fprintf(os.Stderr, "kpipe-bench: wrote %s\nkpipe-bench: wrote %s\n", mdPath, svgPath)
	return nil
}
