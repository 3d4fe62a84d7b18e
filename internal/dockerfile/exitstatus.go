package dockerfile

import (
	"fmt"
	"strings"

	"mvdan.cc/sh/v3/syntax"
)

// shellOptions are the shell options a RUN step's script starts with: those
// its SHELL instruction sets (SHELL ["/bin/bash", "-eo", "pipefail", "-c"]).
type shellOptions struct {
	errexit, pipefail bool
}

// optionsOf reads the options a SHELL instruction's arguments set.
func optionsOf(shell []string) shellOptions {
	var o shellOptions
	if len(shell) > 1 {
		o.flags(shell[1:])
	}
	return o
}

// flags applies the option flags of a shell's command line or of its "set"
// builtin: -e, -o errexit, -euo pipefail, +e.
func (o *shellOptions) flags(args []string) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if len(a) < 2 || (a[0] != '-' && a[0] != '+') || a == "--" || strings.HasPrefix(a, "--") {
			continue
		}
		on := a[0] == '-'
		for _, f := range a[1:] {
			switch f {
			case 'e':
				o.errexit = on
			case 'o':
				// -o NAME, -euo NAME: the option's name is the next word.
				if i+1 < len(args) {
					i++
					o.set(on, args[i])
				}
			}
		}
	}
}

func (o *shellOptions) set(on bool, name string) {
	switch name {
	case "errexit":
		o.errexit = on
	case "pipefail":
		o.pipefail = on
	}
}

// setBuiltin applies a "set" command's flags; ok is false when call is no
// "set".
func (o *shellOptions) setBuiltin(call *syntax.CallExpr) bool {
	if len(call.Args) == 0 || call.Args[0].Lit() != "set" {
		return false
	}
	var args []string
	for _, w := range call.Args[1:] {
		args = append(args, w.Lit())
	}
	o.flags(args)
	return true
}

// lostTestStatus says why the exit status of the test command in a RUN
// step's shell script is not the step's (so that failing tests would not
// fail the build), or "" when it is, when the script holds no test command
// at the top of its flow, or when it does not parse. It reads the script
// with a shell parser, the way sh runs it: a command's failure ends the
// script only when nothing after it replaces its status, that is when it is
// the last command, when errexit is set (set -e), and never behind "||" or
// in a pipe other than last (unless pipefail is set).
func lostTestStatus(script string, opts shellOptions) string {
	f, err := syntax.NewParser(syntax.Variant(syntax.LangBash)).Parse(strings.NewReader(script), "")
	if err != nil {
		return ""
	}
	_, why := listStatus(f.Stmts, opts)
	return why
}

// listStatus reads a list of statements run one after the other: whether
// one of them runs tests, and why its status is lost.
func listStatus(stmts []*syntax.Stmt, opts shellOptions) (tests bool, why string) {
	for i, st := range stmts {
		if call, ok := st.Cmd.(*syntax.CallExpr); ok && opts.setBuiltin(call) {
			continue
		}
		t, w := stmtStatus(st, opts)
		if !t {
			continue
		}
		if w != "" {
			return true, w
		}
		if i == len(stmts)-1 {
			return true, ""
		}
		// errexit ends the script on a failed command, but not on one that
		// fails on the left of "&&".
		if opts.errexit && !testsLeftOfAnd(st) {
			return true, ""
		}
		next := printed(stmts[i+1])
		if opts.errexit {
			return true, fmt.Sprintf("it fails on the left of \"&&\", where set -e does not stop the script, and %q runs after it", next)
		}
		return true, fmt.Sprintf("%q runs after it, and its status is the step's (no set -e)", next)
	}
	return false, ""
}

// stmtStatus reads one statement: whether it runs tests, and why their
// status is lost within it.
func stmtStatus(st *syntax.Stmt, opts shellOptions) (tests bool, why string) {
	tests, why = cmdStatus(st.Cmd, opts)
	switch {
	case !tests || why != "":
	case st.Negated:
		why = "\"!\" inverts its status"
	case st.Background:
		why = "it runs in the background (&)"
	}
	return tests, why
}

