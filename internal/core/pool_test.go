//go:build linux

package core

import "testing"

func TestPipePoolReuseAndBound(t *testing.T) {
	drainPipePool()
	p1, err := getPipe()
	if err != nil {
		t.Fatal(err)
	}
	r, w := p1.r, p1.w
	putPipe(p1)
	p2, err := getPipe()
	if err != nil {
		t.Fatal(err)
	}
	if p2.r != r || p2.w != w {
		t.Error("an idle pooled pipe was not reused")
	}
	// A pipe that still holds bytes is closed, not pooled.
	p2.inPipe = 1
	putPipe(p2)
	if p2.r != -1 || idlePipes(t) != 0 {
		t.Error("a pipe holding data went back to the pool")
	}
	var held []*poolPipe
	for i := 0; i < pipePoolMax+4; i++ {
		p, err := getPipe()
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, p)
	}
	for _, p := range held {
		putPipe(p)
	}
	if got := drainPipePool(); got != pipePoolMax {
		t.Errorf("pool kept %d pipes, want the bound %d", got, pipePoolMax)
	}
}

func TestPoolPipeGrow(t *testing.T) {
	p, err := getPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer p.close()
	p.grow()
	got, err := sysPipeSize(int(p.w))
	if err != nil {
		t.Fatal(err)
	}
	if got < pipeGrowSize || p.capacity != got {
		t.Errorf("after grow: kernel says %d, pool says %d, want >= %d", got, p.capacity, pipeGrowSize)
	}
}
