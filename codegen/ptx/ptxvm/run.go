package ptxvm

import (
	"encoding/binary"
	"fmt"
	"strings"
)

// fault is a run-time error inside a kernel (an access out of bounds, a
// division by zero, a deadlock), raised as a panic and reported by Run
// with the thread and instruction.
type fault string

type thread struct {
	regs  []uint64
	pc    int
	state int
	tid   int
	b     *block
	steps int
}

const (
	running = iota
	atBarrier
	atSync // at a shfl.sync or bar.warp.sync, waiting for its lanes
	exited
)

type block struct {
	k      *Kernel
	mem    *Memory
	params []byte
	shared []byte
	ntid   int
	ctaid  [2]int
	nctaid [2]int
}

// Options change how Run schedules threads.
type Options struct {
	// Reverse runs a block's threads from the last to the first between
	// synchronisation points: a kernel whose result depends on the order
	// (a missing bar.sync) then differs from a forward run.
	Reverse bool
	// MaxSteps bounds each thread's instruction count (default 1e8), so
	// a kernel that never ends is an error.
	MaxSteps int
}

// Run executes the kernel on a grid of grid[0]×grid[1] blocks of block
// threads, with args the parameters' values in order (addresses in mem,
// or integers). Threads of a block run one at a time, each until it
// reaches a synchronisation point (bar.sync, shfl.sync, bar.warp.sync)
// or exits; a barrier releases when every thread that has not exited has
// reached it, a shuffle when every lane of its member mask has. That is
// one of the schedules PTX's independent thread scheduling allows.
func (k *Kernel) Run(mem *Memory, grid [2]int, blockSize int, args []uint64, o Options) (err error) {
	if len(args) != len(k.Params) {
		return fmt.Errorf("%s: %d arguments for %d parameters", k.Name, len(args), len(k.Params))
	}
	if k.MaxNTid > 0 && blockSize > k.MaxNTid {
		return fmt.Errorf("%s: block of %d threads exceeds .maxntid %d", k.Name, blockSize, k.MaxNTid)
	}
	if o.MaxSteps == 0 {
		o.MaxSteps = 1e8
	}
	size := 0
	for _, p := range k.Params {
		size = max(size, p.off+p.size)
	}
	params := make([]byte, size)
	for i, p := range k.Params {
		if p.size == 8 {
			binary.LittleEndian.PutUint64(params[p.off:], args[i])
		} else {
			binary.LittleEndian.PutUint32(params[p.off:], uint32(args[i]))
		}
	}
	b := &block{k: k, mem: mem, params: params, ntid: blockSize, nctaid: grid}
	threads := make([]*thread, blockSize)
	for i := range threads {
		threads[i] = &thread{regs: make([]uint64, k.nregs), tid: i, b: b}
	}
	var cur *thread
	defer func() {
		if r := recover(); r != nil {
			f, ok := r.(fault)
			if !ok {
				panic(r)
			}
			where := ""
			if cur != nil && cur.pc < len(k.code) {
				where = fmt.Sprintf(" at line %d %q", k.code[cur.pc].line, k.code[cur.pc].text)
			}
			tid := -1
			if cur != nil {
				tid = cur.tid
			}
			err = fmt.Errorf("%s: block (%d,%d) thread %d%s: %s", k.Name, b.ctaid[0], b.ctaid[1], tid, where, string(f))
		}
	}()
	for by := 0; by < grid[1]; by++ {
		for bx := 0; bx < grid[0]; bx++ {
			b.ctaid = [2]int{bx, by}
			b.shared = make([]byte, k.smem)
			for _, t := range threads {
				clear(t.regs)
				t.pc, t.state, t.steps = 0, running, 0
			}
			if err := b.run(threads, o, &cur); err != nil {
				return err
			}
		}
	}
	return nil
}

