package core

import (
	"errors"
	"io"
	"os"
)

// errChunkPipe reports a private pipe that ran dry while it still held the
// bytes of an announced chunk; it cannot happen unless the kernel misbehaves.
var errChunkPipe = errors.New("kpipe: chunk pipe ran dry")

// chunksSpliced runs the chunks through a pooled pipe. It returns
// errSpliceRefused, having taken nothing from src, when either side has no
// descriptor or the kernel refuses to splice from src; when the kernel
// refuses to splice into dst, it completes the chunk in the pipe by read and
// write and returns errSpliceRefused so that the rest goes the buffered way.
func (f *chunkFramer) chunksSpliced(src io.Reader) (int64, error) {
	var in, out fdOp
	if !in.src.set(src, false) || !out.dst.set(f.dst, true) {
		return 0, errSpliceRefused
	}
	p, err := getPipe()
	if err != nil {
		return 0, err
	}
	if f.opt.ChunkSize > p.capacity {
		p.grow()
	}
	chunk := int64(min(f.opt.ChunkSize, p.capacity))
	in.kind, in.outerIsSrc = opSplice, true
	in.dst.setRaw(p.w)
	out.kind, out.outerIsSrc = opSplice, false
	out.src.setRaw(p.r)
	var total int64
	for {
		n, err := in.step(chunk)
		if err != nil {
			putPipe(p)
			if total == 0 && n == 0 && unsupported(in.errno) {
				return 0, errSpliceRefused
			}
			return total, err
		}
		if n == 0 {
			putPipe(p)
			return total, nil
		}
		p.inPipe = n
		if err := f.chunkStart(int(n)); err != nil {
			putPipe(p)
			return total, err
		}
		m, err := f.pipeToDst(&out, p)
		total += m
		if err == nil || errors.Is(err, errSpliceRefused) {
			if cerr := f.chunkEnd(int(n)); cerr != nil {
				err = cerr
			}
		}
		if err != nil {
			// errSpliceRefused: the chunk is complete and the buffered
			// path takes the rest.
			putPipe(p) // closes it if it still holds bytes
			return total, err
		}
	}
}

// pipeToDst splices the whole content of p to dst. A dst that refuses
// splice (an O_APPEND file, ...) gets the content by read and write, and
// errSpliceRefused sends the chunks that follow the buffered way.
func (f *chunkFramer) pipeToDst(out *fdOp, p *poolPipe) (int64, error) {
	var total int64
	for p.inPipe > 0 {
		m, err := out.step(p.inPipe)
		total += m
		p.inPipe -= m
		if err != nil && m == 0 && unsupported(out.errno) {
			n, err := p.drainTo(f.dst)
			if err == nil {
				err = errSpliceRefused // and the next chunks too
			}
			return total + n, err
		}
		if err != nil {
			return total, err
		}
		if m == 0 {
			return total, &os.SyscallError{Syscall: "splice", Err: errChunkPipe}
		}
	}
	return total, nil
}
