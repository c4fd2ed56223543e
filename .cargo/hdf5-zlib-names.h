/* Force-included into HDF5's C sources (`-include`, see .cargo/hdf5.cmake). HDF5's deflate filter
 * (H5Zdeflate.c, the one HDF5 source that calls zlib) then calls these five zlib functions under
 * stemz's names, which stemz-data defines (crates/data/src/zlib.rs) on the zlib that stemz's own
 * deflate uses: the system's libz.so.1, the one the peer's HDF5 (h5py's wheel) calls, or the zlib
 * compiled into the binary where there is none. Without this, the static HDF5 would bind to the
 * compiled-in copy, which c-blosc's `static` build forces and which took 17-29 % more CPU. */
#define compress2 stemz_zlib_compress2
#define compressBound stemz_zlib_compressBound
#define inflateInit_ stemz_zlib_inflateInit_
#define inflate stemz_zlib_inflate
#define inflateEnd stemz_zlib_inflateEnd
