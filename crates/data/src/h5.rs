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

/// How the caller says a 3D dataset maps to the four cube axes.
#[derive(Debug, Clone, Copy)]
enum Axes3 {
    /// Not said: a 3D dataset is refused.
    Unknown,
    /// A frame stack `(N, dy, dx)` with this scan shape.
    Frames((usize, usize)),
    /// A spectrum image `(sy, sx, E)`.
    Spectra,
}

/// A dataset that could be a datacube: 3D or 4D with a numeric element type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CubeCandidate {
    /// Absolute path inside the file, e.g. `/version_1/data/datacubes/datacube_000/data`.
    pub path: String,
    /// Shape as stored (3 or 4 axes).
    pub shape: Vec<usize>,
    /// Element type as HDF5 describes it (`uint16`, `float64`, ...).
    pub type_name: String,
}

impl CubeCandidate {
    pub fn rank(&self) -> usize {
        self.shape.len()
    }
}

/// Open an HDF5 file read-only, with a clear error when it is missing or not HDF5.
pub fn open_file(path: &Path) -> Result<hdf5::File> {
    if !path.exists() {
        return Err(DataError::format(path, "file does not exist"));
    }
    hdf5::File::open(path).map_err(|e| DataError::hdf5(path, format!("cannot open: {e}")))
}

/// Every 3D/4D dataset of a numeric type in the file, found by walking all groups (external
/// links included; dangling links are skipped), in name order.
pub fn list_cube_datasets(path: &Path) -> Result<Vec<CubeCandidate>> {
    Ok(list_3d_4d_datasets(path)?
        .into_iter()
        .filter_map(|(c, numeric)| numeric.then_some(c))
        .collect())
}

/// The 3D and 4D datasets whose element type stemz cannot read (complex, bool, compound,
/// strings), `type_name` saying what they hold: what to tell a user who finds no datacube.
pub fn list_unsupported_cube_datasets(path: &Path) -> Result<Vec<CubeCandidate>> {
    Ok(list_3d_4d_datasets(path)?
        .into_iter()
        .filter_map(|(c, numeric)| (!numeric).then_some(c))
        .collect())
}

fn list_3d_4d_datasets(path: &Path) -> Result<Vec<(CubeCandidate, bool)>> {
    let file = open_file(path)?;
    let root = file
        .group("/")
        .map_err(|e| DataError::hdf5(path, format!("cannot open root group: {e}")))?;
    let mut found = Vec::new();
    let mut visited = Vec::new();
    walk(&root, "", 0, &mut visited, &mut found);
    Ok(found)
}

/// Depth-first walk. `visited` holds (file number, object token) of groups already walked, so
/// hard-link cycles end; the depth limit guards against external-link cycles between files.
fn walk(
    group: &hdf5::Group,
    prefix: &str,
    depth: usize,
    visited: &mut Vec<(u64, hdf5::LocationToken)>,
    found: &mut Vec<(CubeCandidate, bool)>,
) {
    const MAX_DEPTH: usize = 32;
    if depth > MAX_DEPTH {
        return;
    }
    if let Ok(info) = group.loc_info() {
        let key = (info.fileno, info.token);
        if visited.contains(&key) {
            return;
        }
        visited.push(key);
    }
    let Ok(names) = group.member_names() else {
        return;
    };
    for name in names {
        let full = format!("{prefix}/{name}");
        match group.loc_type_by_name(&name) {
            Ok(hdf5::LocationType::Group) => {
                if let Ok(sub) = group.group(&name) {
                    walk(&sub, &full, depth + 1, visited, found);
                }
            }
            Ok(hdf5::LocationType::Dataset) => {
                let Ok(ds) = group.dataset(&name) else {
                    continue;
                };
                let shape = ds.shape();
                if !(3..=4).contains(&shape.len()) {
                    continue;
                }
                let Ok(desc) = ds.dtype().and_then(|t| t.to_descriptor()) else {
                    continue;
                };
                let numeric = matches!(
                    desc,
                    TypeDescriptor::Integer(_)
                        | TypeDescriptor::Unsigned(_)
                        | TypeDescriptor::Float(_)
                );
                found.push((
                    CubeCandidate {
                        path: full,
                        shape,
                        type_name: type_label(&desc),
                    },
                    numeric,
                ));
            }
            // Dangling external links and named datatypes are not datacubes.
            _ => {}
        }
    }
}

