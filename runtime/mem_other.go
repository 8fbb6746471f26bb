//go:build !linux

package runtime

// physicalMemory returns 0 (unknown) where the operating system is not
// asked; NewPlannedArena then relies on the allocator alone.
func physicalMemory() uint64 { return 0 }
