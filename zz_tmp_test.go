package kpipe

import (
	"context"
	"testing"
	"time"
)

func TestTmpCancelLat(t *testing.T) {
	e, _ := NewEngine(Config{})
	defer e.Close()
	for i := 0; i < 15; i++ {
		src, _, dst, _ := idleEnds(t)
		ctx, cancel := context.WithCancel(context.Background())
		ch := spliceAsync(ctx, e, dst, src)
		time.Sleep(20 * time.Millisecond)
		start := time.Now()
		cancel()
		r := <-ch
		t.Log(r.at.Sub(start), r.err)
	}
}