/// Known filter ids, so `inspect` can name filters HDF5 only knows by number.
fn filter_name(id: i32) -> Option<&'static str> {
    stemz_record::catalogue::filter::name(u32::try_from(id).ok()?)
}

/// The filter pipeline of a dataset-creation property list, as `name (id) cd_values=[...]`,
/// read with `H5Pget_filter2` so filters not registered in this process are still listed.
fn describe_filters(dcpl: hid_t) -> Vec<String> {
    locked(|| {
        // SAFETY: `dcpl` is the dataset's live creation property list (the caller's contract).
        let n = unsafe { hdf5_sys::h5p::H5Pget_nfilters(dcpl) };
        let mut out = Vec::new();
        for idx in 0..n.max(0) {
            let mut flags = 0u32;
            let mut cd = [0u32; 32];
            let mut nelmts: usize = cd.len();
            let mut name = [0 as std::ffi::c_char; 256];
            let mut config = 0u32;
            // SAFETY: `name` and `config` are live buffers of the sizes passed; `i` < the filter count.
            let id = unsafe {
                hdf5_sys::h5p::H5Pget_filter2(
                    dcpl,
                    idx as u32,
                    &mut flags,
                    &mut nelmts,
                    cd.as_mut_ptr(),
                    name.len(),
                    name.as_mut_ptr(),
                    &mut config,
                )
            };
            if id < 0 {
                continue;
            }
            // SAFETY: H5Pget_filter2 NUL-terminates `name` within its 256 bytes.
            let stored = unsafe { std::ffi::CStr::from_ptr(name.as_ptr()) }
                .to_string_lossy()
                .into_owned();
            // Stored names are often long ("bitshuffle; see https://..."): keep the first word.
            let short = filter_name(id).map(str::to_owned).unwrap_or_else(|| {
                let s = stored.split([';', ' ']).next().unwrap_or("").trim();
                if s.is_empty() {
                    "unknown".to_owned()
                } else {
                    s.to_owned()
                }
            });
            let values = &cd[..nelmts.min(cd.len())];
            out.push(format!("{short} ({id}) cd_values={values:?}"));
        }
        out
    })
}

/// Read-only datacube view of one 3D or 4D HDF5 dataset.
///
/// A 3D dataset `(sy, sx, E)` is the cube `(sy, sx, 1, E)` (a spectrum image); opened with
/// [`H5Reader::open_frames`], a 3D stack of frames `(N, dy, dx)` becomes `(sy, sx, dy, dx)`.
pub struct H5Reader {
    path: PathBuf,
    dataset_path: String,
    // Kept open for the lifetime of `ds`.
    _file: hdf5::File,
    ds: hdf5::Dataset,
    shape: Shape4,
    dtype: DType,
    layout: Layout,
    format: String,
    details: Vec<(String, String)>,
}

/// How the stored axes map to the cube's four.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layout {
    Cube4,
    /// `(sy, sx, E)` → `(sy, sx, 1, E)`.
    Spectra3,
    /// `(N, dy, dx)` → `(sy, sx, dy, dx)` with `sy*sx == N`.
    Frames3 {
        sx: usize,
    },
}

impl H5Reader {
    /// Open the 4D `dataset` (a path inside the file) of the HDF5 file at `path`. A 3D dataset
    /// is refused: it is a frame stack ([`H5Reader::open_frames`]) or a spectrum image
    /// ([`H5Reader::open_spectra`]), and only the caller can say which.
    pub fn open(path: &Path, dataset: &str) -> Result<Self> {
        Self::open_inner(path, dataset, Axes3::Unknown)
    }

