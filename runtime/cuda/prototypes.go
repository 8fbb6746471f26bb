package cuda

// prototypes are the C declarations of the driver API functions the
// loader binds, by symbol, as CUDA 11.8's cuda.h declares them (the
// header's macros map cuMemAlloc to cuMemAlloc_v2 and so on; the symbol
// is what libcuda exports). TestPrototypes checks that the binding table
// (symbols) names each one and passes it as many arguments as it
// declares parameters.
var prototypes = map[string]string{
	"cuInit":                       "CUresult cuInit(unsigned int Flags);",
	"cuDriverGetVersion":           "CUresult cuDriverGetVersion(int *driverVersion);",
	"cuDeviceGetCount":             "CUresult cuDeviceGetCount(int *count);",
	"cuDeviceGet":                  "CUresult cuDeviceGet(CUdevice *device, int ordinal);",
	"cuDeviceGetName":              "CUresult cuDeviceGetName(char *name, int len, CUdevice dev);",
	"cuDeviceGetAttribute":         "CUresult cuDeviceGetAttribute(int *pi, CUdevice_attribute attrib, CUdevice dev);",
	"cuDevicePrimaryCtxRetain":     "CUresult cuDevicePrimaryCtxRetain(CUcontext *pctx, CUdevice dev);",
	"cuDevicePrimaryCtxRelease_v2": "CUresult cuDevicePrimaryCtxRelease(CUdevice dev);",
	"cuCtxSetCurrent":              "CUresult cuCtxSetCurrent(CUcontext ctx);",
	"cuCtxSynchronize":             "CUresult cuCtxSynchronize(void);",
	"cuModuleLoadData":             "CUresult cuModuleLoadData(CUmodule *module, const void *image);",
	"cuModuleUnload":               "CUresult cuModuleUnload(CUmodule hmod);",
	"cuModuleGetFunction":          "CUresult cuModuleGetFunction(CUfunction *hfunc, CUmodule hmod, const char *name);",
	"cuMemAlloc_v2":                "CUresult cuMemAlloc(CUdeviceptr *dptr, size_t bytesize);",
	"cuMemFree_v2":                 "CUresult cuMemFree(CUdeviceptr dptr);",
	"cuMemcpyHtoD_v2":              "CUresult cuMemcpyHtoD(CUdeviceptr dstDevice, const void *srcHost, size_t ByteCount);",
	"cuMemcpyDtoH_v2":              "CUresult cuMemcpyDtoH(void *dstHost, CUdeviceptr srcDevice, size_t ByteCount);",
	"cuLaunchKernel": "CUresult cuLaunchKernel(CUfunction f, unsigned int gridDimX, unsigned int gridDimY, unsigned int gridDimZ, " +
		"unsigned int blockDimX, unsigned int blockDimY, unsigned int blockDimZ, unsigned int sharedMemBytes, CUstream hStream, " +
		"void **kernelParams, void **extra);",
	"cuGetErrorName": "CUresult cuGetErrorName(CUresult error, const char **pStr);",
}

// Device attributes (CUdevice_attribute) the loader reads.
const (
	attrClockRate              = 13 // kHz
	attrMultiprocessorCount    = 16
	attrComputeCapabilityMajor = 75
	attrComputeCapabilityMinor = 76
)

// errorNames are CUresult names for when cuGetErrorName itself fails (a
// driver too old to know the code): the ones a load or a run meets.
var errorNames = map[uintptr]string{
	1:   "CUDA_ERROR_INVALID_VALUE",
	2:   "CUDA_ERROR_OUT_OF_MEMORY",
	3:   "CUDA_ERROR_NOT_INITIALIZED",
	4:   "CUDA_ERROR_DEINITIALIZED",
	100: "CUDA_ERROR_NO_DEVICE",
	101: "CUDA_ERROR_INVALID_DEVICE",
	200: "CUDA_ERROR_INVALID_IMAGE",
	209: "CUDA_ERROR_NO_BINARY_FOR_GPU",
	218: "CUDA_ERROR_INVALID_PTX",
	222: "CUDA_ERROR_UNSUPPORTED_PTX_VERSION",
	500: "CUDA_ERROR_NOT_FOUND",
	700: "CUDA_ERROR_ILLEGAL_ADDRESS",
	701: "CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES",
	702: "CUDA_ERROR_LAUNCH_TIMEOUT",
	719: "CUDA_ERROR_LAUNCH_FAILED",
	999: "CUDA_ERROR_UNKNOWN",
}
