/*
 * dlopen.c — loads the library with dlopen(), as Node, Python and Ruby do, and calls it.
 * make test-platforms runs it on musl with the library preloaded (LD_PRELOAD), the documented
 * way to use the bindings on Alpine, and reports whether a plain dlopen works yet (it fails
 * while golang/go#54805, initial-exec TLS in c-shared libraries, is open).
 */
#include <dlfcn.h>
#include <stdio.h>

int main(int argc, char **argv) {
	if (argc != 2) return 2;
	void *h = dlopen(argv[1], RTLD_NOW);
	if (!h) {
		printf("dlopen failed: %s\n", dlerror());
		return 1;
	}
	unsigned (*abi)(void) = (unsigned (*)(void))dlsym(h, "sa_abi_version");
	const char *(*build)(void) = (const char *(*)(void))dlsym(h, "sa_build_info");
	if (!abi || !build) return 1;
	printf("dlopen ok: ABI %u, %s\n", abi(), build());
	return abi() == 1 ? 0 : 1;
}
