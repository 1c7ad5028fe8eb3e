//go:build !unix

package dest

import (
	"errors"
	"os"
)

var errNoFileLock = errors.New("file locks are not supported on this platform")

func tryLock(*os.File) (bool, error) { return false, errNoFileLock }

func unlockFile(*os.File) error { return nil }
