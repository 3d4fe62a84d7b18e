// Package calc is a throwaway package used to produce test report fixtures.
package calc

// Add returns a+b.
func Add(a, b int) int { return a + b }

// Sub is deliberately wrong so that a test fails.
func Sub(a, b int) int { return a + b }
