// Okapi BM25 relevance of a few documents (one sample's history items) to one query (its
// query field), for data.history_select = "bm25" (docs/data.md, "History selection").
//   terms:  maximal runs of ASCII letters and digits (and bytes >= 0x80), ASCII lowercased
//   idf(q)  = ln(1 + (N - n(q) + 0.5) / (n(q) + 0.5))      N documents, n(q) holding q
//   score(D) = sum over the query's terms q (repeats count) of
//              idf(q) * f(q,D) (k1 + 1) / (f(q,D) + k1 (1 - b + b |D| / avgdl))
// The collection (N, n(q), avgdl) is the documents passed: one sample's candidate history
// items, as LaMP's BM25 retriever ranks a user's profile per query. This idf (Lucene's form)
// is never negative, so a term in most of a handful of items still counts a little.
//
// defines: bm25_scores
#ifndef NQ_BM25_H
#define NQ_BM25_H

// score[i] = BM25 of docs[i] (n of them) for `query` with parameters k1 and b.
void bm25_scores(const char *query, const char *const *docs, int n, double k1, double b, double *score);

#endif
