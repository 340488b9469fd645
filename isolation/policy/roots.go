package policy

// WritableRoots returns the folders the protected names are joined to:
// the clean filesystem.allowWrite entries, then Vars.Home, without
// duplicates, in the order ProtectedPaths and CheckCreate try them. A
// backend that enforces the protected names as patterns (macOS Seatbelt)
// needs the roots rather than the paths that exist now.
func (p *Policy) WritableRoots() []string { return p.writableRoots() }

// WorkTreeRoots returns the writable roots the user runs git in (every
// allowWrite entry but $TMP and those within $CACHE or sbshim's private
// folders): where no .git or HEAD may be made (CreateOnlyNames) and the
// git directories of nested repositories are protected (NestedGitNames).
func (p *Policy) WorkTreeRoots() []string { return p.workTreeRoots() }

// NestedGitNames returns the protected names, relative to a work tree
// root (WorkTreeRoots), of the git directories nested at any depth in it:
// those of ProtectedNames that lie under .git/, each under "**/".
func NestedGitNames() []string { return nestedGitNames() }

// DisplayPath writes an absolute path the way a profile and a rule would:
// under the longest matching variable ($WORKSPACE, $TMP, $CACHE or ~),
// else as it is.
func (v Vars) DisplayPath(p string) string { return v.displayPath(p) }
