package config

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the generated parts of ../docs/config.md")

const docPath = "../docs/config.md"

// docTable returns the generated key reference of docs/config.md.
func docTable() string {
	def := Default()
	var b strings.Builder
	b.WriteString("| Key | Type | Default | Environment variable | Description |\n")
	b.WriteString("|---|---|---|---|---|\n")
	for i := range entries {
		e := &entries[i]
		fmt.Fprintf(&b, "| `%s` | %s | `%s` | `%s` | %s |\n",
			e.path, e.typeName(), e.inline(def), EnvName(e.path), strings.ReplaceAll(e.help, "|", `\|`))
	}
	return b.String()
}

// docSample returns the generated sample file of docs/config.md: Write's output for Default().
func docSample() string {
	return "```yaml\n" + string(render(Default())) + "```\n"
}

// generated lists the generated blocks of docs/config.md, each between its begin and end markers.
var generated = []struct {
	name string
	gen  func() string
}{
	{"KEYS", docTable},
	{"SAMPLE", docSample},
}

func markers(name string) (begin, end string) {
	return "<!-- BEGIN GENERATED " + name + ": go test ./config -run TestDocListsEveryKey -update -->\n",
		"<!-- END GENERATED " + name + " -->\n"
}

// TestDocListsEveryKey checks that docs/config.md documents every key with its type, default,
// environment variable and description, and that its sample file is Write's output for the
// defaults. Run with -update to regenerate those parts.
func TestDocListsEveryKey(t *testing.T) {
	data, err := os.ReadFile(docPath)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(data)
	for _, g := range generated {
		begin, end := markers(g.name)
		i := strings.Index(doc, begin)
		j := strings.Index(doc, end)
		if i < 0 || j < i {
			t.Fatalf("%s lacks the markers %q ... %q", docPath, begin, end)
		}
		body := doc[i+len(begin) : j]
		if want := g.gen(); body != want {
			if !*update {
				t.Errorf("%s: generated part %s is out of date; run go test ./config -run TestDocListsEveryKey -update\ngot:\n%s\nwant:\n%s",
					docPath, g.name, body, want)
				continue
			}
			doc = doc[:i+len(begin)] + want + doc[j:]
		}
	}
	if *update {
		if err := os.WriteFile(docPath, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, k := range Keys() {
		if !strings.Contains(doc, "| `"+k+"` |") || !strings.Contains(doc, "`"+EnvName(k)+"`") {
			t.Errorf("%s does not document %s (%s)", docPath, k, EnvName(k))
		}
	}
}

// typeName describes the key's type for documentation.
func (e *entry) typeName() string {
	switch e.field(new(Config)).(type) {
	case *string:
		return "string"
	case *int:
		return "integer"
	case *uint64:
		return "unsigned integer"
	case *bool:
		return "boolean"
	case *time.Duration:
		return "duration"
	case *time.Time:
		return "time (RFC 3339)"
	case *[]string:
		return "list of strings"
	case *map[string]uint64:
		return "map: address -> unsigned integer"
	}
	panic("config: unsupported field type of " + e.path)
}
