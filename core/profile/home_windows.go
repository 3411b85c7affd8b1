package profile

// homeEnv names the home directory: Windows keeps it in USERPROFILE (upstream's
// home_dir() asks the same folder); a HOME there comes from MSYS or Git Bash
// and holds a /c/Users/... path.
const homeEnv = "USERPROFILE"
