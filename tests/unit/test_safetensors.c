// safetensors: fp conversions, write/read round trip (F32, BF16), sharded index, and the
// errors of malformed files (each naming the file and tensor).
#include "nqtest.h"

#include <math.h>
#include <unistd.h>

#include "hf/safetensors.h"
#include "base/util.h"

static char pathbuf[4][512];
static int pathi;
static const char *tmp_path(const char *name) {
  char *p = pathbuf[pathi++ % 4];
  snprintf(p, 512, "%s/%s", nqtest_dir, name);
  return p;
}

// A file with the given header text (padded to no alignment) and `n` data bytes 0..n-1.
static void write_raw(const char *path, const char *header, size_t n) {
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  uint64_t hl = strlen(header);
  unsigned char b[8];
  for (int i = 0; i < 8; i++) b[i] = (unsigned char)(hl >> (8 * i));
  assert_int_equal(fwrite(b, 1, 8, f), 8);
  assert_int_equal(fwrite(header, 1, hl, f), hl);
  for (size_t i = 0; i < n; i++) fputc((int)(i & 0xff), f);
  fclose(f);
}

static void test_conversions(void **st) {
  (void)st;
  assert_int_equal(st_f32_to_bf16(1.0f), 0x3f80);
  assert_int_equal(st_f32_to_bf16(-2.0f), 0xc000);
  // halfway cases round to even: 1 + 2^-8 -> 1.0 (0x3f80); 1 + 3 * 2^-8 -> 0x3f82
  assert_int_equal(st_f32_to_bf16(1.0f + 0x1p-8f), 0x3f80);
  assert_int_equal(st_f32_to_bf16(1.0f + 3 * 0x1p-8f), 0x3f82);
  assert_int_equal(st_f32_to_bf16(1.0f + 0x1p-8f + 0x1p-20f), 0x3f81);   // above half: up
  assert_int_equal(st_f32_to_bf16(INFINITY), 0x7f80);
  assert_true(isnan(st_bf16_to_f32(st_f32_to_bf16(NAN))));
  assert_true(st_bf16_to_f32(0x3f81) == 1.0f + 0x1p-7f);
  assert_true(st_f16_to_f32(0x3c00) == 1.0f);
  assert_true(st_f16_to_f32(0xc000) == -2.0f);
  assert_true(st_f16_to_f32(0x7bff) == 65504.0f);
  assert_true(st_f16_to_f32(0x0001) == 0x1p-24f);          // smallest subnormal
  assert_true(st_f16_to_f32(0x03ff) == 1023 * 0x1p-24f);   // largest subnormal
  assert_true(st_f16_to_f32(0x0400) == 0x1p-14f);          // smallest normal
  assert_true(st_f16_to_f32(0x8000) == 0.0f && signbit(st_f16_to_f32(0x8000)));
  assert_true(isinf(st_f16_to_f32(0xfc00)) && st_f16_to_f32(0xfc00) < 0);
  assert_true(isnan(st_f16_to_f32(0x7e00)));
}

