package dest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// lockPollInterval is how often LockFile retries while another holder keeps
// the lock.
const lockPollInterval = 50 * time.Millisecond

// LockFile takes an exclusive advisory lock on the file at path (created if
// missing) for the apply lock of a destination. The lock is an OS file lock
// (flock), so it is released by the kernel when the holder exits, even after
// SIGKILL, and it conflicts between processes and between two opens in the
// same process alike. While held, the file contains info as JSON, which lets
// a waiting process name the holder.
//
// LockFile waits up to timeout (0: not at all) and then returns *ErrLocked
// with the holder read from the file. The returned unlock clears the holder
// and releases the lock; it is safe to call more than once.
func LockFile(ctx context.Context, path string, info LockInfo, timeout time.Duration) (unlock func() error, err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open lock file: %w", err)
	}
	deadline := time.Now().Add(timeout)
	for {
		ok, err := tryLock(f)
		if err != nil {
			return nil, errors.Join(fmt.Errorf("lock %s: %w", path, err), f.Close())
		}
		if ok {
			break
		}
		if !time.Now().Before(deadline) {
			holder, _ := ReadLockFile(path)
			return nil, errors.Join(&ErrLocked{Holder: holder, Path: path}, f.Close())
		}
		select {
		case <-ctx.Done():
			return nil, errors.Join(fmt.Errorf("wait for lock %s: %w", path, ctx.Err()), f.Close())
		case <-time.After(min(lockPollInterval, time.Until(deadline))):
		}
	}
	if err := writeHolder(f, info); err != nil {
		return nil, errors.Join(fmt.Errorf("write lock holder to %s: %w", path, err), unlockFile(f), f.Close())
	}
	done := false
	return func() error {
		if done {
			return nil
		}
		done = true
		// Clear the holder first: a reader that sees an empty file knows the
		// lock is free or being taken.
		return errors.Join(f.Truncate(0), unlockFile(f), f.Close())
	}, nil
}

// ReadLockFile returns the holder recorded in a lock file written by
// LockFile. ok is false when the file is missing, empty or unreadable.
func ReadLockFile(path string) (info LockInfo, ok bool) {
	data, err := os.ReadFile(path)
	if err != nil || len(data) == 0 {
		return LockInfo{}, false
	}
	if err := json.Unmarshal(data, &info); err != nil {
		return LockInfo{}, false
	}
	return info, true
}

func writeHolder(f *os.File, info LockInfo) error {
	data, err := json.Marshal(info)
	if err != nil {
		return err
	}
	if err := f.Truncate(0); err != nil {
		return err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		return err
	}
	return f.Sync()
}
