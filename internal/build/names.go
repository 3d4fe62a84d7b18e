package build

import (
	"context"
	"maps"
	"sync"

	gateway "github.com/moby/buildkit/frontend/gateway/client"
	digest "github.com/opencontainers/go-digest"
)

// stepNames are the names a job's own definitions give their vertices.
//
// BuildKit's status stream names a vertex as the job that loaded it first
// named it: the name is op metadata, not part of the digest, and jobs that
// BuildKit runs at once share a vertex of the same digest. So a step that
// another build of another Dockerfile has too (FROM busybox, or the same
// RUN on the same base) can reach this job's stream under that build's stage
// name ("[base 1/2] FROM ..." for this Dockerfile's "[build 1/3] FROM ...").
// The frontend's definitions, which come back with each solved target, hold
// this Dockerfile's names.
type stepNames struct {
	mu    sync.Mutex
	names map[digest.Digest]string
}

// add records the vertex names of res's definitions. Best effort: names
// only refine what the stream says.
func (n *stepNames) add(ctx context.Context, res *gateway.Result) {
	if res == nil {
		return
	}
	_ = res.EachRef(func(ref gateway.Reference) error {
		if ref == nil {
			return nil
		}
		def, err := definitionOf(ctx, ref)
		if err != nil {
			return err
		}
		n.mu.Lock()
		defer n.mu.Unlock()
		if n.names == nil {
			n.names = map[digest.Digest]string{}
		}
		for d, m := range def.Metadata {
			if name := m.Description["llb.customname"]; name != "" {
				n.names[d] = name
			}
		}
		return nil
	})
}

// all is a copy of the names recorded.
func (n *stepNames) all() map[digest.Digest]string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return maps.Clone(n.names)
}
