package localnet

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// helperEnv makes the test binary a network helper: "listen ADDR" accepts connections on ADDR
// and answers each with "ok" until its stdin closes; "dial ADDR" connects to ADDR within 1 s
// and exits 0 only if it reads "ok".
const helperEnv = "LOCALNET_TEST_HELPER"

func runHelper(arg string) int {
	cmd, addr, _ := strings.Cut(arg, " ")
	switch cmd {
	case "listen":
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fmt.Println("listening")
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				_, _ = c.Write([]byte("ok"))
				_ = c.Close()
			}
		}()
		_, _ = io.Copy(io.Discard, os.Stdin)
		_ = ln.Close()
		return 0
	case "dial":
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return 1
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(time.Second))
		b := make([]byte, 2)
		if _, err := io.ReadFull(c, b); err != nil || string(b) != "ok" {
			return 1
		}
		return 0
	}
	return 2
}

// TestNetnsLinks builds a two-node netns network and checks that a node reaches the other, that
// a cut stops exactly the cut direction's traffic, that healing restores it, and that close
// leaves no namespace and no host interface behind.
func TestNetnsLinks(t *testing.T) {
	if err := NetnsAvailable(); err != nil {
		t.Skipf("netns links need root, ip and tc: %v", err)
	}
	ctx := context.Background()
	ns, err := SetupNetns(ctx, 2, true)
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	t.Cleanup(func() {
		if !closed {
			_ = ns.Close()
		}
	})
	listenAddr := net.JoinHostPort(ns.Addr(1).String(), "7999")
	argv := ns.Command(1, []string{os.Args[0], "-test.run=^$"})
	ln := exec.Command(argv[0], argv[1:]...)
	ln.Env = append(os.Environ(), helperEnv+"=listen "+listenAddr)
	stdin, err := ln.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := ln.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := ln.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = stdin.Close(); _ = ln.Wait() })
	if line, err := bufio.NewReader(stdout).ReadString('\n'); err != nil || line != "listening\n" {
		t.Fatalf("listener helper said %q (%v)", line, err)
	}
	dial := func() bool {
		argv := ns.Command(0, []string{os.Args[0], "-test.run=^$"})
		c := exec.Command(argv[0], argv[1:]...)
		c.Env = append(os.Environ(), helperEnv+"=dial "+listenAddr)
		return c.Run() == nil
	}
	if !dial() {
		t.Fatal("node0 cannot reach node1 on a healthy link")
	}
	if err := ns.SetLink(ctx, 0, 1, Link{Cut: true}); err != nil {
		t.Fatal(err)
	}
	if dial() {
		t.Fatal("node0 reaches node1 through a cut link")
	}
	if err := ns.SetLink(ctx, 0, 1, Link{}); err != nil {
		t.Fatal(err)
	}
	if !dial() {
		t.Fatal("node0 cannot reach node1 after the link healed")
	}
	// The other direction's cut drops the answers: the handshake cannot complete either.
	if err := ns.SetLink(ctx, 1, 0, Link{Cut: true}); err != nil {
		t.Fatal(err)
	}
	if dial() {
		t.Fatal("node0 reaches node1 although node1's traffic to node0 is cut")
	}
	_ = stdin.Close()
	_ = ln.Wait()
	names := append([]string{}, ns.madeNS...)
	if err := ns.Close(); err != nil {
		t.Fatal(err)
	}
	closed = true
	out, err := ipOut(ctx, "netns", "list")
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if strings.Contains(out, n) {
			t.Errorf("namespace %s is still there after close", n)
		}
	}
	if links, _ := ipOut(ctx, "-o", "link"); strings.Contains(links, ns.hostIf+"@") || strings.Contains(links, ns.hostIf+":") {
		t.Errorf("host interface %s is still there after close", ns.hostIf)
	}
}

// TestNeighbourLimits: the limits n nodes need (about n*(n+1) neighbours), never lowered.
func TestNeighbourLimits(t *testing.T) {
	for _, tc := range []struct {
		n         int
		cur, want [2]int
	}{
		{3, [2]int{512, 1024}, [2]int{512, 1024}},
		{16, [2]int{512, 1024}, [2]int{512, 1024}},
		{32, [2]int{512, 1024}, [2]int{1056, 2112}},
		{64, [2]int{512, 1024}, [2]int{4160, 8320}},
		{64, [2]int{8192, 16384}, [2]int{8192, 16384}},
	} {
		if got := neighbourLimits(tc.n, tc.cur); got != tc.want {
			t.Errorf("%d nodes from %v: %v, want %v", tc.n, tc.cur, got, tc.want)
		}
	}
}
