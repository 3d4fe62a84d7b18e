package dockerfile

import (
	"io/fs"
	"slices"
	"strings"
	"testing"
)

func TestFindTestCommand(t *testing.T) {
	for _, tc := range []struct {
		cmd  string
		want string // "" : no test command
	}{
		{"go test ./...", "go test ./..."},
		{"go vet ./... && go test -race ./...", "go test -race ./..."},
		{"CGO_ENABLED=0 go test -v ./pkg/...", "CGO_ENABLED=0 go test -v ./pkg/..."},
		{"go build -o /app . && go vet ./...", ""},
		{"pytest -q tests/", "pytest -q tests/"},
		{"python -m pytest ../tests", "python -m pytest ../tests"},
		{"python3 -m unittest discover", "python3 -m unittest discover"},
		{"python manage.py test", "python manage.py test"},
		{"python3 -m pip install -r requirements.txt", ""},
		{"ENV_NAME=testing coverage run --source=app -m pytest", "ENV_NAME=testing coverage run --source=app -m pytest"},
		{"poetry run pytest", "poetry run pytest"},
		{"uv run pytest -x", "uv run pytest -x"},
		{"tox -e py311", "tox -e py311"},
		{"npm ci && npm test", "npm test"},
		{"npm run test:unit", "npm run test:unit"},
		{"npm ci", ""},
		{"npm install --production", ""},
		{"npm run build", ""},
		{"npm run test:watch", ""},
		{"npm run eclint-check", ""},
		{"yarn test --ci", "yarn test --ci"},
		{"pnpm run test:code", "pnpm run test:code"},
		{"pnpm start-server-and-test 'pnpm start' 3000 'wget http://0.0.0.0:3000/'", "pnpm start-server-and-test 'pnpm start' 3000 'wget http://0.…"},
		{"npx jest --ci", "npx jest --ci"},
		{"cargo test --release", "cargo test --release"},
		{"cargo build --release", ""},
		{"mvn -B test", "mvn -B test"},
		{"mvn -B package -DskipTests", ""},
		{"mvn package -Dmaven.test.skip=true", ""},
		{"./gradlew test --no-daemon", "./gradlew test --no-daemon"},
		{"gradle build -x test", ""},
		{"dotnet test --no-restore", "dotnet test --no-restore"},
		{"dotnet restore", ""},
		{"vendor/bin/phpunit", "vendor/bin/phpunit"},
		{"php vendor/bin/codecept run Unit", "php vendor/bin/codecept run Unit"},
		{"php artisan test", "php artisan test"},
		{"bundle exec rspec", "bundle exec rspec"},
		{"bundle exec rake test", "bundle exec rake test"},
		{"bundle install", ""},
		{"ctest --output-on-failure", "ctest --output-on-failure"},
		{"cmake --build . --target test", "cmake --build . --target test"},
		{"make test", "make test"},
		{"make -C src check", "make -C src check"},
		{"make -j4 build", ""},
		{"make lint-check", ""},
		{"./test.sh /out/greet", "./test.sh /out/greet"},
		{"sh ./scripts/run-tests.sh", "sh ./scripts/run-tests.sh"},
		{"bash ./build.sh --target=integrationtest", "bash ./build.sh --target=integrationtest"},
		{"sh -c 'go test ./...'", "sh -c 'go test ./...'"},
		{"set -e; cd /src; go test ./...", "go test ./..."},
		{"test -f /app/bin && echo ok", ""},
		{"[ -s /app ]", ""},
		{"mkdir -p /app/test", ""},
		{"./test-golang", "./test-golang"},
		{"scripts/validate/check-go-mod", ""},
		{"timeout 600 go test ./...", "timeout 600 go test ./..."},
		{"CGO_ENABLED=0 xx-go test -v ./...", "CGO_ENABLED=0 xx-go test -v ./..."},
		{"go test -c -o /out/e2e.test ./e2e", ""},
		{"go test -run=NON_EXISTING ./...", ""},
		{"go test -bench=. -run=^$ ./...", ""},
		{"cargo test --no-run", ""},
		{"tox --notest", ""},
		{"pytest --collect-only", ""},
		{"/tools/wait-for-services.sh db yarn run test:e2e:docker", "/tools/wait-for-services.sh db yarn run test:e2e:docker"},
		{"./with-env.sh -- go test ./...", "./with-env.sh -- go test ./..."},
		{"critest --parallel=4", "critest --parallel=4"},
		{"./integration.test -test.v -test.run TestAPI", "./integration.test -test.v -test.run TestAPI"},
		{"cp app.test.yaml /etc/app.yaml", ""},
		{`sbt "set test in assembly := {}" clean assembly`, ""},
		{`sbt -ivy ./.ivy/ ";clean; test; assembly"`, `sbt -ivy ./.ivy/ ";clean; test; assembly"`},
		{"sbt clean coverage test", "sbt clean coverage test"},
		{`sbt "it:testOnly com.example.*"`, `sbt "it:testOnly com.example.*"`},
		{"sbt assembly", ""},
		{"npm run vitest -- --run", "npm run vitest -- --run"},
		{"yarn end-to-end test", "yarn end-to-end test"},
		{"xvfb-run -s '-screen 0 1024x768x24' pub run test", "xvfb-run -s '-screen 0 1024x768x24' pub run test"},
		{"dart run test", "dart run test"},
		{"flutter pub run test", "flutter pub run test"},
		{"dart run build_runner build", ""},
		{"newman run api.postman_collection.json", "newman run api.postman_collection.json"},
		{"goss validate --format junit", "goss validate --format junit"},
		{"container-structure-test test --image app --config cst.yaml", "container-structure-test test --image app --config cst.yaml"},
		{"container-structure-test version", ""},
		{"python integration.py", ""}, // a weak sign only: see TestFindWeakTest
	} {
		if got := findTestCommand(tc.cmd); got != tc.want {
			t.Errorf("findTestCommand(%q) = %q, want %q", tc.cmd, got, tc.want)
		}
	}
}

