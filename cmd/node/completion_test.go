package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestCompletionScripts: `node completion bash|zsh|fish` each print their shell's script, which
// that shell parses where it is installed; an unknown shell is a usage error.
func TestCompletionScripts(t *testing.T) {
	for _, c := range []struct{ shell, marker, check string }{
		{"bash", "# bash completion V2 for node", "-n"},
		{"zsh", "#compdef node", "-n"},
		{"fish", "# fish completion for node", "--no-execute"},
		{"powershell", "Register-ArgumentCompleter", ""},
	} {
		t.Run(c.shell, func(t *testing.T) {
			script := cli(t, "completion", c.shell).want(t, exitOK)
			if !strings.Contains(script, c.marker) || !strings.Contains(script, "__complete") {
				t.Fatalf("completion %s: not its script:\n%.300s", c.shell, script)
			}
			if c.check == "" {
				return
			}
			sh, err := exec.LookPath(c.shell)
			if err != nil {
				t.Logf("%s is not installed: its script was not parsed", c.shell)
				return
			}
			file := filepath.Join(t.TempDir(), "node."+c.shell)
			if err := os.WriteFile(file, []byte(script), 0o600); err != nil {
				t.Fatal(err)
			}
			if out, err := exec.Command(sh, c.check, file).CombinedOutput(); err != nil {
				t.Fatalf("%s %s does not parse the script: %v\n%s", c.shell, c.check, err, out)
			}
		})
	}
	if r := cli(t, "completion", "tcsh"); r.code != exitUsage {
		t.Fatalf("completion tcsh: exit %d, want %d", r.code, exitUsage)
	}
}

// TestCompletionCandidates checks what the scripts ask the binary for (`node __complete ...`):
// commands, subcommands and the values of --log-format and --log-level.
func TestCompletionCandidates(t *testing.T) {
	for _, c := range []struct {
		args []string
		want []string
	}{
		{[]string{""}, []string{"run", "devnet", "status", "db", "version", "completion"}},
		{[]string{"db", ""}, []string{"check", "salvage"}},
		{[]string{"peers", "ex"}, []string{"export"}},
		{[]string{"--log-format", ""}, []string{"text", "json"}},
		{[]string{"status", "--log-level", ""}, []string{"debug", "info", "warn", "error"}},
	} {
		out := cli(t, append([]string{"__complete"}, c.args...)...).want(t, exitOK)
		var got []string
		for _, l := range strings.Split(out, "\n") {
			if l == "" || strings.HasPrefix(l, ":") {
				continue
			}
			got = append(got, strings.SplitN(l, "\t", 2)[0])
		}
		for _, w := range c.want {
			if !contains(got, w) {
				t.Errorf("__complete %q: %q missing from %q", c.args, w, got)
			}
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestBashCompletesSubcommands sources the bash script in a real bash, with `node` on PATH being
// this test binary acting as the node (asNodeEnv), and completes `node db s` to salvage. Without
// the bash-completion package a minimal _get_comp_words_by_ref stands in for its helper.
func TestBashCompletesSubcommands(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("SKIPPED: bash is not installed")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	wrapper := fmt.Sprintf("#!/bin/sh\n%s=1 exec %q \"$@\"\n", asNodeEnv, exe)
	if err := os.WriteFile(filepath.Join(dir, "node"), []byte(wrapper), 0o700); err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(dir, "node.bash")
	if err := os.WriteFile(script, []byte(cli(t, "completion", "bash").want(t, exitOK)), 0o600); err != nil {
		t.Fatal(err)
	}
	prog := `
if [ -f /usr/share/bash-completion/bash_completion ]; then . /usr/share/bash-completion/bash_completion; fi
if ! type _get_comp_words_by_ref >/dev/null 2>&1; then
  _get_comp_words_by_ref() { cur="${COMP_WORDS[COMP_CWORD]}"; prev="${COMP_WORDS[COMP_CWORD-1]}"; words=("${COMP_WORDS[@]}"); cword=$COMP_CWORD; }
fi
. "$1"
COMP_WORDS=(node db s); COMP_CWORD=2; COMP_LINE="node db s"; COMP_POINT=${#COMP_LINE}
__start_node 2>/dev/null
printf 'reply=%s\n' "${COMPREPLY[@]}"
`
	cmd := exec.Command(bash, "-c", prog, "bash", script)
	cmd.Env = append(os.Environ(), "PATH="+dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("bash: %v\n%s", err, out)
	}
	if strings.TrimSpace(string(out)) != "reply=salvage" {
		t.Fatalf("bash completed `node db s` to %q, want reply=salvage", out)
	}
}
