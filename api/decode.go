package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"

	"github.com/actorchain/actorchain/errcode"
)

// decodeBody reads r's body (at most h.maxBody bytes) and decodes it strictly into v, a pointer
// to a struct. On failure it answers (413 body_too_large or 400 malformed) and returns false.
func (h *handler) decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	tooLarge := func() bool {
		writeError(w, errcode.BodyTooLarge,
			fmt.Sprintf("body: larger than %d bytes", h.maxBody))
		return false
	}
	if r.ContentLength > h.maxBody {
		return tooLarge()
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.maxBody))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return tooLarge()
		}
		writeError(w, errcode.Malformed, "body: "+err.Error())
		return false
	}
	if err := decodeStrict(data, v); err != nil {
		writeError(w, errcode.Malformed, err.Error())
		return false
	}
	return true
}

// decodeStrict decodes exactly one JSON object from data into v: unknown fields, a value that is
// not an object and anything after the object are errors. Errors name the field or the problem.
func decodeStrict(data []byte, v any) error {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return errors.New("body: empty; want a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if trimmed[0] != '{' {
		if !json.Valid(trimmed) {
			var x any
			return describeJSONError(json.Unmarshal(trimmed, &x))
		}
		return fmt.Errorf("body: want a JSON object, got %s", jsonKind(trimmed[0]))
	}
	if err := dec.Decode(v); err != nil {
		return describeJSONError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("body: unexpected data after the JSON object")
	}
	return nil
}

// describeJSONError rewords encoding/json's errors so that they name the field.
func describeJSONError(err error) error {
	if se, ok := errors.AsType[*json.SyntaxError](err); ok {
		return fmt.Errorf("body: invalid JSON at byte %d: %s", se.Offset, se.Error())
	}
	if te, ok := errors.AsType[*json.UnmarshalTypeError](err); ok {
		field := te.Field
		if field == "" {
			field = "body"
		}
		return fmt.Errorf("%s: want %s, got %s", field, describeType(te.Type), te.Value)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return errors.New("body: truncated JSON")
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return fmt.Errorf("%s: unknown field", strings.Trim(name, `"`))
	}
	return fmt.Errorf("body: %v", err)
}

func describeType(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Uint64, reflect.Uint32, reflect.Uint:
		return "an unsigned integer"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Struct, reflect.Map:
		return "a JSON object"
	default:
		return t.String()
	}
}

// jsonKind names the kind of JSON value that starts with c.
func jsonKind(c byte) string {
	switch c {
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	default:
		return "a number"
	}
}