// TestFindWeakTest: the signs taken only from a stage named for tests.
func TestFindWeakTest(t *testing.T) {
	for _, tc := range []struct {
		cmd  string
		want string // "" : no sign
	}{
		{"test -s /out/app", "test -s /out/app"},
		{"grep -q ready /log", "grep -q ready /log"},
		{"grep ready /log", ""},
		{"./scripts/test/e2e/entry", "./scripts/test/e2e/entry"},
		{"sh ./tests/smoke/run.sh", "sh ./tests/smoke/run.sh"},
		{"python integration.py", "python integration.py"},
		{"python3 -u e2e.py --fast", "python3 -u e2e.py --fast"},
		{"./e2e", "./e2e"},
		{"python app.py", ""},
		{"./ci-setup.sh", ""},
		{"sh scripts/e2e-deps.sh", ""},
		{"python -m http.server", ""},
		{"pip install -r tests.txt", ""},
		{"mkdir -p /tests", ""},
		{"node server.js", ""},
		{`if [ "$(echo ${V} | cut -d . -f 1)" -lt 28 ]; then apk add iptables; fi`, ""},
		{"while ! grep -q ready /log; do sleep 1; done", ""},
	} {
		if got := findWeakTest(tc.cmd); got != tc.want {
			t.Errorf("findWeakTest(%q) = %q, want %q", tc.cmd, got, tc.want)
		}
	}
}

