module github.com/kpipe/kpipe/bench

go 1.25

require (
	github.com/klauspost/compress v1.20.4
	github.com/kpipe/kpipe v0.0.0
)

require (
	github.com/klauspost/pgzip v1.3.0
	golang.org/x/sys v0.30.0
)

replace github.com/kpipe/kpipe => ../
