package loadtest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

// childMode makes the test binary play a Lambda function against the
// runtime API MeasureInit serves: a bootstrap that costs no build.
const childMode = "LOADTEST_INIT_CHILD"

func TestMain(m *testing.M) {
	if mode := os.Getenv(childMode); mode != "" {
		os.Exit(child(mode))
	}
	os.Exit(m.Run())
}

func child(mode string) int {
	api := "http://" + os.Getenv("AWS_LAMBDA_RUNTIME_API") + runtimeAPI
	switch mode {
	case "exit":
		return 3
	case "init-error":
		resp, err := http.Post(api+"init/error", "application/json", strings.NewReader(`{"errorMessage":"invalid configuration"}`))
		if err == nil {
			resp.Body.Close()
		}
		return 1
	}
	time.Sleep(20 * time.Millisecond) // init work
	resp, err := http.Get(api + "invocation/next")
	if err != nil {
		return 1
	}
	event, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	id := resp.Header.Get("Lambda-Runtime-Aws-Request-Id")
	time.Sleep(5 * time.Millisecond) // the invocation
	result := "response"
	if mode == "fail" {
		result = "error"
	}
	resp, err = http.Post(api+"invocation/"+id+"/"+result, "application/json", bytes.NewReader(event))
	if err != nil {
		return 1
	}
	resp.Body.Close()
	_, _ = http.Get(api + "invocation/next") // held until the run ends
	return 0
}

func TestMeasureInitTimesExecToTheFirstPoll(t *testing.T) {
	env := append(os.Environ(), childMode+"=serve")
	times, err := MeasureInit(context.Background(), os.Args[0], env, []byte(`{"k":"v"}`), 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(times) != 3 {
		t.Fatalf("%d runs, want 3", len(times))
	}
	for i, r := range times {
		// The child sleeps 20 ms before polling and 5 ms in the invocation.
		if r.Init < 20*time.Millisecond || r.FirstInvoke < 5*time.Millisecond {
			t.Errorf("run %d: init %v, first invocation %v; want at least the child's 20 ms and 5 ms", i+1, r.Init, r.FirstInvoke)
		}
	}
	if q := times.Quantile(0.5, false); q < 20*time.Millisecond {
		t.Errorf("median init %v", q)
	}
}

func TestMeasureInitReportsABootstrapThatDoesNotStart(t *testing.T) {
	for mode, want := range map[string]string{
		"exit":       "exited before asking for an invocation",
		"init-error": "failed to start: {\"errorMessage\":\"invalid configuration\"}",
		"fail":       "the first invocation failed",
	} {
		t.Run(mode, func(t *testing.T) {
			_, err := MeasureInit(context.Background(), os.Args[0], append(os.Environ(), childMode+"="+mode), []byte(`{}`), 1)
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("want an error saying %q, got %v", want, err)
			}
		})
	}
}

func TestQuantileNearestRank(t *testing.T) {
	var ts InitTimes
	for i := 1; i <= 20; i++ {
		ts = append(ts, InitRun{Init: time.Duration(21-i) * time.Millisecond, FirstInvoke: time.Duration(i) * time.Millisecond})
	}
	for _, tc := range []struct {
		q     float64
		first bool
		want  time.Duration
	}{{0.5, false, 10 * time.Millisecond}, {0.9, false, 18 * time.Millisecond}, {0.9, true, 18 * time.Millisecond}, {1, true, 20 * time.Millisecond}} {
		if got := ts.Quantile(tc.q, tc.first); got != tc.want {
			t.Errorf("%s: quantile %v = %v, want %v", fmt.Sprint(tc.first), tc.q, got, tc.want)
		}
	}
}