static void test_roundtrip(void **st) {
  (void)st;
  float a[6] = {1.5f, -2.25f, 3.0f, 1e-3f, 1.0f + 0x1p-8f + 0x1p-20f, -0.0f}, b[3] = {7, 8, 9};
  st_out_tensor t[2] = {{.name = "a.weight", .data = a, .ndim = 2, .dims = {2, 3}},
                        {.name = "b.bias", .data = b, .ndim = 1, .dims = {3}}};
  char err[512];
  for (int bf = 0; bf < 2; bf++) {
    const char *p = tmp_path(bf ? "bf16.safetensors" : "f32.safetensors");
    assert_int_equal(st_write(p, t, 2, bf ? ST_BF16 : ST_F32, err, sizeof err), 0);
    st_set s;
    assert_int_equal(st_open(&s, p, err, sizeof err), 0);
    assert_int_equal(s.n, 2);
    const st_tensor *x = st_find(&s, "a.weight"), *y = st_find(&s, "b.bias");
    assert_non_null(x);
    assert_non_null(y);
    assert_null(st_find(&s, "c"));
    assert_int_equal(x->ndim, 2);
    assert_int_equal(x->dims[0], 2);
    assert_int_equal(x->dims[1], 3);
    assert_string_equal(x->dtype_name, bf ? "BF16" : "F32");
    assert_int_equal((uintptr_t)(x->data - (const unsigned char *)s.maps[0]) % 8, 0);   // aligned data
    float got[6];
    assert_int_equal(st_to_f32(x, got), 0);
    for (int i = 0; i < 6; i++) {
      float want = bf ? st_bf16_to_f32(st_f32_to_bf16(a[i])) : a[i];
      assert_memory_equal(&got[i], &want, 4);
    }
    assert_int_equal(st_to_f32(y, got), 0);
    assert_true(got[0] == 7 && got[2] == 9);
    st_release(&s, x);                                  // dropped pages read back from the file
    float part[2];
    assert_int_equal(st_to_f32_range(x, 4, 2, part), 0);
    float want4 = bf ? st_bf16_to_f32(st_f32_to_bf16(a[4])) : a[4];
    assert_memory_equal(&part[0], &want4, 4);
    assert_int_equal(st_to_f32_range(x, 5, 2, part), -1);   // past the end
    st_close(&s);
  }
  // bf16 data (a bf16-only model) written as BF16 as is, or widened exactly to F32
  uint16_t h[3] = {0x3fc0, 0xc010, 0x0001};                  // 1.5, -2.25, a subnormal
  st_out_tensor t16 = {.name = "h", .data16 = h, .ndim = 1, .dims = {3}};
  for (int bf = 0; bf < 2; bf++) {
    const char *p = tmp_path("from_bf16.safetensors");
    assert_int_equal(st_write(p, &t16, 1, bf ? ST_BF16 : ST_F32, err, sizeof err), 0);
    st_set s;
    assert_int_equal(st_open(&s, p, err, sizeof err), 0);
    float got[3];
    assert_int_equal(st_to_f32(st_find(&s, "h"), got), 0);
    for (int i = 0; i < 3; i++) {
      float want = st_bf16_to_f32(h[i]);
      assert_memory_equal(&got[i], &want, 4);
    }
    st_close(&s);
  }
}

static void test_index(void **st) {
  (void)st;
  float a[4] = {1, 2, 3, 4}, b[2] = {5, 6};
  st_out_tensor ta = {.name = "x", .data = a, .ndim = 1, .dims = {4}};
  st_out_tensor tb = {.name = "y", .data = b, .ndim = 1, .dims = {2}};
  char err[512];
  assert_int_equal(st_write(tmp_path("m-1.safetensors"), &ta, 1, ST_F32, err, sizeof err), 0);
  assert_int_equal(st_write(tmp_path("m-2.safetensors"), &tb, 1, ST_BF16, err, sizeof err), 0);
  const char *idx = tmp_path("m.index.json");
  nqtest_write(idx, "{\"metadata\": {}, \"weight_map\": {\"y\": \"m-2.safetensors\", \"x\": \"m-1.safetensors\"}}");
  st_set s;
  assert_int_equal(st_open(&s, idx, err, sizeof err), 0);
  assert_int_equal(s.n_files, 2);
  assert_int_equal(s.n, 2);
  float got[4];
  assert_int_equal(st_to_f32(st_find(&s, "x"), got), 0);
  assert_true(got[3] == 4);
  assert_int_equal(st_to_f32(st_find(&s, "y"), got), 0);
  assert_true(got[1] == 6);
  assert_string_equal(st_find(&s, "y")->dtype_name, "BF16");
  st_close(&s);
  // the index names a tensor the shard lacks; a shard tensor missing from the index
  nqtest_write(idx, "{\"weight_map\": {\"y\": \"m-2.safetensors\", \"z\": \"m-1.safetensors\"}}");
  assert_int_equal(st_open(&s, idx, err, sizeof err), -1);
  assert_non_null(strstr(err, "tensor 'z' is listed in weight_map but not in shard m-1.safetensors"));
  st_out_tensor both[2] = {ta, tb};
  assert_int_equal(st_write(tmp_path("m-both.safetensors"), both, 2, ST_F32, err, sizeof err), 0);
  nqtest_write(idx, "{\"weight_map\": {\"x\": \"m-both.safetensors\"}}");
  assert_int_equal(st_open(&s, idx, err, sizeof err), -1);
  assert_non_null(strstr(err, "tensor 'y' of shard"));
  assert_non_null(strstr(err, "is not in weight_map"));
  nqtest_write(idx, "{\"weight_map\": {\"x\": \"m-3.safetensors\"}}");
  assert_int_equal(st_open(&s, idx, err, sizeof err), -1);
  assert_non_null(strstr(err, "m-3.safetensors: cannot open"));
  nqtest_write(idx, "{\"weight_map\": {\"x\": \"../m-1.safetensors\"}}");
  assert_int_equal(st_open(&s, idx, err, sizeof err), -1);
  assert_non_null(strstr(err, "is not a file name"));
}

