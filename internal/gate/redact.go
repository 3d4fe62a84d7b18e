package gate

import (
	"github.com/stagegate/stagegate/internal/redact"
	"github.com/stagegate/stagegate/internal/result"
)

// redactor masks the configuration's secrets: secret values and registry
// passwords.
func (c *Config) redactor() *redact.Redactor {
	var values []string
	if c.Secrets != nil {
		values = append(values, c.Secrets.Values...)
	}
	if c.RegistryAuth != nil {
		values = append(values, c.RegistryAuth.Passwords...)
	}
	return redact.New(values...)
}

// Redactor is what masks the configuration's secrets everywhere.
func (c *Config) Redactor() *redact.Redactor { return c.redactor() }

// redactResult masks secrets in every text of a result that a build could
// have printed a secret into.
func redactResult(r *redact.Redactor, res *result.Result) {
	if len(r.Values()) == 0 {
		return
	}
	res.Error = r.String(res.Error)
	r.Strings(res.Warnings)
	for i := range res.Failures {
		redactFailure(r, &res.Failures[i])
	}
	if res.Failure != nil && len(res.Failures) > 0 {
		res.Failure = &res.Failures[0]
	} else if res.Failure != nil {
		redactFailure(r, res.Failure)
	}
	for i := range res.BuildChecks {
		res.BuildChecks[i].Message = r.String(res.BuildChecks[i].Message)
	}
	for i := range res.Stages {
		tr := res.Stages[i].Tests
		if tr == nil {
			continue
		}
		r.Strings(tr.Command)
		r.Strings(tr.Warnings)
		for j := range tr.Failed {
			tr.Failed[j].Message = r.String(tr.Failed[j].Message)
		}
	}
}

func redactFailure(r *redact.Redactor, f *result.Failure) {
	f.Message = r.String(f.Message)
	f.Step = r.String(f.Step)
	r.Strings(f.LogTail)
	for i := range f.Excerpt {
		f.Excerpt[i].Text = r.String(f.Excerpt[i].Text)
	}
}
