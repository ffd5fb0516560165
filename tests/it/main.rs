//! The integration suite: the real binary, the machine's real Python, real
//! venvs and real subprocesses, each test under its own temporary home.

// Tests read and write fixtures with std::fs directly and may print what
// they measured; the library's rules for both are about its own code.
#![allow(clippy::disallowed_methods, clippy::print_stdout, clippy::print_stderr)]
#![allow(unreachable_pub)]

mod architecture;
mod attacks;
mod bad_input;
mod bad_wheels;
mod common;
mod create;
mod definitions;
mod discovery;
mod doctor;
mod fork_server;
mod hostile;
mod inputs;
mod install;
mod isolation;
mod json;
mod layers;
mod lockfile;
mod manage;
mod meta;
mod plan;
mod plugins;
mod pollution;
mod python_scripts;
mod reliability;
mod replay;
mod run;
mod scan;
mod served;
mod snapshots;
mod tools;
