// libconfig 1.5 reads an integer literal that does not fit 32 bits modulo 2^32
// (`steps = 4294967302` becomes 6) and one past 64 bits as it likes. config_widen_ints
// rewrites such literals with the L suffix (read as 64-bit, so the key's range check sees the
// real value) and refuses those past the 64-bit range, before libconfig sees the text.
#ifndef NQ_CONFIG_INTS_H
#define NQ_CONFIG_INTS_H

#include <stddef.h>

// A copy of libconfig text `text` with every integer literal outside the 32-bit range given
// the L suffix (line numbers unchanged), or NULL with "line N: ..." in err when a literal is
// outside the 64-bit range. Strings and comments are left alone.
char *config_widen_ints(const char *text, char *err, size_t errlen);

// Past the string, comment or name starting at p (counting the newlines it spans into *line),
// or p when none starts there: the lexemes in which a digit or `@include` is not what it seems.
const char *config_skip_lexeme(const char *p, int *line);

#endif
