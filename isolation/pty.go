package isolation

// WinSize is a terminal's size in character cells (and pixels, when the
// terminal reports them).
type WinSize struct {
	Rows uint16 `json:"rows"`
	Cols uint16 `json:"cols"`
	X    uint16 `json:"x,omitempty"`
	Y    uint16 `json:"y,omitempty"`
}

// ptyTag labels the control message that carries the pty master from the
// init to sbshim; the seccomp listener travels as "listener".
const ptyTag = "pty"
