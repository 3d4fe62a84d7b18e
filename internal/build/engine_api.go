package build

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	dockerclient "github.com/moby/moby/client"
)

// engineAPI is the Docker Engine API beside a builder: the image operations
// of the drivers that have an engine. Its errors are the Engine API's own,
// unwrapped, so that callers say what they were doing and errdefs still
// recognises them.
type engineAPI struct {
	dc *dockerclient.Client
}

// dockerClient is an Engine API client for host ("" : the default socket).
func dockerClient(host string) (*dockerclient.Client, error) {
	opts := []dockerclient.Opt{}
	if host != "" {
		opts = append(opts, dockerclient.WithHost(host))
	} else {
		opts = append(opts, dockerclient.WithHost("unix://"+DefaultDockerSocket))
	}
	dc, err := dockerclient.New(opts...)
	if err != nil {
		return nil, fmt.Errorf("docker engine address %q: %w", host, err)
	}
	return dc, nil
}

func (e engineAPI) InspectImage(ctx context.Context, ref string) (Image, error) {
	inspect, err := e.dc.ImageInspect(ctx, ref)
	if err != nil {
		return Image{}, err
	}
	return Image{ID: inspect.ID, Size: inspect.Size, Layers: len(inspect.RootFS.Layers), RepoTags: inspect.RepoTags}, nil
}

func (e engineAPI) RemoveImage(ctx context.Context, id string) error {
	_, err := e.dc.ImageRemove(ctx, id, dockerclient.ImageRemoveOptions{})
	return err
}

func (e engineAPI) PushImage(ctx context.Context, name, auth string) (string, error) {
	resp, err := e.dc.ImagePush(ctx, name, dockerclient.ImagePushOptions{RegistryAuth: auth})
	if err != nil {
		return "", err
	}
	var digest string
	for msg, err := range resp.JSONMessages(ctx) {
		if err != nil {
			return "", err
		}
		if msg.Error != nil {
			return "", errors.New(msg.Error.Message)
		}
		if msg.Aux != nil {
			var pushed struct{ Digest string }
			if json.Unmarshal(*msg.Aux, &pushed) == nil && pushed.Digest != "" {
				digest = pushed.Digest
			}
		}
	}
	if digest == "" {
		return "", errors.New("the Docker Engine reported no digest for the pushed image")
	}
	return digest, nil
}

func (e engineAPI) LoadImage(ctx context.Context, tarball io.Reader) error {
	resp, err := e.dc.ImageLoad(ctx, tarball)
	if err != nil {
		return err
	}
	defer resp.Close()
	// The load is done when the engine has said all it says about it.
	_, err = io.Copy(io.Discard, resp)
	return err
}

func (e engineAPI) Close() error { return e.dc.Close() }

// noEngine is the engine side of a builder that has no Docker Engine beside
// it. The orchestration never asks it for images (its Features say so): these
// errors are for a caller that did not look.
type noEngine struct {
	addr string
}

func (n noEngine) err() error {
	return fmt.Errorf("the builder at %s has no Docker Engine beside it", n.addr)
}

func (n noEngine) InspectImage(context.Context, string) (Image, error) { return Image{}, n.err() }
func (n noEngine) RemoveImage(context.Context, string) error           { return n.err() }
func (n noEngine) PushImage(context.Context, string, string) (string, error) {
	return "", n.err()
}
func (n noEngine) LoadImage(context.Context, io.Reader) error { return n.err() }
