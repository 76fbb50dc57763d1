//go:build !unix

package extract

import "time"

// processCPU is unknown here: TestPDFPerf then logs no CPU times.
func processCPU() time.Duration { return 0 }
