//! Runs the browser runtime's own test suite (`tests/js/`, Node's built-in
//! test runner) so that `cargo test --workspace` runs every test there is:
//! the shared conformance vectors through the JavaScript evaluator, and the
//! runtime's validation, outbox and repeat logic.

use std::path::Path;
use std::process::Command;

#[test]
fn the_runtime_passes_its_node_tests() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("the workspace root");
    let output = Command::new("node")
        .args(["--test", "tests/js/"])
        .current_dir(root)
        .output()
        .expect("Node.js is needed to test the browser runtime (`node` was not found on PATH)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "node --test tests/js/ failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // A run that found no test would also succeed: insist that some ran.
    let passed = stdout
        .lines()
        .find_map(|line| line.strip_prefix("# pass "))
        .and_then(|n| n.trim().parse::<u32>().ok())
        .unwrap_or(0);
    assert!(passed > 0, "node ran no test:\n{stdout}");
}
