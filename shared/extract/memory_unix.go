//go:build unix

package extract

import (
	"syscall"

	"github.com/tetratelabs/wazero/experimental"
)

// pdfMemory backs each PDFium instance's WebAssembly memory with one
// anonymous mapping of its maximum size, reserved up front and committed
// by the kernel page by page as PDFium touches it. Growing it never copies:
// with wazero's default allocator, growth needs the old and the new buffer
// at once, so a decompression bomb near the cap briefly held twice the cap.
var pdfMemory experimental.MemoryAllocator = experimental.MemoryAllocatorFunc(func(_, max uint64) experimental.LinearMemory {
	b, err := syscall.Mmap(-1, 0, int(max), syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
	if err != nil {
		return nil // wazero then fails the instantiation: an error, not a crash
	}
	return &mappedMemory{buf: b}
})

type mappedMemory struct{ buf []byte }

// Reallocate grows the view over the reserved mapping; past it, growth
// fails (PDFium sees an out-of-memory and gives up on the document).
func (m *mappedMemory) Reallocate(size uint64) []byte {
	if size > uint64(len(m.buf)) {
		return nil
	}
	return m.buf[:size]
}

func (m *mappedMemory) Free() {
	if m.buf != nil {
		_ = syscall.Munmap(m.buf)
		m.buf = nil
	}
}
