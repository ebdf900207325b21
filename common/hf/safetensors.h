// safetensors files (Hugging Face): read by memory map, write F32 or BF16.
//   [u64 little-endian N][N bytes JSON header, space padded][data section]
//   header: {"__metadata__": {str: str}, "<name>": {"dtype": "F32", "shape": [..],
//            "data_offsets": [begin, end]}, ...}, offsets relative to the data section.
// A model is one file or a model.safetensors.index.json ({"weight_map": {name: shard}})
// plus its shards; st_open takes either and presents one set of tensors.
// Errors are returned as one line naming the file (and tensor) in `err`.
#ifndef NQ_SAFETENSORS_H
#define NQ_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

typedef enum { ST_F32, ST_BF16, ST_F16, ST_OTHER } st_dtype;

#define ST_MAX_DIMS 8

typedef struct {
  char *name;
  st_dtype dtype;
  char dtype_name[12];          // as in the file ("F32", "I64", ...)
  int ndim;
  size_t dims[ST_MAX_DIMS];
  size_t numel;
  const unsigned char *data;    // into the file's map
  size_t nbytes;
  int file;                     // index into st_set.paths
} st_tensor;

typedef struct {
  int n_files;
  char **paths;                 // the mapped files
  void **maps;
  size_t *map_len;
  int n;                        // tensors, in file order (shards in index order)
  st_tensor *t;
} st_set;

// Open a .safetensors file, or a *.index.json with its shards (resolved next to it).
// Returns 0, or -1 with `err` filled (nothing to free then).
int st_open(st_set *s, const char *path, char *err, size_t errlen);
void st_close(st_set *s);
// Tensor by name, or NULL.
const st_tensor *st_find(const st_set *s, const char *name);
// Convert F32/BF16/F16 to fp32 (numel floats). Returns 0, or -1 for another dtype.
int st_to_f32(const st_tensor *t, float *out);
// The same for elements [first, first + n) only (loaders that convert through a small buffer).
int st_to_f32_range(const st_tensor *t, size_t first, size_t n, float *out);
// Drops t's pages from this process's view of the map (they stay in the page cache, and a
// later read maps them again): a loader that has converted t calls it so the mapped file does
// not add up in its resident set next to the copy (peak RSS = the copy, not copy + file).
void st_release(const st_set *s, const st_tensor *t);

// fp32 <-> bf16 / f16 (round to nearest even, as torch's .to(torch.bfloat16)).
uint16_t st_f32_to_bf16(float f);
float st_bf16_to_f32(uint16_t h);
float st_f16_to_f32(uint16_t h);

// Writing: describe tensors (fp32 or bf16 data in memory), then write them as F32 or BF16 in
// the given order, with __metadata__ {"format": "pt"}. Atomic (<path>.tmp then rename).
typedef struct {
  const char *name;
  const float *data;        // fp32 data, or NULL and:
  const uint16_t *data16;   // bf16 data (a bf16-only model): written as is, or widened for F32
  int ndim;
  size_t dims[ST_MAX_DIMS];
} st_out_tensor;
// Returns 0, or -1 with `err` filled (I/O error).
int st_write(const char *path, const st_out_tensor *t, int n, st_dtype dtype, char *err, size_t errlen);

#endif