// TestDiscover covers every shape of test stage found in a corpus of real
// multi-stage Dockerfiles (see TestCorpus), each in a file of our own.
func TestDiscover(t *testing.T) {
	for _, tc := range []struct {
		name       string
		dockerfile string
		// context is the build context, where scripts are read (nil: none).
		context    fs.FS
		wantTests  []string
		wantTarget string
		// wantRejected are stages that looked like test stages and were not
		// picked; wantReason substrings of the first pick's reason.
		wantRejected []string
		wantReason   string
	}{
		{name: "named test stage running go test",
			dockerfile: "FROM golang AS build\nRUN go build -o /app .\nFROM build AS test\nRUN go test ./...\nFROM scratch\nCOPY --from=build /app /app\n",
			wantTests:  strs("test"), wantTarget: "stage-2", wantReason: `named like a test stage and runs "go test ./..." (RUN, line 4)`},
		{name: "plural and separator variants",
			dockerfile: "FROM node AS deps\nRUN npm ci\nFROM deps AS unit-tests\nRUN npm test\nFROM deps AS test_integration\nRUN npm run test:integration\nFROM deps AS app\nCMD [\"node\", \"server.js\"]\n",
			wantTests:  strs("unit-tests", "test_integration"), wantTarget: "app"},
		{name: "tester and testrunner",
			dockerfile: "FROM python AS builder\nRUN pip install -r req.txt\nFROM builder AS tester\nRUN pytest\nFROM builder AS testrunner\nCMD [\"python\", \"-m\", \"pytest\"]\nFROM builder AS runner\nCMD [\"python\", \"app.py\"]\n",
			wantTests:  strs("tester", "testrunner"), wantTarget: "runner"},
		{name: "CMD runs the tests",
			dockerfile: "FROM node AS base\nRUN npm ci\nFROM base AS test\nCMD [\"npm\", \"run\", \"test\"]\nFROM base AS prod\nCMD [\"node\", \"index.js\"]\n",
			wantTests:  strs("test"), wantTarget: "prod", wantReason: `"npm run test" (CMD, line 4)`},
		{name: "ENTRYPOINT with CMD arguments runs the tests",
			dockerfile: "FROM mcr.microsoft.com/dotnet/sdk AS base\nCOPY . .\nFROM base AS e2e\nENTRYPOINT [\"dotnet\"]\nCMD [\"test\"]\nFROM base AS final\nENTRYPOINT [\"dotnet\", \"app.dll\"]\n",
			wantTests:  strs("e2e"), wantTarget: "final", wantReason: `"dotnet test" (ENTRYPOINT, line 4)`},
		{name: "empty test stub beside the real one",
			dockerfile: "FROM golang AS src\nCOPY . .\nFROM src AS test\nFROM src AS tests\nRUN go test ./...\nFROM src AS app\nRUN go build .\n",
			wantTests:  strs("tests"), wantTarget: "app", wantRejected: strs("test")},
		{name: "look-alikes: deps, results, a test stage that only installs",
			dockerfile: "FROM python AS test-deps\nRUN pip install pytest\nFROM test-deps AS test\nRUN pip install -e .\nFROM test-deps AS unit-test\nRUN pytest --junitxml=/out/report.xml || true\nFROM scratch AS unit-test-results\nCOPY --from=unit-test /out /\nFROM python AS app\nCMD [\"python\", \"app.py\"]\n",
			wantTests:  strs("unit-test"), wantTarget: "app", wantRejected: strs("test-deps", "test", "unit-test-results")},
		{name: "a stage named test that only lints is no test stage",
			dockerfile: "FROM node AS source\nRUN npm install\nFROM source AS test\nRUN npm run eclint-check\nRUN npm run prettier-check\nFROM source AS dist\nRUN npm run dist\n",
			wantTests:  nil, wantTarget: "dist", wantRejected: strs("test")},
		{name: "tests inside the build stage",
			dockerfile: "FROM golang AS builder\nCOPY . .\nRUN go test ./... && go build -o /app .\nFROM alpine\nCOPY --from=builder /app /app\nENTRYPOINT [\"/app\"]\n",
			wantTests:  strs("builder"), wantTarget: "stage-1", wantReason: "on the way to the final target"},
		{name: "tests in the final stage itself",
			dockerfile: "FROM python AS builder\nRUN pip install -r req.txt\nFROM python\nCOPY --from=builder /usr/local /usr/local\nRUN python -m unittest test_main.py\nCMD [\"python\", \"main.py\"]\n",
			wantTests:  strs("stage-1"), wantTarget: "stage-1", wantReason: "the final target runs"},
		{name: "the final image's command named like a test is the application",
			dockerfile: "FROM golang AS build\nRUN go build -o /test-server .\nFROM alpine\nCOPY --from=build /test-server /test-server\nCMD [\"/test-server\"]\n",
			wantTests:  nil, wantTarget: "stage-1"},
		{name: "the final image's command runs a script named like a test: the application",
			dockerfile: "FROM python AS build-image\nCOPY . /app\nRUN pip install -r requirements.txt\nCMD [\"python\", \"./test.py\"]\n",
			wantTests:  nil, wantTarget: "build-image"},
		{name: "the last stage is the test stage: the image is the one before",
			dockerfile: "FROM python AS base\nCOPY . /app\nFROM base AS prod\nFROM base AS test\nRUN pip install -r dev.txt\nRUN python -m pytest tests\n",
			wantTests:  strs("test"), wantTarget: "prod"},
		{name: "a test stage built on another that prepares it",
			dockerfile: "FROM node AS base\nRUN npm ci\nFROM base AS test-base\nRUN npm ci --include=dev\nFROM test-base AS test\nRUN npm test\nFROM base AS release\nCMD [\"node\", \".\"]\n",
			wantTests:  strs("test"), wantTarget: "release", wantRejected: strs("test-base")},
		{name: "a build stage that also runs tests beside named test stages",
			dockerfile: "FROM maven AS backend-build\nRUN mvn -B test package\nFROM maven AS test\nCMD [\"mvn\", \"-B\", \"test\"]\nFROM eclipse-temurin AS app\nCOPY --from=backend-build /t/app.jar /app.jar\n",
			wantTests:  strs("test"), wantTarget: "app", wantRejected: strs("backend-build")},
		{name: "a test that is not named for tests and that the image does not need",
			dockerfile: "FROM rust AS build\nRUN cargo build --release\nFROM build AS verify\nRUN cargo test --release\nFROM debian\nCOPY --from=build /t/app /app\n",
			wantTests:  strs("verify"), wantTarget: "stage-2", wantReason: "the final target does not build on it"},
		{name: "no tests at all",
			dockerfile: "FROM golang AS build\nRUN go build -o /app .\nFROM scratch\nCOPY --from=build /app /app\n",
			wantTests:  nil, wantTarget: "stage-1"},
		{name: "shell assertions in a stage named for tests",
			dockerfile: "FROM busybox AS build\nRUN echo app > /app\nFROM build AS test\nRUN test \"$(cat /app)\" = app\nFROM busybox AS final\nCOPY --from=build /app /app\n",
			wantTests:  strs("test"), wantTarget: "final", wantReason: `runs "test`},
		{name: "a script kept with the tests, in a stage named for them",
			dockerfile: "FROM golang AS build\nRUN go build .\nFROM build AS e2e\nCMD ./scripts/test/e2e/entry\nFROM build AS tools\nRUN ./scripts/test/gen-fixtures\nFROM scratch\nCOPY --from=build /app /app\n",
			wantTests:  strs("e2e"), wantTarget: "stage-3", wantReason: `"./scripts/test/e2e/entry" (CMD, line 4)`},
		{name: "heredoc RUN",
			dockerfile: "FROM golang AS src\nCOPY . .\nFROM src AS test\nRUN <<EOF\nset -e\ngo vet ./...\ngo test ./...\nEOF\nFROM src AS app\nRUN go build .\n",
			wantTests:  strs("test"), wantTarget: "app", wantReason: `"go test ./..." (RUN, line 4)`},
		{name: "ARG-based bases",
			dockerfile: "ARG GO=1.26\nFROM --platform=$BUILDPLATFORM golang:${GO} AS build\nRUN go build .\nFROM build AS ci\nRUN make ci\nFROM gcr.io/distroless/static\nCOPY --from=build /app /app\n",
			wantTests:  strs("ci"), wantTarget: "stage-2"},
		{name: "a test stage that inherits its base's test command",
			dockerfile: "FROM golang AS build\nRUN go build .\nFROM build AS test-integration\nCMD [\"./with-daemon.sh\", \"go\", \"test\", \"./integration/...\"]\nFROM test-integration AS test-integration-ipv6\nCOPY ipv6.conf /etc/daemon.conf\nRUN chmod 600 /etc/daemon.conf\nFROM build AS dev\nFROM scratch\nCOPY --from=build /app /app\n",
			wantTests:  strs("test-integration", "test-integration-ipv6"), wantTarget: "stage-4"},
		{name: "an inherited test command makes no test stage of a stage not named for tests",
			dockerfile: "FROM node AS base\nRUN npm ci\nCMD [\"npm\", \"test\"]\nFROM base AS build\nRUN npm run build\nFROM nginx\nCOPY --from=build /src/dist /usr/share/nginx/html\n",
			wantTests:  strs("base"), wantTarget: "stage-2"},
		{name: "a script named for its tests, run by an interpreter, in the last stage: the image is the one before",
			dockerfile: "FROM python AS build\nRUN pip install .\nFROM build AS unit-test\nRUN pytest\nFROM python AS app\nCOPY --from=build /app /app\nFROM python AS e2e-test\nWORKDIR /suite\nCOPY suite ./\nCMD [\"python\", \"e2e.py\"]\n",
			wantTests:  strs("unit-test", "e2e-test"), wantTarget: "app"},
		{name: "a validation suite in the command of a stage not named for tests",
			dockerfile: "FROM golang AS tools\nRUN go install sigs.k8s.io/cri-tools/cmd/critest@latest\nFROM tools AS in-userns\nENTRYPOINT [\"/entrypoint.sh\"]\nCMD [\"critest\", \"--ginkgo.skip=sysctls\"]\nFROM golang AS dev\n",
			wantTests:  strs("in-userns"), wantTarget: "dev", wantReason: "critest"},
		{name: "the final image runs a Go test binary an earlier stage compiled",
			dockerfile: "FROM golang AS build\nWORKDIR /src\nCOPY . .\nRUN go build -o service .\nRUN go test -c -o service-check ./e2e\nFROM alpine\nCOPY --from=build /src/service-check /app/\nCMD [\"/app/service-check\", \"-test.v\"]\n",
			wantTests:  strs("stage-1"), wantTarget: "stage-1", wantReason: `"/app/service-check -test.v" (CMD, line 8)`},
		{name: "a test stage that compiles its Go tests, then runs them as its command",
			dockerfile: "FROM golang AS build\nRUN go build -o /app .\nFROM build AS verify\nRUN go test -c -o /bin/suite ./...\nCMD [\"suite\", \"-test.short\"]\nFROM scratch\nCOPY --from=build /app /app\n",
			wantTests:  strs("verify"), wantTarget: "stage-2", wantReason: `"suite -test.short" (CMD, line 5)`},
		{name: "a stage named for tests whose command runs an entrypoint script copied by name",
			dockerfile: "FROM python AS base\nWORKDIR /app\nCOPY app.py .\nFROM base AS test\nCOPY docker-entrypoint.sh ./\nCMD [\"./docker-entrypoint.sh\"]\nFROM base AS prod\nCMD [\"python\", \"app.py\"]\n",
			context:    scriptContext, wantTests: strs("test"), wantTarget: "prod",
			wantReason: `"coverage run -m pytest tests/" (in docker-entrypoint.sh, which its CMD on line 6 runs)`},
		{name: "a RUN step running a script of a folder copied whole",
			dockerfile: "FROM alpine AS base\nRUN apk add bats\nFROM base AS buildkit-test\nWORKDIR /work\nCOPY . .\nRUN ./test/run.sh\nFROM alpine\n",
			context:    scriptContext, wantTests: strs("buildkit-test"), wantTarget: "stage-2",
			wantReason: `"bats --tap ./tests" (in test/run.sh, which its RUN on line 6 runs)`},
		{name: "a shell-form command running a script through sh",
			dockerfile: "FROM python AS tests\nWORKDIR /app\nCOPY . .\nCMD sh docker-entrypoint.sh --ci\nFROM python AS prod\n",
			context:    scriptContext, wantTests: strs("tests"), wantTarget: "prod",
			wantReason: `(in docker-entrypoint.sh, which its CMD on line 4 runs)`},
		{name: "a script that runs no test",
			dockerfile: "FROM python AS test\nCOPY serve.sh /serve.sh\nCMD [\"sh\", \"/serve.sh\"]\nFROM python AS prod\n",
			context:    scriptContext, wantTarget: "prod", wantRejected: strs("test")},
		{name: "without the context, no script is read",
			dockerfile: "FROM python AS test\nWORKDIR /app\nCOPY docker-entrypoint.sh ./\nCMD [\"./docker-entrypoint.sh\"]\nFROM python AS prod\n",
			wantTarget: "prod", wantRejected: strs("test")},
		{name: "a script run by a stage whose name does not say it tests is not read",
			dockerfile: "FROM python AS migrate\nWORKDIR /app\nCOPY docker-entrypoint.sh ./\nCMD [\"./docker-entrypoint.sh\"]\nFROM python AS prod\n",
			context:    scriptContext, wantTarget: "prod"},
		{name: "words that contain test are not test names",
			dockerfile: "FROM golang:latest AS latest-golang\nRUN go build .\nFROM alpine AS gotestsum\nRUN apk add go\nFROM alpine\nCOPY --from=latest-golang /app /app\n",
			wantTests:  nil, wantTarget: "stage-2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, err := Parse("Dockerfile", []byte(tc.dockerfile), fixedPlatforms(Options{Context: tc.context}))
			if err != nil {
				t.Fatal(err)
			}
			p, err := g.Plan(PlanOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if got := names(p.TestStages()); !slices.Equal(got, tc.wantTests) {
				t.Errorf("tests = %v, want %v\nrejected: %+v", got, tc.wantTests, p.Rejected)
			}
			if p.Target.Name != tc.wantTarget {
				t.Errorf("target = %s (%s), want %s", p.Target.Name, p.TargetReason, tc.wantTarget)
			}
			var rejected []string
			for _, c := range p.Rejected {
				rejected = append(rejected, c.Name)
				if c.Reason == "" {
					t.Errorf("rejected %s has no reason", c.Name)
				}
			}
			for _, want := range tc.wantRejected {
				if !slices.Contains(rejected, want) {
					t.Errorf("rejected = %v, want %s among them", rejected, want)
				}
			}
			for _, pick := range p.Tests {
				if pick.Reason == "" || strings.Contains(pick.Reason, "\n") {
					t.Errorf("pick %s: reason %q is not one line", pick.Name, pick.Reason)
				}
			}
			if tc.wantReason != "" && (len(p.Tests) == 0 || !strings.Contains(p.Tests[0].Reason, tc.wantReason)) {
				t.Errorf("reason %+v does not contain %q", p.Tests, tc.wantReason)
			}
		})
	}
}

