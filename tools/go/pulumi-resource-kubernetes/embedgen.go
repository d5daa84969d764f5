//go:build ignore

// embedgen minifies a JSON file, optionally setting its top-level "version" field.
// Usage: go run embedgen.go IN OUT [VERSION]
package main

import (
	"encoding/json"
	"log"
	"os"
)

func main() {
	if len(os.Args) < 3 {
		log.Fatal("usage: embedgen IN OUT [VERSION]")
	}
	in, err := os.ReadFile(os.Args[1])
	if err != nil {
		log.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(in, &doc); err != nil {
		log.Fatalf("%s: %v", os.Args[1], err)
	}
	if len(os.Args) > 3 {
		doc["version"] = os.Args[3]
	}
	out, err := json.Marshal(doc)
	if err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(os.Args[2], out, 0o644); err != nil {
		log.Fatal(err)
	}
}