func cmdStatus(cmd syntax.Command, opts shellOptions) (tests bool, why string) {
	switch c := cmd.(type) {
	case *syntax.CallExpr:
		return runsTests(callWords(c), 0), ""
	case *syntax.Block:
		return listStatus(c.Stmts, opts)
	case *syntax.Subshell:
		return listStatus(c.Stmts, opts)
	case *syntax.BinaryCmd:
		xt, xw := stmtStatus(c.X, opts)
		yt, yw := stmtStatus(c.Y, opts)
		switch {
		case xt && xw != "":
			return true, xw
		case xt && c.Op == syntax.OrStmt && !fails(c.Y):
			return true, fmt.Sprintf("%q after it replaces its failure", "|| "+printed(c.Y))
		case xt && (c.Op == syntax.Pipe || c.Op == syntax.PipeAll) && !opts.pipefail:
			return true, fmt.Sprintf("it is piped into %q, whose status is the pipe's (no pipefail)", printed(c.Y))
		case xt:
			return true, ""
		}
		return yt, yw
	}
	return false, ""
}

// testsLeftOfAnd reports whether a statement's tests run on the left of an
// "&&", where errexit does not apply.
func testsLeftOfAnd(st *syntax.Stmt) bool {
	b, ok := st.Cmd.(*syntax.BinaryCmd)
	if !ok {
		return false
	}
	if b.Op == syntax.AndStmt {
		if xt, _ := stmtStatus(b.X, shellOptions{}); xt {
			return true
		}
	}
	return testsLeftOfAnd(b.Y)
}

// fails reports whether a statement after "||" passes a failure on: exit
// with a status other than 0, or false.
func fails(st *syntax.Stmt) bool {
	switch c := st.Cmd.(type) {
	case *syntax.CallExpr:
		words := callWords(c)
		switch {
		case len(words) == 0:
			return false
		case words[0] == "false":
			return true
		case words[0] == "exit" || words[0] == "return":
			return len(words) > 1 && words[1] != "0"
		}
	case *syntax.Block:
		return len(c.Stmts) > 0 && fails(c.Stmts[len(c.Stmts)-1])
	case *syntax.Subshell:
		return len(c.Stmts) > 0 && fails(c.Stmts[len(c.Stmts)-1])
	case *syntax.BinaryCmd:
		return fails(c.Y)
	}
	return false
}

// simpleCommand is a simple command's words, with their quotes.
type simpleCommand struct {
	words []string
	// condition: it is the condition of an if, while or until, which
	// decides what runs rather than asserts.
	condition bool
}

// simpleCommands are the simple commands of a command line, in order: read
// with a shell parser, so that separators inside quotes (sbt ";clean;test")
// stay in their word. A line that does not parse (another shell's syntax)
// is cut at the usual separators instead (splitCommands).
func simpleCommands(cmdline string) []simpleCommand {
	f, err := syntax.NewParser(syntax.Variant(syntax.LangBash)).Parse(strings.NewReader(cmdline), "")
	if err != nil {
		var out []simpleCommand
		for _, simple := range splitCommands(cmdline) {
			out = append(out, simpleCommand{words: strings.Fields(simple)})
		}
		return out
	}
	conditions := map[*syntax.CallExpr]bool{}
	markCalls := func(stmts []*syntax.Stmt) {
		for _, st := range stmts {
			syntax.Walk(st, func(n syntax.Node) bool {
				if call, ok := n.(*syntax.CallExpr); ok {
					conditions[call] = true
				}
				return true
			})
		}
	}
	var out []simpleCommand
	syntax.Walk(f, func(n syntax.Node) bool {
		switch n := n.(type) {
		case *syntax.IfClause:
			markCalls(n.Cond)
		case *syntax.WhileClause:
			markCalls(n.Cond)
		case *syntax.CallExpr:
			if len(n.Args) > 0 {
				out = append(out, simpleCommand{words: callWords(n), condition: conditions[n]})
			}
		}
		return true
	})
	return out
}

// callWords are a simple command's words as written, assignments first
// (CGO_ENABLED=0 go test), as runsTests reads them.
func callWords(c *syntax.CallExpr) []string {
	var words []string
	for _, a := range c.Assigns {
		words = append(words, printed(a))
	}
	for _, w := range c.Args {
		words = append(words, printed(w))
	}
	return words
}

// printed is a node as the script writes it, on one line.
func printed(n syntax.Node) string {
	var b strings.Builder
	if err := syntax.NewPrinter(syntax.SingleLine(true)).Print(&b, n); err != nil {
		return ""
	}
	return shorten(strings.Join(strings.Fields(b.String()), " "))
}
