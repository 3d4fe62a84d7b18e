package budget

import (
	"fmt"
	"strconv"

	"github.com/stagegate/stagegate/internal/result"
	"github.com/stagegate/stagegate/internal/text"
)

// Evaluate applies the budgets to every stage of res they name, in the
// order they were written. Growth budgets read res.Comparison; without a
// reference they are unknown, never exceeded. A glob names only the stages
// that were measured; a stage named exactly that was not is unknown.
func Evaluate(budgets []Budget, res *result.Result) []result.BudgetResult {
	var out []result.BudgetResult
	for _, b := range budgets {
		matched := false
		for i := range res.Stages {
			st := &res.Stages[i]
			if !b.Matches(st.Name) {
				continue
			}
			head := value(b.Metric, st.Size, st.CompressedSize, st.Layers)
			if head == nil && b.isPattern() {
				continue
			}
			matched = true
			out = append(out, evaluate(b, st, head, res.Comparison))
		}
		if !matched {
			out = append(out, result.BudgetResult{Budget: b.Text, Stage: b.Stages, Status: result.BudgetUnknown,
				Message: fmt.Sprintf("no measured stage matches %q", b.Stages)})
		}
	}
	return out
}

func evaluate(b Budget, st *result.Stage, head *int64, c *result.Comparison) result.BudgetResult {
	r := result.BudgetResult{Budget: b.Text, Stage: st.Name, Platform: st.Platform, Status: result.BudgetUnknown}
	name := st.Name
	if st.Platform != "" {
		name += " (" + st.Platform + ")"
	}
	if head == nil {
		r.Message = fmt.Sprintf("the %s of %s is unknown (not built or not measured)", b.Metric, name)
		return r
	}
	if !b.Growth {
		r.Message = fmt.Sprintf("%s: %s%s, at most %s allowed", name, b.label(), b.format(*head), b.format(b.Limit))
		r.Status = status(*head > b.Limit)
		return r
	}
	var base *int64
	if d := c.Delta(st.Name, st.Platform); d != nil && d.Base != nil {
		base = value(b.Metric, d.Base.Size, d.Base.CompressedSize, d.Base.Layers)
	}
	switch {
	case c == nil || c.Reference == nil:
		r.Message = fmt.Sprintf("%s: %s%s; no reference to measure growth against", name, b.label(), b.format(*head))
		return r
	case base == nil:
		r.Message = fmt.Sprintf("%s: %s%s; the reference has no %s for this stage", name, b.label(), b.format(*head), b.Metric)
		return r
	}
	delta := *head - *base
	change := b.signed(delta)
	if *base > 0 {
		change += fmt.Sprintf(" (%+.1f%%)", float64(delta)*100/float64(*base))
	}
	if b.Percent != nil {
		exceeded := float64(delta)*100 > *b.Percent*float64(*base)
		if *base == 0 {
			exceeded = delta > 0
		}
		r.Status = status(exceeded)
		r.Message = fmt.Sprintf("%s: %s%s, %s against the reference's %s; at most +%s%% allowed", name, b.label(), b.format(*head), change, b.format(*base), strconv.FormatFloat(*b.Percent, 'f', -1, 64))
		return r
	}
	r.Status = status(delta > b.Limit)
	r.Message = fmt.Sprintf("%s: %s%s, %s against the reference's %s; at most %s allowed", name, b.label(), b.format(*head), change, b.format(*base), b.signed(b.Limit))
	return r
}

func status(exceeded bool) result.BudgetStatus {
	if exceeded {
		return result.BudgetExceeded
	}
	return result.BudgetPassed
}

func value(m Metric, size, compressed *int64, layers *int) *int64 {
	switch m {
	case Compressed:
		return compressed
	case Layers:
		if layers == nil {
			return nil
		}
		v := int64(*layers)
		return &v
	}
	return size
}

// label names the figure before its value; a count of layers names itself.
func (b Budget) label() string {
	if b.Metric == Layers {
		return ""
	}
	return string(b.Metric) + " "
}

// format writes a figure of the budget's metric.
func (b Budget) format(v int64) string {
	if b.Metric == Layers {
		if v == 1 || v == -1 {
			return fmt.Sprintf("%d layer", v)
		}
		return fmt.Sprintf("%d layers", v)
	}
	return text.HumanBytes(v)
}

func (b Budget) signed(v int64) string {
	if v >= 0 {
		return "+" + b.format(v)
	}
	return b.format(v)
}