static void expect_error(const char *header, size_t n, const char *needle) {
  const char *p = tmp_path("bad.safetensors");
  write_raw(p, header, n);
  st_set s;
  char err[512] = "";
  if (st_open(&s, p, err, sizeof err) == 0) { st_close(&s); fail_msg("opened a bad file; expected '%s'", needle); }
  if (!strstr(err, needle)) fail_msg("error '%s' lacks '%s'", err, needle);
  if (!strstr(err, "bad.safetensors")) fail_msg("error '%s' does not name the file", err);
}

static void test_errors(void **st) {
  (void)st;
  write_raw(tmp_path("bad.safetensors"), "{\"t\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]}}", 8);
  st_set s;
  char err[512];
  assert_int_equal(st_open(&s, tmp_path("bad.safetensors"), err, sizeof err), 0);   // the control is fine
  assert_int_equal(s.n, 1);
  st_close(&s);
  expect_error("{\"t\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 12]}}", 8,
               "tensor 't': data_offsets outside the data section");
  expect_error("{\"t\": {\"dtype\": \"F32\", \"shape\": [3], \"data_offsets\": [0, 8]}}", 8,
               "tensor 't': 8 data bytes for 3 F32 elements");
  expect_error("{\"t\": {\"dtype\": \"Q4\", \"shape\": [2], \"data_offsets\": [0, 8]}}", 8, "tensor 't': unknown dtype 'Q4'");
  expect_error("{\"t\": {\"dtype\": \"F32\", \"shape\": [2]}}", 8, "tensor 't': header entry needs");
  expect_error("[1, 2]", 8, "header is not a JSON object");
  expect_error("{\"t\": {\"dtype\": \"F32\", \"shape\": [1099511627776, 1099511627776], \"data_offsets\": [0, 8]}}", 8,
               "tensor 't': shape larger than the file");
  // 2^24 x 2^40 elements wrap a 64-bit count to 0 (an empty tensor): needs a data section of
  // 2^24 bytes to pass the first dimension's check (a sparse file)
  const char *big = "{\"t\": {\"dtype\": \"U8\", \"shape\": [16777216, 1099511627776], \"data_offsets\": [0, 0]}}";
  write_raw(tmp_path("bad.safetensors"), big, 0);
  assert_int_equal(truncate(tmp_path("bad.safetensors"), (off_t)(8 + strlen(big) + (1u << 24))), 0);
  assert_int_equal(st_open(&s, tmp_path("bad.safetensors"), err, sizeof err), -1);
  assert_non_null(strstr(err, "tensor 't': shape larger than the file"));
  expect_error("{\"t\": {\"dtype\": \"U8\", \"shape\": [1], \"data_offsets\": [0, 1]}, "
               "\"t\": {\"dtype\": \"U8\", \"shape\": [1], \"data_offsets\": [1, 2]}}", 8, "duplicate");
  expect_error("{\"t\": ", 8, "header is not a JSON object");
  const char *p = tmp_path("bad.safetensors");
  nqtest_write(p, "abc");
  assert_int_equal(st_open(&s, p, err, sizeof err), -1);
  assert_non_null(strstr(err, "not a safetensors file"));
  FILE *f8 = fopen(p, "wb");
  assert_non_null(f8);
  assert_int_equal(fwrite("\xff\xff\xff\xff\x00\x00\x00\x00{}", 1, 10, f8), 10);
  fclose(f8);
  assert_int_equal(st_open(&s, p, err, sizeof err), -1);
  assert_non_null(strstr(err, "does not fit the file"));
  assert_int_equal(st_open(&s, tmp_path("none.safetensors"), err, sizeof err), -1);
  assert_non_null(strstr(err, "none.safetensors: cannot open"));
  // I32 tensors are readable as data but not convertible
  write_raw(p, "{\"__metadata__\": {\"format\": \"pt\"}, \"i\": {\"dtype\": \"I32\", \"shape\": [2], \"data_offsets\": [0, 8]}}", 8);
  assert_int_equal(st_open(&s, p, err, sizeof err), 0);
  float f[2];
  assert_int_equal(st_to_f32(st_find(&s, "i"), f), -1);
  st_close(&s);
}

