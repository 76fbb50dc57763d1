//go:build !unix

package extract

import "github.com/tetratelabs/wazero/experimental"

// pdfMemory is wazero's default allocator where anonymous mappings are not
// available (Lambda and make dev run on unix).
var pdfMemory experimental.MemoryAllocator
