//go:build !(linux || darwin || freebsd || netbsd || openbsd)

package kvm

import (
	"io"
	"os"
)

type mmapReader struct{ io.ReaderAt }

func mmapFile(f *os.File, size int64) (*mmapReader, bool) { return nil, false }
func (m *mmapReader) Close() error                        { return nil }
