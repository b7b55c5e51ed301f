package report

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/escrowtrace/escrowtrace/escrowjson"
)

// decodeEvents reads one legacy escrow file. It is the only place that knows
// which package owns the format.
func decodeEvents(r io.Reader) ([]escrowjson.Event, error) { return escrowjson.Decode(r) }

// maxFileBytes bounds one escrow file: a real one is 20-60 KB, a run of
// 10,000 events about 5 MB.
const maxFileBytes = 256 << 20

// Input is the events of one escrow and where they came from.
type Input struct {
	Source string // a file path, or a URL
	Events []escrowjson.Event
}

// FileError is a file that could not be read as a legacy escrow file.
type FileError struct {
	Path string
	Err  error
}

func (e *FileError) Error() string { return e.Path + ": " + e.Err.Error() }
func (e *FileError) Unwrap() error { return e.Err }

// IsEscrowFile reports whether a base name is one the exporter writes:
// escrow_<id>.json, escrow_<id>_FAILED.json or escrow_<id>_PARTIAL.json.
func IsEscrowFile(name string) bool {
	return strings.HasPrefix(name, "escrow_") && strings.HasSuffix(name, ".json")
}

// Load reads escrow files. Each path is a file, or a directory whose
// escrow_*.json files are read (not its subdirectories). Files that cannot
// be read or decoded are returned as *FileError values joined in err, beside
// the inputs that could be read: the caller decides whether to go on. A
// directory without escrow files and a path that does not exist are errors
// too.
func Load(paths ...string) ([]Input, error) {
	if len(paths) == 0 {
		return nil, errors.New("no files or directories given")
	}
	var files []string
	var errs []error
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			errs = append(errs, &FileError{p, err})
			continue
		}
		if !st.IsDir() {
			files = append(files, p)
			continue
		}
		entries, err := os.ReadDir(p)
		if err != nil {
			errs = append(errs, &FileError{p, err})
			continue
		}
		n := 0
		for _, e := range entries {
			if e.Type().IsRegular() && IsEscrowFile(e.Name()) {
				files = append(files, filepath.Join(p, e.Name()))
				n++
			}
		}
		if n == 0 {
			errs = append(errs, &FileError{p, errors.New("no escrow_*.json files in this directory")})
		}
	}
	slices.Sort(files)
	files = slices.Compact(files)
	var in []Input
	for _, f := range files {
		evs, err := readFile(f)
		if err != nil {
			errs = append(errs, &FileError{f, err})
			continue
		}
		in = append(in, Input{Source: f, Events: evs})
	}
	return in, errors.Join(errs...)
}

func readFile(path string) ([]escrowjson.Event, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("not a regular file")
	}
	if st.Size() > maxFileBytes {
		return nil, fmt.Errorf("%d bytes: larger than the %d MiB an escrow file can be", st.Size(), maxFileBytes>>20)
	}
	if st.Size() == 0 {
		return nil, errors.New("empty file: a legacy escrow file is a JSON array, [] when it has no events")
	}
	evs, err := decodeEvents(io.LimitReader(f, maxFileBytes))
	if err != nil {
		return nil, explainDecode(err)
	}
	return evs, nil
}

// explainDecode makes encoding/json's words say what is wrong with a file.
func explainDecode(err error) error {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "unexpected end of JSON input"):
		return fmt.Errorf("truncated: the JSON array ends early (%w)", err)
	case strings.Contains(msg, "invalid character"):
		return fmt.Errorf("not JSON (%w)", err)
	case strings.Contains(msg, "cannot unmarshal"):
		return fmt.Errorf("not a legacy escrow file, a JSON array of events (%w)", err)
	}
	return err
}
