package harness

import "sort"

// A maker makes a part of the harness's sections for a run.
type maker struct {
	order int
	make  func(Config) []Section
}

var makers []maker

// Register adds sections to the harness: make is called by Sections with
// the run's Config. order places them in the report (lower first): file copy
// 10, TCP proxy 20, echo 30, HTTP handlers 35, compression 40, cgo overhead
// 50. Call Register from an init function.
func Register(order int, make func(Config) []Section) {
	makers = append(makers, maker{order, make})
}

// Sections returns every registered section for cfg, in report order.
func Sections(cfg Config) []Section {
	sort.SliceStable(makers, func(i, j int) bool { return makers[i].order < makers[j].order })
	var out []Section
	for _, m := range makers {
		out = append(out, m.make(cfg)...)
	}
	return out
}
