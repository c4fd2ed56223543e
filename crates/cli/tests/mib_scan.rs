//! `.mib` without a scan shape in its `.hdr`: the line length comes from the frames' own
//! timestamps (the flyback gap before each new line), as rosettasciio infers it.

use std::path::{Path, PathBuf};
use std::process::Command;

/// One 4x4 U08 frame whose header carries `ns` (nanoseconds after 13:43:47) as its timestamp.
fn frame(no: usize, ns: u64) -> Vec<u8> {
    let secs = 47 + ns / 1_000_000_000;
    let frac = ns % 1_000_000_000;
    let text = format!(
        "MQ1,{no:06},00384,01,0004,0004,U08,   1x1,01,2021-04-15 14:43:47.008505,\
         0.001000,0,0,0,2.000000E+0,5.110000E+2,0.000000E+0,0.000000E+0,3RX,011,511,000,\
         MQ1A,2021-04-15T13:43:{secs:02}.{frac:09}Z,1000000ns,6,"
    );
    let mut b = text.into_bytes();
    b.resize(384, 0);
    b.extend_from_slice(&[(no % 256) as u8; 16]);
    b
}

/// `lines` scan lines of `per_line` frames, 1 ms apart, with a `flyback_ms` gap between lines.
fn timed_mib(dir: &Path, name: &str, lines: usize, per_line: usize, flyback_ms: u64) -> PathBuf {
    let mut bytes = Vec::new();
    let mut t = 0u64;
    let mut no = 1;
    for _ in 0..lines {
        for _ in 0..per_line {
            bytes.extend(frame(no, t));
            no += 1;
            t += 1_000_000;
        }
        t += flyback_ms * 1_000_000;
    }
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn inspect(p: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_stemz"))
        .args(["inspect", p.to_str().unwrap(), "--json"])
        .output()
        .unwrap()
}

/// `stemz convert` of `p` into `dir`: what every subcommand but inspect does with the file.
fn convert(p: &Path, dir: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_stemz"))
        .arg("convert")
        .arg(p)
        .arg(dir.join("out.emd"))
        .output()
        .unwrap()
}

fn shape_of(o: &std::process::Output) -> Vec<usize> {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    v["shape"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as usize)
        .collect()
}

#[test]
fn the_line_length_is_inferred_from_the_flyback_gaps() {
    let dir = tempfile::tempdir().unwrap();
    let p = timed_mib(dir.path(), "scan.mib", 3, 4, 5);
    assert_eq!(shape_of(&inspect(&p)), [3, 4, 4, 4]);
    let p = timed_mib(dir.path(), "wide.mib", 2, 7, 3);
    assert_eq!(shape_of(&inspect(&p)), [2, 7, 4, 4]);
}

#[test]
fn evenly_spaced_frames_still_need_scan() {
    let dir = tempfile::tempdir().unwrap();
    // No flyback: nothing tells lines apart.
    let p = timed_mib(dir.path(), "even.mib", 3, 4, 0);
    let o = convert(&p, dir.path());
    assert_eq!(o.status.code(), Some(1));
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(e.contains("even.mib") && e.contains("--scan"), "{e}");
    assert!(!dir.path().join("out.emd").exists());
}

#[test]
fn inspect_shows_a_recording_of_unknown_scan_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let p = timed_mib(dir.path(), "even.mib", 3, 4, 0);
    let o = inspect(&p);
    assert_eq!(shape_of(&o), [1, 12, 4, 4]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("UNKNOWN: 12 frames"), "{text}");
    assert!(text.contains("pass --scan"), "{text}");
}

#[test]
fn a_line_length_that_does_not_divide_the_frames_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut p = timed_mib(dir.path(), "odd.mib", 2, 5, 4);
    // Append two more frames of a third, unfinished line.
    let mut bytes = std::fs::read(&p).unwrap();
    bytes.extend(frame(11, 20_000_000));
    bytes.extend(frame(12, 21_000_000));
    std::fs::write(&p, bytes).unwrap();
    let o = convert(&p, dir.path());
    assert_eq!(o.status.code(), Some(1));
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(
        e.contains("lines of 5 frames") && e.contains("12 frames"),
        "{e}"
    );
    p.set_extension("hdr");
    assert!(!p.exists());
}

#[test]
#[ignore = "interop: run by cargo xtask ci"]
fn the_inferred_scan_equals_rosettasciios() {
    let python = std::env::var("STEMZ_INTEROP_PYTHON").unwrap_or_else(|_| {
        panic!(
            "STEMZ_INTEROP_PYTHON is not set: point it at the interop venv (cargo xtask ci does)"
        )
    });
    let dir = tempfile::tempdir().unwrap();
    for (lines, per_line, flyback) in [(3, 4, 5), (2, 7, 3), (5, 3, 2)] {
        let p = timed_mib(
            dir.path(),
            &format!("s{lines}x{per_line}.mib"),
            lines,
            per_line,
            flyback,
        );
        let ours = shape_of(&inspect(&p));
        let o = Command::new(&python)
            .args([
                "-c",
                "import sys, warnings; warnings.simplefilter('ignore'); \
                 import rsciio.quantumdetector as q; \
                 print('SHAPE', *q.file_reader(sys.argv[1])[0]['data'].shape)",
            ])
            .arg(&p)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let stdout = String::from_utf8_lossy(&o.stdout);
        // rosettasciio logs a warning about the missing .hdr to stdout too.
        let line = stdout
            .lines()
            .find(|l| l.starts_with("SHAPE "))
            .expect("a SHAPE line");
        let theirs: Vec<usize> = line
            .split_whitespace()
            .skip(1)
            .map(|v| v.parse().unwrap())
            .collect();
        assert_eq!(ours, theirs, "{lines}x{per_line}");
    }
}
