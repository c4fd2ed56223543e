/* stemz's glue over c-blosc2 for the Blosc2 HDF5 filter (32026): the calls hdf5plugin's
 * hdf5-blosc2 filter makes, behind a few flat functions so that the Rust side needs none of
 * c-blosc2's structs (whose layout is the header's business, not ours).
 *
 * Every function returns a negative value on failure and never keeps state between calls;
 * each call creates and frees its own contexts, so calls may run on many threads at once
 * (after stemz_b2_init). Buffers handed back in *out are malloc'ed; the caller frees them
 * with stemz_b2_free. */

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blosc2.h"
#include "b2nd.h"

void stemz_b2_init(void) { blosc2_init(); }

const char *stemz_b2_version(void) { return BLOSC2_VERSION_STRING; }

void stemz_b2_free(void *p) { free(p); }

static blosc2_cparams cparams_for(int compcode, int clevel, int typesize, int filter) {
  blosc2_cparams cp = BLOSC2_CPARAMS_DEFAULTS;
  cp.compcode = (uint8_t)compcode;
  cp.clevel = (uint8_t)clevel;
  cp.typesize = typesize;
  cp.filters[BLOSC2_MAX_FILTERS - 1] = (uint8_t)filter;
  return cp;
}

/* c-blosc2's automatic block size for a chunk of nbytes: the header of an all-zero chunk made
 * with the default parameters except compressor, level and type size (the default shuffle
 * stays, as in hdf5-blosc2's compute_blosc2_blocksize). */
int32_t stemz_b2_auto_blocksize(int compcode, int clevel, int typesize, int32_t nbytes) {
  blosc2_cparams cp = BLOSC2_CPARAMS_DEFAULTS;
  cp.compcode = (uint8_t)compcode;
  cp.clevel = (uint8_t)clevel;
  cp.typesize = typesize;
  uint8_t header[BLOSC2_MAX_OVERHEAD];
  if (blosc2_chunk_zeros(cp, nbytes, header, BLOSC2_MAX_OVERHEAD) < 0) return -1;
  int32_t blocksize = -1;
  if (blosc2_cbuffer_sizes(header, NULL, NULL, &blocksize) < 0) return -1;
  return blocksize;
}

/* --- The whole-chunk fast path of this c-blosc2 and the B2ND block layout ---
 *
 * A B2ND chunk stores its blocks one after another, in C order over the grid of blocks, each
 * block's elements in C order. A chunk's C-order buffer is already in that order only when
 * the blocks are contiguous in it: for some axis k, the block is 1 thick on every axis before
 * k, divides the chunk on axis k, and is whole on every axis after k.
 *
 * c-blosc2 copies a whole-chunk buffer straight into (or out of) the chunk when its
 * nchunk_fastpath() says the blocks are contiguous. The c-blosc2 compiled here (2.15.3.dev)
 * says so too often: whenever the blocks divide the chunk and either the last axis is whole or
 * the block is 1 thick on all other axes, e.g. blocks (8, 8, 64, 128) of a (8, 8, 128, 128)
 * chunk. It then stores the chunk's C-order bytes as if they were blocks, and reads them back
 * the same way, so it round-trips, but c-blosc2 from 2.21.2 on (fix 2bc07aac, "fix fastpath
 * decision logic for ndarray slicing"; hdf5plugin 7.1 embeds 3.3.2) lays such chunks out
 * block by block and reads another library's chunk as the format says. Where this library's
 * fast path would misplace the elements, the glue hands it the buffer already in block order
 * (writing) or reorders what it hands back (reading), so the stored chunk is the format's. */

/* c-blosc2's own decision (blosc/b2nd.c, not in its public headers). */
int64_t nchunk_fastpath(const b2nd_array_t *array, const int64_t *start, const int64_t *stop,
                        const int64_t slice_size);

/* Whether the blocks are contiguous in the chunk's C-order buffer (the rule of 2.21.2). */
static bool blocks_contiguous(const b2nd_array_t *a) {
  int k = 0;
  for (int i = 0; i < a->ndim; i++) {
    if (a->chunkshape[i] % a->blockshape[i] != 0) return false;
    if (i > k && a->chunkshape[i] != a->blockshape[i]) return false;
    if (i == k && a->blockshape[i] == 1) k++;
  }
  return true;
}

/* Whether this library would copy a whole-chunk buffer of a one-chunk array as is although
 * its blocks are not contiguous (then the blocks divide the chunk on every axis). */
