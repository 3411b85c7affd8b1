/*
 * bcryptprimitives.c — a stand-in for Windows 10's bcryptprimitives.dll, for the Wine test
 * prefix only (tests/platforms/run.sh puts it in system32; it never ships). Go >= 1.22 gets its
 * random bytes from ProcessPrng there, and Debian 12's Wine 8 has no such DLL. This one fills
 * the buffer from RtlGenRandom (advapi32's SystemFunction036), which Wine has.
 */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG len);

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len) {
	while (len > 0) {
		ULONG n = len > 0x40000000 ? 0x40000000 : (ULONG)len;
		if (!SystemFunction036(data, n)) return FALSE;
		data += n;
		len -= n;
	}
	return TRUE;
}
