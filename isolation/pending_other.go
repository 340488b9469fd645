//go:build !linux

package isolation

// TEMPORARY until the policy branch is merged.
func (p *Policy) Environ(host []string) []string { return host }
func (p *Policy) ProtectedPaths() []string       { return nil }