// Named test targets win over discovery, and "none" turns testing off.
func TestPlanTestPatternsWin(t *testing.T) {
	g, err := Parse("Dockerfile", []byte("FROM golang AS build\nRUN go build .\nFROM build AS test\nRUN go test ./...\nFROM build AS smoke\nRUN ./app --version\nFROM scratch\n"), fixedPlatforms(Options{}))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		patterns []string
		want     []string
		off      bool
	}{
		{nil, strs("test"), false},
		{strs("smoke"), strs("smoke"), false},
		{strs("none"), nil, true},
	} {
		p, err := g.Plan(PlanOptions{TestPatterns: tc.patterns})
		if err != nil {
			t.Fatal(err)
		}
		if got := names(p.TestStages()); !slices.Equal(got, tc.want) || p.TestsOff != tc.off || p.Discovered != (tc.patterns == nil) {
			t.Errorf("%v: tests %v off %v discovered %v, want %v off %v", tc.patterns, got, p.TestsOff, p.Discovered, tc.want, tc.off)
		}
		if len(tc.patterns) > 0 && len(p.Rejected) > 0 {
			t.Errorf("%v: rejected %v, want none when the tests are named", tc.patterns, p.Rejected)
		}
	}
}

// The test mode a stage resolves to under auto: its command when that is
// its test, its RUN steps when they run a test runner and its command does
// not (a stage whose CMD starts the app).
func TestStageTestMode(t *testing.T) {
	g, err := Parse("Dockerfile", []byte("FROM golang AS a\nRUN go test ./...\nCMD [\"/app\"]\nFROM golang AS b\nCMD [\"go\", \"test\", \"./...\"]\nFROM golang AS c\nRUN go test ./...\nFROM golang AS d\nCMD [\"./run.sh\"]\n"+
		// e inherits b's test command, and runs it; f runs its own RUN tests.
		"FROM b AS e\nCOPY fixtures /fixtures\nFROM b AS f\nRUN go test ./more/...\n"), fixedPlatforms(Options{}))
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]TestMode{"a": TestModeBuild, "b": TestModeRun, "c": TestModeBuild, "d": TestModeRun, "e": TestModeRun, "f": TestModeBuild} {
		st, _ := g.Stage(name)
		if got := st.TestMode(TestModeAuto); got != want {
			t.Errorf("stage %s: auto resolves to %s, want %s", name, got, want)
		}
		if got := st.TestMode(TestModeBuild); got != TestModeBuild {
			t.Errorf("stage %s: build resolves to %s", name, got)
		}
	}
}
