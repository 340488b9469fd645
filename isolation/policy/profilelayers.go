package policy

// ProfileLayers is what Load merges, before anything is expanded: for a tool
// that writes a profile meant to replace the --profile layer (sbshim
// learn), which must repeat the allow lists in force since a later layer
// replaces them.
type ProfileLayers struct {
	// Merged is every layer Load would merge, flags excluded, merged as
	// Load merges them; paths keep their variables.
	Merged *Profile
	// Top is the --profile layer alone, nil when there is none (or it is
	// the built-in default, already the base).
	Top *Profile
	// TopSource names where Top came from ("built-in:NAME" or a file).
	TopSource string
}

// LoadProfileLayers reads the layers Load would use for o, without the flags
// layer, and merges them without expanding anything.
func LoadProfileLayers(o LoadOptions) (*ProfileLayers, error) {
	userDir, err := userConfigDir(o.UserConfigDir)
	if err != nil {
		return nil, err
	}
	layers, _, top, err := o.profileLayers(userDir, o.Vars.Home)
	if err != nil {
		return nil, err
	}
	out := &ProfileLayers{Merged: mergeLayers(layers)}
	if top != nil {
		out.Top, out.TopSource = top.profile, top.source
	}
	return out, nil
}

// ServerLayer is a built-in server profile picked for a command sbshim
// recognised, with the grants derived from the command (its directory
// arguments, say) already in Profile. Its allow lists add to the default
// profile's instead of replacing them; the user's config file, --profile
// and flags come after it and override it as usual.
type ServerLayer struct {
	// Name is the server profile's name, added to the policy's Name.
	Name string
	// Source says where it came from, for Policy.Sources, e.g.
	// "built-in:servers/filesystem (npm package …)".
	Source  string
	Profile *Profile
}

// layer returns the server layer, if there is one.
func (s *ServerLayer) layer() (layer, bool) {
	if s == nil || s.Profile == nil {
		return layer{}, false
	}
	return layer{source: s.Source, profile: s.Profile, flags: true}, true
}