    /// Open a 3D frame stack `(N, dy, dx)` as the cube `(sy, sx, dy, dx)`; 4D datasets are
    /// opened as they are (and must then have that scan shape).
    pub fn open_frames(path: &Path, dataset: &str, scan: (usize, usize)) -> Result<Self> {
        Self::open_inner(path, dataset, Axes3::Frames(scan))
    }

    /// Open a 3D spectrum image `(sy, sx, E)` as the cube `(sy, sx, 1, E)`; a 4D dataset is
    /// refused (the option does not apply to it).
    pub fn open_spectra(path: &Path, dataset: &str) -> Result<Self> {
        Self::open_inner(path, dataset, Axes3::Spectra)
    }

    fn open_inner(path: &Path, dataset: &str, axes: Axes3) -> Result<Self> {
        let file = open_file(path)?;
        let ds = file
            .dataset(dataset)
            .map_err(|e| DataError::hdf5(path, format!("cannot open dataset {dataset}: {e}")))?;
        let stored = ds.shape();
        let desc = ds
            .dtype()
            .and_then(|t| t.to_descriptor())
            .map_err(|e| DataError::hdf5(path, format!("dataset {dataset}: {e}")))?;
        let dtype = dtype_of(&desc)
            .map_err(|m| DataError::format(path, format!("dataset {dataset}: {m}")))?;
        let (shape, layout) = match (stored.as_slice(), axes) {
            (&[_, _, _, _], Axes3::Spectra) => {
                return Err(DataError::format(
                    path,
                    format!(
                        "dataset {dataset} is 4D {stored:?}: the spectrum-image option applies \
                         only to 3D (sy, sx, E) datasets"
                    ),
                ))
            }
            (&[a, b, c, d], Axes3::Unknown) => ([a, b, c, d], Layout::Cube4),
            (&[a, b, c, d], Axes3::Frames((sy, sx))) => {
                if (a, b) != (sy, sx) {
                    return Err(DataError::format(
                        path,
                        format!(
                            "dataset {dataset} has scan shape {a}x{b}, not the requested {sy}x{sx}"
                        ),
                    ));
                }
                ([a, b, c, d], Layout::Cube4)
            }
            (&[n, dy, dx], Axes3::Unknown) => {
                return Err(DataError::format(
                    path,
                    format!(
                        "dataset {dataset} is 3D {stored:?}: give --scan SYxSX if it is a stack \
                         of {n} frames of {dy}x{dx}, or --spectrum-image if it is a spectrum \
                         image (scan {n}x{dy}, {dx} channels)"
                    ),
                ))
            }
            (&[a, b, e], Axes3::Spectra) => ([a, b, 1, e], Layout::Spectra3),
            (&[n, dy, dx], Axes3::Frames((sy, sx))) => {
                if sy * sx != n {
                    return Err(DataError::format(
                        path,
                        format!(
                            "dataset {dataset} holds {n} frames, but the scan {sy}x{sx} needs {}",
                            sy * sx
                        ),
                    ));
                }
                ([sy, sx, dy, dx], Layout::Frames3 { sx })
            }
            (other, _) => {
                return Err(DataError::format(
                    path,
                    format!(
                        "dataset {dataset} has rank {} (shape {other:?}); a datacube needs 4 axes \
                         (scan_y, scan_x, det_y, det_x) or 3 (scan_y, scan_x, energy)",
                        other.len()
                    ),
                ))
            }
        };
        // The shape is untrusted metadata: its byte count must at least be a number.
        if shape
            .iter()
            .try_fold(dtype.itemsize(), |acc, &d| acc.checked_mul(d))
            .is_none()
        {
            return Err(DataError::format(
                path,
                format!(
                    "dataset {dataset}: shape {stored:?} of {dtype} holds more bytes than any \
                     file can (its size overflows 64 bits)"
                ),
            ));
        }
        if let Some(chunk) = ds.chunk() {
            let bytes = chunk
                .iter()
                .try_fold(dtype.itemsize(), |acc, &d| acc.checked_mul(d));
            if bytes.is_none_or(|b| b > crate::chunk_guard::MAX_CHUNK_BYTES) {
                return Err(DataError::format(
                    path,
                    format!(
                        "dataset {dataset}: chunks {chunk:?} of {dtype} are larger than HDF5's \
                         4 GiB limit"
                    ),
                ));
            }
        }
        let format = detect_format(&file);
        let mut details = vec![("stored_shape".to_owned(), format!("{stored:?}"))];
        details.push(("stored_type".to_owned(), describe_stored_type(&ds)));
        if layout == Layout::Spectra3 {
            details.push((
                "layout".to_owned(),
                "3D spectrum image (sy, sx, E) read as (sy, sx, 1, E)".to_owned(),
            ));
        }
        if let Layout::Frames3 { .. } = layout {
            details.push((
                "layout".to_owned(),
                "3D frame stack (N, dy, dx) read as (sy, sx, dy, dx)".to_owned(),
            ));
        }
        Ok(H5Reader {
            path: path.to_path_buf(),
            dataset_path: normalize(dataset),
            _file: file,
            ds,
            shape,
            dtype,
            layout,
            format,
            details,
        })
    }

