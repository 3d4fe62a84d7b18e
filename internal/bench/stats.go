package bench

import (
	"math"
	"slices"
)

// Median is the median of xs (NaN for none).
func Median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// Ratios divides a[i] by b[i], pair by pair.
func Ratios(a, b []float64) []float64 {
	n := min(len(a), len(b))
	r := make([]float64, n)
	for i := range n {
		r[i] = a[i] / b[i]
	}
	return r
}

// Diffs subtracts b[i] from a[i], pair by pair.
func Diffs(a, b []float64) []float64 {
	n := min(len(a), len(b))
	d := make([]float64, n)
	for i := range n {
		d[i] = a[i] - b[i]
	}
	return d
}

// MinMax is the smallest and largest of xs.
func MinMax(xs []float64) (lo, hi float64) {
	if len(xs) == 0 {
		return math.NaN(), math.NaN()
	}
	return slices.Min(xs), slices.Max(xs)
}
