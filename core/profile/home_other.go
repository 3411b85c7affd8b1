//go:build !windows

package profile

// homeEnv names the home directory (home_windows.go for Windows).
const homeEnv = "HOME"
