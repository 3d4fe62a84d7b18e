// Package broken is a throwaway package whose test file does not compile.
package broken

// Two returns 2.
func Two() int { return 2 }
