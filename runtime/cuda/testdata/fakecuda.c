// A fake CUDA driver for runtime/cuda's tests: the driver API functions
// the loader binds, over host memory (a device pointer is a malloc'd
// address), with a launch that runs nothing but records its arguments,
// which the test reads back with fake_last_launch. Compiled by the test
// with the system's C compiler into a shared library it loads through
// MODELC_LIBCUDA. Not CUDA: no NVIDIA code or header is used.
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef int CUresult;

static int initialised, contexts, modules, allocations, launches;
static uint64_t last[32];
static unsigned last_grid[3], last_block[3];
static int last_nparams;

CUresult cuInit(unsigned flags) { if (flags != 0) return 1; initialised = 1; return 0; }
CUresult cuDriverGetVersion(int *v) { *v = 12040; return 0; }
CUresult cuDeviceGetCount(int *n) { *n = 1; return 0; }
CUresult cuDeviceGet(int *d, int ordinal) { if (ordinal != 0) return 101; *d = 0; return 0; }
CUresult cuDeviceGetName(char *name, int len, int dev) { strncpy(name, "Fake GPU", len); return 0; }
CUresult cuDeviceGetAttribute(int *v, int attr, int dev) {
	if (attr == 75) { *v = 8; return 0; }
	if (attr == 76) { *v = 0; return 0; }
	if (attr == 16) { *v = 108; return 0; }
	if (attr == 13) { *v = 1410000; return 0; }
	return 1;
}
CUresult cuDevicePrimaryCtxRetain(void **ctx, int dev) { *ctx = (void *)0x1234; contexts++; return 0; }
CUresult cuDevicePrimaryCtxRelease_v2(int dev) { contexts--; return 0; }
CUresult cuCtxSetCurrent(void *ctx) { return ctx == (void *)0x1234 ? 0 : 201; }
CUresult cuCtxSynchronize(void) { return 0; }
CUresult cuModuleLoadData(void **mod, const void *image) {
	if (strstr((const char *)image, ".version") == NULL) return 218;
	*mod = (void *)0x5678; modules++; return 0;
}
CUresult cuModuleUnload(void *mod) { modules--; return 0; }
CUresult cuModuleGetFunction(void **f, void *mod, const char *name) {
	if (strcmp(name, "missing") == 0) return 500;
	*f = (void *)strdup(name); return 0;
}
CUresult cuMemAlloc_v2(uint64_t *p, size_t n) {
	if (n > ((size_t)1 << 40)) return 2;
	*p = (uint64_t)(uintptr_t)calloc(1, n); allocations++; return 0;
}
CUresult cuMemFree_v2(uint64_t p) { free((void *)(uintptr_t)p); allocations--; return 0; }
CUresult cuMemcpyHtoD_v2(uint64_t dst, const void *src, size_t n) { memcpy((void *)(uintptr_t)dst, src, n); return 0; }
CUresult cuMemcpyDtoH_v2(void *dst, uint64_t src, size_t n) { memcpy(dst, (void *)(uintptr_t)src, n); return 0; }
CUresult cuLaunchKernel(void *f, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz,
	unsigned shared, void *stream, void **params, void **extra) {
	int i;
	if (by != 1 || bz != 1 || shared != 0 || extra != NULL) return 1;
	last_grid[0] = gx; last_grid[1] = gy; last_grid[2] = gz;
	last_block[0] = bx; last_block[1] = by; last_block[2] = bz;
	for (i = 0; params && i < 32 && i < last_nparams; i++) last[i] = *(uint64_t *)params[i];
	launches++;
	return 0;
}
CUresult cuGetErrorName(CUresult r, const char **s) {
	switch (r) {
	case 2: *s = "CUDA_ERROR_OUT_OF_MEMORY"; return 0;
	case 500: *s = "CUDA_ERROR_NOT_FOUND"; return 0;
	}
	return 1;
}

// The test's view: how many params to record, then what was recorded.
void fake_expect_params(int n) { last_nparams = n; }
uint64_t fake_param(int i) { return last[i]; }
unsigned fake_grid(int i) { return last_grid[i]; }
unsigned fake_block(void) { return last_block[0]; }
int fake_counts(int which) {
	switch (which) {
	case 0: return contexts;
	case 1: return modules;
	case 2: return allocations;
	}
	return launches;
}
