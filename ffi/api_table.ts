/**
 * The one table of OrtApi entries this project calls: zero-based slot in `struct OrtApi`,
 * FFI signature, and the C declaration beside it.
 *
 * Slot indices checked against `include/onnxruntime/core/session/onnxruntime_c_api.h`:
 *  - header with `ORT_API_VERSION 29` (ONNX Runtime 1.29.0, as vendored by
 *    yalue/onnxruntime_go b4e0f0b): the function-pointer members of `struct OrtApi` counted in
 *    order by a script (425 members, 0..424);
 *  - header with `ORT_API_VERSION 30` (ONNX Runtime 1.30.0): `struct OrtApi` ends with the same
 *    members plus one appended (`KernelContext_GetPreallocatedOutput` @425). The struct is
 *    append-only, so every index below is the same on 1.30;
 *  - and called on the 1.30.0 library by tests/ffi, which is what catches a miscounted slot
 *    (a wrong slot calls another function, with garbage arguments).
 *
 * Every entry used here exists since C API version 11 (ONNX Runtime 1.11: the CUDA V2 options
 * are the newest), so `GetApi(API_VERSION)` is the oldest request that covers them.
 */

/** Lowest C API version that has every entry of this table. */
export const API_VERSION = 11;
/** The ONNX Runtime release that introduced API_VERSION (for error messages). */
export const MIN_ORT_RELEASE = "1.11";

// Handles and `const char*` results come back as "pointer"; caller-owned memory that ORT reads or
// writes (out-parameters, C strings, pointer arrays, tensor data) goes in as "buffer".
const P = "pointer";
const B = "buffer";

