// nq-shard --preview (see shard_preview.h).
#include "shard/shard_preview.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/term_escape.h"
#include "base/utf8.h"
#include "hf/hf.h"
#include "pipeline/run_layout.h"
#include "shard/shard_input.h"

// tokenizer.path (or the HF model's), else the run's tokenizer.json, else one trained in
// memory on the train split and not saved. Says which on stdout.
static tokenizer *preview_tokenizer(const shard_input *in) {
  char err[1024];
  char *path = hf_tokenizer_path(in->set);
  const char *why = "tokenizer.path";
  if (!path) {
    path = run_path(in->set, RUN_TOKENIZER);
    why = "the run's, from the last nq-shard; it may predate config changes";
    if (!file_exists(path)) free(path), path = NULL;
  }
  if (path) {
    tokenizer *t = tok_load_json(path, err, sizeof err);
    if (!t) fatal("%s", err);
    printf("tokenizer: %s (%s)\n", path, why);
    free(path);
    return t;
  }
  size_t n;
  double t0 = wall_seconds();
  tokenizer *t = shard_input_train_tokenizer(in, 1, &n);
  printf("tokenizer: none in the run directory: trained in memory on %zu texts of the train split in %.2f s "
         "(not saved; nq-shard trains the same one)\n", n, wall_seconds() - t0);
  return t;
}

static void print_tokens(const tokenizer *t, const int32_t *ids, size_t n) {
  size_t len;
  char *text = tok_decode(t, ids, n, &len);
  if (!text) error("preview: a token id has no text");
  strbuf b;   // corpus text: escape sequences in it are shown, not obeyed by the terminal
  sb_init(&b);
  term_escape(&b, text, len, 1);
  if (b.len) fwrite(b.data, 1, b.len, stdout);
  if (!b.len || b.data[b.len - 1] != '\n') putchar('\n');
  sb_free(&b);
  free(text);
}

// Which history items the selection kept (data.history_select), with their BM25 scores.
static void print_selection(const shard_opts *o, const shard_sample *s) {
  if (!o->select_bm25) {
    printf("--- history selection: recent (the newest %d of %d items)\n", o->max_history_items, s->n_cand);
    return;
  }
  printf("--- history selection: bm25 against field '%s' (k1 %g, b %g; idf over this sample's %d items), "
         "the %d best kept (ties: the newer); oldest first:\n", o->f_query, o->bm25_k1, o->bm25_b, s->n_cand,
         o->max_history_items);
  for (int32_t i = 0; i < s->n_cand; i++)
    printf("  item %d: bm25 %.4f%s\n", s->cand[i].index, s->cand[i].score, s->cand[i].kept ? "  kept" : "");
}

static void print_sample(const shard_opts *o, const tokenizer *t, const shard_sample *s, const char *where, int k) {
  int32_t hp = s->hist_len - s->target_len, np = s->nohist_len - s->target_len;
  static const char *const split_names[3] = {"train", "valid", "test"};
  printf("\n=== sample %d: id ", k);
  term_fputs(stdout, s->id, 0);
  printf(", user ");
  term_fputs(stdout, s->user, 0);
  printf(", split %s (", split_names[s->split]);
  term_fputs(stdout, where, 0);
  printf(")\n");
  printf("--- with history: %d tokens, %d history items", hp, s->n_hist);
  if (s->hist_dropped) printf(", %d oldest dropped to fit max_prompt_tokens = %d", s->hist_dropped, o->max_prompt_tokens);
  printf("\n");
  print_selection(o, s);
  print_tokens(t, s->hist, (size_t)hp);
  printf("--- without history: %d tokens\n", np);
  print_tokens(t, s->nohist, (size_t)np);
  printf("--- target: %d tokens with <|endoftext|>%s\n", s->target_len,
         s->target_cut ? ", cut to max_target_tokens" : "");
  print_tokens(t, s->nohist + np, (size_t)s->target_len);
  if (s->field_cut)
    printf("--- cut: a {field:N} placeholder's text was over its budget (data.truncate = \"%s\")\n",
           o->cut_start ? "start" : "end");
}

// One record: printed when it is wanted; returns 1 when printed. Bad records are reported
// and count as shown (the shards would stop or skip there).
static int preview_record(const shard_input *in, const tokenizer *t, int f, const rec_reader *r, const json_t *rec,
                          const char *want_id, int k) {
  char err[1024], where[600], id[600];
  shard_src src;
  shard_sample s;
  shard_counts n = {0, 0};
  rec_where(r, where, sizeof where);
  if (want_id) {
    char *have = NULL;
    int rc = *in->o.f_id ? corpus_key_text(rec, in->o.f_id, &have, err, sizeof err) : 0;
    if (!*in->o.f_id) shard_input_src(in, f, r, rec, &src, id, sizeof id, err, sizeof err), have = xstrdup(id);
    int match = rc == 0 && !strcmp(have, want_id);
    free(have);
    if (!match) return 0;
  }
  if (shard_input_src(in, f, r, rec, &src, id, sizeof id, err, sizeof err) ||
      shard_sample_make(&in->o, t, rec, &src, &s, &n, err, sizeof err)) {
    printf("\n=== sample %d (", k);
    term_fputs(stdout, where, 0);
    printf("): bad record: ");
    term_fputs(stdout, err, 0);
    putchar('\n');
    return 1;
  }
  print_sample(&in->o, t, &s, where, k);
  shard_sample_free(&s);
  return 1;
}

int shard_preview(const settings *set, const stage_args *s) {
  if (s->rank != 0) return 0;
  shard_input in;
  shard_input_open(&in, set);
  double t0 = wall_seconds();
  tokenizer *t = preview_tokenizer(&in);
  long shown = 0;
  char err[1024];
  for (int f = 0; f < in.n_files && shown < s->preview; f++) {
    rec_reader r;
    if (corpus_open(&r, &set->data, in.files[f].path, 0, 1, err, sizeof err)) fatal("%s", err);
    json_t *rec;
    int rc;
    while (shown < s->preview && (rc = rec_next(&r, &rec, err, sizeof err)) != 0) {
      if (rc < 0) {
        if (!s->preview_id) {
          printf("\n=== sample %ld: bad record: ", ++shown);
          term_fputs(stdout, err, 0);
          putchar('\n');
        }
        if (rc == -2) break;
        continue;
      }
      shown += preview_record(&in, t, f, &r, rec, s->preview_id, (int)shown + 1);
      json_decref(rec);
    }
    rec_close(&r);
  }
  printf("\n(preview: %ld sample%s in %.2f s; nothing written)\n", shown, shown == 1 ? "" : "s", wall_seconds() - t0);
  tok_free(t);
  shard_input_close(&in);
  if (shown == 0 && s->preview_id) fatal("--preview-id %s: no record with this id in the input files", s->preview_id);
  return 0;
}
