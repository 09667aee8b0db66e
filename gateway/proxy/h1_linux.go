//go:build linux

package proxy

import "syscall"

// connAlive peeks at an idle connection without blocking: EOF or any byte
// (an idle upstream sends nothing) or an error means it is unusable.
func connAlive(pc *h1Conn) bool {
	sc, ok := pc.conn.(syscall.Conn)
	if !ok {
		return true
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	alive := true
	err = raw.Read(func(fd uintptr) bool {
		var b [1]byte
		n, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		alive = n <= 0 && (err == syscall.EAGAIN || err == syscall.EWOULDBLOCK)
		return true // never wait for readiness
	})
	return err == nil && alive
}
