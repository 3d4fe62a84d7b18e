package dockerfile

import (
	"io"
	"io/fs"
	"path"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
)

// maxScript is how much of a script from the build context is read for its
// test command.
const maxScript = 64 << 10

// contextCopy is a COPY or ADD from the build context: what it copies, to
// where in the image, and the working directory it ran in.
type contextCopy struct {
	sources []string
	dest    string
	workdir string
}

// contextCopyOf is a stage's COPY or ADD instruction from the build context
// (not --from another stage or image, not URLs), and whether it is one.
func contextCopyOf(c instructions.Command, workdir string) (contextCopy, bool) {
	var sp instructions.SourcesAndDest
	switch c := c.(type) {
	case *instructions.CopyCommand:
		if c.From != "" {
			return contextCopy{}, false
		}
		sp = c.SourcesAndDest
	case *instructions.AddCommand:
		sp = c.SourcesAndDest
	default:
		return contextCopy{}, false
	}
	var sources []string
	for _, s := range sp.SourcePaths {
		if !strings.Contains(s, "://") && !strings.HasPrefix(s, "git@") {
			sources = append(sources, s)
		}
	}
	return contextCopy{sources: sources, dest: sp.DestPath, workdir: workdir}, len(sources) > 0
}

// inImage resolves p, as a command names it, to a path in the image: against
// the working directory when relative.
func inImage(p, workdir string) string {
	if !path.IsAbs(p) {
		p = path.Join("/", workdir, p)
	}
	return path.Clean(p)
}

// contextPath is the file of the build context that the copies put at the
// image path p (the last copy that did), or "".
func contextPath(ctx fs.FS, copies []contextCopy, p string) string {
	for i := len(copies) - 1; i >= 0; i-- {
		c := copies[i]
		dest := inImage(c.dest, c.workdir)
		intoDir := strings.HasSuffix(c.dest, "/") || c.dest == "." || len(c.sources) > 1
		for _, src := range c.sources {
			src = path.Clean(strings.TrimPrefix(src, "/"))
			info, err := fs.Stat(ctx, src)
			if err != nil {
				continue
			}
			var rel string
			switch {
			case info.IsDir():
				// COPY . /app, COPY tests/ ./: the folder's content.
				r, ok := strings.CutPrefix(p, strings.TrimSuffix(dest, "/")+"/")
				if !ok {
					continue
				}
				rel = path.Join(src, r)
			case intoDir || isDir(copies[:i], dest):
				if p != path.Join(dest, path.Base(src)) {
					continue
				}
				rel = src
			default:
				if p != dest {
					continue
				}
				rel = src
			}
			// A regular file, not a link that may lead out of the context.
			if st, err := fs.Lstat(ctx, rel); err == nil && st.Mode().IsRegular() {
				return rel
			}
		}
	}
	return ""
}

// isDir reports whether earlier copies made dest a folder. (BuildKit also
// copies into a folder that the base image has; that is not known here.)
func isDir(copies []contextCopy, dest string) bool {
	for _, c := range copies {
		if d := inImage(c.dest, c.workdir); strings.HasPrefix(dest, strings.TrimSuffix(d, "/")+"/") {
			return true
		}
	}
	return false
}

// scriptTest finds the test command in a script of the build context that
// words (a command line's words) run, as a stage whose copies and working
// directory are these has it: ./docker-entrypoint.sh, sh run-tests, python
// ci/check.py. It returns the test command, the script's context path and
// why the script does not exit with the command's status ("" : it does).
func scriptTest(ctx fs.FS, copies []contextCopy, workdir string, words []string) (command, script, lost string) {
	s := scriptOf(skipPrefix(words))
	if s == "" || (!strings.Contains(s, "/") && !strings.Contains(s, ".")) {
		return "", "", "" // a command on the PATH, not a script
	}
	rel := contextPath(ctx, copies, inImage(strings.Trim(s, `"'`), workdir))
	if rel == "" {
		return "", "", ""
	}
	f, err := ctx.Open(rel)
	if err != nil {
		return "", "", ""
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxScript))
	if err != nil {
		return "", "", ""
	}
	text := string(data)
	tc := findTestCommand(text)
	if tc == "" {
		return "", "", ""
	}
	return tc, rel, lostTestStatus(text, shebangOptions(text))
}

// shebangOptions are the shell options a script's #! line sets
// (#!/bin/bash -e).
func shebangOptions(text string) shellOptions {
	first, _, _ := strings.Cut(text, "\n")
	if line, ok := strings.CutPrefix(first, "#!"); ok {
		return optionsOf(strings.Fields(line))
	}
	return shellOptions{}
}
