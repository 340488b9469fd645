// Package configs holds the profiles shipped with sbshim, embedded in the
// binary. default.json is the base layer of every policy; the others are
// modifiers that a user layers on top of it with --profile.
//
// The files are plain JSON in the profile format that isolation.ParseProfile
// reads; each one has a "description" key saying what it is for.
package configs
