package isolation

// Preforked is a sandbox's init started before the session knows its
// policy: forking into new namespaces and starting a second Go runtime
// take milliseconds, which then overlap with loading the policy and
// building the init's spec. The init does nothing until it gets its spec
// (and its stdin, stdout and stderr with it). A nil *Preforked is none.
type Preforked struct {
	f *initFork
}
