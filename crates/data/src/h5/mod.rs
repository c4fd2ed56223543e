//! Any HDF5 dataset as a datacube: [`H5Reader`] reads hyperslabs of one 3D/4D dataset (following
//! external links, e.g. a DECTRIS master file into its data files), [`H5Writer`] writes one
//! dataset into a new file atomically, and [`list_cube_datasets`] finds the candidates in a file.
//!
//! This is stemz's one HDF5 layer: the codec engine builds on the same pieces — [`Handle`]
//! (an id closed on drop), [`file_type`] / [`native_type`], [`create_file`],
//! [`create_cube_dataset`] (chunks, a property-list hook for filters, object timestamps off, as
//! h5py writes) and [`select_box`] — so every file stemz writes is laid out one way and two
//! writes of the same input are byte-identical files.
//!
//! Element I/O goes through raw `hdf5-sys` calls rather than hdf5-metno's ndarray API: we need
//! to read into the caller's byte buffer (no allocation per slab), let HDF5 convert big-endian
//! stored types to native order, and hand the raw dataset-creation property list to the codec
//! crate so it can add filters hdf5-metno does not know. Every raw call runs under hdf5-metno's
//! global lock (`hdf5::sync::sync`), as the HDF5 library is not thread-safe.

use crate::atomic::AtomicFile;
use crate::cube::{CubeReader, CubeWriter, DType, Hyperslab, Shape4, SourceInfo};
use crate::error::{DataError, Result};
use hdf5::types::{FloatSize, IntSize, TypeDescriptor};
use hdf5_sys::h5::hsize_t;
use hdf5_sys::h5i::hid_t;
use std::ffi::CString;
use std::path::{Path, PathBuf};

mod find;
mod reader;
mod writer;

pub use find::*;
pub use reader::*;
pub use writer::*;

/// Run raw HDF5 calls under the library-wide lock hdf5-metno uses for its own calls.
fn locked<T>(f: impl FnOnce() -> T) -> T {
    hdf5::sync::sync(f)
}

/// Map a negative HDF5 return code to a [`DataError::Hdf5`] naming `path` and `what` failed.
fn check<T: Copy + PartialOrd + Default>(value: T, path: &Path, what: &str) -> Result<T> {
    if value < T::default() {
        Err(DataError::hdf5(path, format!("{what} failed")))
    } else {
        Ok(value)
    }
}

/// An HDF5 identifier (dataspace, property list, dataset, …) closed on drop.
pub struct Handle {
    id: hid_t,
    close: unsafe extern "C" fn(hid_t) -> hdf5_sys::h5::herr_t,
}

impl Handle {
    /// Take ownership of `id` (from a call that returns a negative value on failure), to be
    /// closed with `close`; a negative `id` is an error naming `path` and `what` failed.
    pub fn new(
        id: hid_t,
        close: unsafe extern "C" fn(hid_t) -> hdf5_sys::h5::herr_t,
        path: &Path,
        what: &str,
    ) -> Result<Handle> {
        check(id, path, what)?;
        Ok(Handle { id, close })
    }

    pub fn id(&self) -> hid_t {
        self.id
    }

    /// Close now and report the library's status: closing a dataset flushes its chunk cache
    /// through the filter pipeline, which can fail.
    pub fn close(mut self, path: &Path, what: &str) -> Result<()> {
        let id = std::mem::replace(&mut self.id, -1);
        let close = self.close;
        // SAFETY: `id` was a valid open id owned by this handle (checked in `new`), and it is
        // closed exactly once: `Drop` skips the -1 left behind.
        let status = locked(|| unsafe { close(id) });
        check(status, path, what).map(|_| ())
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        if self.id >= 0 {
            let (id, close) = (self.id, self.close);
            // SAFETY: as in `close`: a valid id owned by this handle, closed once.
            locked(|| unsafe {
                close(id);
            });
        }
    }
}

