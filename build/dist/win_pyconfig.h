/* pyconfig.h for the win_amd64 wheel's extension (build/dist/targets.sh): written here, as no
 * Windows CPython headers can be had on this machine. The extension uses only the limited API
 * (Py_LIMITED_API: the other headers are the host's and are the same on every platform), so
 * what matters is the Windows ABI below: LLP64 sizes, dllimport of python3.dll's functions and
 * data (Py_ENABLE_SHARED + HAVE_DECLSPEC_DLL). It is linked against an import library of
 * python3.dll generated from the symbols it uses, all of which are in the stable ABI. */
#ifndef Py_CONFIG_H
#define Py_CONFIG_H
#define MS_WIN64
#define MS_WIN32
#define MS_WINDOWS
#define NT_THREADS
#define WITH_THREAD
#define Py_ENABLE_SHARED 1
#define HAVE_DECLSPEC_DLL
#define Py_WINVER 0x0602
#define SIZEOF_INT 4
#define SIZEOF_LONG 4
#define SIZEOF_LONG_LONG 8
#define SIZEOF_SIZE_T 8
#define SIZEOF_VOID_P 8
#define SIZEOF_WCHAR_T 2
#define SIZEOF_SHORT 2
#define SIZEOF_FLOAT 4
#define SIZEOF_DOUBLE 8
#define SIZEOF_TIME_T 8
#define SIZEOF_OFF_T 4
#define SIZEOF_FPOS_T 8
#define SIZEOF_HKEY 8
#define SIZEOF__BOOL 1
#define ALIGNOF_SIZE_T 8
#define ALIGNOF_LONG 4
#define ALIGNOF_MAX_ALIGN_T 8
#define HAVE_SSIZE_T 1
#define HAVE_STDARG_PROTOTYPES
#define HAVE_WCHAR_H
#define HAVE_SYS_STAT_H
#define HAVE_STDDEF_H 1
#define HAVE_STDLIB_H 1
#define DOUBLE_IS_LITTLE_ENDIAN_IEEE754 1
#define PY_LITTLE_ENDIAN 1
#define Py_NO_ENABLE_SHARED_HANDLED
#endif
