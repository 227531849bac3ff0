// Package runtimes knows the managed runtimes lambdaplane supports: how to
// start each one's bootstrap (our own Runtime API clients for Node.js and
// Python, the function's own bootstrap for provided*) and where the AWS SDKs
// that Lambda puts on the load path live.
package runtimes

// Family groups runtimes that start the same way.
type Family string

const (
	NodeJS   Family = "nodejs"
	Python   Family = "python"
	Provided Family = "provided"
)

// Runtime is one supported runtime identifier (nodejs20.x, python3.12, provided.al2023, ...).
type Runtime struct {
	Name   string
	Family Family
	// Version is the language version the identifier names ("20", "3.12"); empty for provided.
	Version string
}

// Launch is how to start a runtime's bootstrap process for one function.
type Launch struct {
	// Argv[0] is an absolute path.
	Argv []string
	// Env holds extra KEY=VALUE entries the runtime needs (NODE_PATH,
	// PYTHONPATH, ...). The sandbox adds Lambda's reserved variables itself.
	Env []string
}
