// Package dynalite runs dynalite (an implementation of the DynamoDB API,
// pinned in package.json and installed by `npm ci`) on a free loopback port
// with the project's Node, so tests prove the guard against a real DynamoDB
// implementation and not only against the in-memory model. It fails loudly
// when dynalite cannot start: a missing install is a broken build, not a skip.
package dynalite

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/firebreak-ir/firebreak/internal/contract"
)

// Server is one dynalite process, in memory.
type Server struct {
	Endpoint string
	cmd      *exec.Cmd
	exited   chan struct{}
	out      *strings.Builder
	mu       sync.Mutex
	once     sync.Once
}

const (
	startAttempts = 3
	readyTimeout  = 30 * time.Second
)

// Start runs dynalite until Close is called or ctx is done.
func Start(ctx context.Context) (*Server, error) {
	root, err := moduleRoot()
	if err != nil {
		return nil, err
	}
	cli := filepath.Join(root, "node_modules", "dynalite", "cli.js")
	if _, err := os.Stat(cli); err != nil {
		return nil, fmt.Errorf("dynalite is not installed (%w): run `npm ci` in %s (make test does)", err, root)
	}
	node, err := nodeBinary(root)
	if err != nil {
		return nil, err
	}
	var errs []error
	for range startAttempts {
		s, err := startOnce(ctx, node, cli)
		if err == nil {
			return s, nil
		}
		errs = append(errs, err)
		if ctx.Err() != nil {
			break
		}
	}
	return nil, fmt.Errorf("starting dynalite: %w", errors.Join(errs...))
}

func startOnce(ctx context.Context, node, cli string) (*Server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	// dynalite reads --port 0 as its default (4567), so a free port is chosen
	// here; another process may take it first, hence the attempts.
	cmd := exec.Command(node, cli, "--host", "127.0.0.1", "--port", port,
		"--createTableMs", "0", "--deleteTableMs", "0", "--updateTableMs", "0")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("piping dynalite's output: %w", err)
	}
	s := &Server{Endpoint: "http://127.0.0.1:" + port, cmd: cmd, exited: make(chan struct{}), out: &strings.Builder{}}
	cmd.Stderr = writerFunc(s.write)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("running %s: %w", node, err)
	}
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stdout)
		signalled := false
		for sc.Scan() {
			s.write([]byte(sc.Text() + "\n"))
			if !signalled && strings.Contains(sc.Text(), "listening at") {
				close(ready)
				signalled = true
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	go func() {
		_ = cmd.Wait()
		close(s.exited)
	}()
	go func() {
		select {
		case <-ctx.Done():
			s.Close()
		case <-s.exited:
		}
	}()
	timer := time.NewTimer(readyTimeout)
	defer timer.Stop()
	select {
	case <-ready:
		return s, nil
	case <-s.exited:
		return nil, fmt.Errorf("dynalite exited before listening on port %s:\n%s", port, s.output())
	case <-timer.C:
		s.Close()
		return nil, fmt.Errorf("dynalite did not listen on port %s within %s:\n%s", port, readyTimeout, s.output())
	case <-ctx.Done():
		s.Close()
		return nil, ctx.Err()
	}
}

type writerFunc func([]byte)

func (f writerFunc) Write(p []byte) (int, error) { f(p); return len(p), nil }

func (s *Server) write(p []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.out.Len() < 1<<16 {
		s.out.Write(p)
	}
}

func (s *Server) output() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.out.String()
}

// Close stops the process (its own process group only) and waits for it.
func (s *Server) Close() {
	s.once.Do(func() {
		if s.cmd.Process != nil {
			_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		}
	})
	<-s.exited
}

// Client is a DynamoDB client for the server, with test credentials.
func (s *Server) Client() *dynamodb.Client {
	return dynamodb.NewFromConfig(aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDDYNALITE", "dynalite-secret", ""),
		BaseEndpoint: aws.String(s.Endpoint),
	})
}

var tables atomic.Int64

// NewGuardTable creates a fresh guard table with a name of its own, so tests
// sharing one server never share state.
func (s *Server) NewGuardTable(ctx context.Context) (*dynamodb.Client, string, error) {
	name := fmt.Sprintf("firebreak-guard-%d", tables.Add(1))
	c := s.Client()
	return c, name, CreateGuardTable(ctx, c, name)
}

// CreateGuardTable creates a table with the guard's key schema, on demand,
// as infra/stack deploys it.
func CreateGuardTable(ctx context.Context, c *dynamodb.Client, name string) error {
	_, err := c.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName: aws.String(name),
		AttributeDefinitions: []ddbtypes.AttributeDefinition{
			{AttributeName: aws.String(contract.GuardPartitionKey), AttributeType: ddbtypes.ScalarAttributeTypeS},
			{AttributeName: aws.String(contract.GuardSortKey), AttributeType: ddbtypes.ScalarAttributeTypeS},
		},
		KeySchema: []ddbtypes.KeySchemaElement{
			{AttributeName: aws.String(contract.GuardPartitionKey), KeyType: ddbtypes.KeyTypeHash},
			{AttributeName: aws.String(contract.GuardSortKey), KeyType: ddbtypes.KeyTypeRange},
		},
		BillingMode: ddbtypes.BillingModePayPerRequest,
	})
	if err != nil {
		return fmt.Errorf("creating table %s in dynalite: %w", name, err)
	}
	// Even with --createTableMs 0 a table is CREATING until the next tick.
	for {
		out, err := c.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)})
		if err != nil {
			return fmt.Errorf("waiting for table %s in dynalite: %w", name, err)
		}
		if out.Table.TableStatus == ddbtypes.TableStatusActive {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(2 * time.Millisecond):
		}
	}
}

// moduleRoot is the directory holding go.mod (tests run in their package's).
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("finding the module root: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			if _, err := os.Stat(filepath.Join(dir, "package.json")); err == nil {
				return dir, nil
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("finding the module root: no go.mod beside a package.json above the working directory")
		}
		dir = parent
	}
}

// nodeBinary is the Node `make node` provisioned into .tools/, else the
// machine's (dynalite needs 20 or later).
func nodeBinary(root string) (string, error) {
	arch := map[string]string{"amd64": "x64", "arm64": "arm64"}[runtime.GOARCH]
	tools := filepath.Join(root, ".tools", "node", "node_modules", "node-linux-"+arch, "bin", "node")
	if _, err := os.Stat(tools); err == nil {
		return tools, nil
	}
	node, err := exec.LookPath("node")
	if err != nil {
		return "", fmt.Errorf("no Node to run dynalite with: run `make node` or install Node 20+: %w", err)
	}
	return node, nil
}

func freePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("choosing a free port: %w", err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port, nil
}
