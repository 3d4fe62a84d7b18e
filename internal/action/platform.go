package action

import "github.com/stagegate/stagegate/internal/build"

func checkPlatform(p string) error { return build.CheckPlatform(p) }
