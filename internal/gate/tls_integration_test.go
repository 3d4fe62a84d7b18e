package gate_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stagegate/stagegate/internal/build"
	"github.com/stagegate/stagegate/internal/gate"
	"github.com/stagegate/stagegate/internal/result"
	"github.com/stagegate/stagegate/internal/testenv"
)

// TestMutualTLS runs the passing example against a buildkitd that listens on
// tcp:// with mutual TLS, then shows the error a wrong CA gives.
func TestMutualTLS(t *testing.T) {
	certs := testenv.TLSCerts(t)
	addr := testenv.StartBuildkitd(t, testenv.BuildkitdOptions{
		Addr:  "tcp://" + testenv.FreeTCPAddr(t),
		TLSCA: certs.CA, TLSCert: certs.ServerCert, TLSKey: certs.ServerKey,
	})
	example := filepath.Join(repoRoot(t), "examples", "app")

	res := run(t, &gate.Config{ContextDir: example, Connect: build.ConnectOptions{
		Host: addr,
		TLS:  build.TLS{CA: certs.CA, Cert: certs.ClientCert, Key: certs.ClientKey},
	}})
	if res.Result != result.Passed || res.Builder != addr {
		t.Fatalf("over %s: result %s (%s) from builder %q", addr, res.Result, res.Error, res.Builder)
	}
	if st := res.Stage("test"); st == nil || st.Status != result.StatusPassed {
		t.Errorf("test stage over TLS: %+v", st)
	}

	cases := []struct {
		name string
		tls  build.TLS
		want []string
	}{
		{"wrong CA", build.TLS{CA: testenv.OtherCA(t), Cert: certs.ClientCert, Key: certs.ClientKey}, []string{addr, "certificate signed by unknown authority"}},
		{"no client certificate", build.TLS{CA: certs.CA}, []string{addr, "--tls-cert"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			_, err := gate.Run(ctx, &gate.Config{ContextDir: example, Connect: build.ConnectOptions{Host: addr, TLS: tc.tls, Timeout: 10 * time.Second}})
			if err == nil {
				t.Fatal("connected with a bad TLS setup")
			}
			t.Logf("error: %v", err)
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "rpc error") {
				t.Errorf("error %q is a raw gRPC status", err)
			}
		})
	}
}
