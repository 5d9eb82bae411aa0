module github.com/kvmgen/kvmgen

go 1.26.0

require (
	github.com/dave/jennifer v1.7.1 // indirect
	github.com/go-delve/delve v1.27.2 // indirect
	github.com/golang/snappy v1.0.0 // indirect
	github.com/klauspost/compress v1.20.3 // indirect
	golang.org/x/tools v0.52.0 // indirect
)
