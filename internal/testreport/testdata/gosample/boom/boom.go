// Package boom is a throwaway package whose test panics.
package boom

// Get returns m[k] from a nil map pointer.
func Get(m *map[string]int, k string) int { return (*m)[k] }
