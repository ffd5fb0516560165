//! The integration suite: the real binary, the machine's real Python, real
//! venvs and real subprocesses, each test under its own temporary home.

mod common;
mod create;
mod discovery;
mod manage;
mod meta;