// The ranges must tile the data section: two tensors sharing bytes, one shifted into its
// neighbour, a gap or bytes after the last are refused naming the file and both tensors.
static void test_tiling(void **st) {
  (void)st;
  const char *p = tmp_path("bad.safetensors");
  st_set s;
  char err[512];
  // the control: two 4-byte tensors and a zero-byte one, listed out of order
  write_raw(p, "{\"b\": {\"dtype\": \"U8\", \"shape\": [4], \"data_offsets\": [4, 8]}, "
               "\"e\": {\"dtype\": \"U8\", \"shape\": [0], \"data_offsets\": [4, 4]}, "
               "\"a\": {\"dtype\": \"U8\", \"shape\": [4], \"data_offsets\": [0, 4]}}", 8);
  assert_int_equal(st_open(&s, p, err, sizeof err), 0);
  assert_int_equal(s.n, 3);
  st_close(&s);
  // the same bytes twice
  expect_error("{\"a\": {\"dtype\": \"U8\", \"shape\": [4], \"data_offsets\": [0, 4]}, "
               "\"b\": {\"dtype\": \"U8\", \"shape\": [4], \"data_offsets\": [0, 4]}}", 8,
               "tensors 'a' [0, 4) and 'b' [0, 4) overlap in the data section");
  // b shifted two bytes into a (and two bytes at the end then belong to none: the overlap is named first)
  expect_error("{\"a\": {\"dtype\": \"U8\", \"shape\": [4], \"data_offsets\": [0, 4]}, "
               "\"b\": {\"dtype\": \"U8\", \"shape\": [4], \"data_offsets\": [2, 6]}}", 8,
               "tensors 'a' [0, 4) and 'b' [2, 6) overlap");
  // a gap between two tensors
  expect_error("{\"a\": {\"dtype\": \"U8\", \"shape\": [3], \"data_offsets\": [0, 3]}, "
               "\"b\": {\"dtype\": \"U8\", \"shape\": [4], \"data_offsets\": [4, 8]}}", 8,
               "1 data bytes between tensors 'a' (ends at 3) and 'b' (starts at 4) belong to no tensor");
  // bytes before the first and after the last
  expect_error("{\"a\": {\"dtype\": \"U8\", \"shape\": [6], \"data_offsets\": [2, 8]}}", 8,
               "the data section starts with 2 bytes no tensor holds (tensor 'a' starts at 2)");
  expect_error("{\"a\": {\"dtype\": \"U8\", \"shape\": [6], \"data_offsets\": [0, 6]}}", 8,
               "2 data bytes after the last tensor 'a' (ends at 6) belong to no tensor");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_conversions),
      cmocka_unit_test(test_roundtrip),
      cmocka_unit_test(test_index),
      cmocka_unit_test(test_errors),
      cmocka_unit_test(test_tiling),
  };
  return cmocka_run_group_tests(tests, nqtest_dir_setup, nqtest_dir_teardown);
}