    /// Path of the dataset inside the file.
    pub fn dataset_path(&self) -> &str {
        &self.dataset_path
    }

    /// Override the format name shown by `info()` (the EMD reader says `EMD 1.0`).
    pub fn set_format(&mut self, format: impl Into<String>) {
        self.format = format.into();
    }

    /// Bytes of one chunk of the dataset (None when it is not chunked).
    fn chunk_bytes(&self) -> Option<usize> {
        let dims = self.ds.chunk()?;
        dims.iter()
            .try_fold(self.dtype.itemsize(), |acc, &d| acc.checked_mul(d))
    }

    /// One `H5Dread` of the box `start`/`count` (stored axes) into `out`, its filters limited
    /// to chunks of this dataset's size. The status HDF5 returned.
    fn read_box_raw(&self, start: &[hsize_t], count: &[hsize_t], out: &mut [u8]) -> Result<i32> {
        let mem_type = native_type(self.dtype);
        let ds_id = self.ds.id();
        let limit = self
            .chunk_bytes()
            .unwrap_or(crate::chunk_guard::MAX_CHUNK_BYTES);
        crate::chunk_guard::with_chunk_bytes(limit, || {
            // SAFETY: `ds_id` is this reader's open dataset, the lock is held, and `out` holds
            // exactly the box's elements of the memory type (checked by the callers).
            locked(|| unsafe {
                box_io(ds_id, start, count, &self.path, |mspace, fspace| {
                    hdf5_sys::h5d::H5Dread(
                        ds_id,
                        mem_type,
                        mspace,
                        fspace,
                        hdf5_sys::h5p::H5P_DEFAULT,
                        out.as_mut_ptr().cast(),
                    )
                })
            })
        })
    }

    /// Read the box `start`/`count` (in stored axes) into `out`.
    fn read_box(&self, start: &[hsize_t], count: &[hsize_t], out: &mut [u8]) -> Result<()> {
        let n: hsize_t = count.iter().product();
        debug_assert_eq!(n as usize * self.dtype.itemsize(), out.len());
        if n == 0 {
            return Ok(());
        }
        if self.read_box_raw(start, count, out)? >= 0 {
            return Ok(());
        }
        // A filter that failed left its reason; find which chunk it was by reading the box
        // again one chunk at a time (only on this error path, one chunk of memory).
        let reason = crate::chunk_guard::take_failure();
        if let Some((offset, reason)) = self.locate_bad_chunk(start, count, reason.clone()) {
            return Err(DataError::format(
                &self.path,
                format!(
                    "dataset {}: the chunk at offset {offset:?} cannot be decoded: {reason}",
                    self.dataset_path
                ),
            ));
        }
        // The usual cause for readable metadata but unreadable chunks is a filter plugin
        // that is not registered.
        let filters = self.info().filters;
        let hint = match (reason, filters.is_empty()) {
            (Some(r), _) => format!(": {r}"),
            (None, true) => String::new(),
            (None, false) => format!(" (filters: {})", filters.join(", ")),
        };
        Err(DataError::hdf5(
            &self.path,
            format!(
                "reading {} at {start:?}+{count:?} failed{hint}",
                self.dataset_path
            ),
        ))
    }

