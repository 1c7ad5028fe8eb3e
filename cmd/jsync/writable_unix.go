//go:build unix

package main

import "golang.org/x/sys/unix"

// writable reports whether this process may write path (a file, or a
// directory to create files in), by the permissions and the mount: a
// read-only file system or a directory owned by another user fails. A
// variable for the tests.
var writable = func(path string) bool {
	return unix.Access(path, unix.W_OK) == nil
}
