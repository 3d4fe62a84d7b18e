package build

// Features is what a builder can do that others cannot. The orchestration
// decides from it where images go, how they are pushed and loaded, and what to
// refuse before building.
type Features struct {
	// ContentStore: the "image" exporter, whose unnamed images stay in
	// BuildKit's content store, where stagegate reads them. Without it,
	// images go only into the Docker Engine's image store.
	ContentStore bool
	// ImageStore is the Docker Engine image store the builder's own
	// exporter ("moby") writes into.
	ImageStore ImageStore
	// CacheExport says which cache backends the builder exports.
	CacheExport CacheExport
	// MultiPlatform: images for several platforms at once.
	MultiPlatform bool
	// Push says who pushes the final image.
	Push Push
	// Load says how an image gets into the Docker Engine's image store.
	Load Load
}

// ImageStore is a kind of Docker Engine image store.
type ImageStore int

const (
	// NoImageStore: a BuildKit of its own, whose images go to registries,
	// tarballs or its content store.
	NoImageStore ImageStore = iota
	// ClassicImageStore: the engine's graph-driver store, which keeps no
	// content store and no compressed layers.
	ClassicImageStore
	// ContainerdImageStore: the engine's containerd image store, a
	// content store too.
	ContainerdImageStore
)

func (s ImageStore) String() string {
	switch s {
	case ClassicImageStore:
		return "classic"
	case ContainerdImageStore:
		return "containerd"
	}
	return "none"
}

// CacheExport is which cache backends (cache-to types) a builder exports.
type CacheExport int

const (
	// InlineCacheOnly: only inline cache, written into the image.
	InlineCacheOnly CacheExport = iota
	// AnyCache: every backend BuildKit has.
	AnyCache
)

// Exports reports whether the cache backend typ (a cache-to type) is exported.
func (c CacheExport) Exports(typ string) bool {
	return c == AnyCache || typ == "inline"
}

// Push is who pushes the final image to a registry.
type Push int

const (
	// PushByExporter: BuildKit's image exporter, with push=true.
	PushByExporter Push = iota
	// PushByEngine: the Docker Engine, through its API (PushImage), after
	// the build put the image into its store: what buildx's docker driver
	// does where the engine's BuildKit cannot push.
	PushByEngine
)

// Load is how an image gets into the Docker Engine's image store.
type Load int

const (
	// NoLoad: there is no Docker Engine beside the builder.
	NoLoad Load = iota
	// LoadByExporter: the engine's own BuildKit stores it there directly
	// (its "moby" exporter).
	LoadByExporter
	// LoadByTarball: BuildKit sends a docker image tarball that the
	// engine loads (LoadImage).
	LoadByTarball
)

// buildkitFeatures are those of a BuildKit of its own: everything but
// putting images into a Docker Engine.
func buildkitFeatures() Features {
	return Features{ContentStore: true, ImageStore: NoImageStore, CacheExport: AnyCache, MultiPlatform: true, Push: PushByExporter, Load: NoLoad}
}