    /// The offset of the first chunk inside the box that fails to read, with the reason its
    /// filter gave (or `fallback`).
    fn locate_bad_chunk(
        &self,
        start: &[hsize_t],
        count: &[hsize_t],
        fallback: Option<String>,
    ) -> Option<(Vec<hsize_t>, String)> {
        let chunk: Vec<hsize_t> = self.ds.chunk()?.iter().map(|&c| c as hsize_t).collect();
        if chunk.len() != start.len() || chunk.contains(&0) {
            return None;
        }
        let first: Vec<hsize_t> = start.iter().zip(&chunk).map(|(s, c)| s / c).collect();
        let last: Vec<hsize_t> = start
            .iter()
            .zip(count)
            .zip(&chunk)
            .map(|((s, n), c)| (s + n - 1) / c)
            .collect();
        let mut cell = first.clone();
        let mut buf = Vec::new();
        loop {
            let lo: Vec<hsize_t> = (0..cell.len())
                .map(|i| (cell[i] * chunk[i]).max(start[i]))
                .collect();
            let n: Vec<hsize_t> = (0..cell.len())
                .map(|i| ((cell[i] + 1) * chunk[i]).min(start[i] + count[i]) - lo[i])
                .collect();
            let bytes = n.iter().product::<hsize_t>() as usize * self.dtype.itemsize();
            buf.resize(bytes, 0);
            if let Ok(status) = self.read_box_raw(&lo, &n, &mut buf) {
                if status < 0 {
                    let offset = (0..cell.len()).map(|i| cell[i] * chunk[i]).collect();
                    let sealed = self
                        .info()
                        .filters
                        .iter()
                        .any(|f| f.starts_with("fletcher32"));
                    let reason = crate::chunk_guard::take_failure()
                        .or(fallback)
                        .unwrap_or_else(|| {
                            if sealed {
                                "HDF5 refused it: its Fletcher-32 checksum does not match (the \
                                 chunk was altered after it was written)"
                            } else {
                                "HDF5 could not read it"
                            }
                            .to_owned()
                        });
                    return Some((offset, reason));
                }
            }
            // Next cell of the chunk grid, last axis fastest.
            let mut axis = cell.len();
            loop {
                if axis == 0 {
                    return None;
                }
                axis -= 1;
                if cell[axis] < last[axis] {
                    cell[axis] += 1;
                    break;
                }
                cell[axis] = first[axis];
            }
        }
    }
}

/// Select the box `start`/`count` in the dataset's file space, make a matching memory space,
/// run `io(mspace, fspace)` (an `H5Dread` or `H5Dwrite`), and close both spaces whatever
/// happens. Returns the status of `io`, or -1 when the selection could not be made.
///
/// # Safety
/// `ds_id` must be an open dataset, and the caller must hold the HDF5 lock (`locked`).
unsafe fn box_io(
    ds_id: hid_t,
    start: &[hsize_t],
    count: &[hsize_t],
    path: &Path,
    io: impl FnOnce(hid_t, hid_t) -> hdf5_sys::h5::herr_t,
) -> Result<hdf5_sys::h5::herr_t> {
    use hdf5_sys::h5s::*;
    let fspace = check(hdf5_sys::h5d::H5Dget_space(ds_id), path, "H5Dget_space")?;
    let sel = H5Sselect_hyperslab(
        fspace,
        H5S_seloper_t::H5S_SELECT_SET,
        start.as_ptr(),
        std::ptr::null(),
        count.as_ptr(),
        std::ptr::null(),
    );
    let mspace = H5Screate_simple(count.len() as i32, count.as_ptr(), std::ptr::null());
    let status = if sel < 0 || mspace < 0 {
        -1
    } else {
        io(mspace, fspace)
    };
    if mspace >= 0 {
        H5Sclose(mspace);
    }
    H5Sclose(fspace);
    Ok(status)
}

