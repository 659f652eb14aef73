package api

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
)

// health serves GET /v1/health: 200 with the components when the node is healthy, 503 with the
// same body when it is not (CONTRACT §9).
func (h *handler) health(w http.ResponseWriter, r *http.Request) {
	hl, err := h.read.Health(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if hl.Components == nil {
		hl.Components = []HealthComponent{}
	}
	status := http.StatusOK
	if !hl.Healthy {
		status = http.StatusServiceUnavailable
	}
	writeJSON(w, status, hl)
}

// Health returns GET /v1/health. An unhealthy node answers 503 with the health body: that is a
// result, not an error (Healthy is false). Other answers are an *APIError.
func (c *Client) Health(ctx context.Context) (Health, error) {
	var hl Health
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/v1/health", nil)
	if err != nil {
		return hl, fmt.Errorf("GET /v1/health: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	res, err := c.hc.Do(req)
	if err != nil {
		return hl, err
	}
	defer res.Body.Close()
	data, err := io.ReadAll(io.LimitReader(res.Body, maxAnswerBytes))
	if err != nil {
		return hl, fmt.Errorf("GET /v1/health: read answer: %w", err)
	}
	if res.StatusCode != http.StatusOK && res.StatusCode != http.StatusServiceUnavailable {
		return hl, answerError(res.StatusCode, data)
	}
	if err := json.Unmarshal(data, &hl); err != nil || hl.Components == nil {
		// A 503 from elsewhere (a busy node) is an error body, not a health answer.
		return Health{}, answerError(res.StatusCode, data)
	}
	return hl, nil
}
