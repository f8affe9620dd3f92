package handler

// SetSweepPage sets the sweep's listing page size for a test, and returns
// the function that puts it back.
func SetSweepPage(n int32) func() {
	old := sweepPage
	sweepPage = n
	return func() { sweepPage = old }
}
