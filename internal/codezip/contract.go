// Package codezip unpacks deployment packages, which are untrusted: nothing in
// an archive may write outside the destination directory.
package codezip

// Limits for a deployment package, AWS's by default.
type Limits struct {
	MaxUnzipped int64 // 250 MiB on AWS (262144000 bytes)
	MaxFiles    int
}

// DefaultLimits are AWS's.
var DefaultLimits = Limits{MaxUnzipped: 262144000, MaxFiles: 100000}
