//! `stemz`: inspect, convert, compress, benchmark and choose codecs for 4D-STEM datacubes.
//!
//! One module per subcommand; each owns its `Args` and a `run` returning `anyhow::Result`.
//! Every error reaches `main`, which prints one line and exits non-zero.

/// `println!` that returns an error from the enclosing function instead of panicking when
/// stdout cannot be written (`> /dev/full`, a closed pipe).
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout(), $($arg)*).map_err($crate::stdout_error)?
    }};
}

/// `print!` with the error handling of [`outln!`].
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        write!(std::io::stdout(), $($arg)*).map_err($crate::stdout_error)?
    }};
}

mod alloc;
mod bench;
mod calibrate;
mod checks;
mod compress;
mod convert;
mod fidelity;
mod input;
mod inspect;
mod methods;
mod recommend;
mod reduce;
mod synth;
mod verify;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Debug, Parser)]
#[command(
    name = "stemz",
    version,
    about = "Lossless compression for 4D-STEM data: inspect, convert, compress, benchmark, recommend",
    long_about = "stemz reads EMD 1.0 / HDF5 / Merlin .mib / .npy datacubes and writes HDF5 files \
                  that h5py + hdf5plugin, py4DSTEM and rosettasciio open, with any of the \
                  compression methods of the 4D-STEM compression study (and newer ones)."
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Show format, shape, dtype, chunking, filters and value statistics of a datacube.
    Inspect(inspect::Args),
    /// Convert any readable datacube to an uncompressed EMD 1.0 file.
    Convert(convert::Args),
    /// Compress a datacube into HDF5 / EMD 1.0 with one method, verified after writing.
    Compress(compress::Args),
    /// List the compression methods with their HDF5 filter ids and settings.
    Methods(methods::Args),
    /// Benchmark methods × chunkings × engines on your files (or the synthetic datasets) into a run folder.
    Bench(bench::Args),
    /// Combine shard run folders (`stemz bench --shard K/N`) into one run folder.
    BenchMerge(bench::MergeArgs),
    /// Generate the synthetic stand-ins for the study's five datasets as EMD 1.0 files.
    Synth(synth::Args),
    /// Recommend a method and chunking per goal, measured on a sample of the file and projected to all of it.
    Recommend(recommend::Args),
    /// Measure the synthetic datasets against the study's published statistics (writes paper/calibration.md).
    Calibrate(calibrate::Args),
    /// Measure what each reduction (crop, binning, scan binning) costs each analysis target, and its stored bytes.
    Fidelity(fidelity::Args),
    /// Write one reduction (the smallest within tolerance, or explicit) as EMD 1.0 with provenance.
    Reduce(reduce::Args),
    /// Decode a compressed file and check it against its stored SHA-256 and/or its source.
    Verify(verify::Args),
}

/// The error for a failed write to stdout, e.g. "stdout: No space left on device".
fn stdout_error(e: std::io::Error) -> anyhow::Error {
    anyhow::anyhow!("cannot write to stdout: {e}")
}

/// The error and its causes on one line, each cause once: a cause whose text the line already
/// holds (errors that print their source in their own message) is not repeated.
fn one_line(e: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if text.is_empty() || line.contains(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line
}

/// The command line, with `--version` naming the HDF5 and szip built into this binary.
fn parse() -> Cli {
    use clap::{CommandFactory, FromArgMatches};
    let version = format!(
        "{} ({})",
        env!("CARGO_PKG_VERSION"),
        stemz_codecs::versions::summary()
    );
    // clap keeps the string for the process's life; so does this one-off leak.
    let version: &'static str = Box::leak(version.into_boxed_str());
    let matches = Cli::command().version(version).get_matches();
    Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
}

fn main() -> ExitCode {
    alloc::tune();
    // Interrupted runs leave no temporary file; SIGXFSZ becomes an EFBIG error we report.
    stemz_data::atomic::install_signal_cleanup();
    let cli = parse();
    let result = match cli.cmd {
        Cmd::Inspect(a) => inspect::run(a),
        Cmd::Convert(a) => convert::run(a),
        Cmd::Compress(a) => compress::run(a),
        Cmd::Methods(a) => methods::run(a),
        Cmd::Synth(a) => synth::run(a),
        Cmd::Recommend(a) => recommend::run(a),
        Cmd::Calibrate(a) => calibrate::run(a),
        Cmd::Bench(a) => bench::run(a),
        Cmd::BenchMerge(a) => bench::merge(a),
        Cmd::Fidelity(a) => fidelity::run(a),
        Cmd::Reduce(a) => reduce::run(a),
        Cmd::Verify(a) => verify::run(a),
    }
    .and_then(|()| {
        use std::io::Write as _;
        std::io::stdout().flush().map_err(stdout_error)
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("stemz: error: {}", one_line(&e));
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::one_line;

    #[test]
    fn one_line_names_each_cause_once() {
        let io = std::io::Error::other("No space left on device");
        let e = anyhow::Error::new(stemz_data::DataError::io("out.csr", io))
            .context("compressing in.npy");
        assert_eq!(
            one_line(&e),
            "compressing in.npy: out.csr: No space left on device"
        );
    }
}
