package core

// The implementations of kpipe's implementation.go, which documents them.
const (
	ImplLinuxCgo = "linux-cgo"
	ImplLinuxGo  = "linux-go"
	ImplPortable = "portable"
)

// Implementation implements kpipe.Implementation, which documents it.
func Implementation() string { return implementation }