static bool fastpath_misplaces(const b2nd_array_t *a) {
  for (int i = 0; i < a->ndim; i++) {
    if (a->shape[i] != a->chunkshape[i]) return false;
  }
  if (blocks_contiguous(a)) return false;
  int64_t start[B2ND_MAX_DIM] = {0};
  return nchunk_fastpath(a, start, a->shape, a->chunknitems) >= 0;
}

/* Reorder a chunk between C order (c) and block order (b), blocks dividing the chunk on every
 * axis: to_blocks copies c into b, else b into c. Copies one block row (the block's extent on
 * the last axis) at a time. */
static void reorder_blocks(uint8_t *c, uint8_t *b, const b2nd_array_t *a, bool to_blocks) {
  int nd = a->ndim;
  int64_t ts = a->sc->typesize;
  int64_t stride[B2ND_MAX_DIM]; /* elements, C order over the chunk */
  int64_t grid[B2ND_MAX_DIM];
  stride[nd - 1] = 1;
  for (int i = nd - 2; i >= 0; i--) stride[i] = stride[i + 1] * a->chunkshape[i + 1];
  for (int i = 0; i < nd; i++) grid[i] = a->chunkshape[i] / a->blockshape[i];
  int64_t row = (int64_t)a->blockshape[nd - 1] * ts;
  int64_t g[B2ND_MAX_DIM] = {0}; /* block index */
  int64_t w[B2ND_MAX_DIM] = {0}; /* row index within the block (axis nd-1 unused) */
  uint8_t *bp = b;
  int64_t rows = a->chunknitems / a->blockshape[nd - 1];
  for (int64_t r = 0; r < rows; r++) {
    int64_t off = 0;
    for (int i = 0; i < nd; i++) off += (g[i] * a->blockshape[i] + w[i]) * stride[i];
    if (to_blocks) memcpy(bp, c + off * ts, (size_t)row);
    else memcpy(c + off * ts, bp, (size_t)row);
    bp += row;
    /* Next row: within the block first (axes nd-2 .. 0), then the next block. */
    int i = nd - 2;
    for (; i >= 0; i--) {
      if (++w[i] < a->blockshape[i]) break;
      w[i] = 0;
    }
    if (i < 0) {
      for (int j = nd - 1; j >= 0; j--) {
        if (++g[j] < grid[j]) break;
        g[j] = 0;
      }
    }
  }
}

/* One chunk as a B2ND array (shape = chunkshape) serialised to a cframe: b2nd_from_cbuffer's
 * steps, with the buffer in block order where the fast path would otherwise misplace it. */
int64_t stemz_b2_encode_b2nd(const void *src, int64_t nbytes, int compcode, int clevel,
                             int typesize, int filter, int32_t blocksize, int ndim,
                             const int64_t *shape, const int32_t *blockshape,
                             uint8_t **out) {
  blosc2_cparams cp = cparams_for(compcode, clevel, typesize, filter);
  cp.blocksize = blocksize;
  blosc2_storage storage = {.cparams = &cp, .contiguous = false};
  int32_t chunkshape[B2ND_MAX_DIM];
  for (int i = 0; i < ndim; i++) chunkshape[i] = (int32_t)shape[i];
  char dtype[32];
  snprintf(dtype, sizeof(dtype), "|V%d", typesize);
  b2nd_context_t *ctx = b2nd_create_ctx(&storage, (int8_t)ndim, shape, chunkshape, blockshape,
                                        dtype, DTYPE_NUMPY_FORMAT, NULL, 0);
  if (ctx == NULL) return -1;
  b2nd_array_t *array = NULL;
  uint8_t *blocked = NULL;
  int64_t len = -2;
  if (b2nd_empty(ctx, &array) < 0 || array->nitems * typesize != nbytes) goto done;
  const void *buffer = src;
  if (fastpath_misplaces(array)) {
    blocked = malloc((size_t)nbytes);
    if (blocked == NULL) {
      len = -4;
      goto done;
    }
    reorder_blocks((uint8_t *)src, blocked, array, true);
    buffer = blocked;
  }
  int64_t start[B2ND_MAX_DIM] = {0};
  if (b2nd_set_slice_cbuffer(buffer, array->shape, nbytes, start, array->shape, array) < 0)
    goto done;
  uint8_t *frame = NULL;
  bool needs_free = false;
  if (b2nd_to_cframe(array, &frame, &len, &needs_free) < 0 || frame == NULL) {
    len = -3;
  } else if (needs_free) {
    *out = frame;
  } else {
    /* A frame the array owns: copy it out before the array goes. */
    *out = malloc((size_t)len);
    if (*out == NULL) len = -4;
    else memcpy(*out, frame, (size_t)len);
  }
done:
  free(blocked);
  if (array) b2nd_free(array);
  b2nd_free_ctx(ctx);
  return len;
}

