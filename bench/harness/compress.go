package harness

import (
	"github.com/kpipe/kpipe/bench"
)

func init() { Register(40, CompressSections) }

// compressLevel is the compression level of the Gzip section.
const compressLevel = 6

// compressBaseline is the peer the compression sections' ratios divide by.
const compressBaseline = "compress/gzip"

// CompressSections returns the sections "Gzip (level 6)" and "Gunzip": kpipe
// and its peers (see bench.GzipMethods) compressing a tar of the Go
// toolchain's source tree, and decompressing its gzip -6 form, file to file
// in cfg.Dir. The tar is the bench package's corpus (bench.Load), made once
// and kept in bench.Dir(); with cfg.Quick the sections run on its first
// 4 MiB instead, copied into cfg.Dir for the run. The C programs come from
// cfg.CBinDir.
func CompressSections(cfg Config) []Section {
	return compressSections(cfg, compressCorpusInput(cfg.Quick))
}

// compressSections returns the compression sections on in.
func compressSections(cfg Config, in compressInput) []Section {
	kpGzip := compressKpGzip(cfg)
	return []Section{
		{
			Name: "Gzip (level 6)",
			About: "Compressing " + in.about + " at level 6, file to file in memory (tmpfs): " +
				"kpipe.Codec.Gzip between *os.File (cgo), kp_gzip (kpipe's C loop alone, no Go), " +
				"kp_gzip -bare (a plain C zlib loop, windowBits 31), Go's compress/gzip and " +
				"klauspost/compress/gzip (io.Copy from the file into a gzip.Writer over a 64 KiB " +
				"bufio.Writer) and the gzip command (gzip -6 -n -c). MB/s count the uncompressed " +
				"bytes, as in Gunzip, so the two directions compare. CPU is the process's own " +
				"for the in-process peers and the child's for the programs. The size ratio is " +
				"uncompressed / compressed size. Each peer's output is checked to decode to the " +
				"input, outside the timed part; each run overwrites the peer's output file in place.",
			Metrics: []Metric{Throughput, CPUPerGiB, SizeRatio},
			Groups:  []Group{newCompressGroup(cfg, in, bench.GzipMethods(compressLevel, kpGzip), false).group()},
		},
		{
			Name: "Gunzip",
			About: "Decompressing the gzip -6 -n form of " + in.about + ", file to file in memory " +
				"(tmpfs), with the same peers: kpipe.Gunzip (cgo), kp_gzip -d, kp_gzip -d -bare, " +
				"compress/gzip and klauspost/compress/gzip (io.Copy from a gzip.Reader on the " +
				"file) and gzip -d -c. MB/s count the uncompressed bytes. Each peer's output is " +
				"checked to be the input, outside the timed part.",
			Metrics: []Metric{Throughput, CPUPerGiB},
			Groups:  []Group{newCompressGroup(cfg, in, bench.GunzipMethods(kpGzip), true).group()},
		},
	}
}
