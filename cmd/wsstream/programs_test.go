package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSSHProxyCommand logs in to a throwaway sshd through the tunnel,
// with the client in -stdio mode as ssh's ProxyCommand and a token from
// the environment, runs a command, and pipes 4 MiB through the session.
func TestSSHProxyCommand(t *testing.T) {
	sshd := requireProgram(t, "sshd")
	sshBin := requireProgram(t, "ssh")
	keygen := requireProgram(t, "ssh-keygen")
	bin := binary(t)
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() == 0 {
		os.MkdirAll("/run/sshd", 0o755) // sshd's privilege separation directory
	}

	dir := t.TempDir()
	for _, k := range []string{"host_key", "id"} {
		if out, err := exec.Command(keygen, "-q", "-t", "ed25519", "-N", "", "-f", filepath.Join(dir, k)).CombinedOutput(); err != nil {
			t.Fatalf("ssh-keygen: %v\n%s", err, out)
		}
	}
	pub, err := os.ReadFile(filepath.Join(dir, "id.pub"))
	if err != nil {
		t.Fatal(err)
	}
	authorized := writeFile(t, "authorized_keys", string(pub))
	sshAddr := freePort(t)
	_, sshPort, _ := net.SplitHostPort(sshAddr)
	p := start(t, nil, sshd, "-D", "-e", "-f", "/dev/null",
		"-o", "Port="+sshPort, "-o", "ListenAddress=127.0.0.1",
		"-o", "HostKey="+filepath.Join(dir, "host_key"), "-o", "PidFile="+filepath.Join(dir, "sshd.pid"),
		"-o", "AuthorizedKeysFile="+authorized, "-o", "PermitRootLogin=prohibit-password",
		"-o", "StrictModes=no", "-o", "PasswordAuthentication=no", "-o", "KbdInteractiveAuthentication=no",
		"-o", "UsePAM=no")
	p.stderr.waitFor(t, "Server listening on 127.0.0.1 port "+sshPort)

	const token = "ssh-test-token"
	server := start(t, []string{tokenEnv + "=" + token}, bin, "server", "-listen", "127.0.0.1:0", "-to", sshAddr)
	url := server.listening(t)

	ssh := func(stdin io.Reader, command ...string) ([]byte, error) {
		ctx, cancel := context.WithTimeout(testContext(t), 60*time.Second)
		defer cancel()
		args := append([]string{
			"-o", "ProxyCommand=" + bin + " client -stdio -url " + url,
			"-i", filepath.Join(dir, "id"), "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
			"-o", "BatchMode=yes", "-o", "LogLevel=ERROR", "-p", sshPort, u.Username + "@127.0.0.1",
		}, command...)
		cmd := exec.CommandContext(ctx, sshBin, args...)
		cmd.Env = append(os.Environ(), tokenEnv+"="+token)
		cmd.Stdin = stdin
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		cmd.WaitDelay = 10 * time.Second
		out, err := cmd.Output()
		if err != nil {
			err = fmt.Errorf("%w; stderr:\n%s", err, stderr.String())
		}
		return out, err
	}

	out, err := ssh(nil, "echo", "hello")
	if err != nil || string(out) != "hello\n" {
		t.Fatalf("ssh echo hello: %q, %v", out, err)
	}

	const size = 4 << 20
	data := make([]byte, size)
	rand.NewChaCha8([32]byte{21}).Read(data)
	out, err = ssh(bytes.NewReader(data), "sha256sum")
	if want := fmt.Sprintf("%x", sha256.Sum256(data)); err != nil || !strings.HasPrefix(string(out), want) {
		t.Fatalf("ssh sha256sum of %d bytes: %q, %v; want %s", size, out, err, want)
	}
	server.stderr.waitFor(t, "tunnel closed")
}

// TestHTTPDownload fetches a random 32 MiB file with curl from python3's
// http.server through the tunnel, byte-exact by SHA-256.
func TestHTTPDownload(t *testing.T) {
	python := requireProgram(t, "python3")
	curl := requireProgram(t, "curl")
	dir := t.TempDir()
	const size = 32 << 20
	data := make([]byte, size)
	rand.NewChaCha8([32]byte{32}).Read(data)
	if err := os.WriteFile(filepath.Join(dir, "file.bin"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	httpAddr := freePort(t)
	_, port, _ := net.SplitHostPort(httpAddr)
	web := start(t, nil, python, "-u", "-m", "http.server", "--bind", "127.0.0.1", "--directory", dir, port)
	waitListening(t, web, httpAddr)
	_, _, addr := startPair(t, httpAddr, []string{"-insecure-no-auth"}, nil)

	ctx, cancel := context.WithTimeout(testContext(t), 90*time.Second)
	defer cancel()
	out := filepath.Join(t.TempDir(), "out.bin")
	cmd := exec.CommandContext(ctx, curl, "-sS", "--fail", "-o", out, "http://"+addr+"/file.bin")
	cmd.WaitDelay = 10 * time.Second
	start := time.Now()
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("curl: %v\n%s", err, b)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != size || sha256.Sum256(got) != sha256.Sum256(data) {
		t.Fatalf("downloaded %d bytes, want %d with the same SHA-256", len(got), size)
	}
	t.Logf("32 MiB in %v", time.Since(start).Round(time.Millisecond))
}

// TestStdio runs the client binary with -stdio against an echo target:
// what goes in on stdin comes back on stdout; when stdin ends, the client
// exits 0.
func TestStdio(t *testing.T) {
	bin := binary(t)
	target := startTarget(t, echoHandler)
	server := start(t, nil, bin, "server", "-listen", "127.0.0.1:0", "-to", target)
	url := server.listening(t)

	cmd := exec.Command(bin, "client", "-stdio", "-url", url)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	doneCh := make(chan error, 1)
	go func() { doneCh <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		select {
		case <-doneCh:
		case <-time.After(10 * time.Second):
			t.Error("the client did not exit after SIGKILL")
		}
	})

	const size = 1 << 20
	data := make([]byte, size)
	rand.NewChaCha8([32]byte{3}).Read(data)
	go stdin.Write(data) // fails, and returns, if the client dies
	got := make([]byte, size)
	if _, err := io.ReadFull(stdout, got); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read %v; the echo differs or is short; stderr:\n%s", err, stderr.String())
	}
	stdin.Close()
	if n, err := io.Copy(io.Discard, stdout); n != 0 || err != nil {
		t.Fatalf("after stdin ended: %d more bytes, %v; want EOF", n, err)
	}
	select {
	case err := <-doneCh:
		doneCh <- err
		if err != nil {
			t.Fatalf("the client exited with %v; stderr:\n%s", err, stderr.String())
		}
	case <-time.After(testTimeout):
		t.Fatal("the client did not exit after stdin ended")
	}
}
