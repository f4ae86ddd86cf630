package lab

import "golang.org/x/sys/unix"

func bindMount(src, dst string) error {
	return unix.Mount(src, dst, "", unix.MS_BIND|unix.MS_REC, "")
}

func detach(dst string) error {
	return unix.Unmount(dst, unix.MNT_DETACH)
}
