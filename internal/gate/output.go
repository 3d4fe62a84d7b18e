package gate

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"strings"

	"github.com/distribution/reference"
	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/exporter/containerimage/exptypes"
	"github.com/stagegate/stagegate/internal/build"
	"github.com/stagegate/stagegate/internal/result"
)

// finalExport is where the final image goes: an image named by the tags,
// pushed when asked; without tags an unnamed image that stays in BuildKit's
// content store (where its manifest is read for the sizes) and in no image
// store.
//
// Without a content store (the Docker Engine's classic image store) there is
// nowhere to keep an unnamed image: without tags, the final image is not
// exported; with them it goes into the engine's store, and push is the
// engine's.
//
// With load, the image also goes into the Docker Engine's image store, as
// features.Load says: the engine's own BuildKit stores it there directly (its
// "moby" exporter); a builder in a container of the engine sends a docker
// image tarball that the engine loads.
func finalExports(ctx context.Context, cfg *Config, b *build.Builder, features build.Features) ([]client.ExportEntry, error) {
	attrs := map[string]string{}
	if len(cfg.Tags) > 0 {
		// Full names (docker.io/library/app:1), as image stores keep them.
		names := make([]string, len(cfg.Tags))
		for i, tag := range cfg.Tags {
			named, err := reference.ParseNormalizedNamed(tag)
			if err != nil {
				return nil, usageErrorf("tag %q is not a valid image reference: %v", tag, err)
			}
			names[i] = reference.TagNameOnly(named).String()
		}
		attrs["name"] = strings.Join(names, ",")
	}
	if cfg.Push {
		attrs["push"] = "true"
	}
	if features.Load == build.LoadByExporter && len(cfg.Tags) > 0 && (cfg.Load || !cfg.Push || features.Push == build.PushByEngine) {
		// On the engine a named image goes into its image store through its
		// own exporter (what buildx's docker driver does). With the classic
		// store, that is all its BuildKit can do: the engine pushes it
		// (pushFromEngine).
		exports := []client.ExportEntry{{Type: "moby", Attrs: map[string]string{"name": attrs["name"]}}}
		if cfg.Push && features.Push == build.PushByExporter {
			exports = append(exports, client.ExportEntry{Type: client.ExporterImage, Attrs: attrs})
		}
		return exports, nil
	}
	if !cfg.Load {
		if !features.ContentStore {
			// The classic image store: an unnamed image would be left
			// dangling in it. The final image is measured on its own.
			return nil, nil
		}
		return []client.ExportEntry{{Type: client.ExporterImage, Attrs: attrs}}, nil
	}
	if len(cfg.Tags) == 0 {
		return nil, usageErrorf("load is set but there are no tags: set tags to the names the image should have in the Docker Engine")
	}
	if features.Load != build.LoadByTarball {
		return nil, usageErrorf("load needs a Docker Engine, and the builder %s is not one (nor a docker-container builder of one): build on the engine (unset BUILDKIT_HOST, with DOCKER_HOST or /var/run/docker.sock) or drop load", b.Address)
	}
	exports := []client.ExportEntry{{
		Type:  client.ExporterDocker,
		Attrs: map[string]string{"name": attrs["name"]},
		Output: func(map[string]string) (io.WriteCloser, error) {
			pr, pw := io.Pipe()
			done := make(chan error, 1)
			go func() {
				err := b.LoadImage(ctx, pr)
				pr.CloseWithError(err)
				done <- err
			}()
			return &loadWriter{pw: pw, done: done}, nil
		},
	}}
	if cfg.Push {
		exports = append(exports, client.ExportEntry{Type: client.ExporterImage, Attrs: attrs})
	}
	return exports, nil
}

// loadWriter is the tarball's way into the engine; Close waits for the load.
type loadWriter struct {
	pw   *io.PipeWriter
	done chan error
}

func (w *loadWriter) Write(p []byte) (int, error) { return w.pw.Write(p) }

func (w *loadWriter) Close() error {
	w.pw.Close()
	if err := <-w.done; err != nil {
		return fmt.Errorf("load the image into the Docker Engine: %w", err)
	}
	return nil
}

// checkPushCredentials fails before building when a tag to push names a
// registry there are no credentials for. Loopback registries (a local test
// registry) need none.
func checkPushCredentials(cfg *Config) error {
	if !cfg.Push {
		return nil
	}
	if len(cfg.Tags) == 0 {
		return usageErrorf("push is set but there are no tags: set tags to the image names to push")
	}
	for _, tag := range cfg.Tags {
		named, err := reference.ParseNormalizedNamed(tag)
		if err != nil {
			return usageErrorf("tag %q is not a valid image reference: %v", tag, err)
		}
		host := reference.Domain(named)
		if isLoopback(host) {
			continue
		}
		if cfg.RegistryAuth == nil || !cfg.RegistryAuth.Has(host) {
			return usageErrorf("no credentials to push %s to %s: set registry-auth (registry=%s,username=...,password=...) or DOCKER_CONFIG to a docker config that has them", tag, host, host)
		}
	}
	return nil
}

