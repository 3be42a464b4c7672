module github.com/kpipe/kpipe/bench

go 1.22

require (
	github.com/klauspost/compress v1.18.0
	github.com/kpipe/kpipe v0.0.0
)

require golang.org/x/sys v0.30.0

replace github.com/kpipe/kpipe => ../
