//! [`H5Reader`]: hyperslabs of one 3D or 4D dataset, following external links.

use super::*;

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
pub(super) unsafe fn box_io(
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