fn normalize(dataset: &str) -> String {
    if dataset.starts_with('/') {
        dataset.to_owned()
    } else {
        format!("/{dataset}")
    }
}

fn describe_stored_type(ds: &hdf5::Dataset) -> String {
    let Ok(t) = ds.dtype() else {
        return "unknown".to_owned();
    };
    let name = t
        .to_descriptor()
        .map(|d| d.to_string())
        .unwrap_or_else(|_| "unknown".to_owned());
    match t.byte_order() {
        hdf5::datatype::ByteOrder::BigEndian => format!("{name} big-endian"),
        hdf5::datatype::ByteOrder::LittleEndian => format!("{name} little-endian"),
        _ => name,
    }
}

/// `EMD x.y` when the file (or, as prismatic writes it, a top-level group) carries EMD version
/// attributes, else `HDF5`.
fn detect_format(file: &hdf5::File) -> String {
    let version = |loc: &hdf5::Location| -> Option<String> {
        let major = loc.attr("version_major").ok()?.read_scalar::<i64>().ok()?;
        let minor = loc
            .attr("version_minor")
            .ok()
            .and_then(|a| a.read_scalar::<i64>().ok())
            .unwrap_or(0);
        Some(format!("EMD {major}.{minor}"))
    };
    if let Some(v) = version(file) {
        return v;
    }
    if let Ok(groups) = file.groups() {
        for g in groups {
            if let Some(v) = version(&g) {
                return v;
            }
        }
    }
    "HDF5".to_owned()
}

impl CubeReader for H5Reader {
    fn shape(&self) -> Shape4 {
        self.shape
    }

    fn dtype(&self) -> DType {
        self.dtype
    }

    fn info(&self) -> SourceInfo {
        let filters = self
            .ds
            .dcpl()
            .map(|p| describe_filters(p.id()))
            .unwrap_or_default();
        SourceInfo {
            format: self.format.clone(),
            dataset: Some(self.dataset_path.clone()),
            chunks: self.ds.chunk(),
            filters,
            details: self.details.clone(),
        }
    }

    fn read_slab(&mut self, slab: &Hyperslab, out: &mut [u8]) -> Result<()> {
        slab.check_read(self.shape, self.dtype, out.len(), &self.path.display())?;
        let o = slab.origin.map(|v| v as hsize_t);
        let e = slab.extent.map(|v| v as hsize_t);
        match self.layout {
            Layout::Cube4 => self.read_box(&o, &e, out),
            Layout::Spectra3 => self.read_box(&[o[0], o[1], o[3]], &[e[0], e[1], e[3]], out),
            Layout::Frames3 { sx } => {
                // One scan row at a time: frames of a row are contiguous in the stack.
                let row_bytes =
                    slab.extent[1] * slab.extent[2] * slab.extent[3] * self.dtype.itemsize();
                if row_bytes == 0 {
                    return Ok(());
                }
                for (r, chunk) in out.chunks_mut(row_bytes).enumerate() {
                    let first = (slab.origin[0] + r) * sx + slab.origin[1];
                    self.read_box(&[first as hsize_t, o[2], o[3]], &[e[1], e[2], e[3]], chunk)?;
                }
                Ok(())
            }
        }
    }
}

/// A new HDF5 file holding one 4D dataset, written slab by slab under a temporary name and
/// moved into place by [`CubeWriter::finish`].
pub struct H5Writer {
    // Field order matters for Drop: dataset, then file, then the temporary file is removed.
    ds: Option<Handle>,
    file: Option<hdf5::File>,
    atomic: Option<AtomicFile>,
    shape: Shape4,
    dtype: DType,
    final_path: PathBuf,
}

impl H5Writer {
    /// Create `path` (at a temporary sibling) with a 4D dataset at `dataset_path` (intermediate
    /// groups are created), stored little-endian, chunked by `chunks` or contiguous.
    /// `configure` receives the dataset-creation property list before the dataset is created,
    /// so callers can add filters (`H5Pset_filter`) or fill settings.
    pub fn create(
        path: &Path,
        dataset_path: &str,
        shape: Shape4,
        dtype: DType,
        chunks: Option<Shape4>,
        configure: impl FnOnce(hid_t) -> Result<()>,
    ) -> Result<Self> {
        Self::create_with(path, dataset_path, shape, dtype, chunks, configure, |_| {
            Ok(())
        })
    }

