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
func lostTestStatus(src string, opts shellOptions) string {
	f, err := syntax.NewParser(syntax.Variant(syntax.LangBash)).Parse(strings.NewReader(src), "")
	if err != nil {
		return ""
	}
	_, why := script(src).listStatus(f.Stmts, opts)
	return why
}

// script is a shell script's source, which nodes of its syntax tree are
// quoted from.
type script string

// listStatus reads a list of statements run one after the other: whether
// one of them runs tests, and why its status is lost.
func (sc script) listStatus(stmts []*syntax.Stmt, opts shellOptions) (tests bool, why string) {
	for i, st := range stmts {
		if call, ok := st.Cmd.(*syntax.CallExpr); ok && opts.setBuiltin(call) {
			continue
		}
		t, w := sc.stmtStatus(st, opts)
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
		if opts.errexit && !sc.testsLeftOfAnd(st) {
			return true, ""
		}
		next := sc.printed(stmts[i+1])
		if opts.errexit {
			return true, fmt.Sprintf("it fails on the left of \"&&\", where set -e does not stop the script, and %q runs after it", next)
		}
		return true, fmt.Sprintf("%q runs after it, without set -e", next)
	}
	return false, ""
}

// stmtStatus reads one statement: whether it runs tests, and why their
// status is lost within it.
func (sc script) stmtStatus(st *syntax.Stmt, opts shellOptions) (tests bool, why string) {
	tests, why = sc.cmdStatus(st.Cmd, opts)
	switch {
	case !tests || why != "":
	case st.Negated:
		why = "\"!\" inverts its status"
	case st.Background:
		why = "it runs in the background (&)"
	}
	return tests, why
}

func (sc script) cmdStatus(cmd syntax.Command, opts shellOptions) (tests bool, why string) {
	switch c := cmd.(type) {
	case *syntax.CallExpr:
		return runsTests(sc.callWords(c), 0), ""
	case *syntax.Block:
		return sc.listStatus(c.Stmts, opts)
	case *syntax.Subshell:
		return sc.listStatus(c.Stmts, opts)
	case *syntax.BinaryCmd:
		xt, xw := sc.stmtStatus(c.X, opts)
		yt, yw := sc.stmtStatus(c.Y, opts)
		switch {
		case xt && xw != "":
			return true, xw
		case xt && c.Op == syntax.OrStmt && !sc.fails(c.Y):
			return true, fmt.Sprintf("%q after it replaces its failure", "|| "+sc.printed(c.Y))
		case xt && (c.Op == syntax.Pipe || c.Op == syntax.PipeAll) && !opts.pipefail:
			return true, fmt.Sprintf("it is piped into %q, whose status is the pipe's (no pipefail)", sc.printed(c.Y))
		case xt:
			return true, ""
		}
		return yt, yw
	}
	return false, ""
}

// testsLeftOfAnd reports whether a statement's tests run on the left of an
// "&&", where errexit does not apply.
func (sc script) testsLeftOfAnd(st *syntax.Stmt) bool {
	b, ok := st.Cmd.(*syntax.BinaryCmd)
	if !ok {
		return false
	}
	if b.Op == syntax.AndStmt {
		if xt, _ := sc.stmtStatus(b.X, shellOptions{}); xt {
			return true
		}
	}
	return sc.testsLeftOfAnd(b.Y)
}

// fails reports whether a statement after "||" passes a failure on: exit
// (with its status, or another but 0), or false.
func (sc script) fails(st *syntax.Stmt) bool {
	switch c := st.Cmd.(type) {
	case *syntax.CallExpr:
		words := sc.callWords(c)
		switch {
		case len(words) == 0:
			return false
		case words[0] == "false":
			return true
		case words[0] == "exit" || words[0] == "return":
			// exit alone exits with the failed command's status.
			return len(words) == 1 || words[1] != "0"
		}
	case *syntax.Block:
		return len(c.Stmts) > 0 && sc.fails(c.Stmts[len(c.Stmts)-1])
	case *syntax.Subshell:
		return len(c.Stmts) > 0 && sc.fails(c.Stmts[len(c.Stmts)-1])
	case *syntax.BinaryCmd:
		return sc.fails(c.Y)
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
	sc := script(cmdline)
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
				out = append(out, simpleCommand{words: sc.callWords(n), condition: conditions[n]})
			}
		}
		return true
	})
	return out
}

// callWords are a simple command's words as written, assignments first
// (CGO_ENABLED=0 go test), as runsTests reads them.
func (sc script) callWords(c *syntax.CallExpr) []string {
	var words []string
	for _, a := range c.Assigns {
		words = append(words, sc.printed(a))
	}
	for _, w := range c.Args {
		words = append(words, sc.printed(w))
	}
	return words
}

// printed is a node as the script writes it, on one line.
func (sc script) printed(n syntax.Node) string {
	from, to := n.Pos().Offset(), n.End().Offset()
	if !n.Pos().IsValid() || to > uint(len(sc)) || from > to {
		return ""
	}
	return shorten(strings.Join(strings.Fields(string(sc[from:to])), " "))
}
