//go:build !linux

package isolation

// initFork is an init being started; there is none on this platform.
type initFork struct{}

// Prefork starts nothing on this platform: Start forks what it needs.
func Prefork(*StartTrace) *Preforked { return nil }

// Discard ends the preforked init unless Start took it.
func (p *Preforked) Discard() {}
