// Package spec is the host spec: what the user wants of the host, from
// `photonctl setup` flags or a YAML file (--config) with the same field
// names, flags overriding the file. It only holds and validates values; the
// steps decide what the values mean for the host.
package spec
