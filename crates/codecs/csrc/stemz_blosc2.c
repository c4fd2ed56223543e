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

/* One chunk as a B2ND array (shape = chunkshape) serialised to a cframe. */
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
  int64_t len = -2;
  if (b2nd_from_cbuffer(ctx, &array, src, nbytes) >= 0) {
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
  }
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
      r = b2nd_to_cbuffer(array, out, outlen) < 0 ? -4 : 0;
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
