package action

import "github.com/containerd/platforms"

func checkPlatform(p string) error {
	_, err := platforms.Parse(p)
	return err
}
