//! What every test of the `cf-invalidate` binary reads from a finished process.
// Each test binary compiles this module and uses a part of it.
#![allow(dead_code)]

use std::process::Output;

use serde_json::Value;

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

pub fn code(output: &Output) -> i32 {
    output.status.code().unwrap_or(-1)
}

pub fn json(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|error| {
        panic!(
            "stdout is not one JSON document ({error}):\n{}\nstderr:\n{}",
            stdout(output),
            stderr(output)
        )
    })
}
