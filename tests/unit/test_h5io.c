// h5io: dataset/attribute round trips, atomic outputs, provenance checks; sha256 vectors.
#include "nqtest.h"

#include "config/config.h"
#include "h5/h5io.h"
#include "base/sha256.h"
#include "base/util.h"
#include "h5/provenance.h"
#include "settings/settings.h"

static char *dir;

static void test_sha256_vectors(void **st) {
  (void)st;
  char hex[65];
  sha256_hex("", 0, hex);
  assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  sha256_hex("abc", 3, hex);
  assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  sha256_hex(two, strlen(two), hex);
  assert_string_equal(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  // a million 'a' (FIPS 180-2): many blocks in one call, the path the SHA extensions take
  char *million = xmalloc(1000000);
  memset(million, 'a', 1000000);
  sha256_hex(million, 1000000, hex);
  free(million);
  assert_string_equal(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  // streaming in odd pieces equals one shot
  char big[1000];
  for (int i = 0; i < 1000; i++) big[i] = (char)(i * 7);
  sha256_ctx c;
  uint8_t d1[32];
  sha256_init(&c);
  for (int i = 0; i < 1000; i += 37) sha256_update(&c, big + i, i + 37 <= 1000 ? 37 : 1000 - i);
  sha256_final(&c, d1);
  char h1[65], h2[65];
  for (int i = 0; i < 32; i++) sprintf(h1 + 2 * i, "%02x", d1[i]);
  sha256_hex(big, 1000, h2);
  assert_string_equal(h1, h2);
}

static void test_datasets_roundtrip(void **st) {
  (void)st;
  char *path = path_join(dir, "a.h5");
  h5_out o;
  h5_out_create(&o, path);
  // before commit only the .tmp exists
  assert_false(file_exists(path));
  size_t n = 10000;  // above the chunking threshold
  int32_t *v = malloc(n * sizeof *v);
  float *f = malloc(n * sizeof *f);
  for (size_t i = 0; i < n; i++) { v[i] = (int32_t)(i * 31 % 977) - 400; f[i] = (float)i * 0.25f; }
  h5_write_i32(o.file, "grp/ints", v, n);
  h5_write_f32(o.file, "floats", f, 5);
  const char *strs[] = {"alpha", "", "ünïcode"};
  h5_write_strings(o.file, "strs", strs, 3);
  size_t dims[2] = {3, 4};
  float m[12];
  for (int i = 0; i < 12; i++) m[i] = (float)i;
  h5_write_f32_nd(o.file, "mat", m, 2, dims);
  h5_attr_set_str(o.file, "s", "hello");
  h5_attr_set_i64(o.file, "i", -42);
  h5_attr_set_f64(o.file, "d", 0.125);
  h5_out_commit(&o);
  assert_true(file_exists(path));

  hid_t r = h5_open_read(path);
  size_t got;
  int32_t *v2 = h5_read_i32(r, "grp/ints", &got);
  assert_int_equal(got, n);
  assert_memory_equal(v, v2, n * sizeof *v);
  float *f2 = h5_read_f32(r, "floats", &got);
  assert_int_equal(got, 5);
  assert_memory_equal(f, f2, 5 * sizeof *f);
  char **s2 = h5_read_strings(r, "strs", &got);
  assert_int_equal(got, 3);
  assert_string_equal(s2[0], "alpha");
  assert_string_equal(s2[1], "");
  assert_string_equal(s2[2], "ünïcode");
  size_t d2[8];
  assert_int_equal(h5_dataset_shape(r, "mat", d2), 2);
  assert_int_equal(d2[0], 3);
  assert_int_equal(d2[1], 4);
  float m2[12];
  h5_read_f32_into(r, "mat", m2, 12);
  assert_memory_equal(m, m2, sizeof m);
  char *s = h5_attr_get_str(r, "s");
  assert_string_equal(s, "hello");
  assert_int_equal(h5_attr_get_i64(r, "i"), -42);
  assert_true(h5_attr_get_f64(r, "d") == 0.125);
  assert_true(h5_exists(r, "grp/ints"));
  assert_false(h5_exists(r, "grp/nope"));
  assert_false(h5_exists(r, "nope/deeper"));
  h5_close(r);
  free(s); free(v); free(v2); free(f); free(f2); h5_free_strings(s2, 3); free(path);
}

static void test_abort_leaves_nothing(void **st) {
  (void)st;
  char *path = path_join(dir, "b.h5");
  h5_out o;
  h5_out_create(&o, path);
  h5_attr_set_str(o.file, "x", "y");
  h5_out_abort(&o);
  char tmp[600];
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  assert_false(file_exists(path));
  assert_false(file_exists(tmp));
  free(path);
}

static char prov_path[600];
static const char *cfg_a = "name = \"a\";\nrun_dir = \"/r\";\nseed = 1;\n";

static void open_missing(void *arg) { h5_open_read((const char *)arg); }

static void test_provenance(void **st) {
  (void)st;
  char *input = path_join(dir, "input.txt");
  nqtest_write(input, "abc");
  snprintf(prov_path, sizeof prov_path, "%s/p.h5", dir);
  h5_out o;
  h5_out_create(&o, prov_path);
  const char *inputs[] = {input};
  h5_provenance p = {.stage = "shard", .config_text = cfg_a, .mpi_size = 2, .n_inputs = 1, .inputs = inputs};
  h5_write_provenance(o.file, &p);
  h5_out_commit(&o);
  hid_t f = h5_open_read(prov_path);
  char *ins = h5_attr_get_str(f, "nq_inputs");
  assert_non_null(strstr(ins, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
  assert_int_equal(h5_attr_get_i64(f, "nq_mpi_size"), 2);
  h5_provenance_info info;
  assert_int_equal(h5_provenance_read(f, &info), 1);
  assert_string_equal(info.stage, "shard");
  assert_string_equal(info.config, cfg_a);
  assert_null(info.stamp);   // written without a stamp
  h5_provenance_info_free(&info);
  h5_close(f);
  free(ins); free(input);
  char *missing = path_join(dir, "missing.h5");
  expect_fatal(open_missing, missing, "missing.h5: file not found");
  free(missing);
}

static int setup(void **st) { (void)st; dir = nqtest_tmpdir(); return 0; }
static int teardown(void **st) { (void)st; nqtest_rmrf(dir); free(dir); return 0; }

int main(void) {
  settings_schema_install();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_sha256_vectors),
      cmocka_unit_test(test_datasets_roundtrip),
      cmocka_unit_test(test_abort_leaves_nothing),
      cmocka_unit_test(test_provenance),
  };
  return cmocka_run_group_tests_name("h5io", tests, setup, teardown);
}
