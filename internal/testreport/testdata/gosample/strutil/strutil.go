// Package strutil is a throwaway package used to produce test report fixtures.
package strutil

import "strings"

// Shout upper-cases s and adds an exclamation mark.
func Shout(s string) string { return strings.ToUpper(s) + "!" }