func isLoopback(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// IsLocalContext reports whether a named context's value is a directory
// (rather than target:STAGE or a URL such as docker-image://REF).
func IsLocalContext(v string) bool {
	return !strings.HasPrefix(v, "target:") && !strings.Contains(v, "://")
}

// addSessionAndContexts adds credentials, secrets, SSH, named contexts and
// attestations to a request.
func addSessionAndContexts(cfg *Config, req *build.Request) error {
	if cfg.RegistryAuth != nil {
		req.Session = append(req.Session, cfg.RegistryAuth.Attachable())
	}
	if cfg.Secrets != nil {
		a, err := cfg.Secrets.Attachable()
		if err != nil {
			return &UsageError{Err: err}
		}
		req.Session = append(req.Session, a)
	}
	if cfg.SSH != nil {
		req.Session = append(req.Session, cfg.SSH)
	}
	for name, v := range cfg.BuildContexts {
		switch {
		case strings.HasPrefix(v, "target:"):
			if req.TargetContexts == nil {
				req.TargetContexts = map[string]string{}
			}
			req.TargetContexts[name] = strings.TrimPrefix(v, "target:")
		case strings.Contains(v, "://"):
			req.FrontendAttrs["context:"+name] = v
		default: // IsLocalContext
			dir := v // relative to the working directory, as buildx takes it
			if st, err := os.Stat(dir); err != nil || !st.IsDir() {
				return optionErrorf("build-context", "build context %s=%s: not a directory", name, v)
			}
			local := "ctx-" + name
			req.ExtraLocals[local] = dir
			req.FrontendAttrs["context:"+name] = "local:" + local
		}
	}
	req.Attestations = map[string]string{}
	if cfg.Provenance != "" {
		req.Attestations["attest:provenance"] = cfg.Provenance
	}
	if cfg.SBOM {
		req.Attestations["attest:sbom"] = ""
	}
	return nil
}

// imageResult describes the exported final image from the exporter's response.
func imageResult(cfg *Config, resp map[string]string) *result.Image {
	img := &result.Image{
		Digest:   resp[exptypes.ExporterImageDigestKey],
		ImageID:  resp[exptypes.ExporterImageConfigDigestKey],
		Tags:     cfg.Tags,
		Pushed:   cfg.Push,
		Metadata: map[string]string{},
	}
	for k, v := range resp {
		if k != exptypes.ExporterImageDescriptorKey {
			img.Metadata[k] = v
		}
	}
	return img
}

// loadedImageID is the ID under which the Docker Engine knows the image the
// build loaded into it as tag, for a later step's `docker run IMAGEID`: its
// config digest on the classic image store, but on the containerd image store
// the digest of its manifest or index, where the exporter's config digest
// names no image (moby/moby#45458).
func loadedImageID(ctx context.Context, engine build.Driver, tag string) (string, error) {
	inspect, err := engine.InspectImage(ctx, tag)
	if err != nil {
		return "", fmt.Errorf("inspect the loaded image %s: %w", tag, err)
	}
	return inspect.ID, nil
}

// pushFromEngine pushes the final image, which the build put into the Docker
// Engine's classic image store under its tags, through the Engine API, as
// buildx's docker driver does: that store's BuildKit cannot push. The digest
// the registry holds becomes the image's digest; a failed push fails the run.
func pushFromEngine(ctx context.Context, cfg *Config, engine build.Driver, out *build.Outcome) {
	for _, tag := range cfg.Tags {
		digest, err := enginePush(ctx, cfg, engine, tag)
		if err != nil {
			out.Err = fmt.Errorf("push %s: %w", tag, err)
			out.Response = nil
			return
		}
		if out.Response == nil {
			out.Response = map[string]string{}
		}
		out.Response[exptypes.ExporterImageDigestKey] = digest
	}
}

func enginePush(ctx context.Context, cfg *Config, engine build.Driver, tag string) (string, error) {
	named, err := reference.ParseNormalizedNamed(tag)
	if err != nil {
		return "", err
	}
	var auth string
	if cfg.RegistryAuth != nil {
		if auth, err = cfg.RegistryAuth.EngineAuth(reference.Domain(named)); err != nil {
			return "", err
		}
	}
	return engine.PushImage(ctx, reference.TagNameOnly(named).String(), auth)
}
