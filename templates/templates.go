// Package templates holds the fixed scaffolding of the code `kvmgen gen`
// writes (package gen renders the per-type parts with jennifer): the
// header, imports, constants, the Kernel type and Bind. Keeping it as Go
// text makes it readable and reviewable as the code it produces.
package templates

import "embed"

// FS holds the templates (*.go.tmpl), parsed with text/template.
//
//go:embed *.go.tmpl
var FS embed.FS
