// The summaries an effect file carries for readers outside nextquill (h5py): per sample and
// per user, the mean effect and the share of targets whose effect is above effect.threshold.
// Computed here, by the effect stage, from the token arrays alone, so a changed threshold
// rewrites them without the model (effect_files.h: effect_output_resummarize).
//
// defines: effect_summarize
#ifndef NQ_EFFECT_SUMMARY_H
#define NQ_EFFECT_SUMMARY_H

#include "files/effects_file.h"

// Sets e->threshold and fills e's per-sample summaries (allocating them if NULL) and its
// users arrays (replacing any there), from e's effect, offsets, users and computed flags.
void effect_summarize(effect_file *e, double threshold);

#endif
