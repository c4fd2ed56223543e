# Read by cmake as its toolchain file (CMAKE_TOOLCHAIN_FILE in .cargo/config.toml) when
# hdf5-metno-src configures HDF5: that crate passes -DHDF5_ENABLE_SZIP_SUPPORT=OFF, and a cache
# entry forced here replaces it, so that HDF5 has szip (one of the study's 13 methods) through
# the static libaec `cargo xtask setup` installs in $STEMZ_LIBAEC_DIR.
if(NOT DEFINED ENV{STEMZ_LIBAEC_DIR} OR NOT EXISTS "$ENV{STEMZ_LIBAEC_DIR}/lib/libsz.a")
  message(FATAL_ERROR "stemz: libaec is not in $ENV{STEMZ_LIBAEC_DIR}: run `cargo xtask setup` first")
endif()
set(HDF5_ENABLE_SZIP_SUPPORT ON CACHE BOOL "szip through libaec" FORCE)
set(HDF5_ENABLE_SZIP_ENCODING ON CACHE BOOL "szip encoder" FORCE)
set(HDF5_USE_LIBAEC_STATIC ON CACHE BOOL "static libaec" FORCE)
list(APPEND CMAKE_PREFIX_PATH "$ENV{STEMZ_LIBAEC_DIR}")
# HDF5's deflate filter calls zlib under stemz's names (see the header for why).
string(APPEND CMAKE_C_FLAGS " -include ${CMAKE_CURRENT_LIST_DIR}/hdf5-zlib-names.h")