export const ORT_SLOTS = {
  // OrtStatus* CreateStatus(OrtErrorCode code, const char* msg)
  CreateStatus: { slot: 0, parameters: ["i32", B], result: P },
  // OrtErrorCode GetErrorCode(const OrtStatus* status)
  GetErrorCode: { slot: 1, parameters: [P], result: "i32" },
  // const char* GetErrorMessage(const OrtStatus* status)
  GetErrorMessage: { slot: 2, parameters: [P], result: P },
  // OrtStatus* CreateEnv(OrtLoggingLevel log_severity_level, const char* logid, OrtEnv** out)
  CreateEnv: { slot: 3, parameters: ["i32", B, B], result: P },
  // OrtStatus* CreateSession(const OrtEnv* env, const char* model_path,
  //                          const OrtSessionOptions* options, OrtSession** out)
  CreateSession: { slot: 7, parameters: [P, B, P, B], result: P },
  // OrtStatus* CreateSessionFromArray(const OrtEnv* env, const void* model_data,
  //     size_t model_data_length, const OrtSessionOptions* options, OrtSession** out)
  CreateSessionFromArray: { slot: 8, parameters: [P, B, "usize", P, B], result: P },
  // OrtStatus* Run(OrtSession* session, const OrtRunOptions* run_options,
  //                const char* const* input_names, const OrtValue* const* inputs,
  //                size_t input_len, const char* const* output_names,
  //                size_t output_names_len, OrtValue** outputs)
  Run: { slot: 9, parameters: [P, P, B, B, "usize", B, "usize", B], result: P },
  // Same entry, called on Deno's blocking thread pool: the event loop keeps running.
  RunNonBlocking: {
    slot: 9,
    parameters: [P, P, B, B, "usize", B, "usize", B],
    result: P,
    nonblocking: true,
  },
  // OrtStatus* CreateSessionOptions(OrtSessionOptions** options)
  CreateSessionOptions: { slot: 10, parameters: [B], result: P },
  // OrtStatus* DisableMemPattern(OrtSessionOptions* options)
  DisableMemPattern: { slot: 17, parameters: [P], result: P },
  // OrtStatus* EnableCpuMemArena(OrtSessionOptions* options)
  EnableCpuMemArena: { slot: 18, parameters: [P], result: P },
  // OrtStatus* DisableCpuMemArena(OrtSessionOptions* options)
  DisableCpuMemArena: { slot: 19, parameters: [P], result: P },
  // OrtStatus* SetSessionGraphOptimizationLevel(OrtSessionOptions* options,
  //                                             GraphOptimizationLevel graph_optimization_level)
  SetSessionGraphOptimizationLevel: { slot: 23, parameters: [P, "i32"], result: P },
  // OrtStatus* SetIntraOpNumThreads(OrtSessionOptions* options, int intra_op_num_threads)
  SetIntraOpNumThreads: { slot: 24, parameters: [P, "i32"], result: P },
  // OrtStatus* SetInterOpNumThreads(OrtSessionOptions* options, int inter_op_num_threads)
  SetInterOpNumThreads: { slot: 25, parameters: [P, "i32"], result: P },
  // OrtStatus* SessionGetInputCount(const OrtSession* session, size_t* out)
  SessionGetInputCount: { slot: 30, parameters: [P, B], result: P },
  // OrtStatus* SessionGetOutputCount(const OrtSession* session, size_t* out)
  SessionGetOutputCount: { slot: 31, parameters: [P, B], result: P },
  // OrtStatus* SessionGetInputTypeInfo(const OrtSession* session, size_t index,
  //                                    OrtTypeInfo** type_info)
  SessionGetInputTypeInfo: { slot: 33, parameters: [P, "usize", B], result: P },
  // OrtStatus* SessionGetOutputTypeInfo(const OrtSession* session, size_t index,
  //                                     OrtTypeInfo** type_info)
  SessionGetOutputTypeInfo: { slot: 34, parameters: [P, "usize", B], result: P },
  // OrtStatus* SessionGetInputName(const OrtSession* session, size_t index,
  //                                OrtAllocator* allocator, char** value)
  SessionGetInputName: { slot: 36, parameters: [P, "usize", P, B], result: P },
  // OrtStatus* SessionGetOutputName(const OrtSession* session, size_t index,
  //                                 OrtAllocator* allocator, char** value)
  SessionGetOutputName: { slot: 37, parameters: [P, "usize", P, B], result: P },
  // OrtStatus* CreateRunOptions(OrtRunOptions** out)
  CreateRunOptions: { slot: 39, parameters: [B], result: P },
  // OrtStatus* RunOptionsSetTerminate(OrtRunOptions* options)
  RunOptionsSetTerminate: { slot: 46, parameters: [P], result: P },
  // OrtStatus* CreateTensorAsOrtValue(OrtAllocator* allocator, const int64_t* shape,
  //     size_t shape_len, ONNXTensorElementDataType type, OrtValue** out)
  CreateTensorAsOrtValue: { slot: 48, parameters: [P, B, "usize", "i32", B], result: P },
  // OrtStatus* CreateTensorWithDataAsOrtValue(const OrtMemoryInfo* info, void* p_data,
  //     size_t p_data_len, const int64_t* shape, size_t shape_len,
  //     ONNXTensorElementDataType type, OrtValue** out)
  CreateTensorWithDataAsOrtValue: {
    slot: 49,
    parameters: [P, B, "usize", B, "usize", "i32", B],
    result: P,
  },
  // OrtStatus* GetTensorMutableData(OrtValue* value, void** out)
  GetTensorMutableData: { slot: 51, parameters: [P, B], result: P },
  // OrtStatus* CastTypeInfoToTensorInfo(const OrtTypeInfo* type_info,
  //                                     const OrtTensorTypeAndShapeInfo** out)
  // The result is borrowed from type_info (never released) and NULL for non-tensor types.
  CastTypeInfoToTensorInfo: { slot: 55, parameters: [P, B], result: P },
  // OrtStatus* GetTensorElementType(const OrtTensorTypeAndShapeInfo* info,
  //                                 ONNXTensorElementDataType* out)
  GetTensorElementType: { slot: 60, parameters: [P, B], result: P },
  // OrtStatus* GetDimensionsCount(const OrtTensorTypeAndShapeInfo* info, size_t* out)
  GetDimensionsCount: { slot: 61, parameters: [P, B], result: P },
  // OrtStatus* GetDimensions(const OrtTensorTypeAndShapeInfo* info, int64_t* dim_values,
  //                          size_t dim_values_length)
  GetDimensions: { slot: 62, parameters: [P, B, "usize"], result: P },
  // OrtStatus* GetSymbolicDimensions(const OrtTensorTypeAndShapeInfo* info,
  //                                  const char* dim_params[], size_t dim_params_length)
  GetSymbolicDimensions: { slot: 63, parameters: [P, B, "usize"], result: P },
  // OrtStatus* GetTensorTypeAndShape(const OrtValue* value, OrtTensorTypeAndShapeInfo** out)
  GetTensorTypeAndShape: { slot: 65, parameters: [P, B], result: P },
  // OrtStatus* CreateMemoryInfo(const char* name, enum OrtAllocatorType type, int id,
  //                             enum OrtMemType mem_type, OrtMemoryInfo** out)
  CreateMemoryInfo: { slot: 68, parameters: [B, "i32", "i32", "i32", B], result: P },
  // OrtStatus* CreateCpuMemoryInfo(enum OrtAllocatorType type, enum OrtMemType mem_type,
  //                                OrtMemoryInfo** out)
  CreateCpuMemoryInfo: { slot: 69, parameters: ["i32", "i32", B], result: P },
  // OrtStatus* AllocatorFree(OrtAllocator* ort_allocator, void* p)
  AllocatorFree: { slot: 76, parameters: [P, P], result: P },
  // OrtStatus* GetAllocatorWithDefaultOptions(OrtAllocator** out)  (borrowed, never released)
  GetAllocatorWithDefaultOptions: { slot: 78, parameters: [B], result: P },
  // void ReleaseEnv(OrtEnv* input)
  ReleaseEnv: { slot: 92, parameters: [P], result: "void" },
  // void ReleaseStatus(OrtStatus* input)
  ReleaseStatus: { slot: 93, parameters: [P], result: "void" },
  // void ReleaseMemoryInfo(OrtMemoryInfo* input)
  ReleaseMemoryInfo: { slot: 94, parameters: [P], result: "void" },
  // void ReleaseSession(OrtSession* input)
  ReleaseSession: { slot: 95, parameters: [P], result: "void" },
  // void ReleaseValue(OrtValue* input)
  ReleaseValue: { slot: 96, parameters: [P], result: "void" },
  // void ReleaseRunOptions(OrtRunOptions* input)
  ReleaseRunOptions: { slot: 97, parameters: [P], result: "void" },
  // void ReleaseTypeInfo(OrtTypeInfo* input)
  ReleaseTypeInfo: { slot: 98, parameters: [P], result: "void" },
  // void ReleaseTensorTypeAndShapeInfo(OrtTensorTypeAndShapeInfo* input)
  ReleaseTensorTypeAndShapeInfo: { slot: 99, parameters: [P], result: "void" },
  // void ReleaseSessionOptions(OrtSessionOptions* input)
  ReleaseSessionOptions: { slot: 100, parameters: [P], result: "void" },
  // OrtStatus* GetAvailableProviders(char*** out_ptr, int* provider_length)
  GetAvailableProviders: { slot: 125, parameters: [B, B], result: P },
  // OrtStatus* ReleaseAvailableProviders(char** ptr, int providers_length)
  ReleaseAvailableProviders: { slot: 126, parameters: [P, "i32"], result: P },
  // OrtStatus* AddSessionConfigEntry(OrtSessionOptions* options, const char* config_key,
  //                                  const char* config_value)
  AddSessionConfigEntry: { slot: 130, parameters: [P, B, B], result: P },
  // OrtStatus* RunWithBinding(OrtSession* session, const OrtRunOptions* run_options,
  //                           const OrtIoBinding* binding_ptr)
  RunWithBinding: { slot: 133, parameters: [P, P, P], result: P },
  // OrtStatus* CreateIoBinding(OrtSession* session, OrtIoBinding** out)
  CreateIoBinding: { slot: 134, parameters: [P, B], result: P },
  // void ReleaseIoBinding(OrtIoBinding* input)
  ReleaseIoBinding: { slot: 135, parameters: [P], result: "void" },
  // OrtStatus* BindInput(OrtIoBinding* binding_ptr, const char* name, const OrtValue* val_ptr)
  BindInput: { slot: 136, parameters: [P, B, P], result: P },
  // OrtStatus* BindOutput(OrtIoBinding* binding_ptr, const char* name, const OrtValue* val_ptr)
  BindOutput: { slot: 137, parameters: [P, B, P], result: P },
  // OrtStatus* BindOutputToDevice(OrtIoBinding* binding_ptr, const char* name,
  //                               const OrtMemoryInfo* mem_info_ptr)
  BindOutputToDevice: { slot: 138, parameters: [P, B, P], result: P },
  // OrtStatus* GetBoundOutputValues(const OrtIoBinding* binding_ptr, OrtAllocator* allocator,
  //                                 OrtValue*** output, size_t* output_count)
  GetBoundOutputValues: { slot: 140, parameters: [P, P, B, B], result: P },
  // void ClearBoundInputs(OrtIoBinding* binding_ptr)
  ClearBoundInputs: { slot: 141, parameters: [P], result: "void" },
  // void ClearBoundOutputs(OrtIoBinding* binding_ptr)
  ClearBoundOutputs: { slot: 142, parameters: [P], result: "void" },
  // OrtStatus* SynchronizeBoundInputs(OrtIoBinding* binding_ptr)
  SynchronizeBoundInputs: { slot: 202, parameters: [P], result: P },
  // OrtStatus* SynchronizeBoundOutputs(OrtIoBinding* binding_ptr)
  SynchronizeBoundOutputs: { slot: 203, parameters: [P], result: P },
  // OrtStatus* SessionOptionsAppendExecutionProvider_CUDA_V2(OrtSessionOptions* options,
  //     const OrtCUDAProviderOptionsV2* cuda_options)
  SessionOptionsAppendExecutionProvider_CUDA_V2: { slot: 204, parameters: [P, P], result: P },
  // OrtStatus* CreateCUDAProviderOptions(OrtCUDAProviderOptionsV2** out)
  CreateCUDAProviderOptions: { slot: 205, parameters: [B], result: P },
  // OrtStatus* UpdateCUDAProviderOptions(OrtCUDAProviderOptionsV2* cuda_options,
  //     const char* const* provider_options_keys,
  //     const char* const* provider_options_values, size_t num_keys)
  UpdateCUDAProviderOptions: { slot: 206, parameters: [P, B, B, "usize"], result: P },
  // void ReleaseCUDAProviderOptions(OrtCUDAProviderOptionsV2* input)
  ReleaseCUDAProviderOptions: { slot: 208, parameters: [P], result: "void" },
} as const;

type Slots = typeof ORT_SLOTS;
/** Definition of one entry without its slot, in the shape Deno.UnsafeFnPointer wants. */
type FnDef<K extends keyof Slots> = Omit<Slots[K], "slot">;
/** The bound table: one Deno.UnsafeFnPointer per entry, built once per library. */
export type OrtApi = { readonly [K in keyof Slots]: Deno.UnsafeFnPointer<FnDef<K>> };

const POINTER_BYTES = 8;

/** Reads each slot of the OrtApi struct at `api` and builds its function pointer once. */
export function bindOrtApi(api: Deno.PointerObject): OrtApi {
  const view = new Deno.UnsafePointerView(api);
  const table: Record<string, unknown> = {};
  for (const [name, entry] of Object.entries(ORT_SLOTS)) {
    const { slot, ...definition } = entry;
    const fn = view.getPointer(slot * POINTER_BYTES) as
      | Deno.PointerObject<Deno.ForeignFunction>
      | null;
    if (fn === null) throw new Error(`OrtApi slot ${slot} (${name}) is NULL in this library`);
    table[name] = new Deno.UnsafeFnPointer(fn, definition as Deno.ForeignFunction);
  }
  return table as OrtApi;
}
