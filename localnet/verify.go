package localnet

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
	"time"
)

// VerifyBound bounds one `node verify`.
const VerifyBound = 2 * time.Minute

// Verified is the outcome of `node verify` on one home.
type Verified struct {
	Node   int    `json:"node"`
	OK     bool   `json:"ok"`
	Height uint64 `json:"height"`
	Error  string `json:"error,omitempty"`
}

// Verify runs `exe verify --home home` (the node stopped) and reads its JSON report.
func Verify(ctx context.Context, exe, home string, env []string) (ok bool, height uint64, problem string) {
	c, cancel := context.WithTimeout(ctx, VerifyBound)
	defer cancel()
	cmd := exec.CommandContext(c, exe, "verify", "--home", home)
	cmd.Env = env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return false, 0, fmt.Sprintf("%v: %s", err, strings.TrimSpace(errb.String()))
	}
	var rep struct {
		OK     bool   `json:"ok"`
		Height uint64 `json:"height"`
	}
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		return false, 0, "cannot read its report: " + err.Error()
	}
	if !rep.OK {
		return false, rep.Height, strings.TrimSpace(out.String())
	}
	return true, rep.Height, ""
}