/// Create (truncate) the HDF5 file at `path`.
///
/// File-format bounds (1.8, 1.10): the low bound is HDF5 2.x's default, the one the peer (h5py
/// 3.16, HDF5 2.0) writes with; the high bound keeps every object readable by HDF5 1.10 (still
/// Debian 12's and many analysis environments' library), whatever a newer library could use.
pub fn create_file(path: &Path) -> Result<hdf5::File> {
    use hdf5::file::LibraryVersion;
    hdf5::File::with_options()
        .with_fapl(|p| p.libver_bounds(LibraryVersion::V18, LibraryVersion::V110))
        // The 1.8 format's object headers carry times when asked to, the root group's by
        // default: off, so the same input gives the same file bytes.
        .with_fcpl(|p| p.obj_track_times(false))
        .create(path)
        .map_err(|e| DataError::hdf5(path, format!("cannot create file: {e}")))
}

/// Create the 4D dataset `dataset_path` in `file` (intermediate groups created, without
/// timestamps), stored little-endian, chunked by `chunks` or contiguous; `configure` gets the
/// dataset-creation property list first (filters, fill settings). Object timestamps are off, as
/// h5py writes (`track_times=False`). Returns the open dataset.
pub fn create_cube_dataset(
    file: &hdf5::File,
    path: &Path,
    dataset_path: &str,
    shape: Shape4,
    dtype: DType,
    chunks: Option<Shape4>,
    configure: impl FnOnce(hid_t) -> Result<()>,
) -> Result<Handle> {
    use hdf5_sys::h5p::*;
    if let Some(c) = chunks {
        if c.contains(&0) {
            return Err(DataError::Invalid(format!(
                "{}: chunk shape {c:?} has a zero axis",
                path.display()
            )));
        }
    }
    let name = CString::new(dataset_path).map_err(|_| {
        DataError::Invalid(format!("{}: dataset path has a NUL byte", path.display()))
    })?;
    let dims = shape.map(|v| v as hsize_t);
    // SAFETY (all calls below): plain HDF5 C calls on ids this function owns through `Handle`s
    // or the open `file`, with pointers to live local arrays; run under the library lock.
    let dcpl = Handle::new(
        locked(|| unsafe { H5Pcreate(*H5P_CLS_DATASET_CREATE) }),
        H5Pclose,
        path,
        "H5Pcreate (dataset creation)",
    )?;
    let lcpl = Handle::new(
        // SAFETY: H5Pcreate takes a class id and returns a new list, owned by the Handle.
        locked(|| unsafe { H5Pcreate(*H5P_CLS_LINK_CREATE) }),
        H5Pclose,
        path,
        "H5Pcreate (link creation)",
    )?;
    let space = Handle::new(
        // SAFETY: `dims` is a live array of rank 4; the new space is owned by the Handle.
        locked(|| unsafe { hdf5_sys::h5s::H5Screate_simple(4, dims.as_ptr(), std::ptr::null()) }),
        hdf5_sys::h5s::H5Sclose,
        path,
        "H5Screate_simple",
    )?;
    check(
        // SAFETY: `lcpl` is a live link-creation list owned by this function.
        locked(|| unsafe { H5Pset_create_intermediate_group(lcpl.id(), 1) }),
        path,
        "H5Pset_create_intermediate_group",
    )?;
    check(
        // SAFETY: `dcpl` is a live dataset-creation list owned by this function.
        locked(|| unsafe { H5Pset_obj_track_times(dcpl.id(), 0) }),
        path,
        "H5Pset_obj_track_times",
    )?;
    if let Some(c) = chunks {
        let c = c.map(|v| v as hsize_t);
        check(
            // SAFETY: `dcpl` is live and `c` is a live array of rank 4.
            locked(|| unsafe { H5Pset_chunk(dcpl.id(), 4, c.as_ptr()) }),
            path,
            "H5Pset_chunk",
        )?;
    }
    configure(dcpl.id())?;
    let ftype = file_type(dtype);
    // SAFETY: every id is live (file, Handles) and `name` is a NUL-terminated CString that outlives the call.
    let id = locked(|| unsafe {
        hdf5_sys::h5d::H5Dcreate2(
            file.id(),
            name.as_ptr(),
            ftype,
            space.id(),
            lcpl.id(),
            dcpl.id(),
            H5P_DEFAULT,
        )
    });
    Handle::new(
        id,
        hdf5_sys::h5d::H5Dclose,
        path,
        &format!("creating dataset {dataset_path}"),
    )
}

