//! [`H5Writer`]: one dataset into a new file, written atomically.

use super::*;

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