    /// As [`H5Writer::create`], running `prepare` on the new file first (to lay out groups and
    /// attributes, as the EMD writer does).
    pub fn create_with(
        path: &Path,
        dataset_path: &str,
        shape: Shape4,
        dtype: DType,
        chunks: Option<Shape4>,
        configure: impl FnOnce(hid_t) -> Result<()>,
        prepare: impl FnOnce(&hdf5::File) -> Result<()>,
    ) -> Result<Self> {
        let atomic = AtomicFile::new(path)?;
        let file = create_file(atomic.temp_path())?;
        prepare(&file)?;
        let ds = create_cube_dataset(&file, path, dataset_path, shape, dtype, chunks, configure)?;
        Ok(H5Writer {
            ds: Some(ds),
            file: Some(file),
            atomic: Some(atomic),
            shape,
            dtype,
            final_path: path.to_path_buf(),
        })
    }

    /// The file being written, e.g. to add attributes or axis datasets.
    pub fn file(&self) -> Option<&hdf5::File> {
        self.file.as_ref()
    }

    /// Raw id of the dataset being written (-1 once finished), for attribute writers.
    pub fn dataset_id(&self) -> hid_t {
        self.ds.as_ref().map_or(-1, Handle::id)
    }

    pub fn shape(&self) -> Shape4 {
        self.shape
    }

    pub fn dtype(&self) -> DType {
        self.dtype
    }

    fn close_dataset(&mut self) -> Result<()> {
        match self.ds.take() {
            Some(ds) => ds.close(&self.final_path, "closing the dataset (H5Dclose)"),
            None => Ok(()),
        }
    }
}

impl CubeWriter for H5Writer {
    fn write_slab(&mut self, slab: &Hyperslab, data: &[u8]) -> Result<()> {
        slab.check_within(self.shape)?;
        let want = slab.len() * self.dtype.itemsize();
        if data.len() != want {
            return Err(DataError::Invalid(format!(
                "{}: write_slab got {} bytes, the slab needs {want}",
                self.final_path.display(),
                data.len()
            )));
        }
        if want == 0 {
            return Ok(());
        }
        let start = slab.origin.map(|v| v as hsize_t);
        let count = slab.extent.map(|v| v as hsize_t);
        let mem_type = native_type(self.dtype);
        let ds_id = self.dataset_id();
        let path = &self.final_path;
        // SAFETY: `ds_id` is this writer's open dataset and `data` holds the slab's elements (checked above).
        locked(|| unsafe {
            let status = box_io(ds_id, &start, &count, path, |mspace, fspace| {
                hdf5_sys::h5d::H5Dwrite(
                    ds_id,
                    mem_type,
                    mspace,
                    fspace,
                    hdf5_sys::h5p::H5P_DEFAULT,
                    data.as_ptr().cast(),
                )
            })?;
            if status < 0 {
                return Err(DataError::hdf5(
                    path,
                    format!("writing {start:?}+{count:?} failed"),
                ));
            }
            Ok(())
        })
    }

    fn finish(mut self: Box<Self>) -> Result<PathBuf> {
        self.close_dataset()?;
        if let Some(file) = self.file.take() {
            file.close()
                .map_err(|e| DataError::hdf5(&self.final_path, format!("closing: {e}")))?;
        }
        match self.atomic.take() {
            Some(a) => a.commit(),
            None => Err(DataError::Invalid(format!(
                "{}: writer already finished",
                self.final_path.display()
            ))),
        }
    }
}

impl Drop for H5Writer {
    fn drop(&mut self) {
        // An unfinished writer leaves nothing behind: close handles, then AtomicFile's own
        // Drop removes the temporary file.
        let _ = self.close_dataset();
        self.file.take();
        self.atomic.take();
    }
}
