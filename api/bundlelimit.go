package api

import (
	"net/http"
)

// decodeBundle is decodeBody for POST /v1/peers/bundle: its body may be as large as a full
// address book's bundle (MaxBundleBytes), so that every export imports.
func (h *handler) decodeBundle(w http.ResponseWriter, r *http.Request, v any) bool {
	bh := *h
	bh.maxBody = max(h.maxBody, MaxBundleBytes)
	return bh.decodeBody(w, r, v)
}
