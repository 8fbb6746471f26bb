package ptxvm

import (
	"encoding/binary"
	"fmt"
	"math"
	"sort"
)

// Memory is the device's global memory: allocations at distinct
// addresses, with a gap between them so that an access past one's end
// is an error rather than a read of its neighbour.
type Memory struct {
	allocs []allocation // sorted by base
	next   uint64
}

type allocation struct {
	base uint64
	data []byte
}

// Alloc returns the address of n fresh zeroed bytes, 256-byte aligned
// (as cuMemAlloc's are).
func (m *Memory) Alloc(n int) uint64 {
	if m.next == 0 {
		m.next = 1 << 32
	}
	base := m.next
	m.next += uint64(n+255)&^255 + 4096
	m.allocs = append(m.allocs, allocation{base, make([]byte, n)})
	return base
}

// AllocF32 allocates and fills a float32 buffer.
func (m *Memory) AllocF32(v []float32) uint64 {
	a := m.Alloc(4 * len(v))
	m.WriteF32(a, v)
	return a
}

// Bytes returns the n bytes at addr, which must lie in one allocation.
func (m *Memory) Bytes(addr uint64, n int) ([]byte, error) {
	i := sort.Search(len(m.allocs), func(i int) bool { return m.allocs[i].base > addr }) - 1
	if i < 0 {
		return nil, fmt.Errorf("address %#x is in no allocation", addr)
	}
	a := m.allocs[i]
	off := addr - a.base
	if off+uint64(n) > uint64(len(a.data)) {
		return nil, fmt.Errorf("access of %d bytes at %#x is past the end of the %d-byte allocation at %#x", n, addr, len(a.data), a.base)
	}
	return a.data[off : off+uint64(n)], nil
}

// WriteF32 stores v at addr.
func (m *Memory) WriteF32(addr uint64, v []float32) {
	b, err := m.Bytes(addr, 4*len(v))
	if err != nil {
		panic(err)
	}
	for i, f := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(f))
	}
}

// ReadF32 loads n float32s from addr.
func (m *Memory) ReadF32(addr uint64, n int) []float32 {
	b, err := m.Bytes(addr, 4*n)
	if err != nil {
		panic(err)
	}
	v := make([]float32, n)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return v
}

// Write stores raw bytes at addr.
func (m *Memory) Write(addr uint64, data []byte) {
	b, err := m.Bytes(addr, len(data))
	if err != nil {
		panic(err)
	}
	copy(b, data)
}
