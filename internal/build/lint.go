package build

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	gateway "github.com/moby/buildkit/frontend/gateway/client"
	"github.com/moby/buildkit/frontend/subrequests/lint"
	"github.com/moby/buildkit/solver/pb"
)

// Lint asks the dockerfile frontend for its checks (the frontend.lint
// subrequest, what `docker buildx build --call check` shows) without building.
func (s *Job) Lint(ctx context.Context, target string) (*lint.LintResults, error) {
	var out lint.LintResults
	_, err := s.b.Client.Build(ctx, s.solveOpt(nil), "stagegate", func(ctx context.Context, c gateway.Client) (*gateway.Result, error) {
		opt := s.req.frontendOpt(target)
		opt["requestid"] = "frontend.lint"
		res, err := c.Solve(ctx, gateway.SolveRequest{
			Frontend:       "dockerfile.v0",
			FrontendOpt:    opt,
			FrontendInputs: map[string]*pb.Definition{"context": s.contextDef},
		})
		if err != nil {
			return nil, err
		}
		dt, ok := res.Metadata["result.json"]
		if !ok {
			return nil, errors.New("the frontend answered the lint request without a result")
		}
		if err := json.Unmarshal(dt, &out); err != nil {
			return nil, fmt.Errorf("decode lint result: %w", err)
		}
		return nil, nil
	}, nil)
	if err != nil {
		return nil, fmt.Errorf("check the Dockerfile: %w", err)
	}
	return &out, nil
}