/* One chunk as a plain super-chunk frame (ranks hdf5-blosc2 does not store as B2ND). */
int64_t stemz_b2_encode_plain(const void *src, int32_t nbytes, int compcode, int clevel,
                              int typesize, int filter, int32_t blocksize, uint8_t **out) {
  blosc2_cparams cp = cparams_for(compcode, clevel, typesize, filter);
  cp.blocksize = blocksize;
  blosc2_storage storage = {.cparams = &cp, .contiguous = false};
  blosc2_schunk *schunk = blosc2_schunk_new(&storage);
  if (schunk == NULL) return -1;
  int64_t len = -2;
  if (blosc2_schunk_append_buffer(schunk, src, nbytes) >= 0) {
    uint8_t *frame = NULL;
    bool needs_free = false;
    len = blosc2_schunk_to_buffer(schunk, &frame, &needs_free);
    if (len < 0 || frame == NULL) {
      len = -3;
    } else if (needs_free) {
      *out = frame;
    } else {
      *out = malloc((size_t)len);
      if (*out == NULL) len = -4;
      else memcpy(*out, frame, (size_t)len);
    }
  }
  blosc2_schunk_free(schunk);
  return len;
}

static bool is_b2nd(blosc2_schunk *schunk) {
  return blosc2_meta_exists(schunk, "b2nd") >= 0 || blosc2_meta_exists(schunk, "caterva") >= 0;
}

/* Bytes a stored frame decodes to: the B2ND array's (its chunk may be padded to whole
 * blocks), else the super-chunk's. */
int64_t stemz_b2_decoded_len(const uint8_t *frame, int64_t len) {
  blosc2_schunk *schunk = blosc2_schunk_from_buffer((uint8_t *)frame, len, true);
  if (schunk == NULL) return -1;
  int64_t n = -2;
  if (is_b2nd(schunk)) {
    b2nd_array_t *array = NULL;
    if (b2nd_from_schunk(schunk, &array) >= 0) {
      n = array->nitems * array->sc->typesize;
      b2nd_free(array); /* frees the super-chunk too */
      return n;
    }
  } else {
    n = schunk->nbytes;
  }
  blosc2_schunk_free(schunk);
  return n;
}

/* Decode a stored frame into out (exactly outlen bytes, which must be what it holds). */
int stemz_b2_decode(const uint8_t *frame, int64_t len, void *out, int64_t outlen) {
  blosc2_schunk *schunk = blosc2_schunk_from_buffer((uint8_t *)frame, len, true);
  if (schunk == NULL) return -1;
  if (is_b2nd(schunk)) {
    b2nd_array_t *array = NULL;
    if (b2nd_from_schunk(schunk, &array) < 0) {
      blosc2_schunk_free(schunk);
      return -2;
    }
    int r = -3;
    if (array->nitems * array->sc->typesize == outlen) {
      if (fastpath_misplaces(array)) {
        /* The fast path hands back the stored blocks as they lie: put them in C order. */
        uint8_t *blocked = malloc((size_t)outlen);
        r = -7;
        if (blocked != NULL) {
          r = b2nd_to_cbuffer(array, blocked, outlen) < 0 ? -4 : 0;
          if (r == 0) reorder_blocks(out, blocked, array, false);
          free(blocked);
        }
      } else {
        r = b2nd_to_cbuffer(array, out, outlen) < 0 ? -4 : 0;
      }
    }
    b2nd_free(array);
    return r;
  }
  int r = -5;
  if (schunk->nchunks == 1 && schunk->nbytes == outlen) {
    uint8_t *chunk = NULL;
    bool needs_free = false;
    int cbytes = blosc2_schunk_get_lazychunk(schunk, 0, &chunk, &needs_free);
    if (cbytes >= 0 && chunk != NULL) {
      blosc2_dparams dp = BLOSC2_DPARAMS_DEFAULTS;
      dp.schunk = schunk;
      blosc2_context *dctx = blosc2_create_dctx(dp);
      if (dctx != NULL) {
        int n = blosc2_decompress_ctx(dctx, chunk, cbytes, out, (int32_t)outlen);
        r = n == outlen ? 0 : -6;
        blosc2_free_ctx(dctx);
      }
      if (needs_free) free(chunk);
    }
  }
  blosc2_schunk_free(schunk);
  return r;
}
