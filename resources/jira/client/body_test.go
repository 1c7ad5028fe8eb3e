package client

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// TestReadBody: readBody returns exactly what io.ReadAll would, whatever
// the size hint and however the reader splits its data, and passes read
// errors on.
func TestReadBody(t *testing.T) {
	data := []byte(strings.Repeat(`{"id":"10001","fields":{"summary":"x"}},`, 5000)) // 200 KB
	tests := []struct {
		name string
		r    func() io.Reader
		hint int
	}{
		{"no hint", func() io.Reader { return bytes.NewReader(data) }, 0},
		{"hint exact", func() io.Reader { return bytes.NewReader(data) }, len(data)},
		{"hint smaller", func() io.Reader { return bytes.NewReader(data) }, len(data) / 3},
		{"hint larger", func() io.Reader { return bytes.NewReader(data) }, 4 * len(data)},
		{"one byte at a time", func() io.Reader { return iotest.OneByteReader(bytes.NewReader(data)) }, 100},
		{"EOF with the last data", func() io.Reader { return iotest.DataErrReader(bytes.NewReader(data)) }, len(data)},
		{"empty", func() io.Reader { return bytes.NewReader(nil) }, 1000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want, err := io.ReadAll(tt.r())
			if err != nil {
				t.Fatal(err)
			}
			got, err := readBody(tt.r(), tt.hint)
			if err != nil {
				t.Fatalf("readBody: %v", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("readBody read %d bytes, want the %d io.ReadAll reads", len(got), len(want))
			}
		})
	}
	boom := errors.New("connection reset")
	got, err := readBody(io.MultiReader(bytes.NewReader(data[:1000]), iotest.ErrReader(boom)), 0)
	if !errors.Is(err, boom) || len(got) != 1000 {
		t.Errorf("readBody of a failing reader = %d bytes, %v; want 1000 bytes and the read error", len(got), err)
	}
}

// TestReadBodyAllocates: with the last body's size as hint, a body is read
// into one buffer of about its size, not grown from 512 bytes.
func TestReadBodyAllocates(t *testing.T) {
	data := make([]byte, 3<<20) // a search page of 100 issues
	r := bytes.NewReader(data)
	allocated := func(hint int) float64 {
		return testing.AllocsPerRun(5, func() {
			r.Reset(data)
			if _, err := readBody(r, hint); err != nil {
				t.Fatal(err)
			}
		})
	}
	if n := allocated(len(data)); n > 1 {
		t.Errorf("readBody with the size as hint allocated %v times, want 1", n)
	}
	if n := allocated(0); n < 10 {
		t.Errorf("readBody with no hint allocated %v times; the test no longer shows what the hint saves", n)
	}
}
