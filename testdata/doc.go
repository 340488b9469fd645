// Package testdata holds programs and fixtures for sbshim's tests: the
// attempt program, which tries one forbidden thing per invocation inside
// a sandbox and reports what happened, and (later) test MCP servers.
package testdata