/// Select the box `origin`/`extent` of dataset `ds_id`: (file space with the selection, a memory
/// space of the box's shape), both closed on drop.
pub fn select_box(ds_id: hid_t, slab: &Hyperslab, path: &Path) -> Result<(Handle, Handle)> {
    use hdf5_sys::h5s::*;
    let start = slab.origin.map(|v| v as hsize_t);
    let count = slab.extent.map(|v| v as hsize_t);
    // SAFETY: `ds_id` is an open dataset (caller's contract); the spaces are owned by `Handle`s
    // and the pointers are to live local arrays of rank 4.
    let fspace = Handle::new(
        locked(|| unsafe { hdf5_sys::h5d::H5Dget_space(ds_id) }),
        H5Sclose,
        path,
        "H5Dget_space",
    )?;
    check(
        // SAFETY: `fspace` is a live dataspace of rank 4 and `start`/`count` live arrays of rank 4.
        locked(|| unsafe {
            H5Sselect_hyperslab(
                fspace.id(),
                H5S_seloper_t::H5S_SELECT_SET,
                start.as_ptr(),
                std::ptr::null(),
                count.as_ptr(),
                std::ptr::null(),
            )
        }),
        path,
        &format!("selecting {:?}+{:?}", slab.origin, slab.extent),
    )?;
    let mspace = Handle::new(
        // SAFETY: `count` is a live array of rank 4; the new space is owned by the Handle.
        locked(|| unsafe { H5Screate_simple(4, count.as_ptr(), std::ptr::null()) }),
        H5Sclose,
        path,
        "H5Screate_simple",
    )?;
    Ok((fspace, mspace))
}

/// Native in-memory HDF5 type for a [`DType`]: HDF5 converts from the stored type (any byte
/// order) while reading.
pub fn native_type(dtype: DType) -> hid_t {
    use hdf5_sys::h5t::*;
    locked(|| match dtype {
        DType::U8 => *H5T_NATIVE_UINT8,
        DType::U16 => *H5T_NATIVE_UINT16,
        DType::U32 => *H5T_NATIVE_UINT32,
        DType::F32 => *H5T_NATIVE_FLOAT,
    })
}

/// The little-endian on-disk type we write, as h5py does on x86.
pub fn file_type(dtype: DType) -> hid_t {
    use hdf5_sys::h5t::*;
    locked(|| match dtype {
        DType::U8 => *H5T_STD_U8LE,
        DType::U16 => *H5T_STD_U16LE,
        DType::U32 => *H5T_STD_U32LE,
        DType::F32 => *H5T_IEEE_F32LE,
    })
}

/// The [`DType`] of an HDF5 element type, or a message naming the unsupported type.
fn dtype_of(desc: &TypeDescriptor) -> std::result::Result<DType, String> {
    match desc {
        TypeDescriptor::Unsigned(IntSize::U1) => Ok(DType::U8),
        TypeDescriptor::Unsigned(IntSize::U2) => Ok(DType::U16),
        TypeDescriptor::Unsigned(IntSize::U4) => Ok(DType::U32),
        TypeDescriptor::Float(FloatSize::U4) => Ok(DType::F32),
        other => Err(format!(
            "element type {} is not supported; stemz reads uint8, uint16, uint32 and float32",
            type_label(other)
        )),
    }
}

/// A type's name as a user knows it: h5py's complex numbers (a compound of two equal floats
/// named `r`/`i` or `real`/`imag`) as `complex64`/`complex128`, other compounds with their
/// fields.
pub fn type_label(desc: &TypeDescriptor) -> String {
    match desc {
        TypeDescriptor::Compound(c) => {
            let names: Vec<&str> = c.fields.iter().map(|f| f.name.as_str()).collect();
            let complex_names = names == ["r", "i"] || names == ["real", "imag"];
            match (complex_names, &c.fields[..]) {
                (true, [a, b]) if a.ty == b.ty && matches!(a.ty, TypeDescriptor::Float(_)) => {
                    format!("complex{}", 16 * a.ty.size())
                }
                _ => format!(
                    "compound {{{}}}",
                    c.fields
                        .iter()
                        .map(|f| format!("{}: {}", f.name, type_label(&f.ty)))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            }
        }
        TypeDescriptor::Boolean => "bool".to_owned(),
        other => other.to_string(),
    }
}