func (b *block) run(threads []*thread, o Options, cur **thread) error {
	for {
		for i := range threads {
			t := threads[i]
			if o.Reverse {
				t = threads[len(threads)-1-i]
			}
			if t.state == running {
				*cur = t
				t.run(o.MaxSteps)
			}
		}
		*cur = nil
		progress, done := false, true
		for w := 0; w*32 < len(threads); w++ {
			p, err := b.warpSync(threads[w*32 : min(len(threads), w*32+32)])
			if err != nil {
				return err
			}
			progress = progress || p
		}
		waiting := 0
		for _, t := range threads {
			switch t.state {
			case atBarrier:
				waiting++
			case exited:
			default:
				done = false
			}
		}
		if waiting > 0 && done {
			// Every thread that has not exited is at the barrier.
			for _, t := range threads {
				if t.state == atBarrier {
					t.state = running
				}
			}
			continue
		}
		if waiting > 0 {
			done = false
		}
		if done {
			return nil
		}
		if !progress {
			var st []string
			for _, t := range threads {
				if t.state != exited {
					st = append(st, fmt.Sprintf("thread %d at line %d %q", t.tid, b.k.code[t.pc].line, b.k.code[t.pc].text))
				}
			}
			if len(st) > 4 {
				st = append(st[:4], "…")
			}
			return fmt.Errorf("%s: block (%d,%d): deadlock: %s", b.k.Name, b.ctaid[0], b.ctaid[1], strings.Join(st, "; "))
		}
	}
}

// run executes t until it waits, exits or runs out of steps.
func (t *thread) run(maxSteps int) {
	code := t.b.k.code
	for {
		if t.pc >= len(code) {
			t.state = exited
			return
		}
		t.steps++
		if t.steps > maxSteps {
			panic(fault(fmt.Sprintf("more than %d instructions", maxSteps)))
		}
		in := &code[t.pc]
		if in.pred >= 0 && (t.regs[in.pred] != 0) == in.predNeg {
			t.pc++
			continue
		}
		switch in.kind {
		case kPlain:
			in.exec(t)
			t.pc++
		case kBranch:
			t.pc = in.target
		case kExit:
			t.state = exited
			return
		case kBarrier:
			t.pc++
			t.state = atBarrier
			return
		case kShfl, kWarpSync:
			t.state = atSync
			return
		}
	}
}

// warpSync completes a shuffle or warp barrier that every lane of its
// member mask has reached; it reports whether it did.
func (b *block) warpSync(lanes []*thread) (bool, error) {
	var first *thread
	for _, t := range lanes {
		if t.state == atSync {
			first = t
			break
		}
	}
	if first == nil {
		return false, nil
	}
	in := &b.k.code[first.pc]
	g, _ := b.k.getter(in.mask)
	mask := uint32(g(first))
	for l, t := range lanes {
		if mask&(1<<l) == 0 {
			continue
		}
		switch {
		case t.state == exited:
			return false, fmt.Errorf("%s: block (%d,%d): line %d %q: lane %d of the member mask has exited", b.k.Name, b.ctaid[0], b.ctaid[1], in.line, in.text, l)
		case t.state != atSync:
			return false, nil // still to arrive (or waiting elsewhere: a deadlock if so)
		case t.pc != first.pc:
			return false, fmt.Errorf("%s: block (%d,%d): lanes %d and %d synchronise at different instructions (lines %d and %d)", b.k.Name, b.ctaid[0], b.ctaid[1], first.tid%32, l, in.line, b.k.code[t.pc].line)
		}
	}
	if in.kind == kShfl {
		ga, _ := b.k.getter(in.a)
		gb, _ := b.k.getter(in.b)
		gc, _ := b.k.getter(in.c)
		var vals [32]uint64
		for l, t := range lanes {
			if mask&(1<<l) != 0 {
				vals[l] = ga(t)
			}
		}
		for l, t := range lanes {
			if mask&(1<<l) == 0 {
				continue
			}
			bv, cv := int(gb(t)&31), int(gc(t))
			seg := (cv >> 8) & 31
			maxLane := (l & seg) | (cv & 31 &^ seg)
			minLane := l & seg
			var j int
			var ok bool
			switch in.mode {
			case "up":
				j = l - bv
				ok = j >= maxLane
			case "down":
				j = l + bv
				ok = j <= maxLane
			case "bfly":
				j = l ^ bv
				ok = j <= maxLane
			case "idx":
				j = minLane | (bv &^ seg)
				ok = j <= maxLane
			default:
				return false, fmt.Errorf("%s: shfl mode %s is not supported", b.k.Name, in.mode)
			}
			if !ok {
				j = l
			}
			if j >= len(lanes) || mask&(1<<j) == 0 {
				return false, fmt.Errorf("%s: line %d: lane %d reads lane %d, outside the member mask", b.k.Name, in.line, l, j)
			}
			t.regs[in.d.reg] = vals[j] & 0xffffffff
		}
	}
	for l, t := range lanes {
		if mask&(1<<l) != 0 {
			t.pc++
			t.state = running
		}
	}
	return true, nil
}
